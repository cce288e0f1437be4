package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
)

// TestWaitLoadBalancer against a real apiserver: the hostname is waited
// for while the Service does not exist yet and while its status is empty,
// and returned once the load balancer controller writes it; an Ingress
// works the same; a ClusterIP Service and an IP-only load balancer are
// refused at once; no hostname by the timeout is GreenNotReady.
func TestWaitLoadBalancer(t *testing.T) {
	c := startCluster(t, "green")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	acts := c.activities()
	const host = "k8s-shop-webpubli-0123456789.elb.eu-west-1.amazonaws.com"

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web-public", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	// The restore creates the Service, then the controller gives it a load balancer.
	go func() {
		time.Sleep(300 * time.Millisecond)
		created, err := c.cs.CoreV1().Services("shop").Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		time.Sleep(300 * time.Millisecond)
		created.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: host}}
		if _, err := c.cs.CoreV1().Services("shop").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	in := LoadBalancerInput{Cluster: c.ref, Kind: EntryPointService, Namespace: "shop", Name: "web-public", Timeout: duration.Duration(time.Minute)}
	got, err := acts.WaitLoadBalancer(ctx, in)
	if err != nil || got.Hostname != host || got.Waited.D() < 500*time.Millisecond {
		t.Fatalf("service: %+v, %v; want %s after about 600ms", got, err, host)
	}

	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-public", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	ing, err = c.cs.NetworkingV1().Ingresses("shop").Create(ctx, ing, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "k8s-shop-web-abc.eu-west-1.elb.amazonaws.com"}}
	if _, err := c.cs.NetworkingV1().Ingresses("shop").UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := acts.WaitLoadBalancer(ctx, LoadBalancerInput{Cluster: c.ref, Kind: EntryPointIngress, Namespace: "shop", Name: "web"}); err != nil || got.Hostname != "k8s-shop-web-abc.eu-west-1.elb.amazonaws.com" {
		t.Errorf("ingress: %+v, %v", got, err)
	}

	plain := svc.DeepCopy()
	plain.Name, plain.Spec.Type = "web", corev1.ServiceTypeClusterIP
	if _, err := c.cs.CoreV1().Services("shop").Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.WaitLoadBalancer(ctx, LoadBalancerInput{Cluster: c.ref, Kind: EntryPointService, Namespace: "shop", Name: "web"}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("a ClusterIP Service: %v, want InvalidParameter", err)
	}

	ipOnly := svc.DeepCopy()
	ipOnly.Name = "by-ip"
	ipOnly, err = c.cs.CoreV1().Services("shop").Create(ctx, ipOnly, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ipOnly.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}}
	if _, err := c.cs.CoreV1().Services("shop").UpdateStatus(ctx, ipOnly, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.WaitLoadBalancer(ctx, LoadBalancerInput{Cluster: c.ref, Kind: EntryPointService, Namespace: "shop", Name: "by-ip"}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("an IP-only load balancer: %v, want InvalidParameter", err)
	}

	_, err = acts.WaitLoadBalancer(ctx, LoadBalancerInput{Cluster: c.ref, Kind: EntryPointService, Namespace: "shop", Name: "never", Timeout: duration.Duration(500 * time.Millisecond)})
	if !failures.Is(err, failures.GreenNotReady) {
		t.Errorf("no Service by the timeout: %v, want GreenNotReady", err)
	}
}
