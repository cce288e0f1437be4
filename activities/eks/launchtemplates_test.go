package eks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
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

// launchTemplateFakes: templates over the fake EC2 and the AMI parameters
// in the fake SSM. lt-plain pins no AMI; lt-al2 pins blue's AL2 AMI for
// 1.29; lt-al2-boot too, with AL2 bootstrap.sh user data; lt-golden a
// custom AMI; lt-current an AL2023 AMI for 1.30.
func launchTemplateFakes() (*fakeEC2, *fakeSSM) {
	e := newFakeEC2()
	e.images["ami-blue"] = "amazon-eks-node-1.29-v20250519"
	e.images["ami-golden"] = "acme-golden-node-2025-05"
	e.images["ami-current"] = "amazon-eks-node-al2023-x86_64-standard-1.30-v20250519"
	e.template("lt-plain", [2]string{"", "blue's"})
	e.template("lt-al2", [2]string{"ami-blue", "blue's"})
	e.template("lt-al2-boot", [2]string{"ami-blue", "blue's"})
	e.templates["lt-al2-boot"][0].LaunchTemplateData.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n/etc/eks/bootstrap.sh prod\n")))
	e.template("lt-runtime-flag", [2]string{"ami-blue", "blue's"})
	e.templates["lt-runtime-flag"][0].LaunchTemplateData.UserData = aws.String(base64.StdEncoding.EncodeToString(
		[]byte("#!/bin/bash\n/etc/eks/bootstrap.sh prod --container-runtime containerd\n")))
	e.template("lt-golden", [2]string{"ami-golden", "blue's"})
	e.template("lt-current", [2]string{"ami-current", "blue's"})
	param := func(v, typ string) string { p, _ := amiImageParameter(DefaultSSMRoot, v, typ); return p }
	s := &fakeSSM{params: map[string]string{
		param("1.30", "AL2_x86_64"):             "ami-al2-130",
		param("1.33", "AL2023_x86_64_STANDARD"): "ami-al2023-133",
	}}
	return e, s
}

func templatedGroup(name, lt string) NodeGroup {
	return NodeGroup{Name: name, NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"}, AMIType: "CUSTOM",
		LaunchTemplate: &LaunchTemplate{ID: lt, Version: "1"}, Scaling: Scaling{Min: 1, Max: 1, Desired: 1},
		Tags: map[string]string{TagManagedBy: "cutover", TagMigration: "m1"}}
}

