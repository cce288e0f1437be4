package kube

// Blue's workloads that own AWS resources, deleted before blue is: the
// Services of type LoadBalancer and the Ingresses an AWS load balancer
// controller serves. Deleting the cluster first would leave their load
// balancers and target groups running, and billed, with nothing left to
// delete them (the teardown order of AWS's blue/green pattern).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// ELBv2API is the part of *elasticloadbalancingv2.Client
// RetireLoadBalancers uses: it only reads.
type ELBv2API interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
}

// ELBv2Factory gives the ELBv2 client of a region.
type ELBv2Factory func(ctx context.Context, region string) (ELBv2API, error)

// WithELBv2 lets RetireLoadBalancers look blue's load balancers up in
// ELBv2. Without it, it deletes the objects and waits for their
// finalizers only, and says so in a finding.
func WithELBv2(f ELBv2Factory) Option { return func(o *options) { o.elbv2 = f } }

// ELBv2FromAWS builds ELBv2 clients from an awsconf.Provider.
func ELBv2FromAWS(p awsconf.Provider) ELBv2Factory {
	return func(ctx context.Context, region string) (ELBv2API, error) {
		cfg, err := p.ForRegion(ctx, region)
		if err != nil {
			return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
		}
		return elbv2.NewFromConfig(cfg), nil
	}
}

// DefaultRetireLoadBalancersWait is how long RetireLoadBalancers waits for
// the controller to remove the load balancers, from its first attempt.
const DefaultRetireLoadBalancersWait = 10 * time.Minute

// Checks of RetireLoadBalancers' findings.
const (
	// CheckLoadBalancerRemains: a load balancer (or target group, or the
	// object's finalizer) was still there at the deadline.
	CheckLoadBalancerRemains = "retire-load-balancer-remains"
	// CheckLoadBalancerUnverified: the worker has no ELBv2 client, so only
	// the objects' finalizers were waited for.
	CheckLoadBalancerUnverified = "retire-load-balancer-unverified"
	// SourceRetire is the Finding.Source of these findings.
	SourceRetire = "retire"
)

// StepRetireLoadBalancers is RetireLoadBalancers' Progress.Step.
const StepRetireLoadBalancers = "retire-load-balancers"

// Ingress classes of the AWS Load Balancer Controller.
const (
	// ALBIngressClass is the class name the controller's chart installs.
	ALBIngressClass = "alb"
	// ALBIngressController is spec.controller of its IngressClass.
	ALBIngressController = "ingress.k8s.aws/alb"
	// legacyIngressClassAnnotation predates spec.ingressClassName.
	legacyIngressClassAnnotation  = "kubernetes.io/ingress.class"
	defaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

// RetireLoadBalancersInput names the cluster whose load-balanced objects
// go before it does.
type RetireLoadBalancersInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Timeout is how long to wait for the load balancers to be gone, from
	// the first attempt. Default DefaultRetireLoadBalancersWait.
	Timeout duration.Duration `json:"timeout,omitempty"`
}

// RetiredLoadBalancer is an object that owned a load balancer, and what
// became of it.
type RetiredLoadBalancer struct {
	// Kind is "Service" or "Ingress".
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	// Hostname is the load balancer's DNS name from the object's status
	// (empty: it never got one).
	Hostname string `json:"hostname,omitempty"`
	// LoadBalancerARN and TargetGroupARNs, when ELBv2 had them before the
	// object was deleted.
	LoadBalancerARN string   `json:"loadBalancerArn,omitempty"`
	TargetGroupARNs []string `json:"targetGroupArns,omitempty"`
	// Deleted: the object is gone (its finalizers released).
	Deleted bool `json:"deleted"`
	// LoadBalancerGone: no ELBv2 load balancer has Hostname, nor any of
	// TargetGroupARNs is left.
	LoadBalancerGone bool `json:"loadBalancerGone"`
	// Unowned: the object carried no load balancer controller's finalizer
	// when found, so no controller removes its load balancer when it goes;
	// once the object is deleted its load balancer is not waited for.
	Unowned bool `json:"unowned,omitempty"`
}

