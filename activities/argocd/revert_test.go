package argocd_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/cutover-dev/cutover/activities/argocd"
)

// testRevert retargets two applications to green, then a rollback puts
// them back on blue exactly as they were, and a second revert is a no-op.
func testRevert(t *testing.T, w *world) {
	const ns = "argocd-revert"
	mustCreate(t, w.blueC, namespace(ns))
	byServer := argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "shop"}
	byName := argov1.ApplicationDestination{Name: argocd.InClusterName, Namespace: "pay"}
	other := argov1.ApplicationDestination{Server: "https://elsewhere.example.com", Namespace: "x"}
	mustCreate(t, w.blueC,
		app(ns, "shop", "default", nil, byServer),
		app(ns, "pay", "default", nil, byName),
		app(ns, "other", "default", nil, other),
	)
	projectDest := []argov1.ApplicationDestination{byServer, byName, {Server: "https://elsewhere.example.com", Namespace: "*"}}
	mustCreate(t, w.blueC, &argov1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"},
		Spec:       argov1.AppProjectSpec{SourceRepos: []string{"*"}, Destinations: projectDest},
	})
	project := func() argov1.AppProject {
		t.Helper()
		var p argov1.AppProject
		if err := w.blueC.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "default"}, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	acts := argocd.New(w.resolver)
	e := newEnv(acts)
	if _, err := restore(t, e, acts, argocd.RestoreInput{ArgoCluster: blueRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns}); err != nil {
		t.Fatalf("retarget: %v", err)
	}
	if p := project(); len(p.Spec.Destinations) != 5 || p.Annotations[argocd.AnnotationAddedDestinations] == "" {
		t.Fatalf("project after the retarget: %+v %v; want green's two destinations added and recorded", p.Spec.Destinations, p.Annotations)
	}
	if d := getApp(t, w.blueC, ns, "shop").Spec.Destination; d.Server == argocd.InClusterServer {
		t.Fatalf("shop was not retargeted: %+v", d)
	}
	revert := func() argocd.RevertResult {
		t.Helper()
		val, err := e.ExecuteActivity(acts.RevertArgoApplications, argocd.RevertInput{ArgoCluster: blueRef, Namespace: ns})
		if err != nil {
			t.Fatalf("revert: %v", err)
		}
		var res argocd.RevertResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := revert()
	if strings.Join(res.Reverted, ",") != "pay,shop" {
		t.Errorf("reverted %v, want pay,shop", res.Reverted)
	}
	for name, want := range map[string]argov1.ApplicationDestination{"shop": byServer, "pay": byName, "other": other} {
		a := getApp(t, w.blueC, ns, name)
		if a.Spec.Destination != want {
			t.Errorf("%s destination = %+v, want %+v", name, a.Spec.Destination, want)
		}
		if a.Annotations[argocd.AnnotationPreviousDestination] != "" || a.Annotations[argocd.AnnotationRetargetedAt] != "" {
			t.Errorf("%s keeps cutover's annotations: %v", name, a.Annotations)
		}
	}
	if a := getApp(t, w.blueC, ns, "shop"); a.Operation == nil || a.Operation.Sync == nil {
		t.Errorf("no sync requested after the revert: %+v", a.Operation)
	}
	if p := project(); !reflect.DeepEqual(p.Spec.Destinations, projectDest) || p.Annotations[argocd.AnnotationAddedDestinations] != "" || strings.Join(res.Projects, ",") != "default" {
		t.Errorf("project after the revert: %+v %v (reverted %v); want exactly %+v", p.Spec.Destinations, p.Annotations, res.Projects, projectDest)
	}
	if again := revert(); len(again.Reverted) != 0 || len(again.Projects) != 0 {
		t.Errorf("second revert changed %v", again.Reverted)
	}
}
