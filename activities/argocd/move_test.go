package argocd_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

const argoVersion = "v2.14.21"

// moduleManifest is the test's InstallManifestFunc: the install.yaml of
// the pinned Argo CD module in the module cache, for v2.14.21 only.
func moduleManifest(t *testing.T) (func(ctx context.Context, version string) ([]byte, error), *int) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-cd/v2").Output()
	if err != nil {
		t.Fatalf("go list the Argo CD module: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "manifests", "install.yaml")
	var mu sync.Mutex
	calls := 0
	return func(_ context.Context, version string) ([]byte, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		if version != argoVersion {
			return nil, failures.New(failures.NotFound, "test: no install manifest of %s (only %s)", version, argoVersion)
		}
		return os.ReadFile(path)
	}, &calls
}

// moveEnv runs activities in a Temporal test environment and counts the
// heartbeats.
type moveEnv struct {
	*testsuite.TestActivityEnvironment
	mu         sync.Mutex
	heartbeats int
	last       converter.EncodedValues
}

func newMoveEnv(acts *argocd.Activities) *moveEnv {
	var s testsuite.WorkflowTestSuite
	e := &moveEnv{TestActivityEnvironment: s.NewTestActivityEnvironment()}
	e.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	e.RegisterActivity(acts)
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		e.mu.Lock()
		e.heartbeats++
		e.last = details
		e.mu.Unlock()
	})
	return e
}

func run[T any](t *testing.T, e *moveEnv, fn any, in any) (T, error) {
	t.Helper()
	var res T
	val, err := e.ExecuteActivity(fn, in)
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func clientset(t *testing.T, c interface {
	Clientset() (*kubernetes.Clientset, error)
}) *kubernetes.Clientset {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func controllerStatefulSet(ns, image string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app.kubernetes.io/name": argocd.ApplicationController}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: argocd.ApplicationController, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels}, ServiceName: argocd.ApplicationController,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: argocd.ApplicationController, Image: image}}}},
		},
	}
}

func deployment(ns, name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}}}},
		},
	}
}

func clusterSecret(ns, name, clusterName, server string) *corev1.Secret {
	conf, _ := json.Marshal(map[string]any{"bearerToken": "token-of-" + name})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
		StringData: map[string]string{"name": clusterName, "server": server, "config": string(conf)},
	}
}

// selectedBy gives a cluster Secret a label a cluster generator selects.
func selectedBy(s *corev1.Secret, k, v string) *corev1.Secret {
	s.Labels[k] = v
	return s
}

func TestArgoCDMove(t *testing.T) {
	w := startWorld(t)
	t.Run("Locate", func(t *testing.T) { testLocate(t, w) })
	manifest, calls := moduleManifest(t)
	acts := argocd.New(w.resolver, argocd.WithInstallManifest(manifest), argocd.WithPollInterval(100*time.Millisecond))
	if !t.Run("Install", func(t *testing.T) { testInstall(t, w, acts, calls) }) {
		return
	}
	if !t.Run("Copy", func(t *testing.T) { testCopySettings(t, w, acts) }) {
		return
	}
	t.Run("CopyMode", func(t *testing.T) { testCopyMode(t, w, acts) })
	t.Run("HandOver", func(t *testing.T) { testHandOver(t, w, acts) })
	t.Run("RemoveCopies", func(t *testing.T) { testRemoveCopies(t, w, acts) })
}

