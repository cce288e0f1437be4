package eks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestEKSAMIFromName(t *testing.T) {
	tests := []struct {
		name             string
		amiType, version string
		ok               bool
	}{
		{"amazon-eks-node-1.29-v20250519", "AL2_x86_64", "1.29", true},
		{"amazon-eks-gpu-node-1.30-v20250519", "AL2_x86_64_GPU", "1.30", true},
		{"amazon-eks-arm64-node-1.31-v20250519", "AL2_ARM_64", "1.31", true},
		{"amazon-eks-node-al2023-x86_64-standard-1.32-v20250519", "AL2023_x86_64_STANDARD", "1.32", true},
		{"amazon-eks-node-al2023-arm64-standard-1.33-v20250519", "AL2023_ARM_64_STANDARD", "1.33", true},
		{"amazon-eks-node-al2023-x86_64-nvidia-1.33-v20250519", "AL2023_x86_64_NVIDIA", "1.33", true},
		{"amazon-eks-node-al2023-x86_64-neuron-1.33-v20250519", "AL2023_x86_64_NEURON", "1.33", true},
		{"bottlerocket-aws-k8s-1.30-x86_64-v1.20.0-fcf71a47", "BOTTLEROCKET_x86_64", "1.30", true},
		{"bottlerocket-aws-k8s-1.30-aarch64-v1.20.0-fcf71a47", "BOTTLEROCKET_ARM_64", "1.30", true},
		{"bottlerocket-aws-k8s-1.30-nvidia-x86_64-v1.20.0-fcf71a47", "BOTTLEROCKET_x86_64_NVIDIA", "1.30", true},
		{"bottlerocket-aws-k8s-1.30-fips-aarch64-v1.20.0-fcf71a47", "BOTTLEROCKET_ARM_64_FIPS", "1.30", true},
		{"amazon-eks-node-al2023-x86_64-weird-1.33-v1", "", "", false},
		{"my-golden-image-2025-05", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		typ, v, ok := eksAMIFromName(tt.name)
		if typ != tt.amiType || v != tt.version || ok != tt.ok {
			t.Errorf("eksAMIFromName(%q) = %q, %q, %v; want %q, %q, %v", tt.name, typ, v, ok, tt.amiType, tt.version, tt.ok)
		}
	}
}

func TestAMIImageParameter(t *testing.T) {
	tests := []struct{ version, amiType, want string }{
		{"1.31", "AL2_x86_64", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2/recommended/image_id"},
		{"1.33", "AL2023_ARM_64_STANDARD", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/arm64/standard/recommended/image_id"},
		{"1.31", "BOTTLEROCKET_x86_64_NVIDIA", "/aws/service/bottlerocket/aws-k8s-1.31-nvidia/x86_64/latest/image_id"},
		{"1.31", "CUSTOM", ""},
	}
	for _, tt := range tests {
		got, ok := amiImageParameter(DefaultSSMRoot, tt.version, tt.amiType)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("amiImageParameter(%s, %s) = %q, %v; want %q", tt.version, tt.amiType, got, ok, tt.want)
		}
	}
}

// TestLaunchTemplateVersionsAgainstMoto: against moto's EC2 (launch
// templates and AMIs are moto-native) and the EKS emulation, green's node
// group on a launch template that pins blue's EKS-optimized AMI gets a new
// version of the template with the target's AMI from SSM, described with
// the migration; building again adopts that version; a template without an
// AMI is kept; one pinning an AMI that is not EKS-optimized is refused.
func TestLaunchTemplateVersionsAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	m := &motoEnv{aws: moto.AWS(), region: moto.Region, api: awseks.NewFromConfig(cfg)}
	params := sandbox.EKSOptimizedAMIParameters()
	greenAMI := params["/aws/service/eks/optimized-ami/"+motoGreenVersion+"/amazon-linux-2/recommended/image_id"]
	if greenAMI == "" {
		t.Fatalf("the sandbox serves no AL2 image_id for %s", motoGreenVersion)
	}
	register := func(name string) string {
		out, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("register image %s: %v", name, err)
		}
		return aws.ToString(out.ImageId)
	}
	template := func(name, image string, userData ...string) string {
		data := &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeM5Large}
		if image != "" {
			data.ImageId = aws.String(image)
		}
		if len(userData) > 0 {
			data.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(userData[0])))
		}
		out, err := ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: data})
		if err != nil {
			t.Fatalf("create launch template %s: %v", name, err)
		}
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	}
	versions := func(id string) []ec2types.LaunchTemplateVersion {
		out, err := ec.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out.LaunchTemplateVersions, func(a, b ec2types.LaunchTemplateVersion) int {
			return int(aws.ToInt64(a.VersionNumber) - aws.ToInt64(b.VersionNumber))
		})
		return out.LaunchTemplateVersions
	}
	// blueWith creates blue, then its node group on the template lt makes
	// from blue's bootstrap identity.
	blueWith := func(name string, lt func(clusterIdentity) *ekstypes.LaunchTemplateSpecification) {
		t.Helper()
		c, err := m.api.CreateCluster(ctx, &awseks.CreateClusterInput{
			Name: aws.String(name), Version: aws.String(motoBlueVersion), RoleArn: aws.String(motoClusterRole),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0a1", "subnet-0b2"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.api.CreateNodegroup(ctx, &awseks.CreateNodegroupInput{
			ClusterName: aws.String(name), NodegroupName: aws.String("custom"), NodeRole: aws.String(motoNodeRole),
			Subnets: []string{"subnet-0a1"}, AmiType: ekstypes.AMITypesCustom,
			LaunchTemplate: lt(clusterIdentity{Name: name, Endpoint: aws.ToString(c.Cluster.Endpoint), CA: aws.ToString(c.Cluster.CertificateAuthority.Data)}),
			ScalingConfig:  &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(2), DesiredSize: aws.Int32(1)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The worker's own clients (NewFromAWS), which give EC2.
	a := NewFromAWS(m.aws, nil, WithPollInterval(10*time.Millisecond))

	t.Run("a pinned EKS-optimized AMI gets a new version with the target's", func(t *testing.T) {
		blueAMI := register("amazon-eks-node-" + motoBlueVersion + "-v20250519")
		blue, green := m.name("blue"), m.name("green")
		var id string
		var blueID clusterIdentity
		blueWith(blue, func(b clusterIdentity) *ekstypes.LaunchTemplateSpecification {
			blueID = b
			id = template(m.name("pinned"), blueAMI, "#!/bin/bash\n/etc/eks/bootstrap.sh "+b.Name+" --b64-cluster-ca "+b.CA+" --apiserver-endpoint "+b.Endpoint+"\n")
			return &ekstypes.LaunchTemplateSpecification{Id: aws.String(id), Version: aws.String("1")}
		})
		env := newActivityEnv(t, a)
		s := migrationSpec(m.name("mig"), blue, green, m.region)
		_, ngr := buildGreen(t, env, a, s, "cutover-"+s.Name+"/run-1")
		if len(ngr.NodeGroups) != 1 || ngr.NodeGroups[0].LaunchTemplate == nil {
			t.Fatalf("green's node groups = %+v", ngr.NodeGroups)
		}
		if got := *ngr.NodeGroups[0].LaunchTemplate; got.ID != id || got.Version != "2" {
			t.Fatalf("green's node group uses launch template %+v, want %s version 2", got, id)
		}
		vs := versions(id)
		if len(vs) != 2 {
			t.Fatalf("launch template has %d versions, want 2", len(vs))
		}
		if got := aws.ToString(vs[0].LaunchTemplateData.ImageId); got != blueAMI {
			t.Errorf("blue's version 1 now pins %s, want %s untouched", got, blueAMI)
		}
		v2 := vs[1]
		if got := aws.ToString(v2.LaunchTemplateData.ImageId); got != greenAMI {
			t.Errorf("green's version pins %s, want %s (SSM, AL2 %s)", got, greenAMI, motoGreenVersion)
		}
		if want := launchTemplateMarker(s.Name, "custom", motoGreenVersion); aws.ToString(v2.VersionDescription) != want {
			t.Errorf("green's version is described %q, want %q", aws.ToString(v2.VersionDescription), want)
		}
		// Its bootstrap names green, with green's CA, not blue.
		g, err := m.api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(green)})
		if err != nil {
			t.Fatal(err)
		}
		ud, _ := base64.StdEncoding.DecodeString(aws.ToString(v2.LaunchTemplateData.UserData))
		if want := "/etc/eks/bootstrap.sh " + green + " --b64-cluster-ca " + aws.ToString(g.Cluster.CertificateAuthority.Data); !strings.Contains(string(ud), want) ||
			strings.Contains(string(ud), blueID.CA) || strings.Contains(string(ud), "bootstrap.sh "+blue+" ") {
			t.Errorf("green's version's user data:\n%s\nwant it to bootstrap %s with its CA, not %s", ud, green, blue)
		}
		blueDesc, err := m.api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(blue), NodegroupName: aws.String("custom")})
		if err != nil || aws.ToString(blueDesc.Nodegroup.LaunchTemplate.Version) != "1" {
			t.Fatalf("blue's node group changed: %+v (%v)", blueDesc, err)
		}

		// Again (a retry that lost its result): the version is found, not made twice.
		plan := ngr.NodeGroups[0]
		plan.LaunchTemplate = &LaunchTemplate{ID: id, Version: "1"}
		plan.Tags = map[string]string{TagMigration: s.Name}
		ssmAPI, _ := a.ssmClient(ctx, m.region)
		ec2API, _ := a.clients.(EC2ClientFactory).EC2(ctx, m.region)
		got, _, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, "", motoGreenVersion, "", plan)
		if err != nil || got.Version != "2" {
			t.Fatalf("second greenLaunchTemplate = %+v, %v; want version 2", got, err)
		}
		if n := len(versions(id)); n != 2 {
			t.Fatalf("launch template has %d versions after a retry, want 2", n)
		}
	})

	ssmAPI, err := a.ssmClient(ctx, m.region)
	if err != nil {
		t.Fatal(err)
	}
	ec2API, err := a.clients.(EC2ClientFactory).EC2(ctx, m.region)
	if err != nil {
		t.Fatal(err)
	}
	ng := func(lt LaunchTemplate) NodeGroup {
		return NodeGroup{Name: "custom", AMIType: "CUSTOM", LaunchTemplate: &lt, Tags: map[string]string{TagMigration: "m"}}
	}

	t.Run("a template without an AMI is kept", func(t *testing.T) {
		name := m.name("plain")
		id := template(name, "")
		got, _, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, "", motoGreenVersion, "", ng(LaunchTemplate{Name: name, Version: "1"}))
		if err != nil || *got != (LaunchTemplate{Name: name, Version: "1"}) {
			t.Fatalf("greenLaunchTemplate = %+v, %v; want it kept", got, err)
		}
		if n := len(versions(id)); n != 1 {
			t.Fatalf("launch template has %d versions, want 1", n)
		}
	})

	t.Run("an AMI already built for the target is kept", func(t *testing.T) {
		id := template(m.name("current"), register("amazon-eks-node-al2023-x86_64-standard-"+motoGreenVersion+"-v20250519"))
		got, _, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, "", motoGreenVersion, "", ng(LaunchTemplate{ID: id, Version: "1"}))
		if err != nil || got.Version != "1" {
			t.Fatalf("greenLaunchTemplate = %+v, %v; want version 1 kept", got, err)
		}
	})

	t.Run("an AMI that is not EKS-optimized is refused", func(t *testing.T) {
		custom := register("acme-golden-node-2025-05")
		id := template(m.name("golden"), custom)
		_, _, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, "", motoGreenVersion, "", ng(LaunchTemplate{ID: id, Version: "1"}))
		if err == nil || !strings.Contains(err.Error(), custom) || !strings.Contains(err.Error(), "not an EKS-optimized AMI") || !definitive(err) {
			t.Fatalf("err = %v, want a non-retryable refusal naming %s", err, custom)
		}
		if n := len(versions(id)); n != 1 {
			t.Fatalf("launch template has %d versions, want 1", n)
		}
	})

	t.Run("an unknown template is NotFound", func(t *testing.T) {
		_, _, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, "", motoGreenVersion, "", ng(LaunchTemplate{ID: "lt-0123456789abcdef0", Version: "1"}))
		if failures.TypeOf(err) != failures.NotFound {
			t.Fatalf("err = %v, want NotFound", err)
		}
	})
}

