package traffic

// Green's load balancer, found by the DNS name its Ingress or Service
// reports: an alias record to it needs the load balancer's canonical
// hosted zone, which only ELBv2 knows.

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
)

// ELBv2API is the part of *elasticloadbalancingv2.Client ResolveLoadBalancer uses.
type ELBv2API interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
}

// LoadBalancerClients is implemented by a ClientFactory that also gives
// ELBv2 clients (NewClientFactory's does). Load balancers live in a region.
type LoadBalancerClients interface {
	ELBv2(ctx context.Context, region string) (ELBv2API, error)
}

// ELBv2 builds a client for the region. ResolveLoadBalancer runs once per
// migration, so the client is not cached.
func (c *sdkClients) ELBv2(ctx context.Context, region string) (ELBv2API, error) {
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	return elbv2.NewFromConfig(cfg), nil
}

// EntryPoint names green's Ingress or Service (the spec's
// traffic.route53.greenTargetFrom, carried in Route53Records).
type EntryPoint struct {
	Kind      string            `json:"kind,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name,omitempty"`
	Timeout   duration.Duration `json:"timeout,omitempty"`
}

// ResolveLoadBalancerInput names a load balancer by its DNS name.
type ResolveLoadBalancerInput struct {
	Region string `json:"region"`
	// DNSName as the Ingress or Service status reports it.
	DNSName string `json:"dnsName"`
}

// LoadBalancer is an ELBv2 load balancer.
type LoadBalancer struct {
	Name    string `json:"name"`
	ARN     string `json:"arn"`
	DNSName string `json:"dnsName"`
	// CanonicalHostedZoneID is the zone of its DNS name, the HostedZoneId
	// of an alias record to it.
	CanonicalHostedZoneID string `json:"canonicalHostedZoneId"`
	// Type: "application", "network" or "gateway".
	Type string `json:"type"`
	// State: "active", "provisioning", "active_impaired" or "failed".
	State string `json:"state"`
}

// ResolveLoadBalancer finds the ELBv2 load balancer whose DNS name is
// in.DNSName (case and a trailing dot or "dualstack." prefix aside) by
// paging through DescribeLoadBalancers. One still provisioning is a
// retryable NotReadyYet; a failed one is GreenNotReady; none with that
// name is NotFound (e.g. a Classic Load Balancer made by the in-tree
// Service controller: name green's target explicitly, or let the AWS Load
// Balancer Controller make an NLB or ALB). It only reads.
func (a *Activities) ResolveLoadBalancer(ctx context.Context, in ResolveLoadBalancerInput) (LoadBalancer, error) {
	want := lbName(in.DNSName)
	if want == "" {
		return LoadBalancer{}, invalidf("load balancer DNS name is empty")
	}
	f, ok := a.clients.(LoadBalancerClients)
	if !ok {
		return LoadBalancer{}, failures.New(failures.NotImplemented, "the traffic activities were built without ELBv2 clients (their ClientFactory has no ELBv2 method)")
	}
	api, err := f.ELBv2(ctx, in.Region)
	if err != nil {
		return LoadBalancer{}, err
	}
	p := elbv2.NewDescribeLoadBalancersPaginator(api, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(400)})
	seen := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return LoadBalancer{}, awsError(err, "describe load balancers in %s", in.Region)
		}
		seen += len(out.LoadBalancers)
		activitylog.Heartbeat(ctx, fmt.Sprintf("%d load balancers read", seen))
		for _, lb := range out.LoadBalancers {
			if lbName(aws.ToString(lb.DNSName)) != want {
				continue
			}
			res := loadBalancerOf(lb)
			switch elbtypes.LoadBalancerStateEnum(res.State) {
			case elbtypes.LoadBalancerStateEnumProvisioning:
				return res, failures.New(failures.NotReadyYet, "load balancer %s (%s) is still provisioning", res.Name, res.DNSName)
			case elbtypes.LoadBalancerStateEnumFailed:
				return res, failures.New(failures.GreenNotReady, "load balancer %s (%s) failed: %s", res.Name, res.DNSName, stateReason(lb))
			}
			logger(ctx).Info("Resolved green's load balancer", "name", res.Name, "dnsName", res.DNSName, "zone", res.CanonicalHostedZoneID, "type", res.Type, "state", res.State)
			return res, nil
		}
	}
	return LoadBalancer{}, notFoundf("no ELBv2 load balancer in %s has the DNS name %s (%d read): a Classic Load Balancer is not supported here; name green's target explicitly (traffic.route53.greenTarget) or have the AWS Load Balancer Controller make an ALB or NLB", in.Region, in.DNSName, seen)
}

func loadBalancerOf(lb elbtypes.LoadBalancer) LoadBalancer {
	res := LoadBalancer{
		Name: aws.ToString(lb.LoadBalancerName), ARN: aws.ToString(lb.LoadBalancerArn),
		DNSName: aws.ToString(lb.DNSName), CanonicalHostedZoneID: aws.ToString(lb.CanonicalHostedZoneId),
		Type: string(lb.Type),
	}
	if lb.State != nil {
		res.State = string(lb.State.Code)
	}
	return res
}

func stateReason(lb elbtypes.LoadBalancer) string {
	if lb.State != nil && lb.State.Reason != nil {
		return aws.ToString(lb.State.Reason)
	}
	return "no reason given"
}

// lbName is a load balancer DNS name compared: lower case, no trailing dot,
// no "dualstack." prefix (the alias form of the same name).
func lbName(s string) string {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	return strings.TrimPrefix(s, "dualstack.")
}
