package eks

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestAMIParameter(t *testing.T) {
	tests := []struct {
		amiType string
		want    string
	}{
		{"AL2_x86_64", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/release_version"},
		{"AL2_x86_64_GPU", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2-gpu/recommended/release_version"},
		{"AL2_ARM_64", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2-arm64/recommended/release_version"},
		{"AL2023_x86_64_STANDARD", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/release_version"},
		{"AL2023_ARM_64_STANDARD", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/arm64/standard/recommended/release_version"},
		{"AL2023_x86_64_NVIDIA", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/nvidia/recommended/release_version"},
		{"AL2023_ARM_64_NVIDIA", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/arm64/nvidia/recommended/release_version"},
		{"AL2023_x86_64_NEURON", "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/neuron/recommended/release_version"},
		{"BOTTLEROCKET_x86_64", "/aws/service/bottlerocket/aws-k8s-1.30/x86_64/latest/image_version"},
		{"BOTTLEROCKET_ARM_64_NVIDIA", "/aws/service/bottlerocket/aws-k8s-1.30-nvidia/arm64/latest/image_version"},
		{"BOTTLEROCKET_x86_64_FIPS", "/aws/service/bottlerocket/aws-k8s-1.30-fips/x86_64/latest/image_version"},
		{"CUSTOM", ""},
		{"WINDOWS_CORE_2022_x86_64", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := amiParameter("/aws/service/", "1.30", tt.amiType)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("amiParameter(%q) = %q, %v; want %q", tt.amiType, got, ok, tt.want)
		}
	}
	if got, _ := amiParameter("/sandbox/aws", "1.31", "AL2_ARM_64"); got != "/sandbox/aws/eks/optimized-ami/1.31/amazon-linux-2-arm64/recommended/release_version" {
		t.Errorf("custom root: %q", got)
	}
}

func greenNodeGroups() []NodeGroup {
	return greenPlanFixture().Cluster.NodeGroups // general (AL2) and templated (CUSTOM, launch template)
}

func ssmWithReleases() *fakeSSM {
	return &fakeSSM{params: map[string]string{
		"/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/release_version":                   "1.30.4-20240917",
		"/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/arm64/standard/recommended/release_version": "1.30.4-20240918",
	}}
}

func TestEnsureNodeGroupsCreatesFromPlan(t *testing.T) {
	f := newFakeEKS()
	f.scripts["nodegroup/prod-1-30/general"] = []string{"CREATING", "CREATING", "ACTIVE"}
	f.scripts["nodegroup/prod-1-30/templated"] = []string{"CREATING", "ACTIVE"}
	f.scripts["nodegroup/prod-1-30/arm"] = []string{"ACTIVE"}
	s := ssmWithReleases()
	a := newFakeActivities(f, s, nil)
	env := newActivityEnv(t, a)
	ngs := greenNodeGroups()
	arm := ngs[0]
	arm.Name, arm.AMIType, arm.InstanceTypes, arm.CapacityType, arm.UpdateConfig = "arm", "AL2023_ARM_64_STANDARD", []string{"m7g.large"}, "SPOT", &UpdateConfig{MaxUnavailablePercentage: 25}
	ngs = append(ngs, arm)
	res, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: ngs, RequestToken: "wf/run",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Created, []string{"arm", "general", "templated"}) || len(res.Adopted) != 0 {
		t.Fatalf("created %v adopted %v", res.Created, res.Adopted)
	}
	if len(res.NodeGroups) != 3 || res.NodeGroups[1].Status != "ACTIVE" || res.NodeGroups[1].ReleaseVersion != "1.30.4-20240917" {
		t.Fatalf("node groups = %+v", res.NodeGroups)
	}
	// One SSM read per AMI type, none for the custom AMI.
	if !reflect.DeepEqual(s.asked, []string{
		"/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/arm64/standard/recommended/release_version",
		"/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/release_version",
	}) {
		t.Fatalf("SSM parameters read: %v", s.asked)
	}
	if len(f.createNodegroup) != 3 {
		t.Fatalf("CreateNodegroup called %d times", len(f.createNodegroup))
	}
	armIn, general, templated := f.createNodegroup[0], f.createNodegroup[1], f.createNodegroup[2]
	checks := []struct {
		what      string
		got, want any
	}{
		{"arm release", aws.ToString(armIn.ReleaseVersion), "1.30.4-20240918"},
		{"arm ami", armIn.AmiType, ekstypes.AMITypesAl2023Arm64Standard},
		{"arm capacity", armIn.CapacityType, ekstypes.CapacityTypesSpot},
		{"arm update config", aws.ToInt32(armIn.UpdateConfig.MaxUnavailablePercentage), int32(25)},
		{"arm token", aws.ToString(armIn.ClientRequestToken), "wf/run/arm"},
		{"general cluster", aws.ToString(general.ClusterName), "prod-1-30"},
		{"general name", aws.ToString(general.NodegroupName), "general"},
		{"general role", aws.ToString(general.NodeRole), "arn:aws:iam::123456789012:role/nodes"},
		{"general subnets", general.Subnets, []string{"subnet-a"}},
		{"general version", aws.ToString(general.Version), "1.30"},
		{"general release", aws.ToString(general.ReleaseVersion), "1.30.4-20240917"},
		{"general ami", general.AmiType, ekstypes.AMITypesAl2X8664},
		{"general instance types", general.InstanceTypes, []string{"m5.large"}},
		{"general disk", aws.ToInt32(general.DiskSize), int32(50)},
		{"general scaling", *general.ScalingConfig, ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(2), MaxSize: aws.Int32(6), DesiredSize: aws.Int32(3)}},
		{"general labels", general.Labels, map[string]string{"role": "general"}},
		{"general taints", general.Taints, []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("general"), Effect: ekstypes.TaintEffectNoSchedule}}},
		{"general update config", aws.ToInt32(general.UpdateConfig.MaxUnavailable), int32(1)},
		{"general tags", general.Tags, map[string]string{"team": "platform", TagManagedBy: "cutover", TagMigration: "prod-to-1-30", TagCopiedFrom: "prod"}},
		{"general no launch template", general.LaunchTemplate, (*ekstypes.LaunchTemplateSpecification)(nil)},
		{"templated keeps its template (by id)", *templated.LaunchTemplate, ekstypes.LaunchTemplateSpecification{Id: aws.String("lt-1"), Version: aws.String("4")}},
		{"templated: custom AMI has no ami type", templated.AmiType, ekstypes.AMITypes("")},
		{"templated: custom AMI has no version", templated.Version, (*string)(nil)},
		{"templated: custom AMI has no release", templated.ReleaseVersion, (*string)(nil)},
		{"templated: no disk size with a template", templated.DiskSize, (*int32)(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	beats := env.beats()
	if len(beats) == 0 || beats[0].Step != StepNodeGroups || beats[0].Cluster != "prod-1-30" {
		t.Fatalf("heartbeats = %+v", beats)
	}
}

func TestEnsureNodeGroupsAdoptsAndResumes(t *testing.T) {
	f := newFakeEKS()
	// "general" exists from an earlier attempt (recorded in the heartbeat);
	// "templated" exists and matches but was not created by this activity.
	mk := func(name string, tags map[string]string) *ekstypes.Nodegroup {
		return &ekstypes.Nodegroup{
			NodegroupName: aws.String(name), NodeRole: aws.String("arn:aws:iam::123456789012:role/nodes"),
			Subnets: []string{map[string]string{"general": "subnet-a", "templated": "subnet-b"}[name]},
			Version: aws.String("1.30"), Status: ekstypes.NodegroupStatusCreating, Tags: tags,
		}
	}
	f.nodegroups["prod-1-30/general"] = mk("general", map[string]string{TagMigration: "prod-to-1-30"})
	f.nodegroups["prod-1-30/templated"] = mk("templated", map[string]string{TagMigration: "prod-to-1-30"})
	f.scripts["nodegroup/prod-1-30/general"] = []string{"CREATING", "ACTIVE"}
	f.scripts["nodegroup/prod-1-30/templated"] = []string{"ACTIVE"}
	a := newFakeActivities(f, ssmWithReleases(), nil)
	env := newActivityEnv(t, a)
	env.SetHeartbeatDetails(Progress{Step: StepNodeGroups, Cluster: "prod-1-30", Created: []string{"general"}, Pending: []string{"general"}, Polls: 7})
	res, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: greenNodeGroups(), RequestToken: "wf/run",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.createNodegroup) != 0 {
		t.Fatalf("existing node groups must not be created again: %d creates", len(f.createNodegroup))
	}
	if !reflect.DeepEqual(res.Created, []string{"general"}) || !reflect.DeepEqual(res.Adopted, []string{"templated"}) {
		t.Fatalf("created %v adopted %v", res.Created, res.Adopted)
	}
	if b := env.beats(); len(b) == 0 || b[0].Polls < 7 {
		t.Fatalf("poll count not resumed: %+v", b)
	}
}

func TestEnsureNodeGroupsConflict(t *testing.T) {
	f := newFakeEKS()
	f.nodegroups["prod-1-30/general"] = &ekstypes.Nodegroup{
		NodegroupName: aws.String("general"), NodeRole: aws.String("arn:aws:iam::123456789012:role/other"),
		Subnets: []string{"subnet-a"}, Version: aws.String("1.29"), Status: ekstypes.NodegroupStatusActive,
	}
	a := newFakeActivities(f, ssmWithReleases(), nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: greenNodeGroups()[:1],
	})
	wantErrType(t, err, failures.Conflict, true)
	for _, m := range []string{"node group general", "tag cutover.dev/migration is missing", `node role is "arn:aws:iam::123456789012:role/other"`, `version is "1.29", want "1.30"`} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q lacks %q", err.Error(), m)
		}
	}
}

func TestEnsureNodeGroupsCreateFailed(t *testing.T) {
	f := newFakeEKS()
	f.scripts["nodegroup/prod-1-30/general"] = []string{"CREATING", "CREATE_FAILED"}
	a := newFakeActivities(f, ssmWithReleases(), nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: greenNodeGroups()[:1],
	})
	wantErrType(t, err, ResourceFailed, true)
	if !strings.Contains(err.Error(), "node group general of cluster eu-west-1/prod-1-30 is CREATE_FAILED") {
		t.Fatalf("error = %v", err)
	}
}

func TestEnsureNodeGroupsFailedCarriesHealth(t *testing.T) {
	f := newFakeEKS()
	// A retry finds the node group an earlier attempt created, now failed.
	f.nodegroups["prod-1-30/general"] = &ekstypes.Nodegroup{
		NodegroupName: aws.String("general"), NodeRole: aws.String("arn:aws:iam::123456789012:role/nodes"),
		Subnets: []string{"subnet-a"}, Version: aws.String("1.30"), Status: ekstypes.NodegroupStatusCreateFailed,
		Tags: map[string]string{TagMigration: "prod-to-1-30"},
		Health: &ekstypes.NodegroupHealth{Issues: []ekstypes.Issue{{
			Code: ekstypes.NodegroupIssueCodeAsgInstanceLaunchFailures, Message: aws.String("InsufficientInstanceCapacity"), ResourceIds: []string{"eks-general-asg"},
		}}},
	}
	a := newFakeActivities(f, ssmWithReleases(), nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: greenNodeGroups()[:1],
	})
	wantErrType(t, err, ResourceFailed, true)
	if !strings.Contains(err.Error(), "AsgInstanceLaunchFailures: InsufficientInstanceCapacity (eks-general-asg)") {
		t.Fatalf("error lacks the health issue: %v", err)
	}
}