func testLocate(t *testing.T, w *world) {
	ctx := context.Background()
	hubRef := clusters.Ref{Name: "hub", Region: "us-east-1"}
	// The hub is green's apiserver under another name.
	resolver := clusters.KubeconfigResolver{Paths: map[string]string{"blue": w.blue.Kubeconfig, "green": w.green.Kubeconfig, "hub": w.green.Kubeconfig}}
	acts := argocd.New(resolver)
	e := newMoveEnv(acts)
	locate := func(in argocd.LocateInput) argocd.Location {
		t.Helper()
		loc, err := run[argocd.Location](t, e, acts.LocateArgoCD, in)
		if err != nil {
			t.Fatalf("LocateArgoCD: %v", err)
		}
		return loc
	}
	const ns = "argocd-locate"
	loc := locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: ns})
	if loc.Where != argocd.WhereNone || loc.Version != "" || loc.ManagesGreen ||
		!reflect.DeepEqual(loc.Evidence, []string{"blue: no namespace " + ns, "green: no namespace " + ns}) {
		t.Errorf("nowhere: %+v", loc)
	}

	blueCS := clientset(t, w.blue)
	mustCreate(t, w.blueC, namespace(ns))
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: ns})
	if loc.Where != argocd.WhereNone || !slices.Contains(loc.Evidence, "blue: no StatefulSet or Deployment "+ns+"/argocd-application-controller") {
		t.Errorf("namespace without a controller: %+v", loc)
	}
	if _, err := blueCS.AppsV1().StatefulSets(ns).Create(ctx, controllerStatefulSet(ns, "quay.io/argoproj/argocd:v2.14.21", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, w.blueC,
		clusterSecret(ns, "green-prod", "green-prod", w.green.Server),
		app(ns, "web", "default", nil, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "web"}),
		app(ns, "other", "default", nil, argov1.ApplicationDestination{Server: "https://other.example.com", Namespace: "x"}),
	)
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: ns})
	want := []string{
		"blue: StatefulSet " + ns + "/argocd-application-controller (quay.io/argoproj/argocd:v2.14.21)",
		"blue: 2 Applications",
		"green: no namespace " + ns,
	}
	if loc.Where != argocd.WhereBlue || loc.Version != "v2.14.21" || loc.ManagesGreen || !reflect.DeepEqual(loc.Evidence, want) {
		t.Errorf("on blue, not managing green: %+v", loc)
	}
	// An Application that names green's cluster Secret.
	mustCreate(t, w.blueC, app(ns, "shop", "default", nil, argov1.ApplicationDestination{Name: "green-prod", Namespace: "shop"}))
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: ns})
	if loc.Where != argocd.WhereBlue || !loc.ManagesGreen || !reflect.DeepEqual(loc.GreenApplications, []string{"shop"}) {
		t.Errorf("on blue, managing green: %+v", loc)
	}

	// On the hub (a Deployment, another version) too: the hub is looked at
	// first; its ApplicationSet's template targets green by server.
	greenCS := clientset(t, w.green)
	mustCreate(t, w.greenC, namespace(ns))
	if _, err := greenCS.AppsV1().Deployments(ns).Create(ctx, deployment(ns, argocd.ApplicationController, "quay.io/argoproj/argocd:v2.13.0@sha256:0123", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	set := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns}}
	set.Spec.Generators = []argov1.ApplicationSetGenerator{{List: &argov1.ListGenerator{}}}
	set.Spec.Template.Spec = argov1.ApplicationSpec{Project: "default", Destination: argov1.ApplicationDestination{Server: w.green.Server + "/", Namespace: "fleet"},
		Source: &argov1.ApplicationSource{RepoURL: "https://github.com/cutover-dev/sandbox-apps.git", Path: "fleet"}}
	mustCreate(t, w.greenC, set)
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Hub: &hubRef, Namespace: ns})
	if loc.Where != argocd.WhereHub || loc.Version != "v2.13.0" || !loc.ManagesGreen || !reflect.DeepEqual(loc.GreenApplications, []string{"ApplicationSet fleet"}) {
		t.Errorf("on the hub: %+v", loc)
	}
	if !slices.Contains(loc.Evidence, "hub: Deployment "+ns+"/argocd-application-controller (quay.io/argoproj/argocd:v2.13.0@sha256:0123)") ||
		!slices.Contains(loc.Evidence, "blue: Argo CD also runs here; the one on hub is the one located") {
		t.Errorf("hub evidence: %q", loc.Evidence)
	}
	// Without the hub, blue comes before green.
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: ns})
	if loc.Where != argocd.WhereBlue || !slices.Contains(loc.Evidence, "green: Argo CD also runs here; the one on blue is the one located") {
		t.Errorf("blue and green: %+v", loc)
	}

	// Only on green: in-cluster destinations are green.
	const gns = "argocd-locate-green"
	mustCreate(t, w.greenC, namespace(gns))
	if _, err := greenCS.AppsV1().StatefulSets(gns).Create(ctx, controllerStatefulSet(gns, "quay.io/argoproj/argocd:v2.14.21", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, w.greenC, app(gns, "local", "default", nil, argov1.ApplicationDestination{Name: argocd.InClusterName, Namespace: "local"}))
	loc = locate(argocd.LocateInput{Blue: blueRef, Green: greenRef, Namespace: gns})
	if loc.Where != argocd.WhereGreen || !loc.ManagesGreen || !reflect.DeepEqual(loc.GreenApplications, []string{"local"}) {
		t.Errorf("on green: %+v", loc)
	}

	if _, err := acts.LocateArgoCD(ctx, argocd.LocateInput{Blue: blueRef, Green: greenRef}); failures.TypeOf(err) != failures.Validation {
		t.Errorf("no namespace: %v", err)
	}
}

