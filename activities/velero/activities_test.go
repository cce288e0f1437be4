package velero_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

const ns = sandbox.VeleroNamespace

var (
	blueRef  = clusters.Ref{Name: "blue", Region: "us-east-1"}
	greenRef = clusters.Ref{Name: "green", Region: "us-east-1"}
)

type world struct {
	blueC, greenC client.Client
	resolver      clusters.Resolver
}

// startWorld starts blue and green with the CRDs, the velero namespace and
// a BackupStorageLocation "default" on each.
func startWorld(t *testing.T) *world {
	t.Helper()
	blue, green := sandboxtest.Kube(t, "blue"), sandboxtest.Kube(t, "green")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := &world{resolver: clusters.KubeconfigResolver{Paths: map[string]string{"blue": blue.Kubeconfig, "green": green.Kubeconfig}}}
	for _, k := range []*sandbox.Kube{blue, green} {
		if _, err := sandbox.InstallCRDs(ctx, k); err != nil {
			t.Fatalf("install CRDs on %s: %v", k.Name, err)
		}
		if err := sandbox.SeedVelero(ctx, k); err != nil {
			t.Fatalf("seed velero on %s: %v", k.Name, err)
		}
	}
	var err error
	if w.blueC, err = velero.NewClient(blue.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if w.greenC, err = velero.NewClient(green.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	return w
}

type env struct {
	*testsuite.TestActivityEnvironment
	mu         sync.Mutex
	heartbeats []velero.Progress
}

func newEnv(acts *velero.Activities) *env {
	var s testsuite.WorkflowTestSuite
	e := &env{TestActivityEnvironment: s.NewTestActivityEnvironment()}
	e.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	e.RegisterActivity(acts)
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p velero.Progress
		if details.HasValues() && details.Get(&p) == nil {
			e.mu.Lock()
			e.heartbeats = append(e.heartbeats, p)
			e.mu.Unlock()
		}
	})
	return e
}

// saw reports whether a heartbeat of step (and phase, unless "*") was
// recorded. The SDK throttles heartbeats, so only the first of an attempt
// reliably arrives.
func (e *env) saw(step, phase string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, h := range e.heartbeats {
		if h.Step == step && (phase == "*" || h.Phase == phase) {
			return true
		}
	}
	return false
}

func (e *env) backup(t *testing.T, acts *velero.Activities, in velero.BackupInput) (velero.BackupResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.EnsureVeleroBackup, in)
	var res velero.BackupResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func (e *env) restore(t *testing.T, acts *velero.Activities, in velero.RestoreInput) (velero.RestoreResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.RestoreVeleroBackup, in)
	var res velero.RestoreResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

// play runs f every 50ms until it returns true or ctx ends, in the
// background; the returned func waits for it.
func play(ctx context.Context, f func(ctx context.Context) bool) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil && !f(ctx) {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { <-done }
}

// finishBackup plays the Velero server on c: once backup name exists it
// goes InProgress, then to status.
func finishBackup(t *testing.T, c client.Client, name string, status velerov1.BackupStatus) func(ctx context.Context) bool {
	step := 0
	return func(ctx context.Context) bool {
		var b velerov1.Backup
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &b); err != nil {
			return false
		}
		if step == 0 {
			b.Status = velerov1.BackupStatus{Phase: velerov1.BackupPhaseInProgress, Progress: &velerov1.BackupProgress{TotalItems: status.Progress.TotalItems, ItemsBackedUp: 1}}
		} else {
			b.Status = status
		}
		if err := c.Update(ctx, &b); err != nil {
			if !apierrors.IsConflict(err) && ctx.Err() == nil {
				t.Errorf("fake velero: update backup %s: %v", name, err)
			}
			return false
		}
		step++
		return step == 2
	}
}

func TestVelero(t *testing.T) {
	w := startWorld(t)
	t.Run("Backup", func(t *testing.T) { testBackup(t, w) })
	t.Run("BackupFailures", func(t *testing.T) { testBackupFailures(t, w) })
	t.Run("Restore", func(t *testing.T) { testRestore(t, w) })
	t.Run("RestoreOutcomes", func(t *testing.T) { testRestoreOutcomes(t, w) })
}

