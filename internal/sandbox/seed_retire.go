package sandbox

// What blue's retire must not leave behind: the NLB the AWS Load Balancer
// Controller made for blue's Service shop/web-public (with its target
// group and listener, in moto's ELBv2, the finalizer on the Service) and
// blue's control-plane log group in CloudWatch Logs, and the EBS volume
// (in moto's EC2, tagged as the EBS CSI driver tags it) of blue's
// PersistentVolume with reclaimPolicy Retain.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of blue's load balancer.
const (
	// BluePartnerLBName is the NLB of blue's Service EntryPointService.
	BluePartnerLBName = "k8s-shop-webpubli-b1e0000001"
	// BluePartnerTargetGroup is its target group.
	BluePartnerTargetGroup = "k8s-shop-webpubli-b1e0000001"
	// ServiceFinalizer is the AWS Load Balancer Controller's finalizer on
	// a Service whose load balancer it manages.
	ServiceFinalizer = "service.k8s.aws/resources"
)

// BlueLoadBalancerSeed is blue's NLB in moto.
type BlueLoadBalancerSeed struct {
	DNSName        string `json:"dnsName"`
	ARN            string `json:"arn"`
	TargetGroupARN string `json:"targetGroupArn"`
}

// seedLogGroup creates blue's control-plane log group, as EKS does with
// control-plane logging on.
func seedLogGroup(ctx context.Context, cfg aws.Config, s *Seed) error {
	s.BlueLogGroup = "/aws/eks/" + s.Cluster + "/cluster"
	_, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(s.BlueLogGroup),
		Tags: map[string]string{"cluster": s.Cluster}})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceAlreadyExistsException" {
		return nil
	}
	return err
}

// seedBlueLoadBalancer makes blue's NLB, target group and listener in
// moto (or finds the ones an earlier seed made).
func seedBlueLoadBalancer(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := elbv2.NewFromConfig(cfg)
	tags := []elbtypes.Tag{
		{Key: aws.String("elbv2.k8s.aws/cluster"), Value: aws.String(s.Cluster)},
		{Key: aws.String("service.k8s.aws/stack"), Value: aws.String("shop/" + EntryPointService)},
	}
	var lb elbtypes.LoadBalancer
	if out, err := c.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{BluePartnerLBName}}); err == nil && len(out.LoadBalancers) == 1 {
		lb = out.LoadBalancers[0]
	} else {
		made, err := c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(BluePartnerLBName), Type: elbtypes.LoadBalancerTypeEnumNetwork,
			Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Subnets: s.SubnetIDs, Tags: tags})
		if err != nil {
			return fmt.Errorf("load balancer %s: %w", BluePartnerLBName, err)
		}
		lb = made.LoadBalancers[0]
	}
	var tg elbtypes.TargetGroup
	if out, err := c.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{BluePartnerTargetGroup}}); err == nil && len(out.TargetGroups) == 1 {
		tg = out.TargetGroups[0]
	} else {
		made, err := c.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(BluePartnerTargetGroup), Protocol: elbtypes.ProtocolEnumTcp,
			Port: aws.Int32(80), VpcId: aws.String(s.VPCID), TargetType: elbtypes.TargetTypeEnumIp, Tags: tags})
		if err != nil {
			return fmt.Errorf("target group %s: %w", BluePartnerTargetGroup, err)
		}
		tg = made.TargetGroups[0]
	}
	if !slices.Contains(tg.LoadBalancerArns, aws.ToString(lb.LoadBalancerArn)) {
		if _, err := c.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}}); err != nil {
			return fmt.Errorf("listener of %s: %w", BluePartnerLBName, err)
		}
	}
	s.BlueLoadBalancer = BlueLoadBalancerSeed{DNSName: aws.ToString(lb.DNSName), ARN: aws.ToString(lb.LoadBalancerArn), TargetGroupARN: aws.ToString(tg.TargetGroupArn)}
	return nil
}

