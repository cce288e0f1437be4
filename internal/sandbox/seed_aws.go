package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// CloudWatchJSON makes a CloudWatch client speak awsJson1_0 instead of the
// SDK's default Smithy RPCv2 CBOR, which moto 5.1 does not route (it answers
// 404). Real CloudWatch accepts awsJson1_0 too, so production clients may use
// it as well: cloudwatch.NewFromConfig(cfg, sandbox.CloudWatchJSON).
func CloudWatchJSON(o *cloudwatch.Options) {
	o.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801)
}

// Names of the seeded blue estate.
const (
	BlueCluster  = "blue"
	GreenCluster = "green"
	BlueVersion  = "1.29"
	ZoneName     = "cutover.example.com"
	RecordName   = "app.cutover.example.com"
	BlueTarget   = "blue-ingress.us-east-1.elb.amazonaws.com"
	GreenTarget  = "green-ingress.us-east-1.elb.amazonaws.com"
	// EntryPointIngress is the shop's Ingress (namespace "shop") whose
	// ALB is BlueTarget on blue; EntryPointService its Service of type
	// LoadBalancer, whose NLB is BluePartnerTarget.
	EntryPointIngress = "web"
	EntryPointService = "web-public"
	BluePartnerTarget = "blue-partners.elb.us-east-1.amazonaws.com"
	BlueOriginID      = "blue"
	GreenOriginID     = "green"
	BackupBucket      = "cutover-velero-backups"
	ClusterRole       = "cutover-blue-cluster-role"
	NodeRole          = "cutover-blue-node-role"
	GeneralNodes      = "blue-general"
	BatchNodes        = "blue-batch"
	GeneralType       = "m5.large"
	BatchType         = "c5.2xlarge"
	SecurityGroup     = "cutover-blue-cluster-sg"
	AlarmPrefix       = "cutover-shop-"
	RecordTTL         = 60
	BlueOriginHost    = "blue-origin.cutover.example.com"
	GreenOriginHost   = "green-origin.cutover.example.com"
)

// Seed lists what SeedAWS created, so tests can build specs from it.
type Seed struct {
	Region          string   `json:"region"`
	AccountID       string   `json:"accountID"`
	VPCID           string   `json:"vpcID"`
	SubnetIDs       []string `json:"subnetIDs"`
	AZs             []string `json:"availabilityZones"`
	SecurityGroupID string   `json:"securityGroupID"`
	ClusterRoleARN  string   `json:"clusterRoleARN"`
	NodeRoleARN     string   `json:"nodeRoleARN"`

	Cluster        string   `json:"cluster"`
	ClusterARN     string   `json:"clusterARN"`
	ClusterVersion string   `json:"clusterVersion"`
	NodeGroups     []string `json:"nodeGroups"`

	HostedZoneID string `json:"hostedZoneID"`
	ZoneName     string `json:"zoneName"`
	RecordName   string `json:"recordName"`
	BlueTarget   string `json:"blueTarget"`
	GreenTarget  string `json:"greenTarget"`

	DistributionID     string `json:"distributionID"`
	DistributionDomain string `json:"distributionDomain"`
	BlueOriginID       string `json:"blueOriginID"`
	GreenOriginID      string `json:"greenOriginID"`

	AlarmNames []string `json:"alarmNames"`
	// BackupBucket is the bucket the Velero BackupStorageLocations name.
	// It is not created in moto (the module has no S3 client).
	BackupBucket string `json:"backupBucket"`
	// AMIParameters are the EKS-optimized AMI public SSM parameters moto
	// serves (name -> value).
	AMIParameters map[string]string `json:"amiParameters"`
	// IRSA is blue's IAM OIDC provider and the roles that trust it (seed_irsa.go).
	IRSA IRSASeed `json:"irsa"`
	// PodIdentity is blue's Pod Identity association and the CI role's
	// access entry (seed_podidentity.go).
	PodIdentity PodIdentitySeed `json:"podIdentity"`
	// Nodes is what blue's node groups run on: AL2 and a custom launch template (seed_nodes.go).
	Nodes NodesSeed `json:"nodes"`
	// Karpenter is blue's Karpenter discovery tags and the NodePool and
	// EC2NodeClass that select them (seed_karpenter.go).
	Karpenter KarpenterSeed `json:"karpenter"`
	// AWSAuth is the IAM role and user blue's aws-auth ConfigMap maps
	// besides the node role (seed_awsauth.go).
	AWSAuth AWSAuthSeed `json:"awsAuth"`
	// BlueLogGroup is blue's control-plane log group (seed_retire.go).
	BlueLogGroup string `json:"blueLogGroup"`
	// BlueLoadBalancer is the NLB of blue's Service EntryPointService
	// (seed_retire.go): its DNS name is the Service's status.
	BlueLoadBalancer BlueLoadBalancerSeed `json:"blueLoadBalancer"`
	// BlueVolume is the EBS volume of blue's PersistentVolume with
	// reclaimPolicy Retain (seed_retire.go).
	BlueVolume BlueVolumeSeed `json:"blueVolume"`
}

