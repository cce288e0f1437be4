package sandbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MemberSpec is a further blue of a fleet sandbox, besides the seeded blue:
// a smaller estate of its own (VPC, EKS cluster and node group, a simple
// Route53 record, an alarm, one namespace of workloads behind an Ingress)
// that shares the seeded blue's account, IAM roles and hosted zone.
type MemberSpec struct {
	// Logical is the member's logical cluster; its original EKS cluster
	// (untagged, at BlueVersion) is named like it, as a fleet member that
	// leaves blue.clusterName out expects.
	Logical string
	// RecordName is its simple CNAME in ZoneName, e.g. "api.cutover.example.com".
	RecordName string
	// Namespace holds its workloads: Deployment, Service and ConfigMap
	// "server", and Ingress EntryPointIngress (an ALB, the record's target).
	Namespace string
	// VPCCIDR is its own VPC's block, e.g. "10.1.0.0/16"; its subnets are
	// the first two /20s.
	VPCCIDR string
}

// MemberSeed is what SeedMemberAWS created.
type MemberSeed struct {
	Cluster         string   `json:"cluster"`
	ClusterARN      string   `json:"clusterARN"`
	ClusterVersion  string   `json:"clusterVersion"`
	NodeGroups      []string `json:"nodeGroups"`
	VPCID           string   `json:"vpcID"`
	SubnetIDs       []string `json:"subnetIDs"`
	SecurityGroupID string   `json:"securityGroupID"`
	HostedZoneID    string   `json:"hostedZoneID"`
	RecordName      string   `json:"recordName"`
	// BlueTarget is the record's value: the ALB of blue's Ingress.
	BlueTarget string   `json:"blueTarget"`
	AlarmNames []string `json:"alarmNames"`
}

// MemberBlueTarget is the DNS name of the ALB of a member's blue Ingress.
func MemberBlueTarget(logical string) string {
	return logical + "-ingress." + DefaultRegion + ".elb.amazonaws.com"
}

// SeedMemberAWS creates a member's AWS side in moto, next to the seeded
// blue (base): its VPC with two subnets in two AZs and a control-plane
// security group, EKS cluster m.Logical at BlueVersion on base's cluster
// role with one AL2 managed node group, the simple CNAME m.RecordName in
// base's hosted zone pointing at MemberBlueTarget, and an alarm in OK.
// Nothing carries Karpenter's discovery tag: the member has no Karpenter.
func SeedMemberAWS(ctx context.Context, m *Moto, base *Seed, ms MemberSpec) (*MemberSeed, error) {
	if ms.Logical == "" || ms.RecordName == "" || ms.Namespace == "" || ms.VPCCIDR == "" {
		return nil, fmt.Errorf("seed member: logical name, record name, namespace and VPC CIDR are required: %+v", ms)
	}
	cfg, err := m.AWS().ForRegion(ctx, base.Region)
	if err != nil {
		return nil, err
	}
	s := &MemberSeed{Cluster: ms.Logical, ClusterVersion: BlueVersion, HostedZoneID: base.HostedZoneID, RecordName: ms.RecordName, BlueTarget: MemberBlueTarget(ms.Logical)}
	steps := []struct {
		what string
		do   func() error
	}{
		{"VPC, subnets, security group", func() error { return seedMemberNetwork(ctx, ec2.NewFromConfig(cfg), base, ms, s) }},
		{"EKS cluster and node group", func() error { return seedMemberEKS(ctx, eks.NewFromConfig(cfg), base, ms, s) }},
		{"Route53 record", func() error { return seedMemberRecord(ctx, route53.NewFromConfig(cfg), s) }},
		{"CloudWatch alarm", func() error { return seedMemberAlarm(ctx, cloudwatch.NewFromConfig(cfg, CloudWatchJSON), ms, s) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return nil, fmt.Errorf("seed member %s in moto: %s: %w", ms.Logical, st.what, err)
		}
	}
	return s, nil
}

func seedMemberNetwork(ctx context.Context, c *ec2.Client, base *Seed, ms MemberSpec, s *MemberSeed) error {
	tags := func(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
		return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(name)},
			{Key: aws.String("kubernetes.io/cluster/" + ms.Logical), Value: aws.String("shared")},
		}}}
	}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(ms.VPCCIDR), TagSpecifications: tags(ec2types.ResourceTypeVpc, "cutover-"+ms.Logical)})
	if err != nil {
		return err
	}
	s.VPCID = aws.ToString(vpc.Vpc.VpcId)
	prefix, _, ok := strings.Cut(ms.VPCCIDR, ".0.0/")
	if !ok {
		return fmt.Errorf("VPC CIDR %q is not a.b.0.0/n", ms.VPCCIDR)
	}
	for i, az := range []string{"a", "b"} {
		zone := base.Region + az
		sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("%s.%d.0/20", prefix, i*16)), AvailabilityZone: aws.String(zone),
			TagSpecifications: tags(ec2types.ResourceTypeSubnet, "cutover-"+ms.Logical+"-private-"+zone),
		})
		if err != nil {
			return err
		}
		s.SubnetIDs = append(s.SubnetIDs, aws.ToString(sub.Subnet.SubnetId))
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("cutover-" + ms.Logical + "-cluster-sg"), Description: aws.String("cutover " + ms.Logical + " cluster control plane"), VpcId: vpc.Vpc.VpcId,
		TagSpecifications: tags(ec2types.ResourceTypeSecurityGroup, "cutover-"+ms.Logical+"-cluster-sg"),
	})
	if err != nil {
		return err
	}
	s.SecurityGroupID = aws.ToString(sg.GroupId)
	return nil
}

