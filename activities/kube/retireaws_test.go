package kube

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/finding"
)

// fakeELBv2 holds load balancers (by DNS name) and their target groups.
type fakeELBv2 struct {
	mu  sync.Mutex
	lbs map[string]string   // DNS name -> ARN
	tgs map[string][]string // LB ARN -> target group ARNs
	// pageSize splits DescribeLoadBalancers into pages.
	pageSize int
}

func newFakeELBv2() *fakeELBv2 {
	return &fakeELBv2{lbs: map[string]string{}, tgs: map[string][]string{}, pageSize: 1}
}

func (f *fakeELBv2) add(dns, arn string, tgs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lbs[dns], f.tgs[arn] = arn, tgs
}

// remove deletes the load balancer of dns and its target groups, as the
// controller does; it reports whether there was one.
func (f *fakeELBv2) remove(dns string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn, ok := f.lbs[dns]
	delete(f.lbs, dns)
	delete(f.tgs, arn)
	return ok
}

func (f *fakeELBv2) left() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for dns := range f.lbs {
		out = append(out, dns)
	}
	for _, tgs := range f.tgs {
		out = append(out, tgs...)
	}
	slices.Sort(out)
	return out
}

func (f *fakeELBv2) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for dns := range f.lbs {
		names = append(names, dns)
	}
	slices.Sort(names)
	start := 0
	if in.Marker != nil {
		start = slices.Index(names, *in.Marker)
	}
	out := &elbv2.DescribeLoadBalancersOutput{}
	for i := start; i < len(names) && i >= 0; i++ {
		if len(out.LoadBalancers) == f.pageSize {
			out.NextMarker = aws.String(names[i])
			break
		}
		out.LoadBalancers = append(out.LoadBalancers, elbtypes.LoadBalancer{DNSName: aws.String(strings.ToUpper(names[i]) + "."), LoadBalancerArn: aws.String(f.lbs[names[i]])})
	}
	return out, nil
}

func (f *fakeELBv2) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &elbv2.DescribeTargetGroupsOutput{}
	if in.LoadBalancerArn != nil {
		tgs, ok := f.tgs[*in.LoadBalancerArn]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "LoadBalancerNotFound", Message: "no such load balancer"}
		}
		if len(tgs) == 0 {
			// What moto answers for a load balancer without target groups.
			return nil, &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "one or more target groups not found"}
		}
		for _, tg := range tgs {
			out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(tg)})
		}
		return out, nil
	}
	for _, want := range in.TargetGroupArns {
		found := false
		for _, tgs := range f.tgs {
			found = found || slices.Contains(tgs, want)
		}
		if !found {
			return nil, &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "one or more target groups not found"}
		}
		out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(want)})
	}
	return out, nil
}