// SeedAWS creates the blue estate in moto: VPC, three subnets in three AZs,
// a security group (subnets and group tagged for Karpenter's discovery),
// cluster and node IAM roles, the IAM role and user aws-auth maps, EKS
// cluster "blue" (1.29)
// with two managed node groups, a Route53 zone with weighted CNAMEs
// (blue 100, green 0), a CloudFront distribution with blue and green
// origins whose default behavior uses blue, CloudWatch alarms in OK, and
// the Velero backup bucket. The EKS-optimized AMI SSM parameters are served
// by StartMoto; SeedAWS checks they answer.
func SeedAWS(ctx context.Context, m *Moto) (*Seed, error) {
	cfg, err := m.AWS().ForRegion(ctx, m.Region)
	if err != nil {
		return nil, err
	}
	s := &Seed{
		Region: m.Region, Cluster: BlueCluster, ClusterVersion: BlueVersion,
		ZoneName: ZoneName, RecordName: RecordName, BlueTarget: BlueTarget, GreenTarget: GreenTarget,
		BlueOriginID: BlueOriginID, GreenOriginID: GreenOriginID, BackupBucket: BackupBucket,
	}
	steps := []struct {
		what string
		do   func(context.Context, aws.Config, *Seed) error
	}{
		{"STS caller identity", seedIdentity},
		{"VPC, subnets, security group", seedNetwork},
		{"Karpenter discovery tags", seedKarpenter}, // seed_karpenter.go
		{"IAM roles", seedIAM},
		{"IAM identities mapped in aws-auth", seedAWSAuth}, // seed_awsauth.go
		{"SSM EKS AMI parameters", checkAMIParameters},
		{"EKS cluster and node groups", seedEKS},
		{"node group on a custom launch template", seedNodes},             // seed_nodes.go
		{"IAM OIDC provider and IRSA roles", seedIRSA},                    // seed_irsa.go
		{"Pod Identity association and CI access entry", seedPodIdentity}, // seed_podidentity.go
		{"Route53 zone and weighted records", seedRoute53},
		{"CloudFront distribution", seedCloudFront},
		{"CloudWatch alarms", seedAlarms},
		{"blue's control-plane log group", seedLogGroup},      // seed_retire.go
		{"blue's NLB and target group", seedBlueLoadBalancer}, // seed_retire.go
		{"blue's retained EBS volume", seedBlueVolume},        // seed_retire.go
	}
	for _, st := range steps {
		if err := st.do(ctx, cfg, s); err != nil {
			return nil, fmt.Errorf("seed moto: %s: %w", st.what, err)
		}
	}
	return s, nil
}

func seedIdentity(ctx context.Context, cfg aws.Config, s *Seed) error {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	s.AccountID = aws.ToString(out.Account)
	return nil
}

func tagSpec(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(name)},
		{Key: aws.String("kubernetes.io/cluster/" + BlueCluster), Value: aws.String("shared")},
	}}}
}

func seedNetwork(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := ec2.NewFromConfig(cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, "cutover-blue")})
	if err != nil {
		return err
	}
	s.VPCID = aws.ToString(vpc.Vpc.VpcId)
	for i, az := range []string{"a", "b", "c"} {
		zone := s.Region + az
		sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/20", i*16)), AvailabilityZone: aws.String(zone),
			TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, "cutover-blue-private-"+zone),
		})
		if err != nil {
			return err
		}
		s.SubnetIDs = append(s.SubnetIDs, aws.ToString(sub.Subnet.SubnetId))
		s.AZs = append(s.AZs, zone)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(SecurityGroup), Description: aws.String("cutover blue cluster control plane"), VpcId: vpc.Vpc.VpcId,
		TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, SecurityGroup),
	})
	if err != nil {
		return err
	}
	s.SecurityGroupID = aws.ToString(sg.GroupId)
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: sg.GroupId,
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16"), Description: aws.String("API server from the VPC")}},
		}},
	})
	return err
}

