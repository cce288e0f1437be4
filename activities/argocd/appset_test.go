package argocd_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

var hubRef = clusters.Ref{Name: "hub", Region: "us-east-1"}

// hubWorld is a hub cluster running Argo CD (its CRDs) that manages two
// other clusters, blue and green.
type hubWorld struct {
	hub, blue, green *sandbox.Kube
	hubC             client.Client
	resolver         clusters.Resolver
}

func startHubWorld(t *testing.T) *hubWorld {
	t.Helper()
	w := &hubWorld{hub: sandboxtest.Kube(t, "hub"), blue: sandboxtest.Kube(t, "blue"), green: sandboxtest.Kube(t, "green")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := sandbox.InstallCRDs(ctx, w.hub); err != nil {
		t.Fatalf("install CRDs on the hub: %v", err)
	}
	var err error
	if w.hubC, err = argocd.NewClient(w.hub.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	w.resolver = clusters.KubeconfigResolver{Paths: map[string]string{"hub": w.hub.Kubeconfig, "blue": w.blue.Kubeconfig, "green": w.green.Kubeconfig}}
	return w
}

// blueSecret registers blue with the hub's Argo CD as "blue", labelled
// env=prod, region=use1.
func (w *hubWorld) blueSecret(ns string) *corev1.Secret {
	conf, _ := json.Marshal(map[string]any{"bearerToken": "blue-token"})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-blue", Namespace: ns, Labels: map[string]string{
			argocd.LabelSecretType: argocd.SecretTypeCluster, "env": "prod", "region": "use1"}},
		StringData: map[string]string{"name": "blue", "server": w.blue.Server, "config": string(conf)},
	}
}

func appSet(ns, name string, goTemplate bool, tmplName string, dest argov1.ApplicationDestination, gens ...argov1.ApplicationSetGenerator) *argov1.ApplicationSet {
	return &argov1.ApplicationSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: argov1.ApplicationSetSpec{
			GoTemplate: goTemplate,
			Generators: gens,
			Template: argov1.ApplicationSetTemplate{
				ApplicationSetTemplateMeta: argov1.ApplicationSetTemplateMeta{Name: tmplName},
				Spec: argov1.ApplicationSpec{
					Project:     "default",
					Source:      &argov1.ApplicationSource{RepoURL: "https://github.com/cutover-dev/sandbox-apps.git", Path: "apps/" + name, TargetRevision: "main"},
					Destination: dest,
				},
			},
		},
	}
}

func elements(elems ...map[string]string) []apiextensionsv1.JSON {
	var out []apiextensionsv1.JSON
	for _, e := range elems {
		b, _ := json.Marshal(e)
		out = append(out, apiextensionsv1.JSON{Raw: b})
	}
	return out
}

func listGen(elems ...map[string]string) argov1.ApplicationSetGenerator {
	return argov1.ApplicationSetGenerator{List: &argov1.ListGenerator{Elements: elements(elems...)}}
}

// ownedApp is an application as the ApplicationSet controller generates it.
func ownedApp(ns, name string, set *argov1.ApplicationSet, dest argov1.ApplicationDestination) *argov1.Application {
	a := app(ns, name, "default", nil, dest)
	a.OwnerReferences = []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: set.Name, UID: set.UID}}
	return a
}

func getSet(t *testing.T, c client.Client, ns, name string) *argov1.ApplicationSet {
	t.Helper()
	var s argov1.ApplicationSet
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("get ApplicationSet %s/%s: %v", ns, name, err)
	}
	return &s
}

func getSecret(t *testing.T, c client.Client, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("get secret %s/%s: %v", ns, name, err)
	}
	return &s
}