// TestIAMPolicyAllowsEveryAMIParameter: the shipped IAM policy lets the
// worker read the AMI parameter of every AMI type it looks up (Bottlerocket
// lives under /aws/service/bottlerocket, not /aws/service/eks).
func TestIAMPolicyAllowsEveryAMIParameter(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "iam", "cutover-worker-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Action, Resource any
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	list := func(v any) []string {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				out = append(out, e.(string))
			}
			return out
		}
		return nil
	}
	var allowed []*regexp.Regexp
	for _, s := range doc.Statement {
		if slices.Contains(list(s.Action), "ssm:GetParameter") {
			for _, r := range list(s.Resource) {
				allowed = append(allowed, regexp.MustCompile("^"+strings.ReplaceAll(regexp.QuoteMeta(r), `\*`, ".*")+"$"))
			}
		}
	}
	n := 0
	for _, typ := range ekstypes.AMITypes("").Values() {
		for _, param := range []func(string, string, string) (string, bool){amiParameter, amiImageParameter} {
			name, ok := param(DefaultSSMRoot, "1.33", string(typ))
			if !ok {
				continue
			}
			n++
			arn := "arn:aws:ssm:eu-west-1::parameter" + name
			if !slices.ContainsFunc(allowed, func(re *regexp.Regexp) bool { return re.MatchString(arn) }) {
				t.Errorf("the IAM policy does not allow ssm:GetParameter on %s (AMI type %s)", arn, typ)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d parameters checked", n)
	}
}

func TestRewriteBootstrap(t *testing.T) {
	blue := clusterIdentity{Name: "prod", Endpoint: "https://BLUE.gr7.eu-west-1.eks.amazonaws.com", CA: "QkxVRS1DQQ=="}
	green := clusterIdentity{Name: "prod-1-33", Endpoint: "https://GREEN.gr7.eu-west-1.eks.amazonaws.com", CA: "R1JFRU4tQ0E="}
	tests := []struct {
		name, in, want string
	}{
		{"AL2 bootstrap.sh",
			"#!/bin/bash\n/etc/eks/bootstrap.sh prod --apiserver-endpoint https://BLUE.gr7.eu-west-1.eks.amazonaws.com --b64-cluster-ca QkxVRS1DQQ== --kubelet-extra-args '--node-labels=pool=prod'\n",
			"#!/bin/bash\n/etc/eks/bootstrap.sh prod-1-33 --apiserver-endpoint https://GREEN.gr7.eu-west-1.eks.amazonaws.com --b64-cluster-ca R1JFRU4tQ0E= --kubelet-extra-args '--node-labels=pool=prod'\n"},
		{"AL2 quoted name at the end", `/etc/eks/bootstrap.sh "prod"`, `/etc/eks/bootstrap.sh "prod-1-33"`},
		{"AL2023 nodeadm",
			"apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: prod\n    apiServerEndpoint: https://BLUE.gr7.eu-west-1.eks.amazonaws.com\n    certificateAuthority: QkxVRS1DQQ==\n",
			"apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: prod-1-33\n    apiServerEndpoint: https://GREEN.gr7.eu-west-1.eks.amazonaws.com\n    certificateAuthority: R1JFRU4tQ0E=\n"},
		{"Bottlerocket",
			"[settings.kubernetes]\ncluster-name = \"prod\"\napi-server = \"https://BLUE.gr7.eu-west-1.eks.amazonaws.com\"\n",
			"[settings.kubernetes]\ncluster-name = \"prod-1-33\"\napi-server = \"https://GREEN.gr7.eu-west-1.eks.amazonaws.com\"\n"},
		{"a longer name is another cluster", "/etc/eks/bootstrap.sh prod-eu --b64-cluster-ca X", "/etc/eks/bootstrap.sh prod-eu --b64-cluster-ca X"},
		{"name: outside a NodeConfig is left", "name: prod\n", "name: prod\n"},
		{"nothing of blue's", "#!/bin/bash\necho hello prod\n", "#!/bin/bash\necho hello prod\n"},
	}
	for _, tt := range tests {
		got, changed := rewriteBootstrap(tt.in, blue, green)
		if got != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("%s: rewriteBootstrap =\n%s (changed %v)\nwant\n%s", tt.name, got, changed, tt.want)
		}
	}
}