// moveNS is where blue's Argo CD lives and where green gets its own.
const moveNS = "argocd-move"

func testInstall(t *testing.T, w *world, acts *argocd.Activities, calls *int) {
	ctx := context.Background()
	e := newMoveEnv(acts)
	in := argocd.InstallInput{Cluster: greenRef, Namespace: moveNS, Version: argoVersion, Migration: "m1"}
	res, err := run[argocd.InstallResult](t, e, acts.InstallArgoCD, in)
	if err != nil {
		t.Fatalf("InstallArgoCD: %v", err)
	}
	if res.Applied != 59 || res.AlreadyInstalled || res.Version != argoVersion {
		t.Errorf("install result %+v, want the 59 objects of the manifest applied", res)
	}
	if e.heartbeats == 0 {
		t.Error("no heartbeat")
	}
	var p argocd.InstallProgress
	// The SDK throttles heartbeats: the first one is what the test sees.
	if e.last == nil || e.last.Get(&p) != nil || p.Applied < 1 || p.Total != 59 || p.Last == "" {
		t.Errorf("heartbeat %+v, want the progress over the 59 objects", p)
	}
	cs := clientset(t, w.green)
	sts, err := cs.AppsV1().StatefulSets(moveNS).Get(ctx, argocd.ApplicationController, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("application controller: %v", err)
	}
	if img := sts.Spec.Template.Spec.Containers[0].Image; img != "quay.io/argoproj/argocd:v2.14.21" {
		t.Errorf("controller image %s", img)
	}
	if sts.Annotations[argocd.AnnotationInstalledBy] != "m1" || !slices.ContainsFunc(sts.ManagedFields, func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == argocd.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("controller not applied server-side by %s: %v %v", argocd.FieldManager, sts.Annotations, sts.ManagedFields)
	}
	for _, d := range []string{"argocd-server", "argocd-repo-server", "argocd-applicationset-controller", "argocd-redis", "argocd-dex-server", "argocd-notifications-controller"} {
		if _, err := cs.AppsV1().Deployments(moveNS).Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("Deployment %s: %v", d, err)
		}
	}
	cm, err := cs.CoreV1().ConfigMaps(moveNS).Get(ctx, "argocd-cm", metav1.GetOptions{})
	if err != nil || cm.Labels["app.kubernetes.io/part-of"] != "argocd" {
		t.Errorf("argocd-cm: %v %v", cm.Labels, err)
	}
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, "argocd-application-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ClusterRoleBinding: %v", err)
	}
	if len(crb.Subjects) != 1 || crb.Subjects[0].Namespace != moveNS {
		t.Errorf("ClusterRoleBinding subjects %+v, want the ServiceAccount in %s", crb.Subjects, moveNS)
	}

	before := *calls
	res, err = run[argocd.InstallResult](t, e, acts.InstallArgoCD, in)
	if err != nil || !res.AlreadyInstalled || res.Applied != 0 || *calls != before {
		t.Errorf("second install: %+v, %v (manifest fetched %d times more), want AlreadyInstalled without a fetch", res, err, *calls-before)
	}
	in.Version = "v2.13.0"
	_, err = run[argocd.InstallResult](t, e, acts.InstallArgoCD, in)
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "v2.14.21") {
		t.Errorf("another version: %v, want a Conflict naming the running one", err)
	}
	// A version without a manifest on a cluster without Argo CD.
	_, err = run[argocd.InstallResult](t, e, acts.InstallArgoCD, argocd.InstallInput{Cluster: blueRef, Namespace: "argocd-none", Version: "v2.13.0", Migration: "m1"})
	if failures.TypeOf(err) != failures.NotFound || !strings.Contains(err.Error(), "v2.13.0") {
		t.Errorf("unknown version: %v, want NotFound", err)
	}
	_, err = acts.InstallArgoCD(ctx, argocd.InstallInput{Cluster: greenRef, Namespace: moveNS, Version: "main; rm"})
	if failures.TypeOf(err) != failures.Validation {
		t.Errorf("bad version: %v", err)
	}
}