func seedMemberEKS(ctx context.Context, c *eks.Client, base *Seed, ms MemberSpec, s *MemberSeed) error {
	out, err := c.CreateCluster(ctx, &eks.CreateClusterInput{
		Name: aws.String(ms.Logical), Version: aws.String(BlueVersion), RoleArn: aws.String(base.ClusterRoleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
			SubnetIds: s.SubnetIDs, SecurityGroupIds: []string{s.SecurityGroupID},
			EndpointPrivateAccess: aws.Bool(true), EndpointPublicAccess: aws.Bool(true),
		},
		Tags:               map[string]string{"team": ms.Namespace},
		AccessConfig:       &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap},
		ClientRequestToken: aws.String("cutover-sandbox-" + ms.Logical),
	})
	if err != nil {
		return err
	}
	s.ClusterARN = aws.ToString(out.Cluster.Arn)
	group := ms.Logical + "-general"
	release := base.AMIParameters["/aws/service/eks/optimized-ami/"+BlueVersion+"/amazon-linux-2/recommended/release_version"]
	if _, err := c.CreateNodegroup(ctx, &eks.CreateNodegroupInput{
		ClusterName: aws.String(ms.Logical), NodegroupName: aws.String(group), NodeRole: aws.String(base.NodeRoleARN), Subnets: s.SubnetIDs,
		InstanceTypes: []string{GeneralType}, CapacityType: ekstypes.CapacityTypesOnDemand, AmiType: ekstypes.AMITypesAl2X8664,
		Version: aws.String(BlueVersion), ReleaseVersion: aws.String(release),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(2), MaxSize: aws.Int32(4), DesiredSize: aws.Int32(2)},
		Labels:        map[string]string{"workload": "general"},
		DiskSize:      aws.Int32(50),
		UpdateConfig:  &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(1)},
		Tags:          map[string]string{"team": ms.Namespace},
		// The request token is the group's name, like the seeded blue's.
		ClientRequestToken: aws.String("cutover-sandbox-" + group),
	}); err != nil {
		return fmt.Errorf("node group %s: %w", group, err)
	}
	s.NodeGroups = []string{group}
	return nil
}

