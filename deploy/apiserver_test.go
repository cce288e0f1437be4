package deploy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// warnings collects the apiserver's Warning headers (Pod Security's
// "would violate" among them).
type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, text)
}

// TestChartInstallsOnARealAPIServer: the production rendering is accepted
// by a real kube-apiserver, in a namespace that enforces (and warns about)
// Pod Security "restricted", with no warning at all.
func TestChartInstallsOnARealAPIServer(t *testing.T) {
	k := sandboxtest.Kube(t, "chart")
	cfg := rest.CopyConfig(k.RESTConfig())
	w := &warnings{}
	cfg.WarningHandler = w
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const ns = "cutover"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := render(t, "chatops.enabled=true", "worker.slackSecret=cutover-slack-bot",
		"worker.extraEnv[0].name=AWS_REGION", "worker.extraEnv[0].value=eu-west-1",
		"chatops.ingress.enabled=true", "chatops.ingress.className=alb", "chatops.ingress.host=cutover.example.com", "chatops.ingress.tlsSecret=cutover-tls")
	var kinds []string
	for _, o := range objs {
		var err error
		switch v := o.(type) {
		case *appsv1.Deployment:
			_, err = cs.AppsV1().Deployments(ns).Create(ctx, v, metav1.CreateOptions{})
		case *corev1.Service:
			_, err = cs.CoreV1().Services(ns).Create(ctx, v, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = cs.CoreV1().ServiceAccounts(ns).Create(ctx, v, metav1.CreateOptions{})
		case *policyv1.PodDisruptionBudget:
			_, err = cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, v, metav1.CreateOptions{})
		case *networkingv1.Ingress:
			_, err = cs.NetworkingV1().Ingresses(ns).Create(ctx, v, metav1.CreateOptions{})
		case *corev1.Pod: // helm test's, admitted under "restricted" too
			_, err = cs.CoreV1().Pods(ns).Create(ctx, v, metav1.CreateOptions{})
		default:
			t.Fatalf("the chart renders a %T this test does not install", o)
		}
		kind := fmt.Sprintf("%T", o)
		if err != nil {
			t.Fatalf("the apiserver refused %s: %v", kind, err)
		}
		kinds = append(kinds, kind)
	}
	if len(kinds) != 8 {
		t.Errorf("installed %v, want the two Deployments, the two Services, ServiceAccount, PDB, Ingress and helm test's Pod", kinds)
	}
	if len(w.got) > 0 {
		t.Errorf("the apiserver warned:\n%s", strings.Join(w.got, "\n"))
	}

	// NOTES.txt, from a dry-run install against this apiserver, says what
	// is missing from a first install.
	notes := helm(t, "install", "rel", filepath.Join("helm", "cutover"), "--dry-run=client", "--namespace", "first-install",
		"--kubeconfig", k.Kubeconfig, "--set", "chatops.enabled=true")
	for _, want := range []string{"no eks.amazonaws.com/role-arn", "worker.slackSecret is empty", "chatops.userMap is empty", "expose service rel-chatops:8080 over HTTPS"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES do not say %q:\n%s", want, notes)
		}
	}
}
