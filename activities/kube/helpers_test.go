package kube

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// staticResolver resolves cluster names to fixed configs.
type staticResolver map[string]*rest.Config

func (r staticResolver) RESTConfig(_ context.Context, ref clusters.Ref) (*rest.Config, error) {
	cfg, ok := r[ref.Name]
	if !ok {
		return nil, fmt.Errorf("unknown cluster %s", ref)
	}
	return rest.CopyConfig(cfg), nil
}

// testCluster is a real etcd + kube-apiserver from the sandbox, with a client.
type testCluster struct {
	ref clusters.Ref
	cfg *rest.Config
	cs  kubernetes.Interface
}

// startCluster starts a sandbox cluster (failing, never skipping, when the
// tools are missing) and returns it with an admin client.
func startCluster(t *testing.T, name string) *testCluster {
	t.Helper()
	k := sandboxtest.Kube(t, name)
	cfg := k.RESTConfig()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{ref: clusters.Ref{Name: name, Region: "us-east-1"}, cfg: cfg, cs: cs}
}

func (c *testCluster) activities(opts ...Option) *Activities {
	base := []Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithPollInterval(100 * time.Millisecond)}
	return New(staticResolver{c.ref.Name: c.cfg}, append(base, opts...)...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must returns v, or panics (failing the test with a stack) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("test setup: %v", err))
	}
	return v
}

func (c *testCluster) namespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.cs.CoreV1().Namespaces().Create(ctxT(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// node creates a node and writes its status, standing in for a kubelet.
func (c *testCluster) node(t *testing.T, name, kubelet string, ready bool) {
	t.Helper()
	ctx := ctxT(t)
	n := must(c.cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionFalse
	}
	n.Status.NodeInfo.KubeletVersion = kubelet
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	must(c.cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}))
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
}

func i32(v int32) *int32 { return &v }

// deployment creates a Deployment and writes available replicas into its status.
func (c *testCluster) deployment(t *testing.T, ns, name string, replicas, available int32) {
	t.Helper()
	ctx := ctxT(t)
	d := must(c.cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: i32(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name)},
	}, metav1.CreateOptions{}))
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: available, AvailableReplicas: available}
	must(c.cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}))
}

func (c *testCluster) statefulSet(t *testing.T, ns, name string, replicas, ready int32) {
	t.Helper()
	ctx := ctxT(t)
	s := must(c.cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{Replicas: i32(replicas), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name)},
	}, metav1.CreateOptions{}))
	s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready, CurrentReplicas: replicas, UpdatedReplicas: replicas}
	must(c.cs.AppsV1().StatefulSets(ns).UpdateStatus(ctx, s, metav1.UpdateOptions{}))
}

func (c *testCluster) daemonSet(t *testing.T, ns, name string, desired, available int32) {
	t.Helper()
	ctx := ctxT(t)
	d := must(c.cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: podTemplate(name)},
	}, metav1.CreateOptions{}))
	d.Status = appsv1.DaemonSetStatus{ObservedGeneration: d.Generation, DesiredNumberScheduled: desired, CurrentNumberScheduled: desired, NumberReady: available, NumberAvailable: available, UpdatedNumberScheduled: desired}
	must(c.cs.AppsV1().DaemonSets(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}))
}

func findingsOf(fs []finding.Finding, check string) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func dump(t *testing.T, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		t.Logf("  %s [%s] %s | %s | %s", f.Check, f.Severity, f.Object, f.Source, f.Message)
	}
}