const (
	eksTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

func seedIAM(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := iam.NewFromConfig(cfg)
	roles := []struct {
		name, trust string
		arn         *string
		policies    []string
	}{
		{ClusterRole, eksTrust, &s.ClusterRoleARN, []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}},
		{NodeRole, ec2Trust, &s.NodeRoleARN, []string{
			"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
			"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
			"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
		}},
	}
	for _, r := range roles {
		out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust)})
		if err != nil {
			return err
		}
		*r.arn = aws.ToString(out.Role.Arn)
		for _, p := range r.policies {
			if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: aws.String(p)}); err != nil {
				return fmt.Errorf("attach %s to %s: %w", p, r.name, err)
			}
		}
	}
	return nil
}

func checkAMIParameters(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := ssm.NewFromConfig(cfg)
	want := EKSOptimizedAMIParameters()
	s.AMIParameters = map[string]string{}
	for name, v := range want {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			return fmt.Errorf("moto does not serve %s (is moto started by sandbox.StartMoto?): %w", name, err)
		}
		if got := aws.ToString(out.Parameter.Value); got != v {
			return fmt.Errorf("%s = %q, want %q", name, got, v)
		}
		s.AMIParameters[name] = v
	}
	return nil
}

func seedEKS(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := eks.NewFromConfig(cfg)
	out, err := c.CreateCluster(ctx, &eks.CreateClusterInput{
		Name: aws.String(BlueCluster), Version: aws.String(BlueVersion), RoleArn: aws.String(s.ClusterRoleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
			SubnetIds: s.SubnetIDs, SecurityGroupIds: []string{s.SecurityGroupID},
			EndpointPrivateAccess: aws.Bool(true), EndpointPublicAccess: aws.Bool(true),
		},
		Tags: map[string]string{"team": "platform", "cutover.dev/color": "blue"},
		// Access entries (the CI role's, seed_podidentity.go) need the API.
		AccessConfig:       &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap},
		ClientRequestToken: aws.String("cutover-sandbox-blue"),
	})
	if err != nil {
		return err
	}
	s.ClusterARN = aws.ToString(out.Cluster.Arn)
	release := s.AMIParameters["/aws/service/eks/optimized-ami/"+BlueVersion+"/amazon-linux-2/recommended/release_version"]
	groups := []eks.CreateNodegroupInput{
		{
			NodegroupName: aws.String(GeneralNodes), InstanceTypes: []string{GeneralType}, CapacityType: ekstypes.CapacityTypesOnDemand,
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(2), MaxSize: aws.Int32(6), DesiredSize: aws.Int32(3)},
			Labels:        map[string]string{"workload": "general"},
			DiskSize:      aws.Int32(50),
			UpdateConfig:  &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(1)},
		},
		{
			NodegroupName: aws.String(BatchNodes), InstanceTypes: []string{BatchType}, CapacityType: ekstypes.CapacityTypesSpot,
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(0), MaxSize: aws.Int32(10), DesiredSize: aws.Int32(2)},
			Labels:        map[string]string{"workload": "batch"},
			Taints:        []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("batch"), Effect: ekstypes.TaintEffectNoSchedule}},
			DiskSize:      aws.Int32(100),
			UpdateConfig:  &ekstypes.NodegroupUpdateConfig{MaxUnavailablePercentage: aws.Int32(33)},
		},
	}
	for _, g := range groups {
		g.ClusterName = aws.String(BlueCluster)
		g.NodeRole = aws.String(s.NodeRoleARN)
		g.Subnets = s.SubnetIDs
		g.AmiType = ekstypes.AMITypesAl2X8664
		g.Version = aws.String(BlueVersion)
		g.ReleaseVersion = aws.String(release)
		g.Tags = map[string]string{"team": "platform"}
		g.ClientRequestToken = aws.String("cutover-sandbox-" + aws.ToString(g.NodegroupName))
		if _, err := c.CreateNodegroup(ctx, &g); err != nil {
			return fmt.Errorf("node group %s: %w", aws.ToString(g.NodegroupName), err)
		}
		s.NodeGroups = append(s.NodeGroups, aws.ToString(g.NodegroupName))
	}
	return nil
}

