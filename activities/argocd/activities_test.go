package argocd_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/gitops-engine/pkg/health"
	synccommon "github.com/argoproj/gitops-engine/pkg/sync/common"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

var (
	blueRef  = clusters.Ref{Name: "blue", Region: "us-east-1"}
	greenRef = clusters.Ref{Name: "green", Region: "us-east-1"}
)

// world is two sandbox clusters with the Argo CD and Velero CRDs.
type world struct {
	blue, green   *sandbox.Kube
	blueC, greenC client.Client
	resolver      clusters.Resolver
}

func startWorld(t *testing.T) *world {
	t.Helper()
	w := &world{blue: sandboxtest.Kube(t, "blue"), green: sandboxtest.Kube(t, "green")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, k := range []*sandbox.Kube{w.blue, w.green} {
		if _, err := sandbox.InstallCRDs(ctx, k); err != nil {
			t.Fatalf("install CRDs on %s: %v", k.Name, err)
		}
	}
	var err error
	if w.blueC, err = argocd.NewClient(w.blue.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if w.greenC, err = argocd.NewClient(w.green.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	w.resolver = clusters.KubeconfigResolver{Paths: map[string]string{"blue": w.blue.Kubeconfig, "green": w.green.Kubeconfig}}
	return w
}

// env is a Temporal test activity environment that records heartbeats.
type env struct {
	*testsuite.TestActivityEnvironment
	mu         sync.Mutex
	heartbeats []argocd.WaitProgress
}

func newEnv(acts *argocd.Activities) *env {
	var s testsuite.WorkflowTestSuite
	e := &env{TestActivityEnvironment: s.NewTestActivityEnvironment()}
	e.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	e.RegisterActivity(acts)
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p argocd.WaitProgress
		if details.HasValues() && details.Get(&p) == nil {
			e.mu.Lock()
			e.heartbeats = append(e.heartbeats, p)
			e.mu.Unlock()
		}
	})
	return e
}

func (e *env) sawPending(substr string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range e.heartbeats {
		for _, p := range h.Pending {
			if strings.Contains(p, substr) {
				return true
			}
		}
	}
	return false
}

func restore(t *testing.T, e *env, acts *argocd.Activities, in argocd.RestoreInput) (argocd.RestoreResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.RestoreArgoApplications, in)
	var res argocd.RestoreResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func mustCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func app(ns, name, project string, labels map[string]string, dest argov1.ApplicationDestination) *argov1.Application {
	return &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
			Finalizers: []string{"resources-finalizer.argocd.argoproj.io"}},
		Spec: argov1.ApplicationSpec{
			Project:     project,
			Source:      &argov1.ApplicationSource{RepoURL: "https://github.com/cutover-dev/sandbox-apps.git", Path: "apps/" + name, TargetRevision: "main"},
			Destination: dest,
		},
	}
}

// syncedTo gives a what the Argo CD controller reports after syncing it to dest.
func syncedTo(a *argov1.Application, dest argov1.ApplicationDestination) *argov1.Application {
	a.Status.Sync = argov1.SyncStatus{Status: argov1.SyncStatusCodeSynced, ComparedTo: argov1.ComparedTo{Destination: dest}, Revision: "4f2a9c1e"}
	a.Status.Health = argov1.HealthStatus{Status: health.HealthStatusHealthy}
	return a
}

func getApp(t *testing.T, c client.Client, ns, name string) *argov1.Application {
	t.Helper()
	var a argov1.Application
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &a); err != nil {
		t.Fatalf("get application %s/%s: %v", ns, name, err)
	}
	return &a
}

func TestArgoCD(t *testing.T) {
	w := startWorld(t)
	t.Run("RetargetThenWaitSynced", func(t *testing.T) { testRetargetThenWait(t, w) })
	t.Run("WaitFails", func(t *testing.T) { testWaitFails(t, w) })
	t.Run("Copy", func(t *testing.T) { testCopy(t, w) })
	t.Run("RetargetReusesRegistration", func(t *testing.T) { testRetargetReuses(t, w) })
	t.Run("RevertAfterRollback", func(t *testing.T) { testRevert(t, w) })
}