func specJSON(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	b, err := json.Marshal(getSet(t, c, ns, name).Spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func labelsJSON(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	b, _ := json.Marshal(getSecret(t, c, ns, name).Labels)
	return string(b)
}

func elementsOf(t *testing.T, c client.Client, ns, name string) []string {
	t.Helper()
	var out []string
	for _, e := range getSet(t, c, ns, name).Spec.Generators[0].List.Elements {
		var v any
		if err := json.Unmarshal(e.Raw, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}

func join(s []string) string { return strings.Join(s, ",") }

func TestApplicationSets(t *testing.T) {
	w := startHubWorld(t)
	t.Run("RetargetRevertRelease", func(t *testing.T) { testAppSetsRetarget(t, w) })
	t.Run("NameCollision", func(t *testing.T) { testAppSetCollision(t, w) })
	t.Run("ControllerSilent", func(t *testing.T) { testAppSetNotGenerated(t, w) })
}

// The hub's Argo CD manages blue through a template-literal ApplicationSet,
// a list generator and a clusters generator (plus a matrix one cutover
// leaves alone). Retarget makes them generate green's applications, a
// second call changes nothing, revert restores the ApplicationSets and the
// labels exactly, and ReleaseBlue removes blue's element and labels.
func testAppSetsRetarget(t *testing.T, w *hubWorld) {
	ctx := context.Background()
	const ns = "argocd"
	blueSrv, greenSrv := w.blue.Server, w.green.Server
	mustCreate(t, w.hubC, namespace(ns), w.blueSecret(ns))
	literal := appSet(ns, "literal", false, "{{app}}", argov1.ApplicationDestination{Server: blueSrv, Namespace: "web"}, listGen(map[string]string{"app": "web"}))
	listed := appSet(ns, "listed", false, "{{cluster}}-shop", argov1.ApplicationDestination{Server: "{{url}}", Namespace: "shop"},
		listGen(map[string]string{"cluster": "blue", "url": blueSrv}, map[string]string{"cluster": "other", "url": "https://other.example.com"}))
	clustered := appSet(ns, "clustered", true, "{{ .name }}-pay", argov1.ApplicationDestination{Server: "{{ .server }}", Namespace: "pay"},
		argov1.ApplicationSetGenerator{Clusters: &argov1.ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}})
	matrix := appSet(ns, "matrix", false, "{{name}}-{{app}}", argov1.ApplicationDestination{Server: "{{server}}", Namespace: "batch"},
		argov1.ApplicationSetGenerator{Matrix: &argov1.MatrixGenerator{Generators: []argov1.ApplicationSetNestedGenerator{
			{Clusters: &argov1.ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}},
			{List: &argov1.ListGenerator{Elements: elements(map[string]string{"app": "batch"})}},
		}}})
	mustCreate(t, w.hubC, literal, listed, clustered, matrix)
	mustCreate(t, w.hubC,
		ownedApp(ns, "web", literal, argov1.ApplicationDestination{Server: blueSrv, Namespace: "web"}),
		ownedApp(ns, "blue-shop", listed, argov1.ApplicationDestination{Server: blueSrv, Namespace: "shop"}),
		ownedApp(ns, "other-shop", listed, argov1.ApplicationDestination{Server: "https://other.example.com", Namespace: "shop"}),
		ownedApp(ns, "blue-pay", clustered, argov1.ApplicationDestination{Server: blueSrv, Namespace: "pay"}),
		ownedApp(ns, "blue-batch", matrix, argov1.ApplicationDestination{Server: blueSrv, Namespace: "batch"}),
		app(ns, "plain", "default", nil, argov1.ApplicationDestination{Name: "blue", Namespace: "plain"}),
	)
	original := map[string]string{}
	for _, n := range []string{"literal", "listed", "clustered", "matrix"} {
		original[n] = specJSON(t, w.hubC, ns, n)
	}
	blueLabels := labelsJSON(t, w.hubC, ns, "cluster-blue")
	greenSecret := argocd.ClusterSecretName(greenRef)

	acts := argocd.New(w.resolver, argocd.WithPollInterval(100*time.Millisecond), argocd.WithApplicationSetWait(time.Minute))
	e := newEnv(acts)
	in := argocd.RestoreInput{ArgoCluster: hubRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns}

	// The activity waits for the ApplicationSet controller; the test plays
	// it once the activity has written its changes.
	type outcome struct {
		res argocd.RestoreResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		val, err := e.ExecuteActivity(acts.RestoreArgoApplications, in)
		var res argocd.RestoreResult
		if err == nil {
			err = val.Get(&res)
		}
		done <- outcome{res, err}
	}()
	deadline := time.Now().Add(45 * time.Second)
	for {
		var sec corev1.Secret
		secErr := w.hubC.Get(ctx, client.ObjectKey{Namespace: ns, Name: greenSecret}, &sec)
		if len(elementsOf(t, w.hubC, ns, "listed")) == 3 && secErr == nil && sec.Labels["env"] == "prod" &&
			getSet(t, w.hubC, ns, "literal").Spec.Template.Spec.Destination.Server == greenSrv {
			break
		}
		select {
		case o := <-done:
			t.Fatalf("retarget returned before the ApplicationSets were changed: %+v, %v", o.res, o.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the ApplicationSets were not retargeted within 45s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case o := <-done:
		t.Fatalf("retarget returned before green's applications were generated: %+v, %v", o.res, o.err)
	case <-time.After(300 * time.Millisecond):
	}
	web := getApp(t, w.hubC, ns, "web")
	web.Spec.Destination.Server = greenSrv
	if err := w.hubC.Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, w.hubC,
		ownedApp(ns, "green-shop", getSet(t, w.hubC, ns, "listed"), argov1.ApplicationDestination{Server: greenSrv, Namespace: "shop"}),
		ownedApp(ns, "green-pay", getSet(t, w.hubC, ns, "clustered"), argov1.ApplicationDestination{Server: greenSrv, Namespace: "pay"}),
	)
	var o outcome
	select {
	case o = <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("retarget did not return after green's applications were generated")
	}
	if o.err != nil {
		t.Fatalf("retarget: %v", o.err)
	}
	res := o.res
	if got := join(res.ApplicationSets); got != "clustered,listed,literal" {
		t.Errorf("applicationSets = %s", got)
	}
	if got := join(res.Applications); got != "green-pay,green-shop,plain,web" {
		t.Errorf("applications = %s", got)
	}
	if got := join(res.Changed); got != "ApplicationSet clustered,ApplicationSet listed,ApplicationSet literal,plain" {
		t.Errorf("changed = %s", got)
	}
	if len(res.Skipped) != 2 || !strings.HasPrefix(res.Skipped[0], "ApplicationSet matrix: its matrix generator") ||
		!strings.HasSuffix(res.Skipped[0], "retarget it by hand") || !strings.HasPrefix(res.Skipped[1], "blue-batch: generated by ApplicationSet matrix") {
		t.Errorf("skipped = %q, want the matrix ApplicationSet and its application", res.Skipped)
	}

	// What retarget wrote.
	lit := getSet(t, w.hubC, ns, "literal")
	if d := lit.Spec.Template.Spec.Destination; d != (argov1.ApplicationDestination{Server: greenSrv, Namespace: "web"}) {
		t.Errorf("literal's template destination = %+v", d)
	}
	var prev argov1.ApplicationDestination
	if err := json.Unmarshal([]byte(lit.Annotations[argocd.AnnotationPreviousTemplateDestination]), &prev); err != nil || prev != (argov1.ApplicationDestination{Server: blueSrv, Namespace: "web"}) {
		t.Errorf("literal's previous template destination = %q", lit.Annotations[argocd.AnnotationPreviousTemplateDestination])
	}
	greenElem, _ := json.Marshal(map[string]string{"cluster": "green", "url": greenSrv})
	blueElem, _ := json.Marshal(map[string]string{"cluster": "blue", "url": blueSrv})
	otherElem, _ := json.Marshal(map[string]string{"cluster": "other", "url": "https://other.example.com"})
	if got, want := join(elementsOf(t, w.hubC, ns, "listed")), join([]string{string(blueElem), string(otherElem), string(greenElem)}); got != want {
		t.Errorf("listed's elements = %s, want %s", got, want)
	}
	if ann := getSet(t, w.hubC, ns, "listed").Annotations[argocd.AnnotationAddedListElements]; !strings.Contains(ann, `"element":`+string(greenElem)) {
		t.Errorf("listed's %s = %q", argocd.AnnotationAddedListElements, ann)
	}
	gs := getSecret(t, w.hubC, ns, greenSecret)
	if gs.Labels["env"] != "prod" || gs.Labels["region"] != "use1" || gs.Annotations[argocd.AnnotationAddedLabels] != `["env","region"]` {
		t.Errorf("green's secret labels %v, %s %q", gs.Labels, argocd.AnnotationAddedLabels, gs.Annotations[argocd.AnnotationAddedLabels])
	}
	if got := specJSON(t, w.hubC, ns, "matrix"); got != original["matrix"] {
		t.Errorf("the matrix ApplicationSet was changed:\n%s\nwant\n%s", got, original["matrix"])
	}
	if got := specJSON(t, w.hubC, ns, "clustered"); got != original["clustered"] {
		t.Errorf("the clusters ApplicationSet was changed (only green's secret should be):\n%s", got)
	}
	if got := labelsJSON(t, w.hubC, ns, "cluster-blue"); got != blueLabels {
		t.Errorf("blue's secret labels = %s, want %s", got, blueLabels)
	}

	// A second call changes nothing.
	snapshot := map[string]string{}
	for _, n := range []string{"literal", "listed", "clustered"} {
		snapshot[n] = specJSON(t, w.hubC, ns, n)
	}
	again, err := restore(t, e, acts, in)
	if err != nil {
		t.Fatalf("second retarget: %v", err)
	}
	if len(again.Changed) != 0 || join(again.ApplicationSets) != "clustered,listed,literal" || join(again.Applications) != join(res.Applications) {
		t.Errorf("second retarget = %+v, want no change and the same sets and applications", again)
	}
	for n, s := range snapshot {
		if got := specJSON(t, w.hubC, ns, n); got != s {
			t.Errorf("second retarget changed %s", n)
		}
	}

	// Revert restores the ApplicationSets and green's labels exactly.
	revert := func() argocd.RevertResult {
		t.Helper()
		val, err := e.ExecuteActivity(acts.RevertArgoApplications, argocd.RevertInput{ArgoCluster: hubRef, Namespace: ns, Green: &greenRef})
		if err != nil {
			t.Fatalf("revert: %v", err)
		}
		var r argocd.RevertResult
		if err := val.Get(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	rv := revert()
	if join(rv.ApplicationSets) != "listed,literal" || join(rv.Labels) != greenSecret+": env,"+greenSecret+": region" || join(rv.Reverted) != "plain" {
		t.Errorf("revert = %+v", rv)
	}
	for n, s := range original {
		if got := specJSON(t, w.hubC, ns, n); got != s {
			t.Errorf("after revert %s's spec is\n%s\nwant\n%s", n, got, s)
		}
		set := getSet(t, w.hubC, ns, n)
		if set.Annotations != nil {
			t.Errorf("after revert %s keeps annotations %v", n, set.Annotations)
		}
	}
	wantGreen, _ := json.Marshal(map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster, argocd.LabelManagedBy: argocd.ManagedBy})
	if got := labelsJSON(t, w.hubC, ns, greenSecret); got != string(wantGreen) {
		t.Errorf("after revert green's secret labels = %s, want %s", got, wantGreen)
	}
	if _, ok := getSecret(t, w.hubC, ns, greenSecret).Annotations[argocd.AnnotationAddedLabels]; ok {
		t.Errorf("after revert green's secret keeps %s", argocd.AnnotationAddedLabels)
	}
	if got := labelsJSON(t, w.hubC, ns, "cluster-blue"); got != blueLabels {
		t.Errorf("after revert blue's secret labels = %s, want %s", got, blueLabels)
	}
	if rv2 := revert(); len(rv2.ApplicationSets)+len(rv2.Labels)+len(rv2.Reverted) != 0 {
		t.Errorf("second revert = %+v, want nothing", rv2)
	}

	// Forward again (green's applications exist), then release blue.
	if _, err := restore(t, e, acts, in); err != nil {
		t.Fatalf("retarget after the revert: %v", err)
	}
	release := func() argocd.ReleaseBlueResult {
		t.Helper()
		val, err := e.ExecuteActivity(acts.ReleaseBlueFromApplicationSets, argocd.ReleaseBlueInput{ArgoCluster: hubRef, Blue: blueRef, Green: greenRef, Namespace: ns, Migration: "m1"})
		if err != nil {
			t.Fatalf("release blue: %v", err)
		}
		var r argocd.ReleaseBlueResult
		if err := val.Get(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	rel := release()
	if join(rel.ApplicationSets) != "clustered,listed" || join(rel.Labels) != "cluster-blue: env,cluster-blue: region" || join(rel.BlueApplications) != "blue-pay,blue-shop" {
		t.Errorf("release = %+v", rel)
	}
	if got, want := join(elementsOf(t, w.hubC, ns, "listed")), join([]string{string(otherElem), string(greenElem)}); got != want {
		t.Errorf("after release listed's elements = %s, want %s", got, want)
	}
	if ann := getSet(t, w.hubC, ns, "listed").Annotations[argocd.AnnotationRemovedListElements]; !strings.Contains(ann, `"copyOf":`+string(blueElem)) {
		t.Errorf("listed's %s = %q", argocd.AnnotationRemovedListElements, ann)
	}
	bs := getSecret(t, w.hubC, ns, "cluster-blue")
	if !maps.Equal(bs.Labels, map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}) || bs.Annotations[argocd.AnnotationRemovedLabels] != `{"env":"prod","region":"use1"}` {
		t.Errorf("after release blue's secret labels %v, %s %q", bs.Labels, argocd.AnnotationRemovedLabels, bs.Annotations[argocd.AnnotationRemovedLabels])
	}
	if gs := getSecret(t, w.hubC, ns, greenSecret); gs.Labels["env"] != "prod" {
		t.Errorf("release removed green's labels: %v", gs.Labels)
	}
	if rel2 := release(); len(rel2.ApplicationSets)+len(rel2.Labels)+len(rel2.BlueApplications) != 0 {
		t.Errorf("second release = %+v, want nothing", rel2)
	}
}

// A template name that does not depend on the cluster would give green's
// application blue's name: a Conflict naming the ApplicationSet and the
// name, before anything is written.
func testAppSetCollision(t *testing.T, w *hubWorld) {
	const ns = "argocd-collide"
	mustCreate(t, w.hubC, namespace(ns), w.blueSecret(ns))
	fixed := appSet(ns, "fixed", false, "shop", argov1.ApplicationDestination{Server: "{{url}}", Namespace: "shop"},
		listGen(map[string]string{"cluster": "blue", "url": w.blue.Server}))
	mustCreate(t, w.hubC, fixed)
	before := specJSON(t, w.hubC, ns, "fixed")
	acts := argocd.New(w.resolver, argocd.WithPollInterval(100*time.Millisecond))
	e := newEnv(acts)
	_, err := restore(t, e, acts, argocd.RestoreInput{ArgoCluster: hubRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns})
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "ApplicationSet fixed") || !strings.Contains(err.Error(), `"shop"`) {
		t.Fatalf("retarget = %v, want a Conflict naming ApplicationSet fixed and its name shop", err)
	}
	if got := specJSON(t, w.hubC, ns, "fixed"); got != before {
		t.Errorf("the colliding ApplicationSet was changed:\n%s", got)
	}
}

// Without an ApplicationSet controller green's applications never come:
// a retryable Transient error that says so, after the bound.
func testAppSetNotGenerated(t *testing.T, w *hubWorld) {
	const ns = "argocd-silent"
	mustCreate(t, w.hubC, namespace(ns), w.blueSecret(ns))
	listed := appSet(ns, "listed", false, "{{cluster}}-shop", argov1.ApplicationDestination{Server: "{{url}}", Namespace: "shop"},
		listGen(map[string]string{"cluster": "blue", "url": w.blue.Server}))
	mustCreate(t, w.hubC, listed)
	mustCreate(t, w.hubC, ownedApp(ns, "blue-shop", listed, argov1.ApplicationDestination{Server: w.blue.Server, Namespace: "shop"}))
	acts := argocd.New(w.resolver, argocd.WithPollInterval(100*time.Millisecond), argocd.WithApplicationSetWait(500*time.Millisecond))
	e := newEnv(acts)
	start := time.Now()
	_, err := restore(t, e, acts, argocd.RestoreInput{ArgoCluster: hubRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns})
	if failures.TypeOf(err) != failures.Transient || !strings.Contains(err.Error(), "ApplicationSet listed has generated 0 of 1 applications for green") || !strings.Contains(err.Error(), "controller running?") {
		t.Fatalf("retarget = %v, want a Transient error about the ApplicationSet controller", err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("gave up after %v, before the bound", time.Since(start))
	}
	if !e.sawPending("ApplicationSet listed=0/1") {
		t.Errorf("no heartbeat named the pending ApplicationSet")
	}
}

func TestRenderTemplate(t *testing.T) {
	params := map[string]string{"name": "blue", "server": "https://blue.example.com", "metadata.labels.env": "prod", "nested.key": "v"}
	for _, c := range []struct {
		tmpl string
		goT  bool
		want string
	}{
		{"{{name}}-shop", false, "blue-shop"},
		{"{{ name }}-{{metadata.labels.env}}", false, "blue-prod"},
		{"{{unknown}}-x", false, "{{unknown}}-x"},
		{"{{.name}}-shop", false, "{{.name}}-shop"},
		{"{{.name}}-shop", true, "blue-shop"},
		{"{{ .name }}-{{ .metadata.labels.env }}", true, "blue-prod"},
		{`{{ index .metadata.labels "env" }}-{{- .nested.key -}}`, true, "prod-v"},
		{"{{name}}", true, "{{name}}"},
		{"{{ .name | upper }}", true, "{{ .name | upper }}"},
		{"shop", false, "shop"},
	} {
		if got := argocd.RenderTemplate(c.tmpl, params, c.goT); got != c.want {
			t.Errorf("RenderTemplate(%q, goTemplate=%v) = %q, want %q", c.tmpl, c.goT, got, c.want)
		}
	}
}
