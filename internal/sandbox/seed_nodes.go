package sandbox

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
)

// Names of blue's node group on a custom launch template.
const (
	CustomNodes          = "blue-custom"
	CustomLaunchTemplate = "cutover-blue-custom-nodes"
	CustomType           = "m6i.large"
)

// NodesSeed is what blue's node groups run on: the Amazon Linux 2 groups
// (seedEKS's, AMI type AL2_x86_64, which EKS stops offering at 1.33) and
// the group on a custom launch template that pins an EKS-optimized AL2 AMI
// for blue's version, registered in moto's EC2 under the name AWS gives it,
// with user data that bootstraps the node into blue (bootstrap.sh blue).
type NodesSeed struct {
	// AL2 are the node groups on AMI type AL2_x86_64.
	AL2 []string `json:"al2"`
	// Custom is the node group on LaunchTemplateID version LaunchTemplateVersion (AMI type CUSTOM).
	Custom                string `json:"custom"`
	LaunchTemplateID      string `json:"launchTemplateID"`
	LaunchTemplateVersion string `json:"launchTemplateVersion"`
	// BlueAMI is the AMI the template pins; BlueAMIName its name.
	BlueAMI     string `json:"blueAMI"`
	BlueAMIName string `json:"blueAMIName"`
}

// seedNodes registers blue's AMI, creates the launch template that pins it
// and the node group on it. It runs after seedEKS (the cluster exists).
func seedNodes(ctx context.Context, cfg aws.Config, s *Seed) error {
	s.Nodes.AL2 = []string{GeneralNodes, BatchNodes}
	c := ec2.NewFromConfig(cfg)
	// The name AWS gives the EKS-optimized AL2 AMI of blue's version and
	// release (sandbox release "<version>.<n>-20250519").
	s.Nodes.BlueAMIName = "amazon-eks-node-" + BlueVersion + "-v20250519"
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{s.Nodes.BlueAMIName}}}})
	if err != nil {
		return fmt.Errorf("describe AMI %s: %w", s.Nodes.BlueAMIName, err)
	}
	if len(imgs.Images) > 0 {
		s.Nodes.BlueAMI = aws.ToString(imgs.Images[0].ImageId)
	} else {
		img, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{
			Name: aws.String(s.Nodes.BlueAMIName), Description: aws.String("EKS Kubernetes Worker AMI with AmazonLinux2 image, (k8s: " + BlueVersion + ")"),
		})
		if err != nil {
			return fmt.Errorf("register AMI %s: %w", s.Nodes.BlueAMIName, err)
		}
		s.Nodes.BlueAMI = aws.ToString(img.ImageId)
	}

	// A custom AMI bootstraps itself: the user data names blue, its API
	// endpoint and CA, as eksctl and Terraform modules write it.
	bc, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(BlueCluster)})
	if err != nil {
		return err
	}
	var ca string
	if bc.Cluster.CertificateAuthority != nil {
		ca = aws.ToString(bc.Cluster.CertificateAuthority.Data)
	}
	userData := fmt.Sprintf("#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh %s --apiserver-endpoint %s --b64-cluster-ca %s --kubelet-extra-args '--node-labels=workload=custom'\n",
		BlueCluster, aws.ToString(bc.Cluster.Endpoint), ca)
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(CustomLaunchTemplate),
		VersionDescription: aws.String("blue's custom nodes on Kubernetes " + BlueVersion),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(s.Nodes.BlueAMI), InstanceType: ec2types.InstanceType(CustomType),
			SecurityGroupIds: []string{s.SecurityGroupID},
			UserData:         aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(CustomLaunchTemplate)}, {Key: aws.String("team"), Value: aws.String("platform")},
		}}},
		ClientToken: aws.String("cutover-sandbox-" + CustomLaunchTemplate),
	})
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidLaunchTemplateName.AlreadyExistsException":
		out, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{CustomLaunchTemplate}})
		if err != nil || len(out.LaunchTemplates) != 1 {
			return fmt.Errorf("describe launch template %s: %d found, %w", CustomLaunchTemplate, len(out.LaunchTemplates), err)
		}
		s.Nodes.LaunchTemplateID = aws.ToString(out.LaunchTemplates[0].LaunchTemplateId)
	case err != nil:
		return fmt.Errorf("launch template %s: %w", CustomLaunchTemplate, err)
	default:
		s.Nodes.LaunchTemplateID = aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	}
	s.Nodes.LaunchTemplateVersion = "1"

	s.Nodes.Custom = CustomNodes
	_, err = eks.NewFromConfig(cfg).CreateNodegroup(ctx, &eks.CreateNodegroupInput{
		ClusterName: aws.String(BlueCluster), NodegroupName: aws.String(CustomNodes), NodeRole: aws.String(s.NodeRoleARN),
		Subnets: s.SubnetIDs, AmiType: ekstypes.AMITypesCustom, CapacityType: ekstypes.CapacityTypesOnDemand,
		LaunchTemplate:     &ekstypes.LaunchTemplateSpecification{Id: aws.String(s.Nodes.LaunchTemplateID), Version: aws.String(s.Nodes.LaunchTemplateVersion)},
		ScalingConfig:      &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(1)},
		Labels:             map[string]string{"workload": "custom"},
		UpdateConfig:       &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(1)},
		Tags:               map[string]string{"team": "platform"},
		ClientRequestToken: aws.String("cutover-sandbox-" + CustomNodes),
	})
	if err != nil {
		return fmt.Errorf("node group %s: %w", CustomNodes, err)
	}
	s.NodeGroups = append(s.NodeGroups, CustomNodes)
	return nil
}