func TestEnsureNodeGroupsNoAMIForTarget(t *testing.T) {
	f := newFakeEKS()
	a := newFakeActivities(f, &fakeSSM{params: map[string]string{}}, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.33", NodeGroups: greenNodeGroups()[:1],
	})
	wantErrType(t, err, failures.NotFound, true)
	if !strings.Contains(err.Error(), "no EKS-optimized AMI release for Kubernetes 1.33 and AMI type AL2_x86_64") || len(f.createNodegroup) != 0 {
		t.Fatalf("error = %v, creates = %d", err, len(f.createNodegroup))
	}
}

func TestEnsureNodeGroupsPinnedReleaseSkipsSSM(t *testing.T) {
	f := newFakeEKS()
	s := &fakeSSM{params: map[string]string{}}
	a := newFakeActivities(f, s, nil)
	env := newActivityEnv(t, a)
	ng := greenNodeGroups()[0]
	ng.ReleaseVersion = "1.30.0-20240701"
	if _, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", NodeGroups: []NodeGroup{ng},
	}); err != nil {
		t.Fatal(err)
	}
	if len(s.asked) != 0 || aws.ToString(f.createNodegroup[0].ReleaseVersion) != "1.30.0-20240701" {
		t.Fatalf("SSM asked %v, release %q", s.asked, aws.ToString(f.createNodegroup[0].ReleaseVersion))
	}
}

func TestEnsureNodeGroupsValidatesInput(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, nil)
	env := newActivityEnv(t, a)
	dup := greenNodeGroups()[:1]
	dup = append(dup, dup[0])
	for name, in := range map[string]EnsureNodeGroupsInput{
		"no version":    {Cluster: clusters.Ref{Name: "g", Region: "r"}, NodeGroups: greenNodeGroups()},
		"no role":       {Cluster: clusters.Ref{Name: "g", Region: "r"}, TargetVersion: "1.30", NodeGroups: []NodeGroup{{Name: "x", SubnetIDs: []string{"s"}}}},
		"planned twice": {Cluster: clusters.Ref{Name: "g", Region: "r"}, TargetVersion: "1.30", NodeGroups: dup},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, in)
			wantErrType(t, err, failures.InvalidParameter, true)
		})
	}
}