func (r RetiredLoadBalancer) String() string {
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

func (r RetiredLoadBalancer) done() bool { return r.Deleted && r.LoadBalancerGone }

// settled: nothing more will happen to it by waiting.
func (r RetiredLoadBalancer) settled() bool { return r.done() || r.Deleted && r.Unowned }

// lbControllerFinalizers are what a controller that owns a load
// balancer puts on its object: the AWS Load Balancer Controller's
// (service.k8s.aws/resources, ingress.k8s.aws/resources, and
// group.ingress.k8s.aws/<group> for an IngressGroup) and the in-tree
// service controller's.
func ownedByLBController(finalizers []string) bool {
	for _, f := range finalizers {
		switch {
		case f == "service.k8s.aws/resources", f == "ingress.k8s.aws/resources", f == "elbv2.k8s.aws/resources",
			strings.HasPrefix(f, "group.ingress.k8s.aws/"), f == "service.kubernetes.io/load-balancer-cleanup":
			return true
		}
	}
	return false
}

// what names the load balancer for a person.
func (r RetiredLoadBalancer) what() string {
	s := r.String()
	if r.Hostname != "" {
		s += " (" + r.Hostname + ")"
	}
	return s
}

// RetireLoadBalancersResult says what was deleted and what is left.
type RetireLoadBalancersResult struct {
	// Retired are the objects deleted whose load balancers are gone.
	Retired []RetiredLoadBalancer `json:"retired,omitempty"`
	// Remaining were still there at the deadline (object, load balancer
	// or target group).
	Remaining []RetiredLoadBalancer `json:"remaining,omitempty"`
	// Verified: ELBv2 was read; without it only the finalizers were waited for.
	Verified bool              `json:"verified"`
	Findings []finding.Finding `json:"findings,omitempty"`
}

// retireLBProgress is RetireLoadBalancers' heartbeat: the objects found by
// the first attempt (a retry still knows the hostnames of those already
// deleted) and when it started (the deadline counts from there).
type retireLBProgress struct {
	Progress
	Cluster string                `json:"cluster"`
	Started time.Time             `json:"started"`
	Targets []RetiredLoadBalancer `json:"targets"`
}

// RetireLoadBalancers deletes every Service of type LoadBalancer and every
// Ingress an AWS load balancer controller serves (class "alb", an
// IngressClass whose controller is ingress.k8s.aws/alb, the legacy
// kubernetes.io/ingress.class annotation, or no class while such a class is
// the default) in every namespace of in.Cluster, kube-system included (a
// load balancer there is billed like any other), and waits, heartbeating
// its progress, until each object is gone (the controller releases its
// finalizer once it has removed the load balancer) and, with an ELBv2
// client, until no load balancer has the object's hostname and its target
// groups are gone. What is still there at the deadline is returned in
// Remaining with a warning finding that lists it; the deadline is not an
// error. Idempotent: a retry resumes from the heartbeat, with the
// hostnames of objects an earlier attempt already deleted.
func (a *Activities) RetireLoadBalancers(ctx context.Context, in RetireLoadBalancersInput) (RetireLoadBalancersResult, error) {
	var res RetireLoadBalancersResult
	if in.Cluster.Name == "" {
		return res, failures.New(failures.Validation, "retire load balancers: cluster name is required")
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	log := a.log(ctx)
	p := retireLBProgress{Progress: Progress{Step: StepRetireLoadBalancers}, Cluster: in.Cluster.Name, Started: a.opts.Now()}
	if prev, ok := activitylog.Resume[retireLBProgress](ctx); ok && prev.Cluster == in.Cluster.Name && prev.Step == StepRetireLoadBalancers && !prev.Started.IsZero() {
		p.Started, p.Targets = prev.Started, prev.Targets
		log.Info("Resuming the retire of load balancers", "cluster", in.Cluster.Name, "known", len(p.Targets))
	}
	var api ELBv2API
	if a.opts.elbv2 != nil {
		if api, err = a.opts.elbv2(ctx, in.Cluster.Region); err != nil {
			return res, err
		}
	}
	res.Verified = api != nil

	found, err := a.loadBalancedObjects(ctx, c)
	if err != nil {
		return res, err
	}
	for _, f := range found {
		if i := slices.IndexFunc(p.Targets, func(t RetiredLoadBalancer) bool { return t.String() == f.String() }); i >= 0 {
			if p.Targets[i].UID == f.UID {
				if p.Targets[i].Hostname == "" {
					p.Targets[i].Hostname = f.Hostname
				}
				p.Targets[i].Deleted = false
				continue
			}
			// Re-created since (same name, new object): a load balancer of its own.
			p.Targets = append(p.Targets[:i], p.Targets[i+1:]...)
		}
		p.Targets = append(p.Targets, f)
	}
	if api != nil {
		if err := resolveELBv2(ctx, api, in.Cluster.Region, p.Targets); err != nil {
			return res, err
		}
	}
	p.Detail = fmt.Sprintf("%d objects own load balancers", len(p.Targets))
	activitylog.Heartbeat(ctx, p)

	for i := range p.Targets {
		t := &p.Targets[i]
		if t.Deleted {
			continue
		}
		if err := a.retryAPI(ctx, "delete "+t.String(), func(ctx context.Context) error { return deleteLoadBalanced(ctx, c, *t) }); err != nil {
			return res, err
		}
		log.Info("Deleted an object that owns a load balancer", "cluster", in.Cluster.Name, "object", t.String(), "hostname", t.Hostname, "loadBalancer", t.LoadBalancerARN)
	}

	wait := in.Timeout.D()
	if wait <= 0 {
		wait = DefaultRetireLoadBalancersWait
	}
	for round := 1; ; round++ {
		if err := a.checkRetired(ctx, c, api, in.Cluster.Region, p.Targets); err != nil {
			return res, err
		}
		left := slices.DeleteFunc(slices.Clone(p.Targets), RetiredLoadBalancer.settled)
		p.Detail = fmt.Sprintf("round %d: %d of %d load balancers gone", round, len(p.Targets)-len(left), len(p.Targets))
		if len(left) > 0 {
			names := make([]string, 0, len(left))
			for _, l := range left {
				names = append(names, l.String())
			}
			p.Detail += "; waiting for " + strings.Join(names, ", ")
		}
		activitylog.Heartbeat(ctx, p)
		waited := a.opts.Now().Sub(p.Started)
		if len(left) == 0 || waited+a.opts.Poll > wait {
			break
		}
		log.Debug("Waiting for the load balancer controller", "cluster", in.Cluster.Name, "progress", p.Detail)
		if err := sleep(ctx, a.opts.Poll); err != nil {
			return res, err
		}
	}

	for _, t := range p.Targets {
		if t.done() {
			res.Retired = append(res.Retired, t)
		} else {
			res.Remaining = append(res.Remaining, t)
		}
	}
	if len(res.Remaining) > 0 {
		objs := make([]string, 0, len(res.Remaining))
		for _, r := range res.Remaining {
			objs = append(objs, remainingText(r))
		}
		res.Findings = append(res.Findings, finding.Finding{
			Check: CheckLoadBalancerRemains, Cluster: in.Cluster.Name, Severity: finding.Warning, Source: SourceRetire,
			Object:  res.Remaining[0].String(),
			Objects: objs,
			Message: fmt.Sprintf("%d of %d load balancers of cluster %s were still there after %s: %s; deleting the cluster leaves them with nothing to remove them",
				len(res.Remaining), len(p.Targets), in.Cluster.Name, wait, strings.Join(objs, "; ")),
			Fix: "check the AWS Load Balancer Controller's logs on the cluster; delete the load balancers and their target groups in ELBv2 by hand",
		})
		log.Warn("Load balancers remain after the retire wait", "cluster", in.Cluster.Name, "remaining", len(res.Remaining), "wait", wait.String())
	}
	if api == nil && len(p.Targets) > 0 {
		res.Findings = append(res.Findings, finding.Finding{
			Check: CheckLoadBalancerUnverified, Cluster: in.Cluster.Name, Severity: finding.Warning, Source: SourceRetire,
			Message: fmt.Sprintf("the worker has no ELBv2 client: %d objects of cluster %s were deleted and their finalizers waited for, but their load balancers were not looked up in ELBv2", len(p.Targets), in.Cluster.Name),
			Fix:     "check in ELBv2 that no load balancer tagged elbv2.k8s.aws/cluster=" + in.Cluster.Name + " is left",
		})
	}
	log.Info("Retired the load balancers", "cluster", in.Cluster.Name, "retired", len(res.Retired), "remaining", len(res.Remaining), "verified", res.Verified)
	return res, nil
}

func remainingText(r RetiredLoadBalancer) string {
	var left []string
	if !r.Deleted {
		left = append(left, "object still exists (finalizer not released)")
	}
	if !r.LoadBalancerGone && r.Unowned {
		left = append(left, "the object carried no load balancer controller's finalizer, so nothing removes its load balancer")
	}
	if !r.LoadBalancerGone {
		if r.LoadBalancerARN != "" {
			left = append(left, "load balancer "+r.LoadBalancerARN)
		} else {
			left = append(left, "load balancer or target groups")
		}
	}
	return r.what() + ": " + strings.Join(left, ", ")
}

// loadBalancedObjects lists the Services of type LoadBalancer and the
// Ingresses an AWS load balancer controller serves, sorted by kind,
// namespace and name.
func (a *Activities) loadBalancedObjects(ctx context.Context, c *Clients) ([]RetiredLoadBalancer, error) {
	var out []RetiredLoadBalancer
	err := a.retryAPI(ctx, "list Services", func(ctx context.Context) error {
		out = out[:0]
		opts := metav1.ListOptions{Limit: a.opts.pageSize}
		for {
			l, err := c.Kube.CoreV1().Services(metav1.NamespaceAll).List(ctx, opts)
			if err != nil {
				return kubeError(err, "list Services")
			}
			for _, s := range l.Items {
				if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
					continue
				}
				out = append(out, RetiredLoadBalancer{Kind: EntryPointService, Namespace: s.Namespace, Name: s.Name, UID: string(s.UID), Hostname: serviceHostname(s),
					Unowned: serviceHostname(s) != "" && !ownedByLBController(s.Finalizers)})
			}
			if opts.Continue = l.Continue; opts.Continue == "" {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	var classes *networkingv1.IngressClassList
	if err := a.retryAPI(ctx, "list IngressClasses", func(ctx context.Context) error {
		var err error
		classes, err = c.Kube.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
		return kubeError(err, "list IngressClasses")
	}); err != nil {
		return nil, err
	}
	alb, defaultALB := albClasses(classes.Items)
	n := len(out)
	err = a.retryAPI(ctx, "list Ingresses", func(ctx context.Context) error {
		out = out[:n]
		opts := metav1.ListOptions{Limit: a.opts.pageSize}
		for {
			l, err := c.Kube.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, opts)
			if err != nil {
				return kubeError(err, "list Ingresses")
			}
			for _, ing := range l.Items {
				if !servedByALB(ing, alb, defaultALB) {
					continue
				}
				out = append(out, RetiredLoadBalancer{Kind: EntryPointIngress, Namespace: ing.Namespace, Name: ing.Name, UID: string(ing.UID), Hostname: ingressHostname(ing),
					Unowned: ingressHostname(ing) != "" && !ownedByLBController(ing.Finalizers)})
			}
			if opts.Continue = l.Continue; opts.Continue == "" {
				return nil
			}
		}
	})
	return out, err
}

// albClasses are the IngressClass names the AWS Load Balancer Controller
// serves ("alb" always), and whether the default class is one of them.
func albClasses(classes []networkingv1.IngressClass) (map[string]bool, bool) {
	names := map[string]bool{ALBIngressClass: true}
	def := false
	for _, ic := range classes {
		if ic.Spec.Controller != ALBIngressController {
			continue
		}
		names[ic.Name] = true
		if ic.Annotations[defaultIngressClassAnnotation] == "true" {
			def = true
		}
	}
	return names, def
}

func servedByALB(ing networkingv1.Ingress, alb map[string]bool, defaultALB bool) bool {
	if ing.Spec.IngressClassName != nil {
		return alb[*ing.Spec.IngressClassName]
	}
	if c, ok := ing.Annotations[legacyIngressClassAnnotation]; ok {
		return alb[c]
	}
	return defaultALB
}

func serviceHostname(s corev1.Service) string {
	for _, i := range s.Status.LoadBalancer.Ingress {
		if i.Hostname != "" {
			return i.Hostname
		}
	}
	return ""
}

func ingressHostname(ing networkingv1.Ingress) string {
	for _, i := range ing.Status.LoadBalancer.Ingress {
		if i.Hostname != "" {
			return i.Hostname
		}
	}
	return ""
}

// deleteLoadBalanced deletes the object, if it is still the one found (UID
// precondition: a re-created object is not deleted blindly). Gone already
// is fine.
func deleteLoadBalanced(ctx context.Context, c *Clients, t RetiredLoadBalancer) error {
	opts := metav1.DeleteOptions{}
	if t.UID != "" {
		uid := types.UID(t.UID)
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	var err error
	if t.Kind == EntryPointService {
		err = c.Kube.CoreV1().Services(t.Namespace).Delete(ctx, t.Name, opts)
	} else {
		err = c.Kube.NetworkingV1().Ingresses(t.Namespace).Delete(ctx, t.Name, opts)
	}
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Conflict: the UID precondition failed, the object was re-created
		// since it was found; the next listing finds the new one.
		return nil
	}
	return kubeError(err, "delete %s", t)
}

// checkRetired reads, for each target, whether its object is gone and
// whether its load balancer and target groups are.
func (a *Activities) checkRetired(ctx context.Context, c *Clients, api ELBv2API, region string, targets []RetiredLoadBalancer) error {
	for i := range targets {
		t := &targets[i]
		if t.Deleted {
			continue
		}
		err := a.retryAPI(ctx, "read "+t.String(), func(ctx context.Context) error {
			var uid types.UID
			var err error
			if t.Kind == EntryPointService {
				var s *corev1.Service
				if s, err = c.Kube.CoreV1().Services(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
					uid = s.UID
				}
			} else {
				var ing *networkingv1.Ingress
				if ing, err = c.Kube.NetworkingV1().Ingresses(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{}); err == nil {
					uid = ing.UID
				}
			}
			switch {
			case apierrors.IsNotFound(err):
				t.Deleted = true
				return nil
			case err != nil:
				return kubeError(err, "read %s", t)
			}
			// Another object of that name (re-created by something): this
			// one, with its finalizers, is gone.
			t.Deleted = t.UID != "" && string(uid) != t.UID
			return nil
		})
		if err != nil {
			return err
		}
	}
	if api == nil {
		for i := range targets {
			targets[i].LoadBalancerGone = targets[i].Deleted
		}
		return nil
	}
	present, err := loadBalancersByDNS(ctx, api, region)
	if err != nil {
		return err
	}
	for i := range targets {
		t := &targets[i]
		if t.LoadBalancerGone {
			continue
		}
		if t.Hostname != "" {
			if _, ok := present[lbDNS(t.Hostname)]; ok {
				continue
			}
		}
		left, err := targetGroupsLeft(ctx, api, region, t.TargetGroupARNs)
		if err != nil {
			return err
		}
		t.TargetGroupARNs = left
		t.LoadBalancerGone = len(left) == 0
	}
	return nil
}

// resolveELBv2 notes each target's load balancer ARN and target groups
// while they are still there.
func resolveELBv2(ctx context.Context, api ELBv2API, region string, targets []RetiredLoadBalancer) error {
	present, err := loadBalancersByDNS(ctx, api, region)
	if err != nil {
		return err
	}
	for i := range targets {
		t := &targets[i]
		arn, ok := present[lbDNS(t.Hostname)]
		if t.Hostname == "" || !ok || t.LoadBalancerARN == arn {
			continue
		}
		// A load balancer with no target group is answered with an empty
		// list by AWS and with TargetGroupNotFound by moto; both mean none.
		// LoadBalancerNotFound: it went between the two calls.
		out, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(arn)})
		if err != nil && !hasELBCode(err, "LoadBalancerNotFound", "TargetGroupNotFound") {
			return elbError(err, "describe target groups of load balancer %s in %s", arn, region)
		}
		// Noted only once its target groups are, so a retry after a
		// failure above asks again.
		t.LoadBalancerARN, t.TargetGroupARNs = arn, nil
		if err == nil && out != nil {
			for _, tg := range out.TargetGroups {
				t.TargetGroupARNs = append(t.TargetGroupARNs, aws.ToString(tg.TargetGroupArn))
			}
		}
	}
	return nil
}

// loadBalancersByDNS pages through the region's load balancers: ARN by
// compared DNS name.
func loadBalancersByDNS(ctx context.Context, api ELBv2API, region string) (map[string]string, error) {
	out := map[string]string{}
	p := elbv2.NewDescribeLoadBalancersPaginator(api, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, elbError(err, "describe load balancers in %s", region)
		}
		for _, lb := range page.LoadBalancers {
			out[lbDNS(aws.ToString(lb.DNSName))] = aws.ToString(lb.LoadBalancerArn)
		}
	}
	return out, nil
}

// targetGroupsLeft returns those of arns that still exist.
func targetGroupsLeft(ctx context.Context, api ELBv2API, region string, arns []string) ([]string, error) {
	var left []string
	for _, arn := range arns {
		_, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
		switch {
		case hasELBCode(err, "TargetGroupNotFound"):
		case err != nil:
			return nil, elbError(err, "describe target group %s in %s", arn, region)
		default:
			left = append(left, arn)
		}
	}
	return left, nil
}

// lbDNS is a load balancer DNS name compared: lower case, no trailing
// dot, no "dualstack." prefix.
func lbDNS(s string) string {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	return strings.TrimPrefix(s, "dualstack.")
}

var elbCodes = failures.Codes(map[string][]string{
	failures.AccessDenied: {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"},
})

func elbError(err error, what string, args ...any) error {
	return failures.FromAWS(err, elbCodes, what, args...)
}

func hasELBCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && slices.Contains(codes, apiErr.ErrorCode())
}