// TestPlanGreenLaunchTemplates: the preflight plan of every kind of
// template, read only, and the same decision greenLaunchTemplate acts on.
func TestPlanGreenLaunchTemplates(t *testing.T) {
	tests := []struct {
		name, lt, target, upgrade string
		action, greenAMI          string
		reason, fix               []string
		severity                  finding.Severity // of the finding, "" for none
	}{
		{name: "no AMI", lt: "lt-plain", target: "1.30", action: LaunchTemplateKeep, reason: []string{"pins no AMI"}},
		{name: "blue's AMI", lt: "lt-al2", target: "1.30", action: LaunchTemplateNewVersion, greenAMI: "ami-al2-130",
			reason: []string{"ami-blue", "AL2_x86_64 for Kubernetes 1.29", "ami-al2-130"}},
		{name: "already for the target", lt: "lt-current", target: "1.30", action: LaunchTemplateKeep, greenAMI: "ami-current", reason: []string{"already built for Kubernetes 1.30"}},
		{name: "not EKS-optimized", lt: "lt-golden", target: "1.30", action: LaunchTemplateRefuse, severity: finding.Error,
			reason: []string{"ami-golden", "not an EKS-optimized AMI"}, fix: []string{"lt-golden", "Kubernetes 1.30"}},
		{name: "AL2 at 1.33 refused", lt: "lt-al2", target: "1.33", upgrade: "refuse", action: LaunchTemplateRefuse, severity: finding.Error,
			reason: []string{"no AL2_x86_64 AMI for Kubernetes 1.33"}, fix: []string{`green.nodeGroups.amiTypeUpgrade to "successor"`, "AL2023_x86_64_STANDARD"}},
		{name: "AL2 at 1.33 on the successor", lt: "lt-al2", target: "1.33", upgrade: "successor", action: LaunchTemplateNewVersion, greenAMI: "ami-al2023-133",
			severity: finding.Info, reason: []string{"does not exist at 1.33", "ami-al2023-133", "successor"}},
		{name: "successor with AL2 user data", lt: "lt-al2-boot", target: "1.33", upgrade: "successor", action: LaunchTemplateRefuse, severity: finding.Error,
			reason: []string{"bootstrap.sh", "AL2023_x86_64_STANDARD"}, fix: []string{"nodeadm NodeConfig"}},
		{name: "kubelet flag removed at the target", lt: "lt-runtime-flag", target: "1.30", action: LaunchTemplateRefuse, severity: finding.Error,
			reason: []string{"--container-runtime", "1.27 removed", "https://kubernetes.io/"}, fix: []string{"Remove --container-runtime", "lt-runtime-flag"}},
		{name: "missing template", lt: "lt-gone", target: "1.30", action: LaunchTemplateRefuse, severity: finding.Error, reason: []string{"lt-gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, s := launchTemplateFakes()
			a := newFakeEC2Activities(newFakeEKS(), s, e)
			env := newActivityEnv(t, a)
			ng := templatedGroup("custom", tt.lt)
			res, err := run[PlanLaunchTemplatesResult](t, env, a.PlanGreenLaunchTemplates, PlanLaunchTemplatesInput{
				Blue: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: tt.target, AMITypeUpgrade: tt.upgrade,
				NodeGroups: []NodeGroup{ng, greenNodeGroups()[0]},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Plans) != 1 {
				t.Fatalf("plans = %+v, want one (the group without a template has none)", res.Plans)
			}
			p := res.Plans[0]
			if p.NodeGroup != "custom" || p.LaunchTemplateID != tt.lt || p.SourceVersion != "1" || p.Action != tt.action || p.GreenAMI != tt.greenAMI {
				t.Fatalf("plan = %+v, want %s with green AMI %q", p, tt.action, tt.greenAMI)
			}
			for _, r := range tt.reason {
				if !strings.Contains(p.Reason, r) {
					t.Errorf("reason %q lacks %q", p.Reason, r)
				}
			}
			if tt.severity == "" {
				if len(res.Findings) != 0 {
					t.Fatalf("findings = %+v, want none", res.Findings)
				}
			} else {
				if len(res.Findings) != 1 {
					t.Fatalf("findings = %+v, want one", res.Findings)
				}
				f := res.Findings[0]
				if f.Check != CheckLaunchTemplateUnsupported || f.Severity != tt.severity || f.Object != "nodegroup/custom" || f.Cluster != "prod" || !strings.Contains(f.Message, p.Reason) {
					t.Fatalf("finding = %+v", f)
				}
				for _, x := range tt.fix {
					if !strings.Contains(f.Fix, x) {
						t.Errorf("fix %q lacks %q", f.Fix, x)
					}
				}
			}
			if n := e.opCalls("CreateLaunchTemplateVersion"); n != 0 {
				t.Fatalf("the plan created %d versions", n)
			}

			// greenLaunchTemplate acts on the same decision.
			got, v, err := a.greenLaunchTemplate(context.Background(), e, s, nil, "green", tt.target, tt.upgrade, ng)
			switch tt.action {
			case LaunchTemplateRefuse:
				if err == nil || err.Error() != p.Reason && !strings.Contains(err.Error(), p.Reason) || !definitive(err) {
					t.Fatalf("greenLaunchTemplate err = %v, want the plan's reason %q, definitive", err, p.Reason)
				}
			case LaunchTemplateKeep:
				if err != nil || *got != *ng.LaunchTemplate || v != nil {
					t.Fatalf("greenLaunchTemplate = %+v, %+v, %v; want the template kept", got, v, err)
				}
			case LaunchTemplateNewVersion:
				if err != nil || got.Version != "2" || v == nil || !v.Created || v.Version != "2" {
					t.Fatalf("greenLaunchTemplate = %+v, %+v, %v; want version 2 created", got, v, err)
				}
				if image := aws.ToString(e.templates[tt.lt][1].LaunchTemplateData.ImageId); image != p.GreenAMI {
					t.Fatalf("green's version pins %s, the plan said %s", image, p.GreenAMI)
				}
			}
		})
	}
}

func TestPlanGreenLaunchTemplatesReadErrors(t *testing.T) {
	e, s := launchTemplateFakes()
	e.errs["DescribeLaunchTemplateVersions"] = []error{apiError("UnauthorizedOperation")}
	a := newFakeEC2Activities(newFakeEKS(), s, e)
	env := newActivityEnv(t, a)
	_, err := run[PlanLaunchTemplatesResult](t, env, a.PlanGreenLaunchTemplates, PlanLaunchTemplatesInput{
		Blue: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: []NodeGroup{templatedGroup("custom", "lt-al2")},
	})
	wantErrType(t, err, failures.AccessDenied, true)
	_, err = run[PlanLaunchTemplatesResult](t, env, a.PlanGreenLaunchTemplates, PlanLaunchTemplatesInput{Blue: clusters.Ref{Name: "prod", Region: "eu-west-1"}})
	wantErrType(t, err, failures.InvalidParameter, true)
}

// TestEnsureNodeGroupsLaunchTemplateVersions: the result lists the version
// made for green's node group; a retry that finds the node group lists it
// again (found by its marker, not created); AMITypeUpgrade reaches the
// decision.
func TestEnsureNodeGroupsLaunchTemplateVersions(t *testing.T) {
	e, s := launchTemplateFakes()
	f := newFakeEKS()
	a := newFakeEC2Activities(f, s, e)
	env := newActivityEnv(t, a)
	in := EnsureNodeGroupsInput{Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, TargetVersion: "1.33", AMITypeUpgrade: "successor",
		NodeGroups: []NodeGroup{templatedGroup("custom", "lt-al2"), templatedGroup("plain", "lt-plain")}, RequestToken: "wf/run"}
	res, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []LaunchTemplateVersion{{NodeGroup: "custom", LaunchTemplateID: "lt-al2", Version: "2", Created: true}}
	if !reflect.DeepEqual(res.LaunchTemplateVersions, want) {
		t.Fatalf("launch template versions = %+v, want %+v", res.LaunchTemplateVersions, want)
	}
	if got := aws.ToString(e.templates["lt-al2"][1].LaunchTemplateData.ImageId); got != "ami-al2023-133" {
		t.Fatalf("green's version pins %s, want the AL2023 successor's ami-al2023-133", got)
	}
	if lt := f.createNodegroup[0].LaunchTemplate; aws.ToString(lt.Id) != "lt-al2" || aws.ToString(lt.Version) != "2" {
		t.Fatalf("green's node group custom is created on %+v, want lt-al2 version 2", lt)
	}

	again, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, in)
	if err != nil {
		t.Fatal(err)
	}
	want[0].Created = false
	if !reflect.DeepEqual(again.LaunchTemplateVersions, want) || e.versionCount("lt-al2") != 2 || len(f.createNodegroup) != 2 {
		t.Fatalf("retry: versions %+v (%d in the template, %d creates)", again.LaunchTemplateVersions, e.versionCount("lt-al2"), len(f.createNodegroup))
	}

	// Without the successor the AL2 template is refused before anything is created.
	in.AMITypeUpgrade, in.NodeGroups = "refuse", []NodeGroup{templatedGroup("other", "lt-al2")}
	_, err = run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, in)
	wantErrType(t, err, failures.NotFound, true)
	if len(f.createNodegroup) != 2 {
		t.Fatalf("a refused node group was created")
	}
}

