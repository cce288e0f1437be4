package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestSeedAWS(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := m.AWS().ForRegion(ctx, m.Region)

	ec := eks.NewFromConfig(cfg)
	c, err := ec.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("blue")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster: status=%s version=%s endpoint=%s", c.Cluster.Status, aws.ToString(c.Cluster.Version), aws.ToString(c.Cluster.Endpoint))
	if aws.ToString(c.Cluster.Version) != "1.29" {
		t.Errorf("blue version %s", aws.ToString(c.Cluster.Version))
	}
	for _, ng := range s.NodeGroups {
		g, err := ec.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("blue"), NodegroupName: aws.String(ng)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("node group %s: status=%s types=%v labels=%v taints=%d scaling=%d/%d/%d release=%s", ng, g.Nodegroup.Status, g.Nodegroup.InstanceTypes, g.Nodegroup.Labels, len(g.Nodegroup.Taints),
			aws.ToInt32(g.Nodegroup.ScalingConfig.MinSize), aws.ToInt32(g.Nodegroup.ScalingConfig.DesiredSize), aws.ToInt32(g.Nodegroup.ScalingConfig.MaxSize), aws.ToString(g.Nodegroup.ReleaseVersion))
	}
	rr, err := route53.NewFromConfig(cfg).ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(s.HostedZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]int64{}
	for _, r := range rr.ResourceRecordSets {
		if r.SetIdentifier != nil {
			weights[*r.SetIdentifier] = aws.ToInt64(r.Weight)
		}
	}
	if weights["blue"] != 100 || weights["green"] != 0 || len(weights) != 2 {
		t.Errorf("weights %v", weights)
	}
	d, err := cloudfront.NewFromConfig(cfg).GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(s.DistributionID)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(d.DistributionConfig.DefaultCacheBehavior.TargetOriginId); got != "blue" || aws.ToInt32(d.DistributionConfig.Origins.Quantity) != 2 {
		t.Errorf("distribution default origin %s, %d origins", got, aws.ToInt32(d.DistributionConfig.Origins.Quantity))
	}
	al, err := cloudwatch.NewFromConfig(cfg, sandbox.CloudWatchJSON).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: s.AlarmNames})
	if err != nil {
		t.Fatal(err)
	}
	if len(al.MetricAlarms) != len(s.AlarmNames) {
		t.Errorf("%d alarms, want %d", len(al.MetricAlarms), len(s.AlarmNames))
	}
	for _, a := range al.MetricAlarms {
		if a.StateValue != "OK" {
			t.Errorf("alarm %s in %s", aws.ToString(a.AlarmName), a.StateValue)
		}
	}
	// The production resolver's DescribeCluster + presign path against moto.
	rc, err := (&clusters.EKSResolver{AWS: m.AWS()}).RESTConfig(ctx, clusters.Ref{Name: "blue", Region: m.Region})
	if err != nil {
		t.Fatalf("EKSResolver against moto: %v", err)
	}
	if rc.Host != aws.ToString(c.Cluster.Endpoint) || len(rc.CAData) == 0 || !strings.HasPrefix(rc.BearerToken, clusters.TokenPrefix) {
		t.Errorf("EKSResolver config: host %s, %d CA bytes, token %.20s", rc.Host, len(rc.CAData), rc.BearerToken)
	}

	p, err := ssm.NewFromConfig(cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/aws/service/eks/optimized-ami/1.31/amazon-linux-2/recommended"), Recursive: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parameters) != 2 {
		t.Errorf("GetParametersByPath 1.31 AL2 recommended: %d parameters, want 2", len(p.Parameters))
	}
}