func testCopySettings(t *testing.T, w *world, acts *argocd.Activities) {
	ctx := context.Background()
	const ns = moveNS
	mustCreate(t, w.blueC, namespace(ns))
	team := map[string]string{"team": "shop"}
	mustCreate(t, w.blueC,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd", "blue-only": "yes"}},
			Data: map[string]string{"url": "https://argocd.blue.example.com", "accounts.ci": "apiKey"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-rbac-cm", Namespace: ns},
			Data: map[string]string{"policy.default": "role:readonly", "policy.csv": "p, role:ci, applications, sync, */*, allow\n"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated-cm", Namespace: ns}, Data: map[string]string{"a": "b"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo-shop", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: "repository"}},
			StringData: map[string]string{"url": "https://github.com/example/shop-deploy.git", "type": "git"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds-example", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: "repo-creds"}},
			StringData: map[string]string{"url": "https://github.com/example", "password": "s3cret"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-argo", Namespace: ns}, StringData: map[string]string{"x": "y"}},
		clusterSecret(ns, "cluster-blue", "blue", w.blue.Server),
		selectedBy(clusterSecret(ns, "green-prod", "green-prod", w.green.Server+"/"), "env", "prod"),
		clusterSecret(ns, "staging", "staging", "https://staging.example.com"),
		&argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
			Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"}, Destinations: []argov1.ApplicationDestination{
				{Server: w.green.Server, Namespace: "*"}, {Name: "green-prod", Namespace: "shop"}, {Server: "https://staging.example.com", Namespace: "*"}}}},
	)
	web := syncedTo(app(ns, "web", "shop", team, argov1.ApplicationDestination{Name: "green-prod", Namespace: "web"}), argov1.ApplicationDestination{Name: "green-prod", Namespace: "web"})
	web.Operation = &argov1.Operation{Sync: &argov1.SyncOperation{}}
	web.Annotations = map[string]string{argocd.AnnotationPreviousDestination: `{"name":"blue"}`, "notes": "kept"}
	api := app(ns, "api", "shop", team, argov1.ApplicationDestination{Server: w.green.Server + "/", Namespace: "api"})
	api.Finalizers = nil
	stage := app(ns, "stage", "shop", team, argov1.ApplicationDestination{Server: "https://staging.example.com", Namespace: "stage"})
	local := app(ns, "blue-local", "default", team, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "local"})
	conflicting := app(ns, "conflicting", "shop", team, argov1.ApplicationDestination{Name: "green-prod", Namespace: "c"})
	mustCreate(t, w.blueC, web, api, stage, local, conflicting,
		app(ns, "ignored", "shop", nil, argov1.ApplicationDestination{Name: "green-prod", Namespace: "i"}))
	set := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "team-set", Namespace: ns, Labels: team}}
	set.Spec.Generators = []argov1.ApplicationSetGenerator{{List: &argov1.ListGenerator{}}}
	set.Spec.Template.Spec = argov1.ApplicationSpec{Project: "shop", Destination: argov1.ApplicationDestination{Name: "green-prod", Namespace: "{{name}}"},
		Source: &argov1.ApplicationSource{RepoURL: "https://github.com/example/shop-deploy.git", Path: "{{name}}"}}
	mustCreate(t, w.blueC, set)
	// Green's Argo CD made its default project when it started; blue's is
	// restricted.
	mustCreate(t, w.blueC, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
		Spec: argov1.AppProjectSpec{SourceRepos: []string{"https://github.com/example/*"}, Destinations: []argov1.ApplicationDestination{{Name: "green-prod", Namespace: "*"}}}})
	mustCreate(t, w.greenC, &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
		Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"}, Destinations: []argov1.ApplicationDestination{{Server: "*", Namespace: "*"}}}})
	// Green's Argo CD already has an application of that name, not a copy.
	mine := app(ns, "conflicting", "default", nil, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "mine"})
	mustCreate(t, w.greenC, mine)

	e := newMoveEnv(acts)
	in := argocd.CopySettingsInput{From: blueRef, To: greenRef, Namespace: ns, Selector: "team=shop", Migration: "m1"}
	res, err := run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, in)
	if err != nil {
		t.Fatalf("CopyArgoCDSettings: %v", err)
	}
	want := argocd.CopySettingsResult{
		ConfigMaps:      []string{"argocd-cm", "argocd-rbac-cm"},
		Secrets:         []string{"creds-example", "green-prod", "repo-shop", "staging"},
		Projects:        []string{"default", "shop"},
		Applications:    []string{"api", "stage", "web"},
		ApplicationSets: []string{"team-set"},
		Conflicts:       []string{"Application conflicting: exists on green and was not copied by migration m1"},
		Changed: []string{"ConfigMap argocd-cm", "ConfigMap argocd-rbac-cm", "Secret creds-example", "Secret green-prod", "Secret repo-shop", "Secret staging",
			"AppProject default", "AppProject shop", "ApplicationSet team-set", "Application api", "Application stage", "Application web"},
		Skipped: []string{"Application blue-local: targets blue (" + argocd.InClusterServer + ")"},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("copy result\n%+v\nwant\n%+v", res, want)
	}
	if e.heartbeats == 0 {
		t.Error("no heartbeat")
	}

	// ConfigMaps: blue's data, green's labels kept, blue's added.
	var cm corev1.ConfigMap
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "argocd-cm"}, &cm); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cm.Data, map[string]string{"url": "https://argocd.blue.example.com", "accounts.ci": "apiKey"}) ||
		cm.Labels["app.kubernetes.io/name"] != "argocd-cm" || cm.Labels["blue-only"] != "yes" || cm.Annotations[argocd.AnnotationCopiedBy] != "m1" {
		t.Errorf("argocd-cm on green: %v %v %v", cm.Data, cm.Labels, cm.Annotations)
	}
	// Secrets: the repository ones and staging's cluster Secret; not blue's or green's own.
	var repo corev1.Secret
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "repo-shop"}, &repo); err != nil ||
		string(repo.Data["url"]) != "https://github.com/example/shop-deploy.git" || repo.Labels[argocd.LabelSecretType] != "repository" {
		t.Errorf("repository secret on green: %+v %v", repo, err)
	}
	// Green's own cluster Secret, which a cluster generator selects by its
	// env label, becomes green's in-cluster Secret: labels kept, no
	// credentials.
	var self corev1.Secret
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "green-prod"}, &self); err != nil ||
		string(self.Data["server"]) != argocd.InClusterServer || string(self.Data["name"]) != "green-prod" || strings.Contains(string(self.Data["config"]), "token") ||
		self.Labels["env"] != "prod" || self.Labels[argocd.LabelSecretType] != argocd.SecretTypeCluster {
		t.Errorf("green's in-cluster secret on green: %v %v %v", err, self.Labels, self.Data)
	}
	for _, name := range []string{"cluster-blue", "not-argo"} {
		var s corev1.Secret
		if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); !apierrors.IsNotFound(err) {
			t.Errorf("secret %s was copied: %v", name, err)
		}
	}
	// Project destinations of green made in-cluster.
	var proj argov1.AppProject
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, &proj); err != nil {
		t.Fatal(err)
	}
	wantDest := []argov1.ApplicationDestination{{Server: argocd.InClusterServer, Namespace: "*"}, {Server: argocd.InClusterServer, Namespace: "shop"}, {Server: "https://staging.example.com", Namespace: "*"}}
	if !reflect.DeepEqual(proj.Spec.Destinations, wantDest) {
		t.Errorf("project destinations %+v", proj.Spec.Destinations)
	}
	var def argov1.AppProject
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &def); err != nil ||
		!reflect.DeepEqual(def.Spec.SourceRepos, []string{"https://github.com/example/*"}) ||
		!reflect.DeepEqual(def.Spec.Destinations, []argov1.ApplicationDestination{{Server: argocd.InClusterServer, Namespace: "*"}}) {
		t.Errorf("green's default project %+v, %v; want blue's, re-pointed", def.Spec, err)
	}
	// Applications re-pointed, without status or operation, finalizers as blue has them.
	g := getApp(t, w.greenC, ns, "web")
	if g.Spec.Destination != (argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "web"}) || g.Status.Sync.Status != "" || g.Operation != nil ||
		!slices.Equal(g.Finalizers, []string{"resources-finalizer.argocd.argoproj.io"}) ||
		g.Annotations[argocd.AnnotationCopiedBy] != "m1" || g.Annotations["notes"] != "kept" || g.Annotations[argocd.AnnotationPreviousDestination] != "" {
		t.Errorf("web on green: %+v %+v finalizers %v annotations %v", g.Spec.Destination, g.Status.Sync, g.Finalizers, g.Annotations)
	}
	if g := getApp(t, w.greenC, ns, "api"); g.Spec.Destination.Server != argocd.InClusterServer || len(g.Finalizers) != 0 {
		t.Errorf("api on green: %+v finalizers %v", g.Spec.Destination, g.Finalizers)
	}
	if g := getApp(t, w.greenC, ns, "stage"); g.Spec.Destination.Server != "https://staging.example.com" {
		t.Errorf("stage on green: %+v", g.Spec.Destination)
	}
	if g := getApp(t, w.greenC, ns, "conflicting"); g.Spec.Destination.Namespace != "mine" || g.Annotations[argocd.AnnotationCopiedBy] != "" {
		t.Errorf("green's own application was changed: %+v %v", g.Spec.Destination, g.Annotations)
	}
	var gs argov1.ApplicationSet
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team-set"}, &gs); err != nil ||
		gs.Spec.Template.Spec.Destination != (argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "{{name}}"}) {
		t.Errorf("ApplicationSet on green: %+v %v", gs.Spec.Template.Spec.Destination, err)
	}
	for _, name := range []string{"blue-local", "ignored"} {
		var a argov1.Application
		if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &a); !apierrors.IsNotFound(err) {
			t.Errorf("application %s was copied: %v", name, err)
		}
	}

	// A retry writes nothing.
	res, err = run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, in)
	if err != nil || len(res.Changed) != 0 || !reflect.DeepEqual(res.Applications, want.Applications) || !reflect.DeepEqual(res.Conflicts, want.Conflicts) {
		t.Errorf("retry: %+v, %v; want the same copies and nothing changed", res, err)
	}
	// A change on blue is carried on the next run.
	cur := getApp(t, w.blueC, ns, "stage")
	cur.Spec.Source.TargetRevision = "release"
	if err := w.blueC.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	res, err = run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, in)
	if err != nil || !reflect.DeepEqual(res.Changed, []string{"Application stage"}) {
		t.Errorf("after a change on blue: %+v, %v", res, err)
	}
	if g := getApp(t, w.greenC, ns, "stage"); g.Spec.Source.TargetRevision != "release" {
		t.Errorf("stage's revision on green: %s", g.Spec.Source.TargetRevision)
	}
	// Another migration's copies are conflicts (its ConfigMaps it takes over).
	other := in
	other.Migration = "m2"
	res, err = run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, other)
	if err != nil || len(res.Applications) != 0 || len(res.Conflicts) != 10 || !reflect.DeepEqual(res.ConfigMaps, want.ConfigMaps) {
		t.Errorf("another migration: %+v, %v", res, err)
	}
	if g := getApp(t, w.greenC, ns, "web"); g.Annotations[argocd.AnnotationCopiedBy] != "m1" {
		t.Errorf("another migration took web: %v", g.Annotations)
	}
	if _, err := run[argocd.CopySettingsResult](t, e, acts.CopyArgoCDSettings, argocd.CopySettingsInput{From: blueRef, To: greenRef, Namespace: "argocd-absent", Migration: "m1"}); failures.TypeOf(err) != failures.NotFound {
		t.Errorf("no Argo CD namespace on green: %v", err)
	}
}

