package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
)

// The fake world's blue has one Service of type LoadBalancer, whose NLB
// the fake controller removes at once.
const (
	BlueLBHostname = "k8s-shop-webpubli-fedcba9876.elb.us-east-1.amazonaws.com"
	BlueLBARN      = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/k8s-shop-webpubli-fedcba9876/0123456789abcdef"
)

// RetireLoadBalancers implements the kube activity: blue's Service
// shop/web-public is deleted and its load balancer is gone.
func (a *Activities) RetireLoadBalancers(_ context.Context, in kube.RetireLoadBalancersInput) (kube.RetireLoadBalancersResult, error) {
	if err := a.w.record("RetireLoadBalancers", in); err != nil {
		return kube.RetireLoadBalancersResult{}, err
	}
	return kube.RetireLoadBalancersResult{Verified: true, Retired: []kube.RetiredLoadBalancer{{
		Kind: kube.EntryPointService, Namespace: "shop", Name: "web-public", Hostname: BlueLBHostname, LoadBalancerARN: BlueLBARN,
		Deleted: true, LoadBalancerGone: true,
	}}}, nil
}

// DeleteControlPlaneLogGroup implements the EKS activity: the log group is deleted.
func (a *Activities) DeleteControlPlaneLogGroup(_ context.Context, in eks.DeleteLogGroupInput) (eks.DeleteLogGroupResult, error) {
	if err := a.w.record("DeleteControlPlaneLogGroup", in); err != nil {
		return eks.DeleteLogGroupResult{}, err
	}
	return eks.DeleteLogGroupResult{LogGroup: eks.ControlPlaneLogGroup(in.Cluster.Name), Deleted: true}, nil
}