// Green already registered with Argo CD under another name: that
// registration is used and no secret is created; an application generated
// by an ApplicationSet is refused.
func testRetargetReuses(t *testing.T, w *world) {
	ctx := context.Background()
	const ns = "argocd-reuse"
	mustCreate(t, w.blueC, namespace(ns))
	conf, _ := json.Marshal(map[string]any{"bearerToken": "someone-elses"})
	mustCreate(t, w.blueC, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "green-prod", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
		StringData: map[string]string{"name": "green-prod", "server": w.green.Server + "/", "config": string(conf)},
	})
	generated := app(ns, "generated", "default", map[string]string{"set": "yes"}, argov1.ApplicationDestination{Name: argocd.InClusterName, Namespace: "gen"})
	generated.OwnerReferences = []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: "team-apps", UID: "0b8e2f4a-1111-4222-8333-944455556666"}}
	mustCreate(t, w.blueC,
		app(ns, "web", "default", map[string]string{"set": "no"}, argov1.ApplicationDestination{Name: argocd.InClusterName, Namespace: "web"}),
		generated,
	)
	acts := argocd.New(w.resolver)
	e := newEnv(acts)
	in := argocd.RestoreInput{ArgoCluster: blueRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns, Selector: "set=no"}
	res, err := restore(t, e, acts, in)
	if err != nil {
		t.Fatalf("RestoreArgoApplications: %v", err)
	}
	if strings.Join(res.Applications, ",") != "web" || res.ClusterSecret != "" {
		t.Errorf("result = %+v, want web and no cutover secret", res)
	}
	if d := getApp(t, w.blueC, ns, "web").Spec.Destination; d.Name != "green-prod" || d.Server != "" {
		t.Errorf("web destination = %+v, want name green-prod", d)
	}
	var sec corev1.Secret
	if err := w.blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: argocd.ClusterSecretName(greenRef)}, &sec); !apierrors.IsNotFound(err) {
		t.Errorf("a cutover cluster secret was created next to the existing registration: %v", err)
	}

	in.Selector = "set=yes"
	_, err = restore(t, e, acts, in)
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "team-apps") {
		t.Errorf("ApplicationSet-generated app: %v, want a Conflict naming the ApplicationSet", err)
	}
	if d := getApp(t, w.blueC, ns, "generated").Spec.Destination; d.Name != argocd.InClusterName {
		t.Errorf("generated was retargeted: %+v", d)
	}
}