// playController plays the AWS Load Balancer Controller until ctx ends:
// an object being deleted loses its load balancer, then its finalizer.
// Objects named in stuck keep both.
func playController(ctx context.Context, t *testing.T, c *testCluster, f *fakeELBv2, stuck func(name string) bool) {
	for ctx.Err() == nil {
		svcs, err := c.cs.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, s := range svcs.Items {
				if s.DeletionTimestamp == nil || stuck(s.Name) {
					continue
				}
				f.remove(serviceHostname(s))
				s.Finalizers = nil
				if _, err := c.cs.CoreV1().Services(s.Namespace).Update(ctx, &s, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
					t.Errorf("controller: %v", err)
				}
			}
		}
		ings, err := c.cs.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, ing := range ings.Items {
				if ing.DeletionTimestamp == nil || stuck(ing.Name) {
					continue
				}
				f.remove(ingressHostname(ing))
				ing.Finalizers = nil
				if _, err := c.cs.NetworkingV1().Ingresses(ing.Namespace).Update(ctx, &ing, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
					t.Errorf("controller: %v", err)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRetireLoadBalancers against a real apiserver and a fake ELBv2 the
// test plays the controller on: every Service of type LoadBalancer
// (kube-system's too) and every Ingress of class alb (by name, by an
// IngressClass of the controller, by the legacy annotation) is deleted,
// and the activity returns only once their load balancers and target
// groups are gone and their finalizers released; an nginx Ingress and a
// ClusterIP Service stay. A load balancer the controller never removes is
// a warning finding naming it at the deadline, and a retry after the
// controller caught up finishes the job without deleting anything else.
func TestRetireLoadBalancers(t *testing.T) {
	c := startCluster(t, "blue")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	c.namespace(t, "ops")
	elb := newFakeELBv2()
	acts := c.activities(WithELBv2(func(context.Context, string) (ELBv2API, error) { return elb, nil }))

	svc := func(ns, name, host string, typ corev1.ServiceType) {
		t.Helper()
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
		if typ == corev1.ServiceTypeLoadBalancer {
			s.Finalizers = []string{"service.k8s.aws/resources"}
		}
		s = must(c.cs.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{}))
		if host != "" {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: host}}
			must(c.cs.CoreV1().Services(ns).UpdateStatus(ctx, s, metav1.UpdateOptions{}))
		}
	}
	ingress := func(ns, name, host string, class *string, annotation string) {
		t.Helper()
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Finalizers: []string{"ingress.k8s.aws/resources"}},
			Spec: networkingv1.IngressSpec{IngressClassName: class, DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
		if annotation != "" {
			ing.Annotations = map[string]string{"kubernetes.io/ingress.class": annotation}
		}
		ing = must(c.cs.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}))
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: host}}
		must(c.cs.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{}))
	}
	must(c.cs.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "internal-alb"},
		Spec: networkingv1.IngressClassSpec{Controller: ALBIngressController}}, metav1.CreateOptions{}))
	alb, internal, nginx := "alb", "internal-alb", "nginx"

	svc("shop", "web-public", "k8s-shop-webpubli-1.elb.us-east-1.amazonaws.com", corev1.ServiceTypeLoadBalancer)
	svc("kube-system", "dns-public", "k8s-kubesyst-dnspubli-2.elb.us-east-1.amazonaws.com", corev1.ServiceTypeLoadBalancer)
	svc("ops", "never-provisioned", "", corev1.ServiceTypeLoadBalancer)
	svc("shop", "web", "", corev1.ServiceTypeClusterIP)
	ingress("shop", "web", "k8s-shop-web-3.us-east-1.elb.amazonaws.com", &alb, "")
	ingress("ops", "admin", "internal-k8s-ops-admin-4.us-east-1.elb.amazonaws.com", &internal, "")
	ingress("ops", "legacy", "k8s-ops-legacy-5.us-east-1.elb.amazonaws.com", nil, "alb")
	ingress("ops", "other", "nginx.example.com", &nginx, "")
	elb.add("k8s-shop-webpubli-1.elb.us-east-1.amazonaws.com", "arn:lb/net/1", "arn:tg/1")
	elb.add("k8s-kubesyst-dnspubli-2.elb.us-east-1.amazonaws.com", "arn:lb/net/2", "arn:tg/2")
	elb.add("k8s-shop-web-3.us-east-1.elb.amazonaws.com", "arn:lb/app/3", "arn:tg/3a", "arn:tg/3b")
	elb.add("internal-k8s-ops-admin-4.us-east-1.elb.amazonaws.com", "arn:lb/app/4", "arn:tg/4")
	elb.add("k8s-ops-legacy-5.us-east-1.elb.amazonaws.com", "arn:lb/app/5") // no target group yet
	elb.add("unrelated.elb.us-east-1.amazonaws.com", "arn:lb/app/other", "arn:tg/other")

	// The first run: the controller never gets to shop/web.
	var mu sync.Mutex
	stuckOn := "web"
	stuck := func(name string) bool { mu.Lock(); defer mu.Unlock(); return name == stuckOn }
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go playController(cctx, t, c, elb, stuck)

	in := RetireLoadBalancersInput{Cluster: c.ref, Timeout: duration.Duration(2 * time.Second)}
	res, err := acts.RetireLoadBalancers(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	names := func(rs []RetiredLoadBalancer) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.String())
		}
		slices.Sort(out)
		return out
	}
	wantRetired := []string{"Ingress ops/admin", "Ingress ops/legacy", "Service kube-system/dns-public", "Service ops/never-provisioned", "Service shop/web-public"}
	if got := names(res.Retired); !slices.Equal(got, wantRetired) || !res.Verified {
		t.Errorf("retired %v (verified %v); want %v", got, res.Verified, wantRetired)
	}
	if got := names(res.Remaining); !slices.Equal(got, []string{"Ingress shop/web"}) || res.Remaining[0].LoadBalancerARN != "arn:lb/app/3" {
		t.Fatalf("remaining %+v; want Ingress shop/web with its ALB", res.Remaining)
	}
	if len(res.Findings) != 1 || res.Findings[0].Check != CheckLoadBalancerRemains || res.Findings[0].Severity != finding.Warning ||
		len(res.Findings[0].Objects) != 1 || !strings.Contains(res.Findings[0].Objects[0], "arn:lb/app/3") {
		t.Errorf("findings %+v; want one warning naming shop/web's ALB", res.Findings)
	}
	for _, r := range res.Retired {
		if r.Hostname != "" && r.LoadBalancerARN == "" {
			t.Errorf("%s: no load balancer ARN noted for %s", r, r.Hostname)
		}
	}
	if got, want := elb.left(), []string{"arn:tg/3a", "arn:tg/3b", "arn:tg/other", "k8s-shop-web-3.us-east-1.elb.amazonaws.com", "unrelated.elb.us-east-1.amazonaws.com"}; !slices.Equal(got, want) {
		t.Errorf("ELBv2 after the first run: %v; want %v", got, want)
	}

	// The controller catches up; the retry finishes and leaves the rest.
	mu.Lock()
	stuckOn = ""
	mu.Unlock()
	res, err = acts.RetireLoadBalancers(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Retired); !slices.Equal(got, []string{"Ingress shop/web"}) || len(res.Remaining) != 0 || len(res.Findings) != 0 {
		t.Errorf("second run: retired %v remaining %v findings %+v; want shop/web only", got, names(res.Remaining), res.Findings)
	}
	if got, want := elb.left(), []string{"arn:tg/other", "unrelated.elb.us-east-1.amazonaws.com"}; !slices.Equal(got, want) {
		t.Errorf("ELBv2 at the end: %v; want only the unrelated load balancer", got)
	}
	if _, err := c.cs.NetworkingV1().Ingresses("ops").Get(ctx, "other", metav1.GetOptions{}); err != nil {
		t.Errorf("the nginx Ingress: %v; want it kept", err)
	}
	if _, err := c.cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("the ClusterIP Service: %v; want it kept", err)
	}
	// Nothing left: a third run is a no-op.
	if res, err := acts.RetireLoadBalancers(ctx, in); err != nil || len(res.Retired)+len(res.Remaining)+len(res.Findings) != 0 {
		t.Errorf("third run: %+v, %v; want nothing to do", res, err)
	}
}