func seedRoute53(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := route53.NewFromConfig(cfg)
	zone, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String(ZoneName), CallerReference: aws.String(fmt.Sprintf("cutover-sandbox-%d", time.Now().UnixNano())),
		HostedZoneConfig: &r53types.HostedZoneConfig{Comment: aws.String("cutover sandbox")},
	})
	if err != nil {
		return err
	}
	s.HostedZoneID = trimZoneID(aws.ToString(zone.HostedZone.Id))
	rec := func(id, target string, weight int64) r53types.Change {
		return r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(RecordName), Type: r53types.RRTypeCname, SetIdentifier: aws.String(id), Weight: aws.Int64(weight),
			TTL: aws.Int64(RecordTTL), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(target)}},
		}}
	}
	_, err = c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(s.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("blue serves everything"), Changes: []r53types.Change{
			rec(BlueOriginID, BlueTarget, 100), rec(GreenOriginID, GreenTarget, 0),
		}},
	})
	return err
}

func trimZoneID(id string) string {
	const p = "/hostedzone/"
	if len(id) > len(p) && id[:len(p)] == p {
		return id[len(p):]
	}
	return id
}

func seedCloudFront(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := cloudfront.NewFromConfig(cfg)
	origin := func(id, host string) cftypes.Origin {
		return cftypes.Origin{Id: aws.String(id), DomainName: aws.String(host), CustomOriginConfig: &cftypes.CustomOriginConfig{
			HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpsOnly,
		}}
	}
	out, err := c.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(fmt.Sprintf("cutover-sandbox-%d", time.Now().UnixNano())),
		Comment:         aws.String("cutover sandbox: shop"),
		Enabled:         aws.Bool(true),
		Origins: &cftypes.Origins{Quantity: aws.Int32(2), Items: []cftypes.Origin{
			origin(BlueOriginID, BlueOriginHost), origin(GreenOriginID, GreenOriginHost),
		}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
			TargetOriginId:       aws.String(BlueOriginID),
			ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
			ForwardedValues:      &cftypes.ForwardedValues{QueryString: aws.Bool(true), Cookies: &cftypes.CookiePreference{Forward: cftypes.ItemSelectionAll}},
			MinTTL:               aws.Int64(0),
		},
	}})
	if err != nil {
		return err
	}
	s.DistributionID = aws.ToString(out.Distribution.Id)
	s.DistributionDomain = aws.ToString(out.Distribution.DomainName)
	return nil
}

func seedAlarms(ctx context.Context, cfg aws.Config, s *Seed) error {
	c := cloudwatch.NewFromConfig(cfg, CloudWatchJSON)
	alarms := []struct {
		name, metric, ns, stat string
		threshold              float64
		op                     cwtypes.ComparisonOperator
	}{
		{AlarmPrefix + "5xx-rate", "HTTPCode_Target_5XX_Count", "AWS/ApplicationELB", "Sum", 50, cwtypes.ComparisonOperatorGreaterThanThreshold},
		{AlarmPrefix + "p99-latency", "TargetResponseTime", "AWS/ApplicationELB", "p99", 1.5, cwtypes.ComparisonOperatorGreaterThanThreshold},
		{AlarmPrefix + "healthy-hosts", "HealthyHostCount", "AWS/ApplicationELB", "Minimum", 2, cwtypes.ComparisonOperatorLessThanThreshold},
	}
	for _, a := range alarms {
		in := &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(a.name), MetricName: aws.String(a.metric), Namespace: aws.String(a.ns),
			Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(a.threshold),
			ComparisonOperator: a.op, TreatMissingData: aws.String("notBreaching"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/shop/0123456789abcdef")}},
		}
		if a.stat == "p99" {
			in.ExtendedStatistic = aws.String(a.stat)
		} else {
			in.Statistic = cwtypes.Statistic(a.stat)
		}
		if _, err := c.PutMetricAlarm(ctx, in); err != nil {
			return fmt.Errorf("alarm %s: %w", a.name, err)
		}
		if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(a.name), StateValue: cwtypes.StateValueOk, StateReason: aws.String("sandbox seed: healthy"),
		}); err != nil {
			return fmt.Errorf("alarm %s: set OK: %w", a.name, err)
		}
		s.AlarmNames = append(s.AlarmNames, a.name)
	}
	return nil
}
