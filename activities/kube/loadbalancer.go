package kube

// Green's entry point: the Ingress or Service of type LoadBalancer that the
// AWS Load Balancer Controller on green gives a load balancer once the
// restore has created it. Its status.loadBalancer hostname is green's
// target for the traffic shift, so nobody has to know it before green
// exists.

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Kinds of entry point.
const (
	EntryPointIngress = "Ingress"
	EntryPointService = "Service"
)

// DefaultLoadBalancerWait is how long WaitLoadBalancer waits for the
// hostname without a Timeout: an ALB or NLB takes a few minutes.
const DefaultLoadBalancerWait = 15 * time.Minute

// LoadBalancerInput names the entry point whose load balancer to wait for.
type LoadBalancerInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Kind: "Ingress" or "Service" (of type LoadBalancer).
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Timeout is how long to wait for the hostname, from the first attempt.
	Timeout duration.Duration `json:"timeout,omitempty"`
}

func (in LoadBalancerInput) String() string {
	return fmt.Sprintf("%s %s/%s", in.Kind, in.Namespace, in.Name)
}

// LoadBalancerStatus is the entry point's load balancer.
type LoadBalancerStatus struct {
	// Hostname is the load balancer's DNS name.
	Hostname string `json:"hostname"`
	// Waited is how long the hostname took to appear, across attempts.
	Waited duration.Duration `json:"waited"`
}

// lbProgress is WaitLoadBalancer's heartbeat: a retried attempt keeps the
// first attempt's start, so the timeout counts from there.
type lbProgress struct {
	Progress
	Entry   string    `json:"entry"`
	Started time.Time `json:"started"`
}

// WaitLoadBalancer waits until the entry point's status.loadBalancer has a
// hostname and returns it, heartbeating each read. An entry point not
// created yet (the restore or Argo CD still creating it) is waited for like
// a hostname not assigned yet; transient apiserver errors are retried. A
// Service that is not of type LoadBalancer, or a load balancer that has an
// IP and no hostname (Route53 records need the name), fails at once
// (InvalidParameter); no hostname by the timeout fails with GreenNotReady
// (not retried), naming what the object's status says.
func (a *Activities) WaitLoadBalancer(ctx context.Context, in LoadBalancerInput) (LoadBalancerStatus, error) {
	if in.Kind != EntryPointIngress && in.Kind != EntryPointService {
		return LoadBalancerStatus{}, failures.New(failures.Validation, "entry point kind %q: must be %q or %q", in.Kind, EntryPointIngress, EntryPointService)
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return LoadBalancerStatus{}, err
	}
	started := a.opts.Now()
	if p, ok := activitylog.Resume[lbProgress](ctx); ok && p.Entry == in.String() && !p.Started.IsZero() {
		started = p.Started
	}
	wait := in.Timeout.D()
	if wait <= 0 {
		wait = DefaultLoadBalancerWait
	}
	log := a.log(ctx)
	for round := 1; ; round++ {
		var host, state string
		err := a.retryAPI(ctx, "read "+in.String(), func(ctx context.Context) error {
			var err error
			host, state, err = readLoadBalancer(ctx, c, in)
			return err
		})
		if err != nil {
			return LoadBalancerStatus{}, err
		}
		waited := a.opts.Now().Sub(started)
		if host != "" {
			log.Info("Green's load balancer is assigned", "cluster", in.Cluster.Name, "entryPoint", in.String(), "hostname", host, "waited", waited.Round(time.Second).String())
			return LoadBalancerStatus{Hostname: host, Waited: duration.Duration(waited)}, nil
		}
		activitylog.Heartbeat(ctx, lbProgress{Progress: Progress{Step: "load-balancer", Detail: fmt.Sprintf("round %d: %s", round, state)}, Entry: in.String(), Started: started})
		if waited+a.opts.Poll > wait {
			return LoadBalancerStatus{}, failures.New(failures.GreenNotReady, "green cluster %s: %s has no load balancer hostname after %s: %s", in.Cluster.Name, in, wait, state)
		}
		log.Debug("Waiting for green's load balancer", "cluster", in.Cluster.Name, "entryPoint", in.String(), "state", state)
		if err := sleep(ctx, a.opts.Poll); err != nil {
			return LoadBalancerStatus{}, err
		}
	}
}

// readLoadBalancer reads the entry point once: its hostname, or why there
// is none yet. A definitive refusal (wrong Service type, IP only) is an
// InvalidParameter error.
func readLoadBalancer(ctx context.Context, c *Clients, in LoadBalancerInput) (host, state string, err error) {
	var ingress []corev1.LoadBalancerIngress
	switch in.Kind {
	case EntryPointService:
		svc, err := c.Kube.CoreV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", "not created yet", nil
		}
		if err != nil {
			return "", "", kubeError(err, "read %s", in)
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			return "", "", failures.New(failures.InvalidParameter, "%s is of type %s: green's entry point must be a Service of type LoadBalancer or an Ingress", in, svc.Spec.Type)
		}
		ingress = svc.Status.LoadBalancer.Ingress
	default:
		ing, err := c.Kube.NetworkingV1().Ingresses(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", "not created yet", nil
		}
		if err != nil {
			return "", "", kubeError(err, "read %s", in)
		}
		for _, i := range ing.Status.LoadBalancer.Ingress {
			ingress = append(ingress, corev1.LoadBalancerIngress{IP: i.IP, Hostname: i.Hostname})
		}
	}
	for _, i := range ingress {
		if i.Hostname != "" {
			return i.Hostname, "", nil
		}
	}
	if len(ingress) > 0 {
		return "", "", failures.New(failures.InvalidParameter, "%s has a load balancer with IP %s and no hostname: Route53 records need the load balancer's DNS name", in, ingress[0].IP)
	}
	return "", "no status.loadBalancer.ingress yet", nil
}
