package fakeworld_test

import (
	"context"
	"testing"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
)

func TestFakeVelero(t *testing.T) {
	ctx := context.Background()
	w := fakeworld.New()
	a := w.Activities()
	blue, green := clusters.Ref{Name: "blue"}, clusters.Ref{Name: "green"}

	res, err := a.CheckVelero(ctx, velero.CheckVeleroInput{Blue: blue, Green: green, Namespace: "velero", BlueVersion: "1.29", GreenVersion: "1.30"})
	if err != nil || len(res.Findings) != 0 || !res.Blue.Installed || !res.Green.Installed || res.Green.BSL == nil || res.Green.BSL.AccessMode != "ReadWrite" {
		t.Fatalf("CheckVelero = %+v, %v; want both installed, ReadWrite, no findings", res, err)
	}
	if m := w.BSLMode("green"); m != "ReadWrite" {
		t.Errorf("green's mode before any change = %q", m)
	}

	set := func(cluster clusters.Ref, mode, migration string) velero.SetBSLAccessModeResult {
		t.Helper()
		r, err := a.SetBSLAccessMode(ctx, velero.SetBSLAccessModeInput{Cluster: cluster, Namespace: "velero", Name: "default", AccessMode: mode, Migration: migration})
		if err != nil {
			t.Fatalf("SetBSLAccessMode(%s, %s): %v", cluster.Name, mode, err)
		}
		return r
	}
	if r := set(green, "ReadOnly", "m1"); r.Previous != "ReadWrite" || r.Now != "ReadOnly" || !r.Changed {
		t.Errorf("set ReadOnly = %+v", r)
	}
	if r := set(green, "ReadOnly", "m1"); r.Previous != "ReadWrite" || r.Changed {
		t.Errorf("retried set = %+v, want the true Previous, unchanged", r)
	}
	if w.BSLMode("green") != "ReadOnly" || w.BSLMode("blue") != "ReadWrite" {
		t.Errorf("modes: green %s, blue %s", w.BSLMode("green"), w.BSLMode("blue"))
	}
	if res, _ := a.CheckVelero(ctx, velero.CheckVeleroInput{Blue: blue, Green: green, Namespace: "velero"}); res.Green.BSL.AccessMode != "ReadOnly" {
		t.Errorf("CheckVelero's green location = %+v", res.Green.BSL)
	}
	if r := set(green, "ReadWrite", "m1"); r.Previous != "ReadWrite" || r.Now != "ReadWrite" || !r.Changed {
		t.Errorf("set back = %+v", r)
	}
	if r := set(green, "ReadWrite", "m1"); r.Changed || w.BSLMode("green") != "ReadWrite" {
		t.Errorf("set back again = %+v, mode %s", r, w.BSLMode("green"))
	}
	if _, err := a.SetBSLAccessMode(ctx, velero.SetBSLAccessModeInput{Cluster: green, Namespace: "velero", AccessMode: "readonly", Migration: "m1"}); failures.TypeOf(err) != failures.Validation {
		t.Errorf("invalid mode: %v, want Validation", err)
	}
	// Another world starts afresh.
	if m := fakeworld.New().BSLMode("green"); m != "ReadWrite" {
		t.Errorf("a new world's mode = %q", m)
	}
}
