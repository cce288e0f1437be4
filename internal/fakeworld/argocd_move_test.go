package fakeworld_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
)

// TestArgoCDMoveFakes walks the fake world through the move as a workflow
// would: locate on blue, install on green (again: AlreadyInstalled; another
// version: Conflict), copy (which needs the install), hand over and back,
// remove the copies.
func TestArgoCDMoveFakes(t *testing.T) {
	ctx := context.Background()
	w := fakeworld.New()
	a := w.Activities()
	blue, green := clusters.Ref{Name: "blue"}, clusters.Ref{Name: "green"}

	loc, err := a.LocateArgoCD(ctx, argocd.LocateInput{Blue: blue, Green: green, Namespace: "argocd"})
	if err != nil || loc.Where != argocd.WhereBlue || loc.Version != fakeworld.ArgoCDVersion || loc.ManagesGreen {
		t.Errorf("locate before retarget: %+v, %v", loc, err)
	}
	if _, err := a.RestoreArgoApplications(ctx, argocd.RestoreInput{Mode: argocd.ModeRetarget, Blue: blue, Green: green, Namespace: "argocd"}); err != nil {
		t.Fatal(err)
	}
	if loc, _ := a.LocateArgoCD(ctx, argocd.LocateInput{Blue: blue, Green: green, Namespace: "argocd"}); !loc.ManagesGreen {
		t.Errorf("locate after retarget: %+v", loc)
	}

	copyIn := argocd.CopySettingsInput{From: blue, To: green, Namespace: "argocd", Migration: "m1"}
	if _, err := a.CopyArgoCDSettings(ctx, copyIn); failures.TypeOf(err) != failures.NotFound {
		t.Errorf("copy before the install: %v", err)
	}
	in := argocd.InstallInput{Cluster: green, Namespace: "argocd", Version: fakeworld.ArgoCDVersion, Migration: "m1"}
	if res, err := a.InstallArgoCD(ctx, in); err != nil || res.Applied == 0 || res.AlreadyInstalled {
		t.Errorf("install: %+v, %v", res, err)
	}
	if res, err := a.InstallArgoCD(ctx, in); err != nil || !res.AlreadyInstalled || w.ArgoCDInstalled("green") != fakeworld.ArgoCDVersion {
		t.Errorf("second install: %+v, %v", res, err)
	}
	in.Version = "v2.13.0"
	if _, err := a.InstallArgoCD(ctx, in); failures.TypeOf(err) != failures.Conflict {
		t.Errorf("another version: %v", err)
	}

	res, err := a.CopyArgoCDSettings(ctx, copyIn)
	if err != nil || len(res.Changed) == 0 || len(res.Applications) == 0 || w.ArgoCDCopiedBy("green") != "m1" {
		t.Errorf("copy: %+v, %v", res, err)
	}
	again, err := a.CopyArgoCDSettings(ctx, copyIn)
	if err != nil || len(again.Changed) != 0 || !reflect.DeepEqual(again.Applications, res.Applications) {
		t.Errorf("copy again: %+v, %v", again, err)
	}
	other := copyIn
	other.Migration = "m2"
	if c, err := a.CopyArgoCDSettings(ctx, other); err != nil || len(c.Conflicts) == 0 || len(c.Applications) != 0 {
		t.Errorf("another migration's copy: %+v, %v", c, err)
	}

	h, err := a.HandOverArgoCD(ctx, argocd.HandOverInput{From: blue, Namespace: "argocd", Migration: "m1"})
	if err != nil || len(h.Scaled) != 2 || !w.ArgoCDStopped() {
		t.Errorf("hand over: %+v, %v", h, err)
	}
	if h, _ := a.HandOverArgoCD(ctx, argocd.HandOverInput{From: blue, Namespace: "argocd", Migration: "m1"}); len(h.Scaled) != 0 {
		t.Errorf("second hand over: %+v", h)
	}
	if h, _ := a.HandOverArgoCD(ctx, argocd.HandOverInput{From: blue, Namespace: "argocd", Migration: "m1", Back: true}); len(h.Scaled) != 2 || w.ArgoCDStopped() {
		t.Errorf("hand back: %+v", h)
	}

	rm, err := a.RemoveArgoCDCopies(ctx, argocd.RemoveCopiesInput{To: green, Namespace: "argocd", Migration: "m1"})
	if err != nil || !reflect.DeepEqual(rm.Applications, res.Applications) || w.ArgoCDCopiedBy("green") != "" {
		t.Errorf("remove copies: %+v, %v", rm, err)
	}
	if rm, _ := a.RemoveArgoCDCopies(ctx, argocd.RemoveCopiesInput{To: green, Namespace: "argocd", Migration: "m1"}); len(rm.Applications) != 0 {
		t.Errorf("second remove: %+v", rm)
	}
}
