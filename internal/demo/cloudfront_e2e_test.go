package demo_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
)

// TestCloudFrontContinuousDeploymentAgainstRealServers: traffic moves
// through a CloudFront staging distribution in the emulator. A first run
// is rolled back by an alarm while 5 % goes to staging: the policy is
// detached, the staging distribution and policy deleted, the primary on
// blue's origin as before. A second run steps 5 -> 15 %, promotes (the
// primary on green's origin) and leaves no staging distribution or policy.
func TestCloudFrontContinuousDeploymentAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{})
	ctx, sb := e.ctx, e.d.Sandbox
	cfg, _ := sb.Moto.AWS().ForRegion(ctx, "us-east-1")
	cf := cloudfront.NewFromConfig(cfg)
	primary := sb.Seed.DistributionID
	// state is the primary's default origin and policy, the staging
	// distributions and the policies that exist.
	state := func(when string) (origin, policy string, staging, policies int) {
		t.Helper()
		c, err := cf.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(primary)})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		origin, policy = aws.ToString(c.DistributionConfig.DefaultCacheBehavior.TargetOriginId), aws.ToString(c.DistributionConfig.ContinuousDeploymentPolicyId)
		l, err := cf.ListDistributions(ctx, &cloudfront.ListDistributionsInput{})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for _, d := range l.DistributionList.Items {
			if aws.ToBool(d.Staging) {
				staging++
			}
		}
		p, err := cf.ListContinuousDeploymentPolicies(ctx, &cloudfront.ListContinuousDeploymentPoliciesInput{})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if p.ContinuousDeploymentPolicyList != nil {
			policies = len(p.ContinuousDeploymentPolicyList.Items)
		}
		return origin, policy, staging, policies
	}
	s := e.d.Spec
	s.Traffic = spec.TrafficSpec{Provider: spec.ProviderCloudFront, Steps: []int{5, 15, 100}, BakeTime: s.Traffic.BakeTime, CheckInterval: s.Traffic.CheckInterval, Alarms: s.Traffic.Alarms,
		CloudFront: &spec.CloudFrontSpec{DistributionID: primary, BlueOriginID: sandbox.BlueOriginID, GreenOriginID: sandbox.GreenOriginID, Mode: spec.CloudFrontModeContinuous}}
	s.Jobs.MoveAtStep = 15

	e.rollBackAtHalf(s)
	if origin, policy, staging, policies := state("after the rollback"); origin != sandbox.BlueOriginID || policy != "" || staging != 0 || policies != 0 {
		t.Fatalf("after the rollback from 5%%: primary on %q with policy %q, %d staging distributions, %d policies; want blue, none, 0, 0", origin, policy, staging, policies)
	}

	// The second run names no origin: blue's is the one the primary
	// serves, green's is named after green and points at the load
	// balancer of green's restored Ingress (what a fleet member does).
	s.Traffic.CloudFront = &spec.CloudFrontSpec{DistributionID: primary, Mode: spec.CloudFrontModeContinuous,
		GreenOriginFrom: &spec.EntryPointSpec{Kind: spec.EntryPointIngress, Namespace: "shop", Name: sandbox.EntryPointIngress}}
	rep := e.runToTheEnd(s)
	greenOrigin := s.Green.ClusterName
	if origin, policy, staging, policies := state("after the migration"); origin != greenOrigin || policy != "" || staging != 0 || policies != 0 {
		t.Fatalf("after the migration: primary on %q with policy %q, %d staging distributions, %d policies; want %s, none, 0, 0", origin, policy, staging, policies, greenOrigin)
	}
	cs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ing, err := cs.NetworkingV1().Ingresses("shop").Get(ctx, sandbox.EntryPointIngress, metav1.GetOptions{})
	if err != nil || len(ing.Status.LoadBalancer.Ingress) != 1 || ing.Status.LoadBalancer.Ingress[0].Hostname == "" {
		t.Fatalf("green's Ingress: %v %+v", err, ing)
	}
	c, err := cf.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(primary)})
	if err != nil {
		t.Fatal(err)
	}
	var domain string
	for _, o := range c.DistributionConfig.Origins.Items {
		if aws.ToString(o.Id) == greenOrigin {
			domain = aws.ToString(o.DomainName)
		}
	}
	if lb := ing.Status.LoadBalancer.Ingress[0].Hostname; domain != lb || rep.GreenTarget == nil || rep.GreenTarget.Hostname != lb {
		t.Errorf("green's origin %s has domain %q, report %+v; want green's Ingress's load balancer %q", greenOrigin, domain, rep.GreenTarget, lb)
	}
	var greens []int
	for _, ev := range rep.TrafficHistory {
		greens = append(greens, ev.Green)
	}
	if len(greens) != 3 || greens[0] != 5 || greens[1] != 15 || greens[2] != 100 || rep.CloudFrontStaging == nil {
		t.Errorf("traffic history %v, staging %+v", greens, rep.CloudFrontStaging)
	}
	for _, f := range rep.Findings {
		if f.Check == "cloudfront-staging-left" {
			t.Errorf("finding %+v", f)
		}
	}
}