func TestDeleteLaunchTemplateVersions(t *testing.T) {
	e := newFakeEC2()
	marker := launchTemplateMarker("m1", "custom", "1.30")
	e.template("lt-1", [2]string{"ami-blue", "blue's"}, [2]string{"ami-green", marker}, [2]string{"ami-green", launchTemplateMarker("m2", "custom", "1.30")})
	e.template("lt-2", [2]string{"ami-green", launchTemplateMarker("m1", "other", "1.30")})
	a := newFakeEC2Activities(newFakeEKS(), nil, e)
	env := newActivityEnv(t, a)
	in := DeleteLaunchTemplateVersionsInput{Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Migration: "m1", Versions: []LaunchTemplateVersion{
		{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "2"},
		{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "3"}, // another migration's
		{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "1"}, // blue's, the default
		{NodeGroup: "other", LaunchTemplateID: "lt-2", Version: "1"},  // the migration's, but the default
		{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "9"},
		{NodeGroup: "custom", LaunchTemplateID: "lt-gone", Version: "2"},
	}}
	res, err := run[DeleteLaunchTemplateVersionsResult](t, env, a.DeleteLaunchTemplateVersions, in)
	if err != nil {
		t.Fatal(err)
	}
	want := DeleteLaunchTemplateVersionsResult{Deleted: []string{"lt-1:2"}, Kept: []string{"lt-1:3", "lt-1:1", "lt-2:1"}, Gone: []string{"lt-1:9", "lt-gone:2"}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if len(e.deleteLTV) != 1 || aws.ToString(e.deleteLTV[0].LaunchTemplateId) != "lt-1" || !reflect.DeepEqual(e.deleteLTV[0].Versions, []string{"2"}) ||
		e.versionCount("lt-1") != 2 || e.versionCount("lt-2") != 1 {
		t.Fatalf("deletes %+v; versions left lt-1 %d, lt-2 %d", e.deleteLTV, e.versionCount("lt-1"), e.versionCount("lt-2"))
	}
	// Again: the deleted one is gone, nothing more deleted.
	again, err := run[DeleteLaunchTemplateVersionsResult](t, env, a.DeleteLaunchTemplateVersions, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(again.Gone, "lt-1:2") || len(again.Deleted) != 0 || len(e.deleteLTV) != 1 {
		t.Fatalf("second delete = %+v", again)
	}

	_, err = run[DeleteLaunchTemplateVersionsResult](t, env, a.DeleteLaunchTemplateVersions, DeleteLaunchTemplateVersionsInput{Cluster: in.Cluster, Versions: in.Versions})
	wantErrType(t, err, failures.InvalidParameter, true)
}