// TestRetireLoadBalancersWithoutELBv2: without an ELBv2 client the objects
// are still deleted and their finalizers waited for, and a finding says
// the load balancers were not looked up.
func TestRetireLoadBalancersWithoutELBv2(t *testing.T) {
	c := startCluster(t, "blue")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	must(c.cs.CoreV1().Services("shop").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-public"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	res, err := c.activities().RetireLoadBalancers(ctx, RetireLoadBalancersInput{Cluster: c.ref, Timeout: duration.Duration(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified || len(res.Retired) != 1 || len(res.Findings) != 1 || res.Findings[0].Check != CheckLoadBalancerUnverified {
		t.Errorf("%+v; want shop/web-public retired unverified, with a finding", res)
	}
	if _, err := c.cs.CoreV1().Services("shop").Get(ctx, "web-public", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("web-public: %v; want deleted", err)
	}
}

// TestRetireLoadBalancersUnowned: a load balancer whose object carries no
// controller's finalizer (the controller was not running, or another tool
// made it) is not waited for after its object is deleted: nothing will
// remove it, so it is reported at once instead of at the deadline.
func TestRetireLoadBalancersUnowned(t *testing.T) {
	c := startCluster(t, "blue")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	elb := newFakeELBv2()
	host := "k8s-shop-orphan-1.elb.us-east-1.amazonaws.com"
	elb.add(host, "arn:lb/net/orphan", "arn:tg/orphan")
	s := must(c.cs.CoreV1().Services("shop").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "orphan"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: host}}
	must(c.cs.CoreV1().Services("shop").UpdateStatus(ctx, s, metav1.UpdateOptions{}))

	acts := c.activities(WithELBv2(func(context.Context, string) (ELBv2API, error) { return elb, nil }))
	start := time.Now()
	res, err := acts.RetireLoadBalancers(ctx, RetireLoadBalancersInput{Cluster: c.ref, Timeout: duration.Duration(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("waited %s for a load balancer nothing removes", took)
	}
	if len(res.Remaining) != 1 || !res.Remaining[0].Unowned || !res.Remaining[0].Deleted ||
		len(res.Findings) != 1 || !strings.Contains(res.Findings[0].Objects[0], "no load balancer controller's finalizer") {
		t.Errorf("%+v; want shop/orphan deleted, its load balancer remaining and reported as unowned", res)
	}
}