func testRetargetThenWait(t *testing.T, w *world) {
	ctx := context.Background()
	const ns = "argocd"
	blueServer, greenServer := w.blue.Server, w.green.Server
	mustCreate(t, w.blueC, namespace(ns))

	// Argo CD on blue knows blue by name (like the sandbox seed).
	blueConf, _ := json.Marshal(map[string]any{"bearerToken": "blue-token"})
	mustCreate(t, w.blueC, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-blue", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
		StringData: map[string]string{"name": "blue", "server": blueServer, "config": string(blueConf)},
	})
	mustCreate(t, w.blueC, &argov1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: argov1.AppProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []argov1.ApplicationDestination{{Server: blueServer, Namespace: "*"}, {Name: "blue", Namespace: "shop"}},
		},
	})
	team := map[string]string{"team": "shop"}
	byName := argov1.ApplicationDestination{Name: "blue", Namespace: "shop"}
	byServer := argov1.ApplicationDestination{Server: blueServer, Namespace: "payments"}
	inCluster := argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "local"}
	other := argov1.ApplicationDestination{Server: "https://other.example.com:6443", Namespace: "x"}
	running := app(ns, "running", "default", team, argov1.ApplicationDestination{Name: "blue", Namespace: "batch"})
	syncedTo(running, running.Spec.Destination)
	running.Status.OperationState = &argov1.OperationState{
		Operation: argov1.Operation{Sync: &argov1.SyncOperation{}},
		Phase:     synccommon.OperationRunning,
		StartedAt: metav1.NewTime(time.Now().Add(-time.Hour)),
	}
	mustCreate(t, w.blueC,
		syncedTo(app(ns, "shop", "shop", team, byName), byName),
		syncedTo(app(ns, "payments", "shop", team, byServer), byServer),
		syncedTo(app(ns, "local", "default", team, inCluster), inCluster),
		app(ns, "other", "default", team, other),
		app(ns, "ignored", "default", nil, byName),
		running,
	)

	acts := argocd.New(w.resolver, argocd.WithPollInterval(100*time.Millisecond))
	e := newEnv(acts)
	in := argocd.RestoreInput{ArgoCluster: blueRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns, Selector: "team=shop", Prune: true}
	res, err := restore(t, e, acts, in)
	if err != nil {
		t.Fatalf("RestoreArgoApplications: %v", err)
	}
	want := []string{"local", "payments", "running", "shop"}
	if strings.Join(res.Applications, ",") != strings.Join(want, ",") {
		t.Fatalf("applications = %v, want %v", res.Applications, want)
	}
	if strings.Join(res.Changed, ",") != strings.Join(want, ",") {
		t.Errorf("changed = %v, want %v", res.Changed, want)
	}
	if strings.Join(res.SyncRequested, ",") != "local,payments,shop" {
		t.Errorf("syncRequested = %v, want local,payments,shop (running was busy)", res.SyncRequested)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "other:") {
		t.Errorf("skipped = %v, want other", res.Skipped)
	}
	if b, _ := json.Marshal(res); strings.Contains(string(b), w.green.Token) {
		t.Fatalf("the result carries green's bearer token: %s", b)
	}

	// Green's cluster secret: its server and token, labelled for Argo CD.
	if res.ClusterSecret != argocd.ClusterSecretName(greenRef) {
		t.Errorf("clusterSecret = %q", res.ClusterSecret)
	}
	var sec corev1.Secret
	if err := w.blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: argocd.ClusterSecretName(greenRef)}, &sec); err != nil {
		t.Fatalf("green's cluster secret: %v", err)
	}
	if sec.Labels[argocd.LabelSecretType] != argocd.SecretTypeCluster || string(sec.Data["server"]) != greenServer || string(sec.Data["name"]) != "green" {
		t.Errorf("cluster secret labels %v, name %q, server %q", sec.Labels, sec.Data["name"], sec.Data["server"])
	}
	var cc argov1.ClusterConfig
	if err := json.Unmarshal(sec.Data["config"], &cc); err != nil {
		t.Fatalf("cluster secret config: %v", err)
	}
	if cc.BearerToken != w.green.Token || string(cc.CAData) != string(w.green.CAData) {
		t.Errorf("cluster secret config has token %v, CA %v; want green's", cc.BearerToken == w.green.Token, string(cc.CAData) == string(w.green.CAData))
	}

	// Destinations moved, the previous one recorded, a sync requested.
	checks := map[string]struct {
		dest argov1.ApplicationDestination
		prev argov1.ApplicationDestination
	}{
		"shop":     {argov1.ApplicationDestination{Name: "green", Namespace: "shop"}, byName},
		"payments": {argov1.ApplicationDestination{Server: greenServer, Namespace: "payments"}, byServer},
		"local":    {argov1.ApplicationDestination{Server: greenServer, Namespace: "local"}, inCluster},
		"running":  {argov1.ApplicationDestination{Name: "green", Namespace: "batch"}, argov1.ApplicationDestination{Name: "blue", Namespace: "batch"}},
	}
	for name, c := range checks {
		a := getApp(t, w.blueC, ns, name)
		if a.Spec.Destination.Server != c.dest.Server || a.Spec.Destination.Name != c.dest.Name || a.Spec.Destination.Namespace != c.dest.Namespace {
			t.Errorf("%s: destination %+v, want %+v", name, a.Spec.Destination, c.dest)
		}
		var prev argov1.ApplicationDestination
		if err := json.Unmarshal([]byte(a.Annotations[argocd.AnnotationPreviousDestination]), &prev); err != nil || prev.Server != c.prev.Server || prev.Name != c.prev.Name || prev.Namespace != c.prev.Namespace {
			t.Errorf("%s: previous destination %q, want %+v", name, a.Annotations[argocd.AnnotationPreviousDestination], c.prev)
		}
		if name == "running" {
			if a.Operation != nil || a.Annotations[argocd.AnnotationPendingSync] == "" {
				t.Errorf("running: operation %+v, pending %q; want the sync deferred", a.Operation, a.Annotations[argocd.AnnotationPendingSync])
			}
			continue
		}
		if a.Operation == nil || a.Operation.Sync == nil || !a.Operation.Sync.Prune {
			t.Errorf("%s: operation %+v, want a sync with prune", name, a.Operation)
		}
	}
	if a := getApp(t, w.blueC, ns, "ignored"); a.Spec.Destination.Name != "blue" || a.Annotations[argocd.AnnotationPreviousDestination] != "" {
		t.Errorf("ignored (not selected) was changed: %+v", a.Spec.Destination)
	}
	if a := getApp(t, w.blueC, ns, "other"); a.Spec.Destination.Server != other.Server || a.Operation != nil {
		t.Errorf("other (not on blue) was changed: %+v", a.Spec.Destination)
	}
	var proj argov1.AppProject
	if err := w.blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, &proj); err != nil {
		t.Fatal(err)
	}
	permitted := map[string]bool{}
	for _, d := range proj.Spec.Destinations {
		permitted[d.Server+"|"+d.Name+"|"+d.Namespace] = true
	}
	if !permitted[greenServer+"||*"] || !permitted["|green|shop"] || len(proj.Spec.Destinations) != 4 {
		t.Errorf("project shop destinations = %+v, want green added next to blue", proj.Spec.Destinations)
	}

	// A second run changes nothing.
	versions := map[string]string{}
	for name := range checks {
		versions[name] = getApp(t, w.blueC, ns, name).ResourceVersion
	}
	secRV := sec.ResourceVersion
	res2, err := restore(t, e, acts, in)
	if err != nil {
		t.Fatalf("second RestoreArgoApplications: %v", err)
	}
	if strings.Join(res2.Applications, ",") != strings.Join(want, ",") || len(res2.Changed) != 0 || len(res2.SyncRequested) != 0 {
		t.Errorf("second run: %+v, want the same applications and no change", res2)
	}
	for name, rv := range versions {
		if got := getApp(t, w.blueC, ns, name).ResourceVersion; got != rv {
			t.Errorf("second run modified %s (resourceVersion %s -> %s)", name, rv, got)
		}
	}
	if err := w.blueC.Get(ctx, client.ObjectKeyFromObject(&sec), &sec); err != nil || sec.ResourceVersion != secRV {
		t.Errorf("second run modified the cluster secret (%v)", err)
	}

	// WaitArgoSynced: the statuses still say Synced/Healthy, but compared
	// to blue; it must wait for the (fake) controller.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctrlDone := make(chan struct{})
	go func() {
		defer close(ctrlDone)
		fakeController(cctx, t, w.blueC, ns, 300*time.Millisecond)
	}()
	start := time.Now()
	val, err := e.ExecuteActivity(acts.WaitArgoSynced, argocd.WaitSyncedInput{ArgoCluster: blueRef, Namespace: ns, Applications: res.Applications})
	if err != nil {
		t.Fatalf("WaitArgoSynced: %v", err)
	}
	cancel()
	<-ctrlDone
	var ws argocd.WaitSyncedResult
	if err := val.Get(&ws); err != nil {
		t.Fatal(err)
	}
	if len(ws.Applications) != 4 {
		t.Fatalf("wait result = %+v", ws)
	}
	for _, s := range ws.Applications {
		if s.Sync != "Synced" || s.Health != "Healthy" {
			t.Errorf("%s: %s/%s", s.Name, s.Sync, s.Health)
		}
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("WaitArgoSynced returned after %s, before the controller compared the apps to green", time.Since(start))
	}
	if !e.sawPending("NotCompared") {
		t.Errorf("no heartbeat reported an application not yet compared to green: %+v", e.heartbeats)
	}
	// The deferred sync of "running" was requested once its operation ended.
	if a := getApp(t, w.blueC, ns, "running"); a.Annotations[argocd.AnnotationPendingSync] != "" ||
		a.Status.OperationState == nil || a.Status.OperationState.Operation.InitiatedBy.Username != argocd.ManagedBy {
		t.Errorf("running: the deferred sync was not requested: %+v", a.Status.OperationState)
	}
}