func testHandOver(t *testing.T, w *world, acts *argocd.Activities) {
	ctx := context.Background()
	cs := clientset(t, w.blue)
	if _, err := cs.AppsV1().StatefulSets(moveNS).Create(ctx, controllerStatefulSet(moveNS, "quay.io/argoproj/argocd:v2.14.21", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(moveNS).Create(ctx, deployment(moveNS, argocd.ApplicationSetController, "quay.io/argoproj/argocd:v2.14.21", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := func() (int32, int32, map[string]string) {
		t.Helper()
		s, err := cs.AppsV1().StatefulSets(moveNS).Get(ctx, argocd.ApplicationController, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := cs.AppsV1().Deployments(moveNS).Get(ctx, argocd.ApplicationSetController, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *s.Spec.Replicas, *d.Spec.Replicas, s.Annotations
	}
	e := newMoveEnv(acts)
	in := argocd.HandOverInput{From: blueRef, Namespace: moveNS, Migration: "m1"}
	res, err := run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, in)
	want := []string{"StatefulSet " + moveNS + "/argocd-application-controller 1->0", "Deployment " + moveNS + "/argocd-applicationset-controller 2->0"}
	if err != nil || !reflect.DeepEqual(res.Scaled, want) {
		t.Errorf("hand over: %+v, %v; want %v", res, err, want)
	}
	if s, d, ann := replicas(); s != 0 || d != 0 || ann[argocd.AnnotationReplicasBefore] != "1" || ann[argocd.AnnotationHandedOverBy] != "m1" {
		t.Errorf("after hand over: %d %d %v", s, d, ann)
	}
	res, err = run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, in)
	if err != nil || len(res.Scaled) != 0 {
		t.Errorf("second hand over: %+v, %v", res, err)
	}
	if s, _, ann := replicas(); s != 0 || ann[argocd.AnnotationReplicasBefore] != "1" {
		t.Errorf("second hand over lost the recorded replicas: %d %v", s, ann)
	}
	_, err = run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, argocd.HandOverInput{From: blueRef, Namespace: moveNS, Migration: "m2", Back: true})
	if failures.TypeOf(err) != failures.Conflict {
		t.Errorf("another migration's rollback: %v, want a Conflict", err)
	}
	in.Back = true
	res, err = run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, in)
	want = []string{"StatefulSet " + moveNS + "/argocd-application-controller 0->1", "Deployment " + moveNS + "/argocd-applicationset-controller 0->2"}
	if err != nil || !reflect.DeepEqual(res.Scaled, want) {
		t.Errorf("hand back: %+v, %v; want %v", res, err, want)
	}
	if s, d, ann := replicas(); s != 1 || d != 2 || ann[argocd.AnnotationReplicasBefore] != "" || ann[argocd.AnnotationHandedOverBy] != "" {
		t.Errorf("after hand back: %d %d %v", s, d, ann)
	}
	res, err = run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, in)
	if err != nil || len(res.Scaled) != 0 {
		t.Errorf("second hand back: %+v, %v", res, err)
	}
	// No Argo CD there: nothing to scale.
	res, err = run[argocd.HandOverResult](t, e, acts.HandOverArgoCD, argocd.HandOverInput{From: blueRef, Namespace: "argocd-nothing", Migration: "m1"})
	if err != nil || len(res.Scaled) != 0 {
		t.Errorf("hand over without Argo CD: %+v, %v", res, err)
	}
}

func testRemoveCopies(t *testing.T, w *world, acts *argocd.Activities) {
	ctx := context.Background()
	const ns = moveNS
	// Watch green's Applications: no deletion may start while a finalizer is set.
	var list argov1.ApplicationList
	if err := w.greenC.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	wc, err := client.NewWithWatch(w.green.RESTConfig(), client.Options{Scheme: w.greenC.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := wc.Watch(ctx, &argov1.ApplicationList{}, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()

	e := newMoveEnv(acts)
	in := argocd.RemoveCopiesInput{To: greenRef, Namespace: ns, Migration: "m1"}
	res, err := run[argocd.RemoveCopiesResult](t, e, acts.RemoveArgoCDCopies, in)
	want := argocd.RemoveCopiesResult{
		Applications: []string{"api", "stage", "web"}, ApplicationSets: []string{"team-set"},
		Projects: []string{"shop"}, Secrets: []string{"creds-example", "green-prod", "repo-shop", "staging"},
	}
	if err != nil || !reflect.DeepEqual(res, want) {
		t.Errorf("remove copies: %+v, %v; want %+v", res, err, want)
	}
	deleted := map[string]bool{}
	unfinalized := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(deleted) < 3 {
		select {
		case ev := <-watcher.ResultChan():
			a, ok := ev.Object.(*argov1.Application)
			if !ok {
				t.Fatalf("watch event %v: %T", ev.Type, ev.Object)
			}
			if a.DeletionTimestamp != nil && len(a.Finalizers) > 0 {
				t.Errorf("application %s was being deleted with finalizers %v", a.Name, a.Finalizers)
			}
			if ev.Type == watch.Modified && len(a.Finalizers) == 0 {
				unfinalized[a.Name] = true
			}
			if ev.Type == watch.Deleted {
				deleted[a.Name] = true
			}
		case <-timeout:
			t.Fatalf("deleted %v only", deleted)
		}
	}
	if !unfinalized["web"] || !unfinalized["stage"] || unfinalized["api"] {
		t.Errorf("finalizers removed before the delete of %v, want web and stage (api had none)", unfinalized)
	}
	var cm corev1.ConfigMap
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "argocd-cm"}, &cm); err != nil {
		t.Errorf("argocd-cm was removed: %v", err)
	}
	var def argov1.AppProject
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &def); err != nil {
		t.Errorf("the default project was removed: %v", err)
	}
	if g := getApp(t, w.greenC, ns, "conflicting"); g.Spec.Destination.Namespace != "mine" {
		t.Errorf("green's own application: %+v", g.Spec.Destination)
	}
	for _, o := range []client.Object{&argov1.ApplicationSet{}, &argov1.AppProject{}, &corev1.Secret{}} {
		name := map[string]string{"*v1alpha1.ApplicationSet": "team-set", "*v1alpha1.AppProject": "shop", "*v1.Secret": "repo-shop"}[reflect.TypeOf(o).String()]
		if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s still there: %v", o, name, err)
		}
	}
	res, err = run[argocd.RemoveCopiesResult](t, e, acts.RemoveArgoCDCopies, in)
	if err != nil || len(res.Applications)+len(res.ApplicationSets)+len(res.Projects)+len(res.Secrets) != 0 {
		t.Errorf("second remove: %+v, %v", res, err)
	}
}
