package traffic

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"go.temporal.io/sdk/converter"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestResolveLoadBalancerAgainstMoto: green's load balancer is found by
// the DNS name its Service reports (whatever its case, a trailing dot or
// the dualstack prefix), among others, with its canonical hosted zone; an
// alias record to it gets that zone, not blue's; a name ELBv2 does not
// know is NotFound.
func TestResolveLoadBalancerAgainstMoto(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p)
	cfg, err := p.ForRegion(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(cfg)
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var subnets []string
	for i, az := range []string{"eu-west-1a", "eu-west-1b"} {
		s, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String([]string{"10.1.0.0/20", "10.1.16.0/20"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, aws.ToString(s.Subnet.SubnetId))
	}
	lbs := elbv2.NewFromConfig(cfg)
	made := map[string]elbtypes.LoadBalancer{}
	for _, lb := range []struct {
		name string
		typ  elbtypes.LoadBalancerTypeEnum
	}{{"k8s-shop-web-1a2b3c", elbtypes.LoadBalancerTypeEnumApplication}, {"k8s-shop-webpubli-4d5e6f", elbtypes.LoadBalancerTypeEnumNetwork}} {
		out, err := lbs.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(lb.name), Subnets: subnets, Type: lb.typ, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing})
		if err != nil {
			t.Fatal(err)
		}
		made[lb.name] = out.LoadBalancers[0]
	}
	nlb := made["k8s-shop-webpubli-4d5e6f"]
	dns := aws.ToString(nlb.DNSName)
	for _, asked := range []string{dns, strings.ToUpper(dns) + ".", "dualstack." + dns} {
		got, err := execActivity(t, acts, acts.ResolveLoadBalancer, ResolveLoadBalancerInput{Region: "eu-west-1", DNSName: asked})
		if err != nil {
			t.Fatalf("resolve %s: %v", asked, err)
		}
		var lb LoadBalancer
		if err := got.(converter.EncodedValue).Get(&lb); err != nil {
			t.Fatal(err)
		}
		if lb.Name != "k8s-shop-webpubli-4d5e6f" || lb.CanonicalHostedZoneID == "" || lb.CanonicalHostedZoneID != aws.ToString(nlb.CanonicalHostedZoneId) || lb.Type != "network" || lb.ARN != aws.ToString(nlb.LoadBalancerArn) {
			t.Errorf("resolve %s: %+v, want the NLB %+v", asked, lb, nlb)
		}
	}
	if _, err := execActivity(t, acts, acts.ResolveLoadBalancer, ResolveLoadBalancerInput{Region: "eu-west-1", DNSName: "a1b2c3-123.eu-west-1.elb.amazonaws.com"}); !failures.Is(err, failures.NotFound) {
		t.Errorf("an unknown name: %v, want NotFound", err)
	}
	if _, err := execActivity(t, acts, acts.ResolveLoadBalancer, ResolveLoadBalancerInput{Region: "us-east-1", DNSName: dns}); !failures.Is(err, failures.NotFound) {
		t.Errorf("the NLB looked for in another region: %v, want NotFound", err)
	}

	// An alias to the discovered NLB carries its zone, not blue's ALB zone.
	c := route53Client(t, p)
	zone := createZone(t, c, "discovered.example.com")
	name := "www.discovered.example.com"
	blueZone := "Z32O12XQLNTSW2"
	upsert(t, c, zone, r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeA, SetIdentifier: aws.String("blue"), Weight: aws.Int64(100),
		AliasTarget: &r53types.AliasTarget{DNSName: aws.String("blue-alb-1.eu-west-1.elb.amazonaws.com"), HostedZoneId: aws.String(blueZone), EvaluateTargetHealth: true},
	})
	target := Target{Provider: ProviderRoute53, Route53: &Route53Records{HostedZoneID: zone, RecordName: name, RecordType: "A", BlueSetIdentifier: "blue", GreenSetIdentifier: "green",
		GreenTarget: dns, GreenTargetZoneID: aws.ToString(nlb.CanonicalHostedZoneId)}}
	ch, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, ch); err != nil {
		t.Fatal(err)
	}
	g := records(t, c, zone, name)["green"]
	if g.AliasTarget == nil || aws.ToString(g.AliasTarget.HostedZoneId) != aws.ToString(nlb.CanonicalHostedZoneId) || !g.AliasTarget.EvaluateTargetHealth || aws.ToInt64(g.Weight) != 10 {
		t.Fatalf("green's alias record %+v (alias %+v): want the NLB's zone %s", g, g.AliasTarget, aws.ToString(nlb.CanonicalHostedZoneId))
	}
}