// fakeController plays the Argo CD application controller: it finishes the
// old operation of "running" at once, and after delay runs every requested
// operation and reports the application Synced and Healthy against its
// current destination.
func fakeController(ctx context.Context, t *testing.T, c client.Client, ns string, delay time.Duration) {
	begin := time.Now()
	for ctx.Err() == nil {
		var list argov1.ApplicationList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err == nil {
			for i := range list.Items {
				a := &list.Items[i]
				if a.Annotations[argocd.AnnotationPreviousDestination] == "" {
					continue
				}
				changed := false
				if os := a.Status.OperationState; os != nil && os.Phase == synccommon.OperationRunning && a.Operation == nil {
					os.Phase = synccommon.OperationSucceeded
					changed = true
				}
				if time.Since(begin) >= delay && a.Operation != nil {
					now := metav1.Now()
					a.Status.OperationState = &argov1.OperationState{Operation: *a.Operation, Phase: synccommon.OperationSucceeded, StartedAt: now, FinishedAt: &now, Message: "successfully synced"}
					a.Operation = nil
					syncedTo(a, a.Spec.Destination)
					changed = true
				}
				if changed {
					if err := c.Update(ctx, a); err != nil && !apierrors.IsConflict(err) && ctx.Err() == nil {
						t.Errorf("fake controller: update %s: %v", a.Name, err)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func testWaitFails(t *testing.T, w *world) {
	const ns = "argocd-fail"
	mustCreate(t, w.blueC, namespace(ns))
	dest := argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "web"}
	broken := app(ns, "broken", "default", nil, dest)
	broken.Status.Sync = argov1.SyncStatus{Status: argov1.SyncStatusCodeOutOfSync, ComparedTo: argov1.ComparedTo{Destination: dest}}
	broken.Status.Health = argov1.HealthStatus{Status: health.HealthStatusMissing}
	broken.Status.OperationState = &argov1.OperationState{
		Operation: argov1.Operation{Sync: &argov1.SyncOperation{}},
		Phase:     synccommon.OperationFailed,
		Message:   "one or more objects failed to apply",
		StartedAt: metav1.Now(),
		SyncResult: &argov1.SyncOperationResult{Revision: "4f2a9c1e", Resources: argov1.ResourceResults{{
			Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web",
			Status: synccommon.ResultCodeSyncFailed, Message: "admission webhook denied the request",
		}}},
	}
	sick := syncedTo(app(ns, "sick", "default", nil, dest), dest)
	sick.Status.Health = argov1.HealthStatus{Status: health.HealthStatusDegraded, Message: "Deployment web: progress deadline exceeded"}
	fine := syncedTo(app(ns, "fine", "default", nil, dest), dest)
	mustCreate(t, w.blueC, broken, sick, fine)

	acts := argocd.New(w.resolver, argocd.WithPollInterval(50*time.Millisecond), argocd.WithDegradedGrace(300*time.Millisecond))
	e := newEnv(acts)
	cases := []struct {
		apps     []string
		typ      string
		contains []string
	}{
		{[]string{"broken", "fine"}, argocd.SyncFailed, []string{"broken", "Failed", "one or more objects failed to apply", "Deployment/web: admission webhook denied"}},
		{[]string{"fine", "sick"}, argocd.SyncFailed, []string{"sick", "Degraded for more than 300ms", "progress deadline exceeded"}},
		{[]string{"fine", "gone"}, failures.NotFound, []string{"gone"}},
	}
	for _, c := range cases {
		_, err := e.ExecuteActivity(acts.WaitArgoSynced, argocd.WaitSyncedInput{ArgoCluster: blueRef, Namespace: ns, Applications: c.apps})
		if err == nil {
			t.Errorf("%v: WaitArgoSynced succeeded, want %s", c.apps, c.typ)
			continue
		}
		if got := failures.TypeOf(err); got != c.typ {
			t.Errorf("%v: error type %q (%v), want %s", c.apps, got, err, c.typ)
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() {
			t.Errorf("%v: error is retryable: %v", c.apps, err)
		}
		for _, s := range c.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: error %q does not mention %q", c.apps, err, s)
			}
		}
	}
	// "fine" alone is done at once.
	val, err := e.ExecuteActivity(acts.WaitArgoSynced, argocd.WaitSyncedInput{ArgoCluster: blueRef, Namespace: ns, Applications: []string{"fine"}})
	if err != nil {
		t.Fatalf("WaitArgoSynced(fine): %v", err)
	}
	var ws argocd.WaitSyncedResult
	if err := val.Get(&ws); err != nil || len(ws.Applications) != 1 || ws.Applications[0].Sync != "Synced" {
		t.Errorf("WaitArgoSynced(fine) = %+v, %v", ws, err)
	}
}

func testCopy(t *testing.T, w *world) {
	ctx := context.Background()
	const ns = "argocd-copy"
	mustCreate(t, w.blueC, namespace(ns))
	mustCreate(t, w.greenC, namespace(ns))
	mustCreate(t, w.blueC, &argov1.AppProject{
		ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: ns},
		Spec: argov1.AppProjectSpec{SourceRepos: []string{"*"},
			Destinations: []argov1.ApplicationDestination{{Server: argocd.InClusterServer, Namespace: "*"}}},
	})
	web := syncedTo(app(ns, "web", "team", map[string]string{"tier": "front"}, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "web"}), argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "web"})
	web.Annotations = map[string]string{"notifications.argoproj.io/subscribe": "slack:deploys"}
	web.Spec.SyncPolicy = &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: true, SelfHeal: true}}
	api := app(ns, "api", "default", nil, argov1.ApplicationDestination{Name: argocd.InClusterName, Namespace: "api"})
	ext := app(ns, "ext", "default", nil, argov1.ApplicationDestination{Server: "https://other.example.com:6443", Namespace: "x"})
	mustCreate(t, w.blueC, web, api, ext)
	// green already has an identical copy of api.
	apiCopy := app(ns, "api", "default", nil, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "api"})
	mustCreate(t, w.greenC, apiCopy)

	acts := argocd.New(w.resolver)
	e := newEnv(acts)
	in := argocd.RestoreInput{ArgoCluster: blueRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeCopy, Namespace: ns}
	res, err := restore(t, e, acts, in)
	if err != nil {
		t.Fatalf("RestoreArgoApplications(copy): %v", err)
	}
	if strings.Join(res.Applications, ",") != "api,web" || strings.Join(res.Changed, ",") != "web" {
		t.Errorf("copy result = %+v, want api (adopted) and web (created)", res)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "ext:") {
		t.Errorf("skipped = %v, want ext", res.Skipped)
	}
	got := getApp(t, w.greenC, ns, "web")
	if got.Spec.Destination.Server != argocd.InClusterServer || got.Spec.Destination.Namespace != "web" || got.Spec.Destination.Name != "" {
		t.Errorf("web on green: destination %+v", got.Spec.Destination)
	}
	if got.Spec.Project != "team" || got.Spec.SyncPolicy == nil || got.Spec.SyncPolicy.Automated == nil || got.Labels["tier"] != "front" {
		t.Errorf("web on green: spec/labels not copied: %+v %v", got.Spec, got.Labels)
	}
	if got.Annotations[argocd.AnnotationCopiedFrom] != "blue" || got.Annotations["notifications.argoproj.io/subscribe"] != "slack:deploys" {
		t.Errorf("web on green: annotations %v", got.Annotations)
	}
	if got.Status.Sync.Status != "" || got.Operation == nil || got.Operation.Sync == nil {
		t.Errorf("web on green: status %+v (want empty), operation %+v (want a sync)", got.Status.Sync, got.Operation)
	}
	var proj argov1.AppProject
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team"}, &proj); err != nil {
		t.Errorf("project team was not copied to green: %v", err)
	}
	var ghost argov1.Application
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ext"}, &ghost); !apierrors.IsNotFound(err) {
		t.Errorf("ext (not on blue) was copied: %v", err)
	}

	// Idempotent: a second run adopts both.
	res, err = restore(t, e, acts, in)
	if err != nil || strings.Join(res.Applications, ",") != "api,web" || len(res.Changed) != 0 {
		t.Errorf("second copy = %+v, %v; want both adopted", res, err)
	}

	// A different application of the same name on green is a conflict.
	apiCur := getApp(t, w.greenC, ns, "api")
	apiCur.Spec.Source.TargetRevision = "release-2"
	if err := w.greenC.Update(ctx, apiCur); err != nil {
		t.Fatal(err)
	}
	_, err = restore(t, e, acts, in)
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "api") || !strings.Contains(err.Error(), "source") {
		t.Errorf("copy over a different api: %v, want a Conflict naming api and source", err)
	}

	// Green without Argo CD's namespace: NotFound.
	in.Namespace = "argocd-nowhere"
	mustCreate(t, w.blueC, namespace(in.Namespace))
	if _, err := restore(t, e, acts, in); failures.TypeOf(err) != failures.NotFound {
		t.Errorf("copy into a missing namespace: %v, want NotFound", err)
	}
}
