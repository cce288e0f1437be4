package sandbox

// What blue's retire must not leave behind: the NLB the AWS Load Balancer
// Controller made for blue's Service shop/web-public (with its target
// group and listener, in moto's ELBv2, the finalizer on the Service) and
// blue's control-plane log group in CloudWatch Logs.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
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
