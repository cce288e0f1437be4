package argocd_test

import (
	"reflect"
	"testing"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/argocd"
)

// testCopyMode is CopyArgoCDSettings as copy mode runs it: Argo CD stays
// in blue and keeps managing blue; green's own Argo CD gets only what
// targets blue, re-pointed to in-cluster, so nothing is reconciled twice.
func testCopyMode(t *testing.T, w *world, acts *argocd.Activities) {
	const ns = "argocd-copymode"
	mustCreate(t, w.blueC, namespace(ns))
	mustCreate(t, w.greenC, namespace(ns))
	mustCreate(t, w.blueC,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: ns}, Data: map[string]string{"url": "https://argocd.blue.example.com"}},
		clusterSecret(ns, "cluster-blue", "blue", w.blue.Server),
		clusterSecret(ns, "cluster-green", "green", w.green.Server),
		clusterSecret(ns, "staging", "staging", "https://staging.example.com"),
		&argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
			Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"}, Destinations: []argov1.ApplicationDestination{{Name: "blue", Namespace: "*"}}}},
		app(ns, "web", "shop", nil, argov1.ApplicationDestination{Name: "blue", Namespace: "web"}),
		app(ns, "local", "shop", nil, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "local"}),
		app(ns, "stage", "shop", nil, argov1.ApplicationDestination{Name: "staging", Namespace: "stage"}),
		app(ns, "already-green", "shop", nil, argov1.ApplicationDestination{Server: w.green.Server, Namespace: "g"}),
	)
	const role = "arn:aws:iam::123456789012:role/argocd-controller"
	mustCreate(t, w.blueC, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: argocd.ApplicationController, Namespace: ns,
		Annotations: map[string]string{argocd.AnnotationIRSARole: role}}})
	mustCreate(t, w.greenC, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: argocd.ApplicationController, Namespace: ns}})
	set := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "blue-set", Namespace: ns}}
	set.Spec.Generators = []argov1.ApplicationSetGenerator{{List: &argov1.ListGenerator{}}}
	set.Spec.Template.Spec = argov1.ApplicationSpec{Project: "shop", Destination: argov1.ApplicationDestination{Name: "blue", Namespace: "{{name}}"},
		Source: &argov1.ApplicationSource{RepoURL: "https://github.com/example/shop-deploy.git", Path: "{{name}}"}}
	mustCreate(t, w.blueC, set)

	e := newMoveEnv(acts)
	blue := blueRef
	in := argocd.CopySettingsInput{From: blueRef, To: greenRef, Namespace: ns, Migration: "copy1", Retarget: &blue}
	res, err := run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, in)
	if err != nil {
		t.Fatalf("CopyArgoCDSettings in copy mode: %v", err)
	}
	if !reflect.DeepEqual(res.Applications, []string{"local", "web"}) || !reflect.DeepEqual(res.ApplicationSets, []string{"blue-set"}) ||
		!reflect.DeepEqual(res.Secrets, []string{"staging"}) || len(res.Skipped) != 2 {
		t.Errorf("copy mode result %+v: want blue's two applications and its set copied, staging's Secret, the others skipped", res)
	}
	var sa corev1.ServiceAccount
	if err := w.greenC.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: argocd.ApplicationController}, &sa); err != nil || sa.Annotations[argocd.AnnotationIRSARole] != role ||
		!reflect.DeepEqual(res.ServiceAccounts, []string{argocd.ApplicationController}) {
		t.Errorf("green's controller ServiceAccount %v (%v), result %v: want blue's IAM role", sa.Annotations, err, res.ServiceAccounts)
	}
	for _, name := range []string{"web", "local"} {
		if g := getApp(t, w.greenC, ns, name); g.Spec.Destination.Server != argocd.InClusterServer || g.Spec.Destination.Name != "" {
			t.Errorf("%s on green targets %+v, want in-cluster", name, g.Spec.Destination)
		}
	}
	for _, name := range []string{"stage", "already-green"} {
		var a argov1.Application
		if err := w.greenC.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &a); !apierrors.IsNotFound(err) {
			t.Errorf("application %s does not target blue and was copied: %v", name, err)
		}
	}
	var proj argov1.AppProject
	if err := w.greenC.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop"}, &proj); err != nil ||
		!reflect.DeepEqual(proj.Spec.Destinations, []argov1.ApplicationDestination{{Server: argocd.InClusterServer, Namespace: "*"}}) {
		t.Errorf("project on green %+v (%v): blue's destination made in-cluster", proj.Spec.Destinations, err)
	}
	// Blue's Argo CD is untouched: its applications still target blue.
	if b := getApp(t, w.blueC, ns, "web"); b.Spec.Destination.Name != "blue" {
		t.Errorf("blue's web targets %+v", b.Spec.Destination)
	}
	if res, err := run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, in); err != nil || len(res.Changed) != 0 {
		t.Errorf("a retry changed %v (%v)", res.Changed, err)
	}
	// The rollback of copy mode removes exactly the copies.
	rm, err := run[argocd.RemoveCopiesResult](t, e, acts.RemoveArgoCDCopies, argocd.RemoveCopiesInput{To: greenRef, Namespace: ns, Migration: "copy1"})
	if err != nil || !reflect.DeepEqual(rm.Applications, []string{"local", "web"}) || !reflect.DeepEqual(rm.ApplicationSets, []string{"blue-set"}) {
		t.Errorf("RemoveArgoCDCopies: %+v, %v", rm, err)
	}
}