func testBackup(t *testing.T, w *world) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acts := velero.New(w.resolver, velero.WithPollInterval(50*time.Millisecond))
	e := newEnv(acts)
	in := velero.BackupInput{Cluster: blueRef, Namespace: ns, Name: "cutover-m1", IncludedNamespaces: []string{"shop", "payments"}, ExcludedNamespaces: []string{"kube-system"},
		IncludedClusterScopedResources: []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"}}

	wait := play(ctx, finishBackup(t, w.blueC, in.Name, velerov1.BackupStatus{
		Phase: velerov1.BackupPhaseCompleted, Progress: &velerov1.BackupProgress{TotalItems: 42, ItemsBackedUp: 42},
	}))
	res, err := e.backup(t, acts, in)
	wait()
	if err != nil {
		t.Fatalf("EnsureVeleroBackup: %v", err)
	}
	if res.Name != in.Name || res.Phase != "Completed" || res.Items != 42 || !res.Created {
		t.Errorf("result = %+v", res)
	}
	var b velerov1.Backup
	if err := w.blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.Name}, &b); err != nil {
		t.Fatal(err)
	}
	if strings.Join(b.Spec.IncludedNamespaces, ",") != "shop,payments" || strings.Join(b.Spec.ExcludedNamespaces, ",") != "kube-system" || b.Spec.StorageLocation != "default" ||
		strings.Join(b.Spec.IncludedClusterScopedResources, ",") != "nodepools.karpenter.sh,ec2nodeclasses.karpenter.k8s.aws" {
		t.Errorf("backup spec = %+v", b.Spec)
	}
	if !e.saw("backup", "*") {
		t.Errorf("no heartbeat while waiting for the backup: %+v", e.heartbeats)
	}

	// Again: adopted (same spec, namespaces in another order), not created.
	in2 := in
	in2.IncludedNamespaces = []string{"payments", "shop"}
	res, err = e.backup(t, acts, in2)
	if err != nil || res.Created || res.Phase != "Completed" {
		t.Errorf("second EnsureVeleroBackup = %+v, %v; want the completed backup adopted", res, err)
	}
	// As an existing backup.
	res, err = e.backup(t, acts, velero.BackupInput{Cluster: blueRef, Namespace: ns, Name: in.Name, Existing: true})
	if err != nil || res.Created || res.Items != 42 {
		t.Errorf("existing EnsureVeleroBackup = %+v, %v", res, err)
	}
	// Same name, other namespaces: Conflict.
	in3 := in
	in3.IncludedNamespaces = []string{"shop"}
	_, err = e.backup(t, acts, in3)
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "includedNamespaces") {
		t.Errorf("different spec: %v, want Conflict naming includedNamespaces", err)
	}
	// Same name, without the cluster-scoped resources: Conflict too (a
	// backup without them would leave green without blue's NodePools).
	in4 := in
	in4.IncludedClusterScopedResources = nil
	_, err = e.backup(t, acts, in4)
	if failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "includedClusterScopedResources") {
		t.Errorf("different cluster-scoped resources: %v, want Conflict naming includedClusterScopedResources", err)
	}
}

func testBackupFailures(t *testing.T, w *world) {
	ctx := context.Background()
	acts := velero.New(w.resolver, velero.WithPollInterval(50*time.Millisecond))
	e := newEnv(acts)

	_, err := e.backup(t, acts, velero.BackupInput{Cluster: blueRef, Namespace: ns, Name: "nightly-missing", Existing: true})
	if failures.TypeOf(err) != failures.NotFound || !strings.Contains(err.Error(), "nightly-missing") {
		t.Errorf("missing existing backup: %v, want NotFound", err)
	}
	assertNonRetryable(t, err)

	for _, c := range []struct {
		name     string
		status   velerov1.BackupStatus
		contains []string
	}{
		{"nightly-partial", velerov1.BackupStatus{Phase: velerov1.BackupPhasePartiallyFailed, Errors: 3, Warnings: 7}, []string{"partially failed", "3 errors", "7 warnings"}},
		{"nightly-failed", velerov1.BackupStatus{Phase: velerov1.BackupPhaseFailed, FailureReason: "error getting backup storage location: bucket not found"}, []string{"failed", "bucket not found"}},
		{"nightly-invalid", velerov1.BackupStatus{Phase: velerov1.BackupPhaseFailedValidation, ValidationErrors: []string{"an existing backup storage location wasn't specified"}}, []string{"validation", "storage location wasn't specified"}},
	} {
		b := &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: ns}, Status: c.status}
		if err := w.blueC.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
		_, err := e.backup(t, acts, velero.BackupInput{Cluster: blueRef, Namespace: ns, Name: c.name, Existing: true})
		if failures.TypeOf(err) != velero.BackupFailed {
			t.Errorf("%s: %v, want %s", c.name, err, velero.BackupFailed)
			continue
		}
		assertNonRetryable(t, err)
		for _, s := range c.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, s)
			}
		}
	}
}

