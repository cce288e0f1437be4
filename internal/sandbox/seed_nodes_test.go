package sandbox_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedNodes: blue has Amazon Linux 2 node groups and one on a custom
// launch template whose version pins an EKS-optimized AL2 AMI of blue's
// version (registered in moto's EC2 under the name AWS gives it), and
// cutover's describe of blue sees the template.
func TestSeedNodes(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	n := s.Nodes
	if n.Custom != sandbox.CustomNodes || n.LaunchTemplateID == "" || n.LaunchTemplateVersion != "1" || n.BlueAMI == "" {
		t.Fatalf("nodes seed %+v", n)
	}
	cfg, _ := m.AWS().ForRegion(ctx, m.Region)
	api := awseks.NewFromConfig(cfg)
	for _, ng := range n.AL2 {
		out, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(sandbox.BlueCluster), NodegroupName: aws.String(ng)})
		if err != nil || out.Nodegroup.AmiType != "AL2_x86_64" {
			t.Errorf("node group %s: %+v (%v), want AMI type AL2_x86_64", ng, out, err)
		}
	}
	if len(n.AL2) == 0 {
		t.Error("no AL2 node group")
	}

	ec := ec2.NewFromConfig(cfg)
	v, err := ec.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(n.LaunchTemplateID), Versions: []string{n.LaunchTemplateVersion},
	})
	if err != nil || len(v.LaunchTemplateVersions) != 1 {
		t.Fatalf("launch template versions %+v (%v)", v, err)
	}
	if got := aws.ToString(v.LaunchTemplateVersions[0].LaunchTemplateData.ImageId); got != n.BlueAMI {
		t.Errorf("launch template pins %s, want %s", got, n.BlueAMI)
	}
	if ud, _ := base64.StdEncoding.DecodeString(aws.ToString(v.LaunchTemplateVersions[0].LaunchTemplateData.UserData)); !strings.Contains(string(ud), "/etc/eks/bootstrap.sh "+sandbox.BlueCluster+" ") {
		t.Errorf("launch template user data %q does not bootstrap %s", ud, sandbox.BlueCluster)
	}
	img, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{n.BlueAMI}})
	if err != nil || len(img.Images) != 1 || aws.ToString(img.Images[0].Name) != "amazon-eks-node-"+sandbox.BlueVersion+"-v20250519" {
		t.Fatalf("blue's AMI %+v (%v)", img, err)
	}

	blue, err := eks.NewFromAWS(m.AWS(), nil).DescribeEKSCluster(ctx, eks.DescribeInput{Cluster: clusters.Ref{Name: sandbox.BlueCluster, Region: m.Region}})
	if err != nil {
		t.Fatal(err)
	}
	var custom *eks.NodeGroup
	for i, ng := range blue.NodeGroups {
		if ng.Name == sandbox.CustomNodes {
			custom = &blue.NodeGroups[i]
		}
	}
	if custom == nil || custom.AMIType != "CUSTOM" || custom.LaunchTemplate == nil ||
		custom.LaunchTemplate.ID != n.LaunchTemplateID || custom.LaunchTemplate.Version != "1" {
		t.Fatalf("blue's %s as cutover describes it: %+v", sandbox.CustomNodes, custom)
	}
	if len(blue.NodeGroups) != len(s.NodeGroups) {
		t.Errorf("blue has %d node groups, the seed says %v", len(blue.NodeGroups), s.NodeGroups)
	}
}
