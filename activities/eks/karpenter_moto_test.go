package eks

// The Karpenter discovery activities and the launch-template preflight
// against a real moto server: subnets, security groups and their tags are
// moto-native EC2, clusters are moto's EKS. Like TestMoto, it fails (never
// skips) when moto is not installed.

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestKarpenterDiscoveryAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	m := &motoEnv{aws: moto.AWS(), region: moto.Region, api: awseks.NewFromConfig(cfg)}
	a := NewFromAWS(m.aws, nil, WithPollInterval(10*time.Millisecond))

	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.40.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	subnet := func(cidr string) string {
		out, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Subnet.SubnetId)
	}
	group := func(name string) string {
		out, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpcID), GroupName: aws.String(name), Description: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.GroupId)
	}
	tag := func(value string, ids ...string) {
		if _, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{{Key: aws.String(KarpenterDiscoveryKey), Value: aws.String(value)}}}); err != nil {
			t.Fatal(err)
		}
	}
	discovery := func(id string) string {
		out, err := ec.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range out.Tags {
			if aws.ToString(tg.Key) == KarpenterDiscoveryKey {
				return aws.ToString(tg.Value)
			}
		}
		return ""
	}
	cluster := func(name string, subnets, groups []string) {
		if _, err := m.api.CreateCluster(ctx, &awseks.CreateClusterInput{
			Name: aws.String(name), Version: aws.String(motoBlueVersion), RoleArn: aws.String(motoClusterRole),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets, SecurityGroupIds: groups},
		}); err != nil {
			t.Fatal(err)
		}
	}

	blue, green := m.name("blue"), m.name("green")
	shared, blueOnly, greenOnly := subnet("10.40.1.0/24"), subnet("10.40.2.0/24"), subnet("10.40.3.0/24")
	blueSG, greenSG, teamSG := group(m.name("blue-sg")), group(m.name("green-sg")), group(m.name("team-sg"))
	cluster(blue, []string{shared, blueOnly}, []string{blueSG})
	cluster(green, []string{shared, greenOnly}, []string{blueSG, greenSG})
	tag(blue, shared, blueOnly, blueSG)
	tag("team-x", teamSG)

	env := newActivityEnv(t, a)
	in := KarpenterDiscoveryInput{Blue: clusters.Ref{Name: blue, Region: m.region}, Green: clusters.Ref{Name: green, Region: m.region},
		SubnetIDs: []string{shared, greenOnly}, SecurityGroupIDs: []string{blueSG, greenSG, teamSG}, Migration: m.name("mig")}
	want := KarpenterDiscoveryResult{
		BlueValue: blue,
		Tagged:    []TaggedResource{{ID: greenOnly, Kind: KindSubnet, Value: green}, {ID: greenSG, Kind: KindSecurityGroup, Value: green}},
		Shared:    []TaggedResource{{ID: shared, Kind: KindSubnet, Value: blue}, {ID: blueSG, Kind: KindSecurityGroup, Value: blue}},
		Foreign:   []TaggedResource{{ID: teamSG, Kind: KindSecurityGroup, Value: "team-x"}},
	}

	t.Run("green's own resources are tagged, blue's shared ones kept", func(t *testing.T) {
		res, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("result =\n%+v\nwant\n%+v", res, want)
		}
		for id, v := range map[string]string{shared: blue, blueOnly: blue, blueSG: blue, greenOnly: green, greenSG: green, teamSG: "team-x"} {
			if got := discovery(id); got != v {
				t.Errorf("%s carries %q in moto, want %q", id, got, v)
			}
		}
		again, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, in)
		if err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("again = %+v, %v; want the same result", again, err)
		}
	})

	t.Run("an untagged blue: nothing done", func(t *testing.T) {
		plainBlue, plainGreen := m.name("blue"), m.name("green")
		s1, s2 := subnet("10.40.4.0/24"), subnet("10.40.5.0/24")
		cluster(plainBlue, []string{s1}, nil)
		cluster(plainGreen, []string{s2}, nil)
		res, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, KarpenterDiscoveryInput{
			Blue: clusters.Ref{Name: plainBlue, Region: m.region}, Green: clusters.Ref{Name: plainGreen, Region: m.region}, SubnetIDs: []string{s2}})
		if err != nil || !reflect.DeepEqual(res, KarpenterDiscoveryResult{}) || discovery(s2) != "" {
			t.Fatalf("result %+v, %v; %s carries %q", res, err, s2, discovery(s2))
		}
	})

	t.Run("an unknown green subnet is NotFound", func(t *testing.T) {
		bad := in
		bad.SubnetIDs = []string{"subnet-0123456789abcdef0"}
		_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, bad)
		if failures.TypeOf(err) != failures.NotFound {
			t.Fatalf("err = %v, want NotFound", err)
		}
	})

	t.Run("rollback removes only green's value", func(t *testing.T) {
		// Someone took greenSG over meanwhile.
		tag("someone-else", greenSG)
		res, err := run[RemoveKarpenterDiscoveryResult](t, env, a.RemoveKarpenterDiscovery, RemoveKarpenterDiscoveryInput{
			Cluster: clusters.Ref{Name: green, Region: m.region}, Resources: want.Tagged, Value: green})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, RemoveKarpenterDiscoveryResult{Removed: []string{greenOnly}, Kept: []string{greenSG}}) {
			t.Fatalf("result %+v", res)
		}
		if discovery(greenOnly) != "" || discovery(greenSG) != "someone-else" || discovery(shared) != blue {
			t.Fatalf("tags after rollback: %s=%q %s=%q %s=%q", greenOnly, discovery(greenOnly), greenSG, discovery(greenSG), shared, discovery(shared))
		}
		again, err := run[RemoveKarpenterDiscoveryResult](t, env, a.RemoveKarpenterDiscovery, RemoveKarpenterDiscoveryInput{
			Cluster: clusters.Ref{Name: green, Region: m.region}, Resources: want.Tagged, Value: green})
		if err != nil || !reflect.DeepEqual(again, RemoveKarpenterDiscoveryResult{Gone: []string{greenOnly}, Kept: []string{greenSG}}) {
			t.Fatalf("second rollback = %+v, %v", again, err)
		}
	})

	t.Run("after blue is retired the shared ones move to green", func(t *testing.T) {
		res, err := run[RetagKarpenterDiscoveryResult](t, env, a.RetagKarpenterDiscovery, RetagKarpenterDiscoveryInput{
			Cluster: clusters.Ref{Name: green, Region: m.region}, Resources: append(want.Shared, want.Foreign...), From: blue, To: green})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []string{shared, blueSG}
		if strings.Compare(wantIDs[0], wantIDs[1]) > 0 {
			wantIDs[0], wantIDs[1] = wantIDs[1], wantIDs[0]
		}
		if !reflect.DeepEqual(res, RetagKarpenterDiscoveryResult{Retagged: wantIDs, Skipped: []string{teamSG}}) {
			t.Fatalf("result %+v", res)
		}
		if discovery(shared) != green || discovery(blueSG) != green || discovery(blueOnly) != blue || discovery(teamSG) != "team-x" {
			t.Fatalf("tags after retag: shared %q, blue's SG %q, blue-only %q, team %q", discovery(shared), discovery(blueSG), discovery(blueOnly), discovery(teamSG))
		}
	})
}