func testRestore(t *testing.T, w *world) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acts := velero.New(w.resolver, velero.WithPollInterval(50*time.Millisecond))
	e := newEnv(acts)
	in := velero.RestoreInput{Cluster: greenRef, Namespace: ns, BackupName: "cutover-m2", RestoreName: "cutover-m2-to-green",
		IncludedNamespaces: []string{"shop"}, RestorePVs: true, ExistingResourcePolicy: "update", IncludeClusterResources: true}

	// Green's Velero syncs the backup from the storage location after a
	// while; then it runs the restore.
	syncAfter := time.Now().Add(400 * time.Millisecond)
	var restoreSeenAt time.Time
	restoreStep := 0
	wait := play(ctx, func(ctx context.Context) bool {
		if time.Now().Before(syncAfter) {
			return false
		}
		var b velerov1.Backup
		if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.BackupName}, &b); apierrors.IsNotFound(err) {
			synced := &velerov1.Backup{
				ObjectMeta: metav1.ObjectMeta{Name: in.BackupName, Namespace: ns, Labels: map[string]string{"velero.io/storage-location": "default"}},
				Spec:       velerov1.BackupSpec{IncludedNamespaces: []string{"shop"}, StorageLocation: "default"},
				Status:     velerov1.BackupStatus{Phase: velerov1.BackupPhaseCompleted},
			}
			if err := w.greenC.Create(ctx, synced); err != nil {
				t.Errorf("fake velero: sync backup: %v", err)
			}
			return false
		}
		var r velerov1.Restore
		if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.RestoreName}, &r); err != nil {
			return false
		}
		if restoreSeenAt.IsZero() {
			restoreSeenAt = time.Now()
		}
		if restoreStep == 0 {
			r.Status = velerov1.RestoreStatus{Phase: velerov1.RestorePhaseInProgress, Progress: &velerov1.RestoreProgress{TotalItems: 10, ItemsRestored: 3}}
		} else {
			r.Status = velerov1.RestoreStatus{Phase: velerov1.RestorePhaseCompleted, Progress: &velerov1.RestoreProgress{TotalItems: 10, ItemsRestored: 10}}
		}
		if err := w.greenC.Update(ctx, &r); err != nil {
			return false
		}
		restoreStep++
		return restoreStep == 2
	})
	res, err := e.restore(t, acts, in)
	wait()
	if err != nil {
		t.Fatalf("RestoreVeleroBackup: %v", err)
	}
	if res.Name != in.RestoreName || res.Phase != "Completed" || res.Items != 10 || !res.Created || res.Warnings != 0 || res.Errors != 0 {
		t.Errorf("result = %+v", res)
	}
	if restoreSeenAt.Before(syncAfter) {
		t.Errorf("the restore was created before the backup was synced to green")
	}
	if !e.saw("backup-sync", "NotSynced") {
		t.Errorf("heartbeats = %+v, want one while the backup was not synced", e.heartbeats)
	}
	var r velerov1.Restore
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.RestoreName}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Spec.BackupName != in.BackupName || r.Spec.RestorePVs == nil || !*r.Spec.RestorePVs || r.Spec.ExistingResourcePolicy != velerov1.PolicyTypeUpdate || strings.Join(r.Spec.IncludedNamespaces, ",") != "shop" ||
		r.Spec.IncludeClusterResources == nil || !*r.Spec.IncludeClusterResources {
		t.Errorf("restore spec = %+v", r.Spec)
	}

	// Again: the finished restore is adopted.
	res, err = e.restore(t, acts, in)
	if err != nil || res.Created || res.Phase != "Completed" {
		t.Errorf("second RestoreVeleroBackup = %+v, %v", res, err)
	}
	// Same name, without the cluster-scoped resources: Conflict.
	noCluster := in
	noCluster.IncludeClusterResources = false
	if _, err := e.restore(t, acts, noCluster); failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "includeClusterResources") {
		t.Errorf("restore without cluster resources: %v, want Conflict naming includeClusterResources", err)
	}
	// Same name, different spec: Conflict.
	in.RestorePVs = false
	if _, err := e.restore(t, acts, in); failures.TypeOf(err) != failures.Conflict || !strings.Contains(err.Error(), "restorePVs") {
		t.Errorf("different restore spec: %v, want Conflict naming restorePVs", err)
	}
}

