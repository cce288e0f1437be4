package kube

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/probe"
)

func boolp(b bool) *bool { return &b }

func checkNamed(res SmokeResult, name string) (CheckResult, bool) {
	for _, c := range res.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return CheckResult{}, false
}

func logChecks(t *testing.T, res SmokeResult) {
	t.Helper()
	for _, c := range res.Checks {
		t.Logf("  %-8s %-28s passed=%-5v %s", c.Kind, c.Name, c.Passed, c.Message)
	}
}

// TestGreen runs VerifyGreen and SmokeTestGreen against a real kube-apiserver.
// The apiserver has no scheduler, kubelet or controllers: the tests write
// workload and node status themselves, and the scratch test runs with
// WithScratchWaitForRunning(false).
func TestGreen(t *testing.T) {
	green := startCluster(t, "green")
	ctx := ctxT(t)
	green.node(t, "ip-10-1-1-1", "v1.31.14-eks-1234", true)
	green.node(t, "ip-10-1-1-2", "v1.31.14-eks-1234", true)
	green.deployment(t, "kube-system", "coredns", 2, 2)
	green.daemonSet(t, "kube-system", "kube-proxy", 2, 2)
	green.daemonSet(t, "kube-system", "aws-node", 2, 2)
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	must(green.cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "gp3", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "ebs.csi.aws.com",
		VolumeBindingMode: &wffc,
	}, metav1.CreateOptions{}))

	t.Run("verify: nodes at target and add-ons running", func(t *testing.T) {
		a := green.activities(WithVerifyWait(0))
		res, err := a.VerifyGreen(ctx, VerifyGreenInput{Cluster: green.ref, TargetVersion: "1.31"})
		if err != nil {
			t.Fatal(err)
		}
		dump(t, res.Findings)
		if !res.Ready || len(res.Findings) != 0 {
			t.Fatalf("Ready=%v with %d findings, want ready and none", res.Ready, len(res.Findings))
		}
	})

	t.Run("verify: wrong version, node not ready, add-on missing", func(t *testing.T) {
		a := green.activities(WithVerifyWait(300*time.Millisecond),
			WithCoreAddons(append(append([]Addon{}, DefaultCoreAddons...), Addon{Namespace: "kube-system", Name: "ebs-csi-controller", Kind: "Deployment"})))
		green.node(t, "ip-10-1-1-3", "v1.30.8-eks-1234", false)
		defer func() { _ = green.cs.CoreV1().Nodes().Delete(ctx, "ip-10-1-1-3", metav1.DeleteOptions{}) }()
		start := time.Now()
		res, err := a.VerifyGreen(ctx, VerifyGreenInput{Cluster: green.ref, TargetVersion: "1.31"})
		if err != nil {
			t.Fatal(err)
		}
		dump(t, res.Findings)
		if res.Ready {
			t.Fatal("Ready with a 1.30 NotReady node")
		}
		if time.Since(start) < 200*time.Millisecond {
			t.Errorf("returned after %s: did not wait for green to become ready", time.Since(start))
		}
		for _, w := range []struct{ check, object, msg string }{
			{CheckGreenNodeVersion, "v1 Node ip-10-1-1-3", `runs kubelet "v1.30.8-eks-1234", not the target 1.31`},
			{CheckGreenNodeNotReady, "v1 Node ip-10-1-1-3", "is not Ready"},
			{CheckAddonMissing, "apps/v1 Deployment kube-system/ebs-csi-controller", "not installed"},
		} {
			found := false
			for _, f := range findingsOf(res.Findings, w.check) {
				if f.Object == w.object && strings.Contains(f.Message, w.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding for %s containing %q", w.check, w.object, w.msg)
			}
		}
	})

	t.Run("smoke passes on ready workloads", func(t *testing.T) {
		green.namespace(t, "shop-ok")
		green.deployment(t, "shop-ok", "web", 3, 3)
		green.statefulSet(t, "shop-ok", "db", 2, 2)
		green.daemonSet(t, "shop-ok", "agent", 2, 2)
		var hosts atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hosts.Store(r.Host)
			fmt.Fprint(w, "shop ok")
		}))
		defer srv.Close()
		// A pod left behind by an earlier attempt of the same run.
		leftover := ScratchName("run-1", 7)
		must(green.cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: leftover, Namespace: "default", Labels: map[string]string{LabelSmokeRun: runHash("run-1")}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}}},
		}, metav1.CreateOptions{}))

		a := green.activities(WithScratchWaitForRunning(false), WithWorkloadWait(time.Second), WithScratchTimeout(5*time.Second))
		res, err := a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: "run-1", Smoke: SmokeTests{
			Kubernetes: ClusterChecks{Namespaces: []string{"shop-ok"}},
			HTTP:       []probe.Probe{{Name: "home", URL: srv.URL + "/", Host: "shop.example.com", ExpectStatus: 200, BodyContains: "shop ok", MaxLatency: duration.Duration(2 * time.Second)}},
			Timeout:    duration.Duration(time.Minute),
		}})
		if err != nil {
			t.Fatal(err)
		}
		logChecks(t, res)
		if !res.Passed {
			t.Fatal("smoke failed on a ready green")
		}
		if c, _ := checkNamed(res, "workloads"); c.Message != "3/3 workloads available" {
			t.Errorf("workloads: %q", c.Message)
		}
		for _, name := range []string{"scratch-pod", "scratch-service", "scratch-pvc", "scratch-cleanup", "home"} {
			if c, ok := checkNamed(res, name); !ok || !c.Passed {
				t.Errorf("check %s: %+v (present %v)", name, c, ok)
			}
		}
		if c, _ := checkNamed(res, "scratch-pvc"); !strings.Contains(c.Message, "WaitForFirstConsumer") {
			t.Errorf("scratch-pvc: %q", c.Message)
		}
		if c, _ := checkNamed(res, "scratch-service"); !strings.Contains(c.Message, "ClusterIP 10.96.") {
			t.Errorf("scratch-service: %q", c.Message)
		}
		if len(res.Probes) != 1 || !res.Probes[0].Passed || res.Probes[0].Status != 200 {
			t.Errorf("probes: %+v", res.Probes)
		}
		if h, _ := hosts.Load().(string); h != "shop.example.com" {
			t.Errorf("probe Host header %q", h)
		}
		// Everything the run created, and the leftover of the earlier attempt, is gone or going.
		name := ScratchName("run-1", 1)
		for _, n := range []string{name, leftover} {
			if _, err := green.cs.CoreV1().Pods("default").Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("pod %s still there (err %v)", n, err)
			}
		}
		if _, err := green.cs.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("service %s still there (err %v)", name, err)
		}
		if pvc, err := green.cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, name, metav1.GetOptions{}); err == nil && pvc.DeletionTimestamp == nil {
			t.Errorf("pvc %s not deleted", name)
		}
	})

	t.Run("smoke rides out a short apiserver outage during the scratch step", func(t *testing.T) {
		// The chaos run: green's apiserver unreachable for a few
		// seconds while the scratch pvc/pod/service are created was
		// recorded as a failed check (SmokeFailed, rollback).
		out := &outage{after: "persistentvolumeclaims", lasts: 3 * time.Second}
		cfg := rest.CopyConfig(green.cfg)
		cfg.WrapTransport = out.wrap
		a := New(staticResolver{green.ref.Name: cfg}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
			WithPollInterval(100*time.Millisecond), WithScratchWaitForRunning(false), WithScratchTimeout(5*time.Second),
			WithAPIRetry(30*time.Second, 200*time.Millisecond))
		res, err := a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: "run-outage", Smoke: SmokeTests{
			Kubernetes: ClusterChecks{WorkloadsReady: boolp(false)}, Timeout: duration.Duration(time.Minute),
		}})
		if err != nil {
			t.Fatalf("a %s outage must be retried, got %v", out.lasts, err)
		}
		logChecks(t, res)
		if !res.Passed {
			t.Fatal("the outage was recorded as a failed check")
		}
		if out.refusedCount() == 0 {
			t.Fatal("the outage never happened")
		}

		// An outage that outlasts the retries is a retryable error, not a failed check.
		long := &outage{after: "persistentvolumeclaims", lasts: time.Hour}
		cfg = rest.CopyConfig(green.cfg)
		cfg.WrapTransport = long.wrap
		a = New(staticResolver{green.ref.Name: cfg}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
			WithPollInterval(100*time.Millisecond), WithScratchWaitForRunning(false), WithAPIRetry(time.Second, 100*time.Millisecond))
		_, err = a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: "run-down", Smoke: SmokeTests{
			Kubernetes: ClusterChecks{WorkloadsReady: boolp(false)}, Timeout: duration.Duration(time.Minute),
		}})
		if !failures.Is(err, failures.Transient) || failures.IsDefinitive(err) {
			t.Fatalf("want a retryable Transient error, got %v", err)
		}
	})

	t.Run("smoke fails with a precise message when a workload is not ready", func(t *testing.T) {
		green.namespace(t, "shop-bad")
		green.deployment(t, "shop-bad", "web", 3, 1)
		green.deployment(t, "shop-bad", "cart", 2, 2)
		green.statefulSet(t, "shop-bad", "db", 3, 2)
		a := green.activities(WithWorkloadWait(500 * time.Millisecond))
		res, err := a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: "run-2", Smoke: SmokeTests{
			Kubernetes: ClusterChecks{Namespaces: []string{"shop-bad"}, ScratchWorkload: boolp(false)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		logChecks(t, res)
		if res.Passed {
			t.Fatal("smoke passed with web at 1/3")
		}
		c, ok := checkNamed(res, "deployment shop-bad/web")
		if !ok || c.Passed || c.Message != "deployment shop-bad/web: 1/3 replicas available" {
			t.Errorf("deployment check: %+v", c)
		}
		c, _ = checkNamed(res, "statefulset shop-bad/db")
		if c.Message != "statefulset shop-bad/db: 2/3 replicas ready" {
			t.Errorf("statefulset check: %+v", c)
		}
		c, _ = checkNamed(res, "workloads")
		if c.Passed || !strings.HasPrefix(c.Message, "1/3 workloads available; ") || !strings.Contains(c.Message, "deployment shop-bad/web: 1/3 replicas available") {
			t.Errorf("summary: %+v", c)
		}
		if _, ok := checkNamed(res, "deployment shop-bad/cart"); ok {
			t.Error("available deployment reported as a failure")
		}
	})

	t.Run("smoke fails when an HTTP probe returns the wrong status", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				fmt.Fprint(w, "ok")
				return
			}
			http.Error(w, "upstream not ready", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		a := green.activities(WithProbeRetryDelay(10 * time.Millisecond))
		res, err := a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: "run-3", Smoke: SmokeTests{
			Kubernetes: ClusterChecks{WorkloadsReady: boolp(false), ScratchWorkload: boolp(false)},
			HTTP: []probe.Probe{
				{Name: "health", URL: srv.URL + "/healthz", ExpectStatus: 200},
				{Name: "checkout", URL: srv.URL + "/checkout", ExpectStatus: 200, Retries: 2},
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		logChecks(t, res)
		if res.Passed {
			t.Fatal("smoke passed with a 503 probe")
		}
		if c, _ := checkNamed(res, "health"); !c.Passed {
			t.Errorf("health: %+v", c)
		}
		c, _ := checkNamed(res, "checkout")
		if c.Passed || c.Kind != "http" || !strings.Contains(c.Message, "status 503, want 200") {
			t.Errorf("checkout: %+v", c)
		}
		if len(res.Probes) != 2 || res.Probes[1].Attempts != 3 || res.Probes[1].Status != 503 {
			t.Errorf("probe results: %+v", res.Probes)
		}
	})

	t.Run("k6 job result is read back", func(t *testing.T) {
		green.namespace(t, "loadtest")
		must(green.cs.CoreV1().ConfigMaps("loadtest").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "k6-smoke", Namespace: "loadtest"},
			Data:       map[string]string{"smoke.js": "import http from 'k6/http';\nexport default function () { http.get('http://web.shop/'); }\n"},
		}, metav1.CreateOptions{}))
		for _, tc := range []struct {
			runID  string
			status func(*batchv1.Job)
			passed bool
			msg    string
		}{
			{"k6-pass", func(j *batchv1.Job) {
				now := metav1.Now()
				j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = &now, &now, 1
				j.Status.Conditions = []batchv1.JobCondition{
					{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
				}
			}, true, "completed (1 succeeded)"},
			{"k6-fail", func(j *batchv1.Job) {
				now := metav1.Now()
				j.Status.StartTime, j.Status.Failed = &now, 1
				j.Status.Conditions = []batchv1.JobCondition{
					{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
					{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
				}
			}, false, "failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		} {
			t.Run(tc.runID, func(t *testing.T) {
				// Stand in for the Job controller: when the Job appears, write its outcome.
				done := make(chan error, 1)
				go func() {
					done <- func() error {
						sel := LabelSmokeRun + "=" + runHash(tc.runID)
						for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
							l, err := green.cs.BatchV1().Jobs("loadtest").List(ctx, metav1.ListOptions{LabelSelector: sel})
							if err != nil || len(l.Items) == 0 {
								continue
							}
							j := &l.Items[0]
							tc.status(j)
							_, err = green.cs.BatchV1().Jobs("loadtest").UpdateStatus(ctx, j, metav1.UpdateOptions{})
							return err
						}
						return fmt.Errorf("no k6 job appeared")
					}()
				}()
				a := green.activities()
				res, err := a.SmokeTestGreen(ctx, SmokeInput{Cluster: green.ref, RunID: tc.runID, Smoke: SmokeTests{
					Kubernetes: ClusterChecks{WorkloadsReady: boolp(false), ScratchWorkload: boolp(false)},
					K6:         &K6Test{ConfigMap: "k6-smoke", Namespace: "loadtest"},
					Timeout:    duration.Duration(time.Minute),
				}})
				if err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatalf("writing job status: %v", err)
				}
				logChecks(t, res)
				c, ok := checkNamed(res, "k6")
				if !ok || c.Passed != tc.passed || res.Passed != tc.passed || !strings.Contains(c.Message, tc.msg) {
					t.Errorf("k6 check %+v, want passed=%v and %q", c, tc.passed, tc.msg)
				}
				job := must(green.cs.BatchV1().Jobs("loadtest").Get(ctx, fmt.Sprintf("cutover-k6-%s-1", runHash(tc.runID)), metav1.GetOptions{}))
				args := job.Spec.Template.Spec.Containers[0].Args
				if strings.Join(args, " ") != "run --no-color /scripts/smoke.js" || job.Spec.Template.Spec.Containers[0].Image != DefaultK6Image {
					t.Errorf("job container: %v %s", args, job.Spec.Template.Spec.Containers[0].Image)
				}
			})
		}
	})
}

// outage is a client-side stand-in for an apiserver that stops answering:
// from the first request touching resource after, every request fails with
// "connection refused" (and every third with a 503) for lasts.
type outage struct {
	after string
	lasts time.Duration

	mu      sync.Mutex
	started time.Time
	refused int
}

func (o *outage) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		o.mu.Lock()
		if o.started.IsZero() && strings.Contains(r.URL.Path, "/"+o.after) {
			o.started = time.Now()
		}
		down := !o.started.IsZero() && time.Since(o.started) < o.lasts
		if down {
			o.refused++
		}
		n := o.refused
		o.mu.Unlock()
		if !down {
			return next.RoundTrip(r)
		}
		if n%3 == 0 {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("apiserver is shutting down")), Request: r}, nil
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	})
}

