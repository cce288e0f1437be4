package demo_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/internal/sandbox"
)

// assertGreenNodes: reading the emulated AWS after the migration, green's
// AL2 node groups are AL2 still (valid at the sandbox's target), and the
// node group on blue's custom launch template runs on a new version of the
// template that pins the target's EKS-optimized AMI, not blue's, and whose
// bootstrap names green.
func assertGreenNodes(t *testing.T, ctx context.Context, cfg aws.Config, seed *sandbox.Seed, green, target string) {
	t.Helper()
	eksc := awseks.NewFromConfig(cfg)
	for _, name := range seed.Nodes.AL2 {
		ng, err := eksc.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(green), NodegroupName: aws.String(name)})
		if err != nil || ng.Nodegroup.AmiType != "AL2_x86_64" || aws.ToString(ng.Nodegroup.Version) != target {
			t.Errorf("green's node group %s: %+v (%v), want AL2_x86_64 at %s", name, ng, err, target)
		}
	}
	ng, err := eksc.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(green), NodegroupName: aws.String(seed.Nodes.Custom)})
	if err != nil {
		t.Fatalf("green's node group %s: %v", seed.Nodes.Custom, err)
	}
	lt := ng.Nodegroup.LaunchTemplate
	if lt == nil || aws.ToString(lt.Id) != seed.Nodes.LaunchTemplateID || aws.ToString(lt.Version) == seed.Nodes.LaunchTemplateVersion {
		t.Fatalf("green's node group %s is on launch template %+v, want a new version of %s (blue's is %s)", seed.Nodes.Custom, lt, seed.Nodes.LaunchTemplateID, seed.Nodes.LaunchTemplateVersion)
	}
	v, err := ec2.NewFromConfig(cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: lt.Id, Versions: []string{aws.ToString(lt.Version)},
	})
	if err != nil || len(v.LaunchTemplateVersions) != 1 {
		t.Fatalf("launch template %s version %s: %+v (%v)", aws.ToString(lt.Id), aws.ToString(lt.Version), v, err)
	}
	want := sandbox.EKSOptimizedAMIParameters()["/aws/service/eks/optimized-ami/"+target+"/amazon-linux-2/recommended/image_id"]
	if got := aws.ToString(v.LaunchTemplateVersions[0].LaunchTemplateData.ImageId); got != want || got == seed.Nodes.BlueAMI {
		t.Errorf("green's launch template version pins %s, want %s (the target's AL2 AMI; blue's is %s)", got, want, seed.Nodes.BlueAMI)
	}
	// The template's bootstrap names green now, not blue.
	ud, _ := base64.StdEncoding.DecodeString(aws.ToString(v.LaunchTemplateVersions[0].LaunchTemplateData.UserData))
	if !strings.Contains(string(ud), "/etc/eks/bootstrap.sh "+green+" ") || strings.Contains(string(ud), "/etc/eks/bootstrap.sh "+sandbox.BlueCluster+" ") {
		t.Errorf("green's launch template version's user data does not bootstrap %s:\n%s", green, ud)
	}
}
