package fakeworld

import (
	"context"
	"sync"

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

// OnlyOnBlue is what FindOnlyOnBlue reports (nothing unless a test sets it).
var (
	onlyOnBlueMu sync.Mutex
	onlyOnBlue   = map[*World][]kube.OnlyOnBlueObject{}
)

// SetOnlyOnBlue makes FindOnlyOnBlue report objects.
func (w *World) SetOnlyOnBlue(objs ...kube.OnlyOnBlueObject) {
	onlyOnBlueMu.Lock()
	defer onlyOnBlueMu.Unlock()
	onlyOnBlue[w] = objs
}

// FindOnlyOnBlue implements the kube activity.
func (a *Activities) FindOnlyOnBlue(_ context.Context, in kube.OnlyOnBlueInput) (kube.OnlyOnBlueResult, error) {
	if err := a.w.record("FindOnlyOnBlue", in); err != nil {
		return kube.OnlyOnBlueResult{}, err
	}
	onlyOnBlueMu.Lock()
	defer onlyOnBlueMu.Unlock()
	return kube.OnlyOnBlueResult{Objects: onlyOnBlue[a.w], Tracked: 10}, nil
}

// BlueOriginID is the origin the fake distribution's default cache
// behavior targets while traffic is on blue.
const BlueOriginID = "blue-origin"

// CurrentCloudFrontOrigin implements the traffic activity: BlueOriginID
// while traffic is on blue.
func (a *Activities) CurrentCloudFrontOrigin(_ context.Context, in traffic.CurrentOriginInput) (traffic.CurrentOrigin, error) {
	if err := a.w.record("CurrentCloudFrontOrigin", in); err != nil {
		return traffic.CurrentOrigin{}, err
	}
	return traffic.CurrentOrigin{OriginID: BlueOriginID, DomainName: "blue-lb.example.com", Origins: []string{BlueOriginID}}, nil
}