func (o *outage) refusedCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refused
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestVerifyGreenCoreAddonsFromBlue: the core add-ons green must run are
// those blue runs: a blue on Cilium without kube-proxy makes green's
// missing Cilium an error and its missing kube-proxy and VPC CNI none.
func TestVerifyGreenCoreAddonsFromBlue(t *testing.T) {
	blue, green := startCluster(t, "blue"), startCluster(t, "green")
	ctx := ctxT(t)
	blue.daemonSet(t, "kube-system", "cilium", 3, 3)
	blue.deployment(t, "kube-system", "coredns", 2, 2)
	green.node(t, "ip-10-2-1-1", "v1.31.14-eks-1234", true)
	green.deployment(t, "kube-system", "coredns", 2, 2)
	a := New(staticResolver{blue.ref.Name: blue.cfg, green.ref.Name: green.cfg}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithVerifyWait(0))
	res, err := a.VerifyGreen(ctx, VerifyGreenInput{Cluster: green.ref, TargetVersion: "1.31", CoreFrom: &blue.ref})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, res.Findings)
	missing := findingsOf(res.Findings, CheckAddonMissing)
	if res.Ready || len(missing) != 1 || missing[0].Object != "apps/v1 DaemonSet kube-system/cilium" {
		t.Fatalf("ready %v, missing %+v: want only Cilium missing", res.Ready, missing)
	}
	green.daemonSet(t, "kube-system", "cilium", 1, 1)
	res, err = a.VerifyGreen(ctx, VerifyGreenInput{Cluster: green.ref, TargetVersion: "1.31", CoreFrom: &blue.ref})
	if err != nil || !res.Ready || len(res.Findings) != 0 {
		t.Fatalf("with Cilium on green: ready %v, %+v, %v; want ready without kube-proxy or aws-node", res.Ready, res.Findings, err)
	}
}
