package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/traffic"
)

// The fake world's green entry point gets this load balancer.
const (
	GreenLBHostname = "k8s-shop-webpubli-0123456789.elb.us-east-1.amazonaws.com"
	GreenLBZone     = "Z26RNL4JYFTOTI"
)

// WaitLoadBalancer implements the kube activity: green's entry point has
// the load balancer GreenLBHostname at once.
func (a *Activities) WaitLoadBalancer(_ context.Context, in kube.LoadBalancerInput) (kube.LoadBalancerStatus, error) {
	if err := a.w.record("WaitLoadBalancer", in); err != nil {
		return kube.LoadBalancerStatus{}, err
	}
	return kube.LoadBalancerStatus{Hostname: GreenLBHostname}, nil
}

// ResolveLoadBalancer implements the traffic activity: GreenLBHostname is
// an active NLB in zone GreenLBZone.
func (a *Activities) ResolveLoadBalancer(_ context.Context, in traffic.ResolveLoadBalancerInput) (traffic.LoadBalancer, error) {
	if err := a.w.record("ResolveLoadBalancer", in); err != nil {
		return traffic.LoadBalancer{}, err
	}
	return traffic.LoadBalancer{Name: "k8s-shop-webpubli-0123456789", DNSName: in.DNSName, CanonicalHostedZoneID: GreenLBZone, Type: "network", State: "active",
		ARN: "arn:aws:elasticloadbalancing:" + in.Region + ":123456789012:loadbalancer/net/k8s-shop-webpubli-0123456789/50dc6c495c0c9188"}, nil
}
