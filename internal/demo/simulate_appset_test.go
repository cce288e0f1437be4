package demo

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestSubstitute(t *testing.T) {
	params := map[string]string{"name": "blue", "metadata.labels.cutover.dev/env": "prod", "empty": ""}
	for in, want := range map[string]string{
		"{{name}}-edge":        "blue-edge",
		"{{ name }}":           "blue",
		"{{unknown}}/{{name}}": "{{unknown}}/blue",
		"{{}}":                 "{{}}",
		"a{{empty}}b":          "ab",
		"env={{metadata.labels.cutover.dev/env}}": "env=prod",
		"{{name": "{{name",
		"{{name}}{{name}} and {{ name }} {{missing}": "blueblue and blue {{missing}",
		"plain": "plain",
	} {
		if got := substitute(in, params); got != want {
			t.Errorf("substitute(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitizeName("Shop_Prod.EU-"); got != "shop-prod.eu" {
		t.Errorf("sanitizeName = %q", got)
	}
}

// TestSimulatedApplicationSets: on a hub seeded as the sandbox seeds it
// (SeedArgoCD, SeedArgoCDInstall, SeedApplicationSets), the simulated
// ApplicationSet controller generates blue-edge from the clusters
// generator (only blue's secret has the prod label) and blue-batch from the
// list generator, owned by their ApplicationSet, with the resources
// finalizer, and reports ResourcesUpToDate; an empty selector also yields
// in-cluster. Labelling green's secret generates green-edge; a spec changed
// by hand is reverted; removing the list element deletes blue-batch (and,
// as Argo CD's finalizer does, blue's Deployment it tracked, not another);
// a stopped controller generates nothing until it runs again; deleting an
// ApplicationSet deletes its Applications (garbage collection).
func TestSimulatedApplicationSets(t *testing.T) {
	ctx := context.Background()
	hubK, blueK := sandboxtest.Kube(t, sandbox.HubCluster), sandboxtest.Kube(t, sandbox.BlueCluster)
	if _, err := sandbox.InstallCRDs(ctx, hubK); err != nil {
		t.Fatal(err)
	}
	// Green only needs a cluster secret here.
	greenK := &sandbox.Kube{Name: sandbox.GreenCluster, Server: "https://127.0.0.1:1", Token: "t", CAData: []byte("ca")}
	objs := &sandbox.KubeSeed{}
	if err := sandbox.SeedArgoCD(ctx, hubK, blueK, greenK, objs); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedArgoCDInstall(ctx, hubK, objs); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedApplicationSets(ctx, hubK, blueK, objs); err != nil {
		t.Fatal(err)
	}
	if want := []string{"argocd/edge", "argocd/batch"}; !slices.Equal(objs.ApplicationSets, want) {
		t.Fatalf("ApplicationSets %v, want %v", objs.ApplicationSets, want)
	}
	hub, err := connectQuiet(hubK)
	if err != nil {
		t.Fatal(err)
	}
	blue, err := connect(blueK)
	if err != nil {
		t.Fatal(err)
	}
	// Blue runs what blue-batch deployed, and something it did not.
	if _, err := blue.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "batch"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, tracking := range map[string]string{"batch-worker": "blue-batch:apps/Deployment:batch/batch-worker", "other": "other:apps/Deployment:batch/other"} {
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{trackingAnnotation: tracking}},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "busybox"}}}}}}
		if _, err := blue.cs.AppsV1().Deployments("batch").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// An ApplicationSet with an empty clusters selector.
	all := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
		"metadata": map[string]any{"name": "all", "namespace": sandbox.ArgoCDNamespace},
		"spec": map[string]any{
			"generators": []any{map[string]any{"clusters": map[string]any{}}},
			"syncPolicy": map[string]any{"preserveResourcesOnDeletion": true},
			"template": map[string]any{
				"metadata": map[string]any{"name": "{{nameNormalized}}-all", "annotations": map[string]any{"env": "{{metadata.labels.cutover.dev/env}}"}},
				"spec": map[string]any{"project": "shop", "source": map[string]any{"repoURL": sandbox.SandboxAppsRepoURL, "path": "apps/all"},
					"destination": map[string]any{"server": "{{server}}", "namespace": "all"}},
			},
		},
	}}
	if _, err := hub.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Create(ctx, all, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sim := &Simulator{Blue: blueK, Hub: hubK, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	reconcile := func() {
		t.Helper()
		if err := sim.applicationSets(ctx, hub, hubK.Name); err != nil {
			t.Fatal(err)
		}
		if err := sim.finalizeApplications(ctx, hub, hubK.Name, true); err != nil {
			t.Fatal(err)
		}
	}
	apps := func() map[string]*unstructured.Unstructured {
		t.Helper()
		l, err := hub.dyn.Resource(applicationGVR).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*unstructured.Unstructured{}
		for i := range l.Items {
			out[l.Items[i].GetName()] = &l.Items[i]
		}
		return out
	}
	names := func(m map[string]*unstructured.Unstructured) []string {
		var n []string
		for k := range m {
			n = append(n, k)
		}
		sort.Strings(n)
		return n
	}
	getSet := func(name string) *unstructured.Unstructured {
		t.Helper()
		s, err := hub.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	reconcile()
	got := apps()
	want := []string{"blue-all", "blue-batch", "blue-edge", "green-all", "in-cluster-all", "monitoring", "payments", "shop"}
	if !slices.Equal(names(got), want) {
		t.Fatalf("applications %v, want %v", names(got), want)
	}
	edge := getSet("edge")
	e := got["blue-edge"]
	if d, _, _ := unstructured.NestedStringMap(e.Object, "spec", "destination"); d["name"] != "blue" || d["namespace"] != "edge" || d["server"] != "" {
		t.Errorf("blue-edge destination %v", d)
	}
	if p, _, _ := unstructured.NestedString(e.Object, "spec", "source", "path"); p != "apps/edge" {
		t.Errorf("blue-edge path %q", p)
	}
	refs := e.GetOwnerReferences()
	if len(refs) != 1 || refs[0].Kind != "ApplicationSet" || refs[0].Name != "edge" || refs[0].UID != edge.GetUID() || refs[0].Controller == nil || !*refs[0].Controller ||
		refs[0].BlockOwnerDeletion == nil || !*refs[0].BlockOwnerDeletion {
		t.Errorf("blue-edge owner references %+v", refs)
	}
	if !slices.Equal(e.GetFinalizers(), []string{resourcesFinalizer}) || len(got["blue-all"].GetFinalizers()) != 0 {
		t.Errorf("finalizers: blue-edge %v (want the resources finalizer), blue-all %v (preserveResourcesOnDeletion)", e.GetFinalizers(), got["blue-all"].GetFinalizers())
	}
	if d, _, _ := unstructured.NestedStringMap(got["blue-batch"].Object, "spec", "destination"); d["server"] != blueK.Server || d["namespace"] != "batch" {
		t.Errorf("blue-batch destination %v, want server %s", d, blueK.Server)
	}
	if d, _, _ := unstructured.NestedStringMap(got["in-cluster-all"].Object, "spec", "destination"); d["server"] != "https://kubernetes.default.svc" {
		t.Errorf("in-cluster-all destination %v", d)
	}
	if a, g := got["blue-all"].GetAnnotations()["env"], got["green-all"].GetAnnotations()["env"]; a != "prod" || g != "{{metadata.labels.cutover.dev/env}}" {
		t.Errorf("annotations from labels: blue %q, green %q", a, g)
	}
	conds, _, _ := unstructured.NestedSlice(edge.Object, "status", "conditions")
	upToDate := false
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == "ResourcesUpToDate" && m["status"] == "True" {
			upToDate = true
		}
	}
	if !upToDate {
		t.Errorf("edge conditions %v, want ResourcesUpToDate True", conds)
	}

	// Nothing changed: another round writes nothing.
	versions := map[string]string{}
	for n, a := range apps() {
		versions[n] = a.GetResourceVersion()
	}
	edgeVersion := getSet("edge").GetResourceVersion()
	reconcile()
	for n, a := range apps() {
		if a.GetResourceVersion() != versions[n] {
			t.Errorf("application %s written again with nothing changed", n)
		}
	}
	if getSet("edge").GetResourceVersion() != edgeVersion {
		t.Errorf("ApplicationSet edge's status written again with nothing changed")
	}

	// A label added to green's secret: green-edge.
	sec, err := hub.cs.CoreV1().Secrets(sandbox.ArgoCDNamespace).Get(ctx, "cluster-green", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Labels[sandbox.EnvLabel] = sandbox.EnvProd
	if _, err := hub.cs.CoreV1().Secrets(sandbox.ArgoCDNamespace).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// blue-edge retargeted by hand: the controller reverts it.
	e = apps()["blue-edge"]
	_ = unstructured.SetNestedField(e.Object, "green", "spec", "destination", "name")
	if _, err := hub.dyn.Resource(applicationGVR).Namespace(sandbox.ArgoCDNamespace).Update(ctx, e, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reconcile()
	got = apps()
	if g := got["green-edge"]; g == nil {
		t.Errorf("no green-edge after labelling green's secret: %v", names(got))
	} else if d, _, _ := unstructured.NestedStringMap(g.Object, "spec", "destination"); d["name"] != "green" {
		t.Errorf("green-edge destination %v", d)
	}
	if d, _, _ := unstructured.NestedString(got["blue-edge"].Object, "spec", "destination", "name"); d != "blue" {
		t.Errorf("blue-edge destination %q after the controller ran, want blue again", d)
	}

	// The list element removed: blue-batch deleted with what it deployed.
	batch := getSet("batch")
	gens, _, _ := unstructured.NestedSlice(batch.Object, "spec", "generators")
	gens[0].(map[string]any)["list"].(map[string]any)["elements"] = []any{}
	_ = unstructured.SetNestedSlice(batch.Object, gens, "spec", "generators")
	if _, err := hub.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Update(ctx, batch, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reconcile()
	if a := apps()["blue-batch"]; a != nil {
		t.Errorf("blue-batch still there after its element was removed (deleting %v, finalizers %v)", a.GetDeletionTimestamp(), a.GetFinalizers())
	}
	if _, err := blue.cs.AppsV1().Deployments("batch").Get(ctx, "batch-worker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("blue's batch/batch-worker after blue-batch was deleted: %v, want deleted", err)
	}
	if _, err := blue.cs.AppsV1().Deployments("batch").Get(ctx, "other", metav1.GetOptions{}); err != nil {
		t.Errorf("blue's batch/other, not blue-batch's: %v", err)
	}

	// Stopped: an element added generates nothing; running again, it does.
	setReplicas := func(n int32) {
		t.Helper()
		dep, err := hub.cs.AppsV1().Deployments(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationSetController, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dep.Spec.Replicas = &n
		if _, err := hub.cs.AppsV1().Deployments(sandbox.ArgoCDNamespace).Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setReplicas(0)
	batch = getSet("batch")
	gens, _, _ = unstructured.NestedSlice(batch.Object, "spec", "generators")
	gens[0].(map[string]any)["list"].(map[string]any)["elements"] = []any{map[string]any{"cluster": "green", "url": greenK.Server}}
	_ = unstructured.SetNestedSlice(batch.Object, gens, "spec", "generators")
	if _, err := hub.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Update(ctx, batch, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reconcile()
	if a := apps()["green-batch"]; a != nil {
		t.Errorf("a stopped ApplicationSet controller generated green-batch")
	}
	setReplicas(1)
	reconcile()
	if a := apps()["green-batch"]; a == nil {
		t.Errorf("the running controller did not generate green-batch")
	}

	// The ApplicationSet deleted: its Applications are collected.
	if err := hub.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Delete(ctx, "all", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	reconcile()
	for _, n := range []string{"blue-all", "green-all", "in-cluster-all"} {
		if apps()[n] != nil {
			t.Errorf("%s left after its ApplicationSet was deleted", n)
		}
	}
	if apps()["blue-edge"] == nil || apps()["shop"] == nil {
		t.Errorf("applications of other ApplicationSets, or none, were collected: %v", names(apps()))
	}
}
