package kube

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
)

func refused() error {
	return &url.Error{Op: "Post", URL: "https://green:443/api/v1/namespaces/default/persistentvolumeclaims",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}
}

// flakyGreen is a fake clientset for the scratch test whose calls fail with
// the queued errors, per verb and resource, before they go through.
type flakyGreen struct {
	mu     sync.Mutex
	faults map[string][]error // "create/pods" -> errors, one per call
	calls  map[string]int
	cs     *fake.Clientset
}

func newFlakyGreen() *flakyGreen {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	f := &flakyGreen{faults: map[string][]error{}, calls: map[string]int{}, cs: fake.NewSimpleClientset(&storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "gp3", Annotations: map[string]string{defaultStorageAnn: "true"}},
		Provisioner:       "ebs.csi.aws.com",
		VolumeBindingMode: &wffc,
	})}
	f.cs.PrependReactor("*", "*", func(action k8stesting.Action) (bool, kruntime.Object, error) {
		key := action.GetVerb() + "/" + action.GetResource().Resource
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls[key]++
		if q := f.faults[key]; len(q) > 0 {
			f.faults[key] = q[1:]
			return true, nil, q[0]
		}
		return false, nil, nil
	})
	// A bare fake allocates no ClusterIP; the apiserver would.
	f.cs.PrependReactor("create", "services", func(action k8stesting.Action) (bool, kruntime.Object, error) {
		svc := action.(k8stesting.CreateAction).GetObject().(*corev1.Service)
		svc.Spec.ClusterIP = "10.96.0.10"
		return false, nil, nil
	})
	return f
}

func (f *flakyGreen) fail(key string, errs ...error) {
	f.mu.Lock()
	f.faults[key] = append(f.faults[key], errs...)
	f.mu.Unlock()
}

func (f *flakyGreen) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *flakyGreen) activities(opts ...Option) *Activities {
	base := []Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithClientFactory(func(*rest.Config) (*Clients, error) { return &Clients{Kube: f.cs}, nil }),
		WithPollInterval(10 * time.Millisecond), WithScratchWaitForRunning(false),
		WithAPIRetry(5*time.Second, 5*time.Millisecond),
	}
	return New(staticResolver{"green": &rest.Config{Host: "https://green"}}, append(base, opts...)...)
}

var scratchOnly = SmokeTests{Kubernetes: ClusterChecks{WorkloadsReady: boolp(false)}, Timeout: duration.Duration(time.Minute)}

var greenRef = clusters.Ref{Name: "green", Region: "us-east-1"}

// TestScratchRidesOutATransientOutage: green's apiserver refusing
// connections and answering 503/429 for a few calls in every step of the
// scratch test is retried; the checks pass.
func TestScratchRidesOutATransientOutage(t *testing.T) {
	f := newFlakyGreen()
	gr := schema.GroupResource{Resource: "pods"}
	f.fail("create/persistentvolumeclaims", refused(), apierrors.NewServiceUnavailable("etcd leader changed"))
	f.fail("list/storageclasses", apierrors.NewTooManyRequests("slow down", 0))
	f.fail("create/pods", refused(), apierrors.NewServerTimeout(gr, "create", 0))
	f.fail("get/pods", apierrors.NewInternalError(errors.New("etcdserver: request timed out")))
	f.fail("create/services", refused())
	f.fail("get/services", &url.Error{Op: "Get", URL: "https://green", Err: io.ErrUnexpectedEOF})
	f.fail("get/persistentvolumeclaims", refused())
	f.fail("delete/pods", refused())
	res, err := f.activities().SmokeTestGreen(context.Background(), SmokeInput{Cluster: greenRef, RunID: "run-outage", Smoke: scratchOnly})
	if err != nil {
		t.Fatalf("a short outage must be ridden out: %v", err)
	}
	logChecks(t, res)
	if !res.Passed {
		t.Fatal("a transient outage was recorded as a failed check")
	}
	if n := f.count("create/persistentvolumeclaims"); n != 3 {
		t.Errorf("pvc created in %d calls, want 3 (two faults)", n)
	}
}

// TestScratchCreateAppliedBeforeTheAnswerWasLost: a create whose answer was
// lost (applied, then EOF) is found on the retry, not reported as a clash.
func TestScratchCreateAppliedBeforeTheAnswerWasLost(t *testing.T) {
	f := newFlakyGreen()
	applied := false
	f.cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, kruntime.Object, error) {
		if applied {
			return false, nil, nil
		}
		applied = true
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if err := f.cs.Tracker().Create(action.GetResource(), pod, pod.Namespace); err != nil {
			return true, nil, err
		}
		return true, nil, &url.Error{Op: "Post", URL: "https://green", Err: io.EOF}
	})
	res, err := f.activities().SmokeTestGreen(context.Background(), SmokeInput{Cluster: greenRef, RunID: "run-lost", Smoke: scratchOnly})
	if err != nil || !res.Passed {
		logChecks(t, res)
		t.Fatalf("passed=%v err=%v, want the applied create adopted", res.Passed, err)
	}
}

// TestScratchDefinitiveFailureIsACheck: a definitive refusal fails the
// check once, without retries.
func TestScratchDefinitiveFailureIsACheck(t *testing.T) {
	f := newFlakyGreen()
	f.fail("create/pods", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New(`violates PodSecurity "restricted:latest"`)))
	res, err := f.activities().SmokeTestGreen(context.Background(), SmokeInput{Cluster: greenRef, RunID: "run-refused", Smoke: scratchOnly})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := checkNamed(res, "scratch-pod")
	if res.Passed || !ok || c.Passed || !strings.Contains(c.Message, "violates PodSecurity") {
		logChecks(t, res)
		t.Fatalf("want a failed scratch-pod check naming the refusal, got %+v", c)
	}
	if n := f.count("create/pods"); n != 1 {
		t.Errorf("a definitive refusal was sent %d times, want once", n)
	}
}

// TestScratchOutagePastTheBudgetIsRetryable: an outage longer than the
// retries ends the smoke test with a retryable error, never SmokeFailed.
func TestScratchOutagePastTheBudgetIsRetryable(t *testing.T) {
	f := newFlakyGreen()
	for i := 0; i < 1000; i++ {
		f.fail("create/pods", refused())
	}
	a := f.activities(WithAPIRetry(200*time.Millisecond, 10*time.Millisecond))
	_, err := a.SmokeTestGreen(context.Background(), SmokeInput{Cluster: greenRef, RunID: "run-down", Smoke: scratchOnly})
	if !failures.Is(err, failures.Transient) || failures.IsDefinitive(err) {
		t.Fatalf("want a retryable Transient error, got %v", err)
	}
	// The pvc this attempt created was cleaned up on the way out.
	if n := f.count("delete/persistentvolumeclaims"); n == 0 {
		t.Error("the attempt's pvc was not deleted")
	}
}

// TestWorkloadsRideOutATransientOutage: listing workloads through a short
// outage is retried within the activity.
func TestWorkloadsRideOutATransientOutage(t *testing.T) {
	f := newFlakyGreen()
	f.fail("list/deployments", refused(), apierrors.NewServiceUnavailable("x"))
	res, err := f.activities(WithWorkloadWait(time.Second)).SmokeTestGreen(context.Background(), SmokeInput{Cluster: greenRef, RunID: "run-w",
		Smoke: SmokeTests{Kubernetes: ClusterChecks{Namespaces: []string{"shop"}, ScratchWorkload: boolp(false)}}})
	if err != nil || !res.Passed {
		t.Fatalf("passed=%v err=%v", res.Passed, err)
	}
}