func seedMemberRecord(ctx context.Context, c *route53.Client, s *MemberSeed) error {
	// A simple record, as most estates have before their first migration:
	// cutover converts it to a weighted pair and, with afterMigration
	// "simple", makes it simple again at green, so each quarter starts the
	// same way.
	_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(s.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("blue serves " + s.RecordName), Changes: []r53types.Change{{
			Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(s.RecordName), Type: r53types.RRTypeCname, TTL: aws.Int64(RecordTTL),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(s.BlueTarget)}},
			},
		}}},
	})
	return err
}

func seedMemberAlarm(ctx context.Context, c *cloudwatch.Client, ms MemberSpec, s *MemberSeed) error {
	name := "cutover-" + ms.Logical + "-5xx-rate"
	if _, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(50),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/" + ms.Logical + "/0123456789abcdef")}},
	}); err != nil {
		return err
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: cwtypes.StateValueOk, StateReason: aws.String("sandbox seed: healthy"),
	}); err != nil {
		return fmt.Errorf("alarm %s: set OK: %w", name, err)
	}
	s.AlarmNames = []string{name}
	return nil
}

// SeedMemberKube creates a member's workloads on its apiserver k: in
// ms.Namespace a Deployment "server" (on the general node group), its
// Service, ConfigMap "server-config" and Ingress EntryPointIngress whose
// ALB (status) is s.BlueTarget; Velero (SeedVelero); two Ready nodes of
// its node group at BlueKubeletVersion; the workloads marked ready. The
// CRDs must be installed first (InstallCRDs).
func SeedMemberKube(ctx context.Context, k *Kube, ms MemberSpec, s *MemberSeed) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	create := func(what, name string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create %s %s/%s: %w", k.Name, what, ms.Namespace, name, err)
		}
		return nil
	}
	ns := ms.Namespace
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": ns}}}, metav1.CreateOptions{})
	if err := create("namespace", ns, err); err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/name": "server", "app.kubernetes.io/part-of": ns}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "server-config", Labels: labels},
		Data:       map[string]string{"LOG_LEVEL": "info"},
	}, metav1.CreateOptions{})
	if err := create("configmap", "server-config", err); err != nil {
		return err
	}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"workload": "general"},
					Containers: []corev1.Container{{
						Name: "server", Image: "public.ecr.aws/nginx/nginx:1.27",
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						EnvFrom:        []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "server-config"}}}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
					}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err := create("deployment", "server", err); err != nil {
		return err
	}
	_, err = cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{})
	if err := create("service", "server", err); err != nil {
		return err
	}
	alb := "alb"
	ing, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: EntryPointIngress, Labels: labels, Annotations: map[string]string{
			"alb.ingress.kubernetes.io/scheme":      "internet-facing",
			"alb.ingress.kubernetes.io/target-type": "ip",
		}},
		Spec: networkingv1.IngressSpec{IngressClassName: &alb, Rules: []networkingv1.IngressRule{{Host: ms.RecordName, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "server", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{})
	created := err == nil
	if err := create("ingress", EntryPointIngress, err); err != nil {
		return err
	}
	if created {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: s.BlueTarget}}
		if _, err := cs.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("cluster %s: Ingress %s/%s status: %w", k.Name, ns, EntryPointIngress, err)
		}
	}
	if err := SeedVelero(ctx, k); err != nil {
		return err
	}
	for i := range 2 {
		name := fmt.Sprintf("ip-%s-%d.ec2.internal", strings.ReplaceAll(strings.TrimSuffix(ms.VPCCIDR, ".0.0/16"), ".", "-"), 10+i)
		labels := map[string]string{"workload": "general", "node.kubernetes.io/instance-type": GeneralType,
			"eks.amazonaws.com/nodegroup": s.NodeGroups[0], "topology.kubernetes.io/zone": DefaultRegion + string(rune('a'+i))}
		if err := k.AddNode(ctx, name, BlueKubeletVersion, true, NodeLabels(labels)); err != nil {
			return err
		}
	}
	if err := k.MarkWorkloadsReady(ctx); err != nil {
		return err
	}
	k.log.Info("Seeded member workloads", "logical", ms.Logical, "namespace", ns)
	return nil
}