// SeedBlueLoadBalancerStatus gives blue's Service EntryPointService the
// NLB seeded in moto: its DNS name in status.loadBalancer and the
// controller's finalizer, as the AWS Load Balancer Controller leaves them.
func SeedBlueLoadBalancerStatus(ctx context.Context, blue *Kube, s *Seed) error {
	cs, err := blue.Clientset()
	if err != nil {
		return err
	}
	svc, err := cs.CoreV1().Services("shop").Get(ctx, EntryPointService, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("sandbox: blue's Service shop/%s: %w", EntryPointService, err)
	}
	if !slices.Contains(svc.Finalizers, ServiceFinalizer) {
		svc.Finalizers = append(svc.Finalizers, ServiceFinalizer)
		if svc, err = cs.CoreV1().Services("shop").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("sandbox: blue's Service finalizer: %w", err)
		}
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: s.BlueLoadBalancer.DNSName}}
	if _, err := cs.CoreV1().Services("shop").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("sandbox: blue's load balancer status: %w", err)
	}
	return nil
}

// Blue's PersistentVolume with reclaimPolicy Retain and its claim.
const (
	BlueRetainedPV    = "pvc-5a0c1e7b-7d3f-4a51-9b0e-b1e000000001"
	BlueRetainedClaim = "data-orders-db-0"
	// ebsCSIDriver and tagCreatedForPV are the EBS CSI driver's name and
	// the tag it puts on the volumes it provisions.
	ebsCSIDriver    = "ebs.csi.aws.com"
	tagCreatedForPV = "kubernetes.io/created-for/pv/name"
)

// BlueVolumeSeed is the EBS volume behind BlueRetainedPV.
type BlueVolumeSeed struct {
	VolumeID string `json:"volumeId"`
	PV       string `json:"pv"`
	// Claim is namespace/name.
	Claim string `json:"claim"`
}

// seedBlueVolume makes, in moto's EC2, the volume the EBS CSI driver
// provisioned for blue's BlueRetainedPV (detached, as the PV's pod has
// gone), or finds the one an earlier seed made.
func seedBlueVolume(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := ec2.NewFromConfig(cfg)
	s.BlueVolume = BlueVolumeSeed{PV: BlueRetainedPV, Claim: "shop/" + BlueRetainedClaim}
	out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + tagCreatedForPV), Values: []string{BlueRetainedPV}}}})
	if err != nil {
		return err
	}
	if len(out.Volumes) > 0 {
		s.BlueVolume.VolumeID = aws.ToString(out.Volumes[0].VolumeId)
		return nil
	}
	tags := map[string]string{
		tagCreatedForPV:                           BlueRetainedPV,
		"kubernetes.io/created-for/pvc/name":      BlueRetainedClaim,
		"kubernetes.io/created-for/pvc/namespace": "shop",
		"ebs.csi.aws.com/cluster":                 "true",
		"KubernetesCluster":                       s.Cluster,
	}
	spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeVolume}
	for k, v := range tags {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	made, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(s.AZs[0]), Size: aws.Int32(20),
		VolumeType: ec2types.VolumeTypeGp3, TagSpecifications: []ec2types.TagSpecification{spec}})
	if err != nil {
		return fmt.Errorf("EBS volume of %s: %w", BlueRetainedPV, err)
	}
	s.BlueVolume.VolumeID = aws.ToString(made.VolumeId)
	return nil
}

// SeedBlueRetainedPV gives blue the PersistentVolume, reclaimPolicy
// Retain, of the volume seedBlueVolume made, bound to shop's claim
// BlueRetainedClaim as the EBS CSI driver and the PV controller leave it.
func SeedBlueRetainedPV(ctx context.Context, blue *Kube, s *Seed) error {
	cs, err := blue.Clientset()
	if err != nil {
		return err
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: BlueRetainedPV, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": ebsCSIDriver}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "gp3-retain",
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "shop", Name: BlueRetainedClaim},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: ebsCSIDriver, VolumeHandle: s.BlueVolume.VolumeID, FSType: "ext4"}},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sandbox: blue's PersistentVolume %s: %w", BlueRetainedPV, err)
	}
	return nil
}
