package sandbox_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestServersStartAndStop(t *testing.T) {
	ctx := context.Background()
	tmp := sandboxtest.Temporal(t)
	moto := sandboxtest.Moto(t)
	kube := sandboxtest.Kube(t, "solo")

	c, err := tmp.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckHealth(ctx, nil); err != nil {
		t.Fatalf("Temporal CheckHealth: %v", err)
	}
	c.Close()

	cfg, _ := moto.AWS().ForRegion(ctx, moto.Region)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("moto GetCallerIdentity: %v", err)
	}
	t.Logf("moto account %s", *id.Account)

	cs, err := kube.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.31.14" {
		t.Errorf("apiserver version %s, want v1.31.14", v.GitVersion)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	// Readiness stand-ins: a node and a Deployment marked available.
	if err := kube.AddNode(ctx, "n1", "v1.29.15-eks-473151a", false, sandbox.NodeLabels(map[string]string{"workload": "general"})); err != nil {
		t.Fatal(err)
	}
	if err := kube.AddNode(ctx, "n1", "v1.31.7-eks-1234567", true); err != nil {
		t.Fatal(err)
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Status.NodeInfo.KubeletVersion != "v1.31.7-eks-1234567" || n.Status.Conditions[0].Type != corev1.NodeReady || n.Status.Conditions[0].Status != corev1.ConditionTrue || n.Labels["workload"] != "general" {
		t.Errorf("node n1: %+v %+v", n.Labels, n.Status)
	}
	labels := map[string]string{"app": "x"}
	_, err = cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(4)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.MarkWorkloadsReady(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments("default").Get(ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 4 || d.Status.ObservedGeneration != d.Generation {
		t.Errorf("deployment x status %+v", d.Status)
	}

	pids := append(append(tmp.Pids(), moto.Pids()...), kube.Pids()...)
	for _, stop := range []func() error{tmp.Stop, moto.Stop, kube.Stop} {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill -0: %v)", pid, err)
		}
	}
}

func TestMissingToolSaysMakeTools(t *testing.T) {
	_, err := sandbox.StartTemporal(context.Background(), sandbox.Options{Dir: t.TempDir(), ToolsDir: t.TempDir(), VenvDir: t.TempDir()})
	var missing *sandbox.ToolMissingError
	if !errors.As(err, &missing) || !containsMakeTools(err.Error()) {
		t.Fatalf("StartTemporal without tools: %v, want a ToolMissingError naming `make tools`", err)
	}
}

func containsMakeTools(s string) bool {
	for i := 0; i+len("make tools") <= len(s); i++ {
		if s[i:i+len("make tools")] == "make tools" {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