// TestPlanGreenLaunchTemplatesAgainstMoto: the preflight plan reads moto's
// launch templates, AMIs and the sandbox's SSM parameters, and creates
// nothing.
func TestPlanGreenLaunchTemplatesAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	a := NewFromAWS(moto.AWS(), nil)
	greenAMI := sandbox.EKSOptimizedAMIParameters()["/aws/service/eks/optimized-ami/"+motoGreenVersion+"/amazon-linux-2/recommended/image_id"]
	template := func(name, imageName string) string {
		img, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(imageName)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: img.ImageId}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	}
	pinned := template("plan-pinned", "amazon-eks-node-"+motoBlueVersion+"-v20250519")
	golden := template("plan-golden", "acme-golden-node-2025-05")
	env := newActivityEnv(t, a)
	res, err := run[PlanLaunchTemplatesResult](t, env, a.PlanGreenLaunchTemplates, PlanLaunchTemplatesInput{
		Blue: clusters.Ref{Name: "blue", Region: moto.Region}, TargetVersion: motoGreenVersion,
		NodeGroups: []NodeGroup{templatedGroup("a-pinned", pinned), templatedGroup("b-golden", golden)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plans) != 2 || res.Plans[0].Action != LaunchTemplateNewVersion || res.Plans[0].GreenAMI != greenAMI || res.Plans[1].Action != LaunchTemplateRefuse {
		t.Fatalf("plans = %+v, want a new version with %s and a refusal", res.Plans, greenAMI)
	}
	if len(res.Findings) != 1 || res.Findings[0].Object != "nodegroup/b-golden" || res.Findings[0].Severity != finding.Error || res.Findings[0].Check != CheckLaunchTemplateUnsupported {
		t.Fatalf("findings = %+v", res.Findings)
	}
	out, err := ec.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(pinned)})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		t.Fatalf("the plan changed the template: %d versions, %v", len(out.LaunchTemplateVersions), err)
	}
}
