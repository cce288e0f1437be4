package velero_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/util/results"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// objectStorage plays the storage location behind presigned URLs: it
// serves the gzipped results file of each restore at
// /restores/<name>/restore-<name>-results.gz, or status for a restore
// whose download fails.
type objectStorage struct {
	srv     *httptest.Server
	files   map[string]map[string]results.Result
	status  map[string]int
	fetched atomic.Int32
}

func newObjectStorage(t *testing.T) *objectStorage {
	s := &objectStorage{files: map[string]map[string]results.Result{}, status: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetched.Add(1)
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 3 || parts[0] != "restores" || r.URL.Query().Get("X-Amz-Signature") == "" {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		name := parts[1]
		if code := s.status[name]; code != 0 {
			http.Error(w, "injected", code)
			return
		}
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		if err := json.NewEncoder(gz).Encode(s.files[name]); err != nil {
			t.Errorf("object storage: %v", err)
		}
		gz.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(buf.Bytes())
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *objectStorage) url(restore string) string {
	return fmt.Sprintf("%s/restores/%s/restore-%s-results.gz?X-Amz-Signature=abc", s.srv.URL, restore, restore)
}

// TestRestoreResults plays Velero's server on green: it finishes restores
// with errors and warnings and answers (or not) their DownloadRequests
// with a presigned URL of the results file.
func TestRestoreResults(t *testing.T) {
	k := sandboxtest.Kube(t, "green")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := sandbox.InstallCRDs(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedVelero(ctx, k); err != nil {
		t.Fatal(err)
	}
	c, err := velero.NewClient(k.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "synced", Namespace: ns}, Status: velerov1.BackupStatus{Phase: velerov1.BackupPhaseCompleted}}); err != nil {
		t.Fatal(err)
	}
	// Velero's server is up: the Deployment has an available replica.
	cs, err := k.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	setAvailable := func(n int32) {
		t.Helper()
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = n, n, n
		if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setAvailable(1)
	store := newObjectStorage(t)
	resolver := clusters.KubeconfigResolver{Paths: map[string]string{"green": k.Kubeconfig}}
	acts := velero.New(resolver, velero.WithPollInterval(50*time.Millisecond), velero.WithResultsWait(time.Second))
	e := newEnv(acts)

	// server plays Velero: the restore gets status; a DownloadRequest of
	// its results gets the URL when answer is true.
	var seenRequests []string
	server := func(restore string, status velerov1.RestoreStatus, answer bool) func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		wait := play(sctx, func(ctx context.Context) bool {
			var r velerov1.Restore
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: restore}, &r); err != nil {
				return false
			}
			if r.Status.Phase == "" {
				r.Status = status
				if err := c.Update(ctx, &r); err != nil {
					return false
				}
			}
			var drs velerov1.DownloadRequestList
			if err := c.List(ctx, &drs, client.InNamespace(ns)); err != nil {
				return false
			}
			for _, dr := range drs.Items {
				if dr.Spec.Target.Kind != velerov1.DownloadTargetKindRestoreResults || dr.Spec.Target.Name != restore {
					continue
				}
				if !slices.Contains(seenRequests, dr.Name) {
					seenRequests = append(seenRequests, dr.Name)
				}
				if !answer || dr.Status.DownloadURL != "" {
					continue
				}
				// The DownloadRequest CRD has no status subresource.
				dr.Status = velerov1.DownloadRequestStatus{Phase: velerov1.DownloadRequestPhaseProcessed, DownloadURL: store.url(restore),
					Expiration: &metav1.Time{Time: time.Now().Add(10 * time.Minute)}}
				if err := c.Update(ctx, &dr); err != nil && !apierrors.IsConflict(err) {
					t.Errorf("fake velero: answer DownloadRequest: %v", err)
				}
			}
			return false
		})
		return func() { cancel(); wait() }
	}
	noRequestsLeft := func(restore string) {
		t.Helper()
		var drs velerov1.DownloadRequestList
		if err := c.List(ctx, &drs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, dr := range drs.Items {
			if dr.Spec.Target.Name == restore {
				t.Errorf("DownloadRequest %s was left behind", dr.Name)
			}
		}
	}
	in := func(name string) velero.RestoreInput {
		return velero.RestoreInput{Cluster: greenRef, Namespace: ns, BackupName: "synced", RestoreName: name, RestorePVs: true}
	}

	t.Run("PartiallyFailed", func(t *testing.T) {
		var many []string
		for i := range 60 {
			many = append(many, fmt.Sprintf("could not restore, configmaps \"cm-%02d\" already exists. Warning: the in-cluster version is different than the backed-up version", i))
		}
		store.files["partial"] = map[string]results.Result{
			"errors": {Namespaces: map[string][]string{"shop": {
				"error restoring deployments.apps/shop/web: admission webhook \"vpol.example.com\" denied the request",
				"error restoring services/shop/web: Service \"web\" is invalid: spec.clusterIPs: Invalid value",
			}}},
			"warnings": {Namespaces: map[string][]string{"payments": many}},
		}
		stop := server("partial", velerov1.RestoreStatus{Phase: velerov1.RestorePhasePartiallyFailed, Errors: 2, Warnings: 60}, true)
		res, err := e.restore(t, acts, in("partial"))
		stop()
		if err != nil {
			t.Fatalf("RestoreVeleroBackup: %v", err)
		}
		if res.Phase != "PartiallyFailed" || res.Errors != 2 || res.Warnings != 60 {
			t.Errorf("result = %+v", res)
		}
		want := []string{
			"namespace shop: error restoring deployments.apps/shop/web: admission webhook \"vpol.example.com\" denied the request",
			"namespace shop: error restoring services/shop/web: Service \"web\" is invalid: spec.clusterIPs: Invalid value",
		}
		if !slices.Equal(res.Failures, want) {
			t.Errorf("Failures = %q, want %q", res.Failures, want)
		}
		if len(res.WarningsDetail) != 50 || res.WarningsDetail[0] != "namespace payments: "+many[0] || res.WarningsDetail[49] != "... and 11 more" {
			t.Errorf("WarningsDetail (%d) = %q..., want 49 warnings and \"... and 11 more\"", len(res.WarningsDetail), res.WarningsDetail[:min(2, len(res.WarningsDetail))])
		}
		if !slices.Equal(seenRequests, []string{"partial-results-1"}) {
			t.Errorf("DownloadRequests = %v, want partial-results-1", seenRequests)
		}
		noRequestsLeft("partial")
	})

	t.Run("CompletedWithWarnings", func(t *testing.T) {
		store.files["warned"] = map[string]results.Result{"warnings": {Cluster: []string{"could not restore, CustomResourceDefinition \"x.example.com\" already exists"}}}
		stop := server("warned", velerov1.RestoreStatus{Phase: velerov1.RestorePhaseCompleted, Warnings: 1}, true)
		res, err := e.restore(t, acts, in("warned"))
		stop()
		if err != nil || res.Phase != "Completed" || len(res.Failures) != 0 ||
			!slices.Equal(res.WarningsDetail, []string{"cluster: could not restore, CustomResourceDefinition \"x.example.com\" already exists"}) {
			t.Errorf("completed with warnings = %+v, %v", res, err)
		}
	})

	t.Run("NeverAnswered", func(t *testing.T) {
		before := store.fetched.Load()
		stop := server("unanswered", velerov1.RestoreStatus{Phase: velerov1.RestorePhasePartiallyFailed, Errors: 3, Warnings: 1}, false)
		start := time.Now()
		res, err := e.restore(t, acts, in("unanswered"))
		stop()
		if err != nil {
			t.Fatalf("RestoreVeleroBackup with no answer to the DownloadRequest: %v, want the restore returned", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("took %s, want about the 1s results wait", took)
		}
		if res.Phase != "PartiallyFailed" || res.Errors != 3 || res.Warnings != 1 || len(res.Failures) != 1 || len(res.WarningsDetail) != 0 ||
			!strings.Contains(res.Failures[0], "could not be read") || !strings.Contains(res.Failures[0], "velero restore describe unanswered --details") {
			t.Errorf("result = %+v, want the counts and one entry naming the velero command", res)
		}
		if store.fetched.Load() != before {
			t.Errorf("the storage was fetched without a download URL")
		}
		noRequestsLeft("unanswered")
	})

	t.Run("DownloadFails", func(t *testing.T) {
		store.status["broken"] = http.StatusForbidden
		stop := server("broken", velerov1.RestoreStatus{Phase: velerov1.RestorePhasePartiallyFailed, Errors: 1}, true)
		res, err := e.restore(t, acts, in("broken"))
		stop()
		if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "HTTP 403") ||
			!strings.Contains(res.Failures[0], "velero restore describe broken --details") {
			t.Errorf("download failing = %+v, %v; want one entry with the HTTP status and the command", res, err)
		}
		noRequestsLeft("broken")
	})

	t.Run("ServerDown", func(t *testing.T) {
		setAvailable(0)
		stop := server("down", velerov1.RestoreStatus{Phase: velerov1.RestorePhasePartiallyFailed, Errors: 1}, true)
		res, err := e.restore(t, acts, in("down"))
		stop()
		if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "no available replica") ||
			!strings.Contains(res.Failures[0], "velero restore describe down --details") {
			t.Errorf("Velero server down = %+v, %v; want one entry saying so and the command", res, err)
		}
		if slices.ContainsFunc(seenRequests, func(n string) bool { return strings.HasPrefix(n, "down-") }) {
			t.Errorf("a DownloadRequest was created with no server to answer it: %v", seenRequests)
		}
	})
}