func testRestoreOutcomes(t *testing.T, w *world) {
	ctx := context.Background()
	acts := velero.New(w.resolver, velero.WithPollInterval(50*time.Millisecond), velero.WithBackupSyncWait(300*time.Millisecond))
	e := newEnv(acts)
	done := &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "synced", Namespace: ns}, Status: velerov1.BackupStatus{Phase: velerov1.BackupPhaseCompleted}}
	if err := w.greenC.Create(ctx, done); err != nil {
		t.Fatal(err)
	}
	// Restores the fake Velero finishes as soon as they appear.
	finish := func(name string, status velerov1.RestoreStatus) func() {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		wait := play(cctx, func(ctx context.Context) bool {
			var r velerov1.Restore
			if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &r); err != nil {
				return false
			}
			r.Status = status
			return w.greenC.Update(ctx, &r) == nil
		})
		return func() { wait(); cancel() }
	}

	// PartiallyFailed: reported, not an error.
	stop := finish("partial", velerov1.RestoreStatus{Phase: velerov1.RestorePhasePartiallyFailed, Warnings: 4, Errors: 2})
	res, err := e.restore(t, acts, velero.RestoreInput{Cluster: greenRef, Namespace: ns, BackupName: "synced", RestoreName: "partial", RestorePVs: true, ExistingResourcePolicy: "none"})
	stop()
	if err != nil || res.Phase != "PartiallyFailed" || res.Warnings != 4 || res.Errors != 2 {
		t.Errorf("partially failed restore = %+v, %v; want phase PartiallyFailed with 4 warnings, 2 errors", res, err)
	}

	// Failed: a non-retryable error with the reason.
	stop = finish("failed", velerov1.RestoreStatus{Phase: velerov1.RestorePhaseFailed, FailureReason: "found a restore with status InProgress during the server starting", Errors: 1})
	_, err = e.restore(t, acts, velero.RestoreInput{Cluster: greenRef, Namespace: ns, BackupName: "synced", RestoreName: "failed", RestorePVs: true})
	stop()
	if failures.TypeOf(err) != velero.RestoreFailed || !strings.Contains(err.Error(), "during the server starting") {
		t.Errorf("failed restore: %v, want %s with the failure reason", err, velero.RestoreFailed)
	}
	assertNonRetryable(t, err)

	// The backup never reaches green: retryable NotReadyYet, no restore created.
	_, err = e.restore(t, acts, velero.RestoreInput{Cluster: greenRef, Namespace: ns, BackupName: "never-synced", RestoreName: "never", RestorePVs: true})
	if failures.TypeOf(err) != failures.NotReadyYet || !strings.Contains(err.Error(), "never-synced") {
		t.Errorf("unsynced backup: %v, want NotReadyYet", err)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Errorf("NotReadyYet is non-retryable: %v", err)
	}
	var r velerov1.Restore
	if err := w.greenC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "never"}, &r); !apierrors.IsNotFound(err) {
		t.Errorf("a restore was created for a backup green does not have: %v", err)
	}
}

func assertNonRetryable(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("error is not a non-retryable application error: %v", err)
	}
}
