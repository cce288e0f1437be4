package demo_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestRetireLeavesNothingAgainstRealServers: blue starts with its Service
// shop/web-public of type LoadBalancer, whose NLB, target group and
// listener are in moto's ELBv2 (with the controller's finalizer on the
// Service), its control-plane log group in CloudWatch Logs and its IAM OIDC
// provider, and its PersistentVolume with reclaimPolicy Retain the EBS
// volume the CSI driver made for it (retire.volumes delete here). After a whole migration with real activities, the simulated
// AWS Load Balancer Controller on blue having removed the NLB when the
// retire deleted the Service, none of them is left in the emulator, the
// Service is gone from blue's apiserver, and the report lists each as
// deleted.
func TestRetireLeavesNothingAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{})
	ctx, sb := e.ctx, e.d.Sandbox
	cfg, _ := sb.Moto.AWS().ForRegion(ctx, sb.Seed.Region)
	elb, logs, iamc := elbv2.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg), iam.NewFromConfig(cfg)
	lb := sb.Seed.BlueLoadBalancer
	blueCS, err := sb.Blue.Clientset()
	if err != nil {
		t.Fatal(err)
	}

	loadBalancers := func() []string {
		t.Helper()
		out, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		if err != nil {
			t.Fatal(err)
		}
		var dns []string
		for _, l := range out.LoadBalancers {
			dns = append(dns, aws.ToString(l.DNSName))
		}
		return dns
	}
	targetGroupExists := func() bool {
		t.Helper()
		_, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{lb.TargetGroupARN}})
		var apiErr smithy.APIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "TargetGroupNotFound") {
			t.Fatal(err)
		}
		return err == nil
	}
	logGroupExists := func() bool {
		t.Helper()
		out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(sb.Seed.BlueLogGroup)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.LogGroups) > 0
	}
	providerExists := func() bool {
		t.Helper()
		out, err := iamc.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(out.OpenIDConnectProviderList, func(p iamtypes.OpenIDConnectProviderListEntry) bool {
			return aws.ToString(p.Arn) == sb.Seed.IRSA.ProviderARN
		})
	}

	// The start: blue's Service has its NLB, and the rest is there.
	svc, err := blueCS.CoreV1().Services("shop").Get(ctx, sandbox.EntryPointService, metav1.GetOptions{})
	if err != nil || len(svc.Status.LoadBalancer.Ingress) != 1 || svc.Status.LoadBalancer.Ingress[0].Hostname != lb.DNSName || !slices.Contains(svc.Finalizers, sandbox.ServiceFinalizer) {
		t.Fatalf("blue's Service %s: %v %+v; want the seeded NLB %s and the controller's finalizer", sandbox.EntryPointService, err, svc, lb.DNSName)
	}
	if !slices.Contains(loadBalancers(), lb.DNSName) || !targetGroupExists() || !logGroupExists() || !providerExists() {
		t.Fatalf("before the migration: load balancers %v, target group %v, log group %v, OIDC provider %v; want all there",
			loadBalancers(), targetGroupExists(), logGroupExists(), providerExists())
	}

	volumeExists := func() bool {
		t.Helper()
		out, err := ec2.NewFromConfig(cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(out.Volumes, func(v ec2types.Volume) bool { return aws.ToString(v.VolumeId) == sb.Seed.BlueVolume.VolumeID })
	}
	if sb.Seed.BlueVolume.VolumeID == "" || !volumeExists() {
		t.Fatalf("before the migration: blue's retained volume %+v not in EC2", sb.Seed.BlueVolume)
	}

	s := e.d.Spec
	s.Retire.Volumes = spec.VolumesDelete
	rep := e.runToTheEnd(s)

	if got := loadBalancers(); slices.Contains(got, lb.DNSName) {
		t.Errorf("blue's NLB %s is still in ELBv2: %v", lb.DNSName, got)
	}
	if targetGroupExists() {
		t.Errorf("blue's target group %s is still in ELBv2", lb.TargetGroupARN)
	}
	if logGroupExists() {
		t.Errorf("blue's log group %s is still in CloudWatch Logs", sb.Seed.BlueLogGroup)
	}
	if volumeExists() {
		t.Errorf("blue's retained EBS volume %s (PersistentVolume %s) is still in EC2", sb.Seed.BlueVolume.VolumeID, sb.Seed.BlueVolume.PV)
	}
	if providerExists() {
		t.Errorf("blue's OIDC provider %s is still in IAM", sb.Seed.IRSA.ProviderARN)
	}
	if _, err := blueCS.CoreV1().Services("shop").Get(ctx, sandbox.EntryPointService, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("blue's Service %s: %v; want it deleted", sandbox.EntryPointService, err)
	}
	if rep.Retire == nil {
		t.Fatalf("no retire section in the report: errors %q", rep.Errors)
	}
	for _, want := range []string{"Service shop/" + sandbox.EntryPointService + " and its load balancer " + lb.DNSName, "CloudWatch log group " + sb.Seed.BlueLogGroup,
		"IAM OIDC provider " + sb.Seed.IRSA.ProviderARN, "EKS cluster " + sb.Seed.Cluster,
		"EBS volume " + sb.Seed.BlueVolume.VolumeID + " of PersistentVolume " + sb.Seed.BlueVolume.PV + " (claim " + sb.Seed.BlueVolume.Claim + ")"} {
		if !slices.ContainsFunc(rep.Retire.Deleted, func(d string) bool { return strings.Contains(d, want) }) {
			t.Errorf("report's deleted list %q lacks %q", rep.Retire.Deleted, want)
		}
	}
	for _, f := range rep.Findings {
		if f.Check == "retire-load-balancer-remains" || f.Check == workflows.CheckRetireLoadBalancersFailed {
			t.Errorf("finding %s: %s", f.Check, f.Message)
		}
	}
	for _, e := range rep.Errors {
		if strings.Contains(e, "load balancers") || strings.Contains(e, "log group") || strings.Contains(e, "EBS volumes") {
			t.Errorf("report error: %s", e)
		}
	}
}
