package eks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// seedBlue fills the fake with a blue cluster that has everything.
func seedBlue(f *fakeEKS, authMode ekstypes.AuthenticationMode) {
	f.clusters["prod"] = &ekstypes.Cluster{
		Name: aws.String("prod"), Arn: aws.String("arn:aws:eks:eu-west-1:123456789012:cluster/prod"),
		Version: aws.String("1.29"), Status: ekstypes.ClusterStatusActive, Endpoint: aws.String("https://blue"),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/eks-cluster"),
		ResourcesVpcConfig: &ekstypes.VpcConfigResponse{
			SubnetIds: []string{"subnet-a", "subnet-b"}, SecurityGroupIds: []string{"sg-1"},
			EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: []string{"10.0.0.0/8"},
		},
		Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{
			{Enabled: aws.Bool(true), Types: []ekstypes.LogType{"audit", "api"}},
			{Enabled: aws.Bool(false), Types: []ekstypes.LogType{"scheduler"}},
		}},
		EncryptionConfig:        []ekstypes.EncryptionConfig{{Provider: &ekstypes.Provider{KeyArn: aws.String("arn:aws:kms:eu-west-1:123456789012:key/k")}, Resources: []string{"secrets"}}},
		Tags:                    map[string]string{"team": "platform"},
		AccessConfig:            &ekstypes.AccessConfigResponse{AuthenticationMode: authMode},
		KubernetesNetworkConfig: &ekstypes.KubernetesNetworkConfigResponse{ServiceIpv4Cidr: aws.String("172.20.0.0/16"), IpFamily: ekstypes.IpFamilyIpv4},
		UpgradePolicy:           &ekstypes.UpgradePolicyResponse{SupportType: ekstypes.SupportTypeStandard},
	}
	admins := "arn:aws:iam::123456789012:role/admins"
	nodes := "arn:aws:iam::123456789012:role/nodes"
	f.entries["prod/"+admins] = &ekstypes.AccessEntry{PrincipalArn: aws.String(admins), Type: aws.String("STANDARD"), Username: aws.String("admin"), KubernetesGroups: []string{"ops", "devs"}}
	f.entries["prod/"+nodes] = &ekstypes.AccessEntry{PrincipalArn: aws.String(nodes), Type: aws.String("EC2_LINUX")}
	f.policies["prod/"+admins] = []ekstypes.AssociatedAccessPolicy{
		{PolicyArn: aws.String("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"shop", "billing"}}},
		{PolicyArn: aws.String("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}},
	}
	f.addons["prod/vpc-cni"] = &ekstypes.Addon{AddonName: aws.String("vpc-cni"), AddonVersion: aws.String("v1.16.0-eksbuild.1"), ServiceAccountRoleArn: aws.String("arn:aws:iam::123456789012:role/cni"), Status: ekstypes.AddonStatusActive}
	f.addons["prod/coredns"] = &ekstypes.Addon{AddonName: aws.String("coredns"), AddonVersion: aws.String("v1.11.1-eksbuild.4"), ConfigurationValues: aws.String(`{"replicaCount":3}`), Status: ekstypes.AddonStatusActive}
	f.nodegroups["prod/templated"] = &ekstypes.Nodegroup{
		NodegroupName: aws.String("templated"), NodeRole: aws.String(nodes), Subnets: []string{"subnet-b"}, AmiType: ekstypes.AMITypesCustom,
		LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Id: aws.String("lt-1"), Name: aws.String("tmpl"), Version: aws.String("4")},
		ScalingConfig:  &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredSize: aws.Int32(1)},
		Version:        aws.String("1.29"), ReleaseVersion: aws.String("ami-123"), Status: ekstypes.NodegroupStatusActive,
	}
	f.nodegroups["prod/general"] = &ekstypes.Nodegroup{
		NodegroupName: aws.String("general"), NodeRole: aws.String(nodes), Subnets: []string{"subnet-a"},
		InstanceTypes: []string{"m5.large"}, AmiType: ekstypes.AMITypesAl2X8664, CapacityType: ekstypes.CapacityTypesOnDemand, DiskSize: aws.Int32(50),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(2), MaxSize: aws.Int32(6), DesiredSize: aws.Int32(3)},
		Labels:        map[string]string{"role": "general"},
		Taints: []ekstypes.Taint{
			{Key: aws.String("zeta"), Effect: ekstypes.TaintEffectNoExecute},
			{Key: aws.String("dedicated"), Value: aws.String("general"), Effect: ekstypes.TaintEffectNoSchedule},
		},
		Tags:         map[string]string{"team": "platform"},
		UpdateConfig: &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(1)},
		Version:      aws.String("1.29"), ReleaseVersion: aws.String("1.29.3-20240531"), Status: ekstypes.NodegroupStatusActive,
	}
}

func TestDescribeEKSCluster(t *testing.T) {
	f := newFakeEKS()
	seedBlue(f, ekstypes.AuthenticationModeApiAndConfigMap)
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	got, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := ClusterDescription{
		Name: "prod", Region: "eu-west-1", ARN: "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
		Version: "1.29", Status: "ACTIVE", Endpoint: "https://blue", RoleARN: "arn:aws:iam::123456789012:role/eks-cluster",
		VPC: VPCConfig{
			SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
			EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"10.0.0.0/8"},
		},
		Logging:    []string{"api", "audit"},
		Encryption: []EncryptionConfig{{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k", Resources: []string{"secrets"}}},
		Tags:       map[string]string{"team": "platform"},
		Access:     AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
		AccessEntries: []AccessEntry{
			{
				PrincipalARN: "arn:aws:iam::123456789012:role/admins", Type: "STANDARD", Username: "admin", KubernetesGroups: []string{"devs", "ops"},
				Policies: []AccessPolicy{
					{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", ScopeType: "cluster"},
					{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", ScopeType: "namespace", Namespaces: []string{"billing", "shop"}},
				},
			},
			{PrincipalARN: "arn:aws:iam::123456789012:role/nodes", Type: "EC2_LINUX"},
		},
		Addons: []Addon{
			{Name: "coredns", Version: "v1.11.1-eksbuild.4", ConfigurationValues: `{"replicaCount":3}`},
			{Name: "vpc-cni", Version: "v1.16.0-eksbuild.1", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
		},
		NodeGroups: []NodeGroup{
			{
				Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-a"},
				InstanceTypes: []string{"m5.large"}, AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", DiskSize: 50,
				Scaling: Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"role": "general"},
				Taints:       []Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}, {Key: "zeta", Effect: "NO_EXECUTE"}},
				Tags:         map[string]string{"team": "platform"},
				UpdateConfig: &UpdateConfig{MaxUnavailable: 1},
				Version:      "1.29", ReleaseVersion: "1.29.3-20240531", Status: "ACTIVE",
			},
			{
				Name: "templated", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"},
				AMIType: "CUSTOM", LaunchTemplate: &LaunchTemplate{ID: "lt-1", Name: "tmpl", Version: "4"},
				Scaling: Scaling{Min: 1, Max: 1, Desired: 1}, Version: "1.29", ReleaseVersion: "ami-123", Status: "ACTIVE",
			},
		},
		Network:     &NetworkConfig{ServiceIPv4CIDR: "172.20.0.0/16", IPFamily: "ipv4"},
		SupportType: "STANDARD",
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("description mismatch\n got: %s\nwant: %s", gj, wj)
	}
}

func TestDescribeEKSClusterConfigMapModeSkipsAccessEntries(t *testing.T) {
	f := newFakeEKS()
	seedBlue(f, ekstypes.AuthenticationModeConfigMap)
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	got, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AccessEntries) != 0 || len(f.opCalls("ListAccessEntries")) != 0 {
		t.Fatalf("CONFIG_MAP clusters have no access entry API; got %v, calls %v", got.AccessEntries, f.opCalls("ListAccessEntries"))
	}
}

func TestDescribeEKSClusterMissing(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: "nope", Region: "eu-west-1"}})
	wantErrType(t, err, failures.NotFound, true)
}

func insightFixture(id, name string, st ekstypes.InsightStatusValue) ekstypes.Insight {
	return ekstypes.Insight{
		Id: aws.String(id), Name: aws.String(name), KubernetesVersion: aws.String("1.30"),
		Category:      ekstypes.CategoryUpgradeReadiness,
		InsightStatus: &ekstypes.InsightStatus{Status: st, Reason: aws.String("reason of " + id)},
	}
}

func TestEKSUpgradeInsights(t *testing.T) {
	f := newFakeEKS()
	deprecated := insightFixture("i-1", "Deprecated APIs removed in Kubernetes v1.30", ekstypes.InsightStatusValueError)
	deprecated.Recommendation = aws.String("Update manifests and API clients to use newer Kubernetes APIs.")
	deprecated.CategorySpecificSummary = &ekstypes.InsightCategorySpecificSummary{DeprecationDetails: []ekstypes.DeprecationDetail{{
		Usage: aws.String("/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas"), ReplacedWith: aws.String("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas"),
		StopServingVersion: aws.String("1.29"),
	}}}
	var resources []ekstypes.InsightResourceDetail
	for _, n := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		resources = append(resources, ekstypes.InsightResourceDetail{KubernetesResourceUri: aws.String("/apis/x/v1beta2/namespaces/shop/things/" + n), InsightStatus: &ekstypes.InsightStatus{Status: ekstypes.InsightStatusValueError}})
	}
	resources = append(resources, ekstypes.InsightResourceDetail{KubernetesResourceUri: aws.String("/passing/one"), InsightStatus: &ekstypes.InsightStatus{Status: ekstypes.InsightStatusValuePassing}})
	deprecated.Resources = resources
	skew := insightFixture("i-2", "Kubelet version skew", ekstypes.InsightStatusValueWarning)
	skew.Recommendation = aws.String("Upgrade your nodes.")
	passing := insightFixture("i-3", "Amazon Linux 2 compatibility", ekstypes.InsightStatusValuePassing)
	unknown := insightFixture("i-4", "Cluster health issues", ekstypes.InsightStatusValueUnknown)
	f.insights = []ekstypes.Insight{deprecated, skew, passing, unknown}
	eos := time.Date(2025, 7, 23, 0, 0, 0, 0, time.UTC)
	f.versions = []ekstypes.ClusterVersionInformation{{ClusterVersion: aws.String("1.30"), VersionStatus: ekstypes.VersionStatusStandardSupport, EndOfStandardSupportDate: &eos}}

	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: "1.30"})
	if err != nil {
		t.Fatal(err)
	}
	// Requests.
	if len(f.listInsightsIn) != 1 {
		t.Fatalf("ListInsights called %d times", len(f.listInsightsIn))
	}
	li := f.listInsightsIn[0]
	if aws.ToString(li.ClusterName) != "prod" || li.Filter == nil || !reflect.DeepEqual(li.Filter.KubernetesVersions, []string{"1.30"}) {
		t.Fatalf("ListInsights request = %+v (filter %+v)", li, li.Filter)
	}
	if !reflect.DeepEqual(f.describeInsight, []string{"i-3", "i-4", "i-1", "i-2"}) {
		t.Fatalf("DescribeInsight ids (sorted by name) = %v", f.describeInsight)
	}
	if vi := f.versionsIn; len(vi) != 1 || !reflect.DeepEqual(vi[0].ClusterVersions, []string{"1.30"}) || !aws.ToBool(vi[0].IncludeAll) {
		t.Fatalf("DescribeClusterVersions requests = %+v", vi)
	}
	// Findings.
	want := []Finding{
		{Check: "eks-insight-amazon-linux-2-compatibility", Cluster: "prod", Severity: finding.Info, Source: SourceInsight,
			Message: "Amazon Linux 2 compatibility (PASSING): reason of i-3"},
		{Check: "eks-insight-cluster-health-issues", Cluster: "prod", Severity: finding.Warning, Source: SourceInsight,
			Message: "Cluster health issues (UNKNOWN): reason of i-4",
			Fix:     "see the insight in the EKS console (Upgrade insights) for the remediation"},
		{Check: "eks-insight-deprecated-apis-removed-in-kubernetes-v1-30", Cluster: "prod", Severity: finding.Error, Source: SourceInsight,
			Message: "Deprecated APIs removed in Kubernetes v1.30 (ERROR): reason of i-1; deprecated: /apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas -> /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas (removed in 1.29)",
			Object:  "/apis/x/v1beta2/namespaces/shop/things/a, /apis/x/v1beta2/namespaces/shop/things/b, /apis/x/v1beta2/namespaces/shop/things/c, /apis/x/v1beta2/namespaces/shop/things/d, /apis/x/v1beta2/namespaces/shop/things/e, and 2 more",
			Fix:     "Update manifests and API clients to use newer Kubernetes APIs."},
		{Check: "eks-insight-kubelet-version-skew", Cluster: "prod", Severity: finding.Warning, Source: SourceInsight,
			Message: "Kubelet version skew (WARNING): reason of i-2", Fix: "Upgrade your nodes."},
	}
	if !reflect.DeepEqual(res.Findings, want) {
		gj, _ := json.MarshalIndent(res.Findings, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("findings\n got: %s\nwant: %s", gj, wj)
	}
	if res.TargetStatus != "STANDARD_SUPPORT" || res.EndOfStandardSupport != "2025-07-23T00:00:00Z" {
		t.Fatalf("target status = %q, end of standard support = %q", res.TargetStatus, res.EndOfStandardSupport)
	}
}

func TestEKSUpgradeInsightsVersionSupport(t *testing.T) {
	eos := time.Date(2025, 7, 23, 0, 0, 0, 0, time.UTC)
	eoe := time.Date(2026, 7, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		versions   []ekstypes.ClusterVersionInformation
		wantStatus string
		want       *Finding // nil: no version finding
	}{
		{
			name:       "standard support gives no finding",
			versions:   []ekstypes.ClusterVersionInformation{{ClusterVersion: aws.String("1.30"), VersionStatus: ekstypes.VersionStatusStandardSupport}},
			wantStatus: "STANDARD_SUPPORT",
		},
		{
			name:       "extended support is a warning with the dates",
			versions:   []ekstypes.ClusterVersionInformation{{ClusterVersion: aws.String("1.30"), VersionStatus: ekstypes.VersionStatusExtendedSupport, EndOfStandardSupportDate: &eos, EndOfExtendedSupportDate: &eoe}},
			wantStatus: "EXTENDED_SUPPORT",
			want: &Finding{Check: CheckVersionSupport, Cluster: "prod", Severity: finding.Warning, Source: SourceInsight,
				Message: "Kubernetes 1.30 is in EKS extended support (extra cost); standard support ended 2025-07-23; extended support ends 2026-07-23",
				Fix:     "choose a version in standard support"},
		},
		{
			name:       "unsupported is an error",
			versions:   []ekstypes.ClusterVersionInformation{{ClusterVersion: aws.String("1.30"), VersionStatus: ekstypes.VersionStatusUnsupported}},
			wantStatus: "UNSUPPORTED",
			want: &Finding{Check: CheckVersionSupport, Cluster: "prod", Severity: finding.Error, Source: SourceInsight,
				Message: "Kubernetes 1.30 is no longer supported by EKS", Fix: "choose a version in standard support"},
		},
		{
			name:       "the older status field is understood",
			versions:   []ekstypes.ClusterVersionInformation{{ClusterVersion: aws.String("1.30"), Status: ekstypes.ClusterVersionStatusUnsupported}},
			wantStatus: "UNSUPPORTED",
			want: &Finding{Check: CheckVersionSupport, Cluster: "prod", Severity: finding.Error, Source: SourceInsight,
				Message: "Kubernetes 1.30 is no longer supported by EKS", Fix: "choose a version in standard support"},
		},
		{
			name: "a version EKS does not offer is an error",
			want: &Finding{Check: CheckVersionSupport, Cluster: "prod", Severity: finding.Error, Source: SourceInsight,
				Message: "EKS does not offer Kubernetes 1.30", Fix: "choose a Kubernetes version EKS offers (aws eks describe-cluster-versions)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEKS()
			f.versions = tt.versions
			a := newFakeActivities(f, nil, nil)
			env := newActivityEnv(t, a)
			res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: "1.30"})
			if err != nil {
				t.Fatal(err)
			}
			if res.TargetStatus != tt.wantStatus {
				t.Fatalf("status = %q, want %q", res.TargetStatus, tt.wantStatus)
			}
			if tt.want == nil {
				if len(res.Findings) != 0 {
					t.Fatalf("findings = %+v, want none", res.Findings)
				}
				return
			}
			if len(res.Findings) != 1 || !reflect.DeepEqual(res.Findings[0], *tt.want) {
				t.Fatalf("findings = %+v, want [%+v]", res.Findings, *tt.want)
			}
		})
	}
}

func TestEKSUpgradeInsightsAccessDenied(t *testing.T) {
	f := newFakeEKS()
	f.errs["ListInsights"] = []error{&ekstypes.AccessDeniedException{Message: aws.String("not authorized to perform eks:ListInsights")}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: "1.30"})
	wantErrType(t, err, failures.AccessDenied, true)
	if !strings.Contains(err.Error(), "eks:ListInsights") {
		t.Fatalf("AWS message lost: %v", err)
	}
}

// TestEKSUpgradeInsightsAddonCompatibility: before anything is built, each
// add-on that will run at the target gets the version it will run (EKS's
// default, else the newest compatible) or an error when EKS has none.
func TestEKSUpgradeInsightsAddonCompatibility(t *testing.T) {
	f := newFakeEKS()
	f.addonVersions = map[string][]ekstypes.AddonInfo{
		"vpc-cni":    {{AddonName: aws.String("vpc-cni"), AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v1.19.2-eksbuild.1", compat("1.32", true)), addonVersion("v1.19.3-eksbuild.1", compat("1.32", false))}}},
		"coredns":    {{AddonName: aws.String("coredns"), AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v1.11.4-eksbuild.2", compat("1.32", false)), addonVersion("v1.11.4-eksbuild.10", compat("1.32", false))}}},
		"old-vendor": {{AddonName: aws.String("old-vendor"), AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v0.9.0", compat("1.29", true))}}},
	}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: "prod", Region: "eu-west-1"}, TargetVersion: "1.32",
		Addons: []string{"vpc-cni", "coredns", "old-vendor"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range res.AddonVersions {
		got[c.Name] = c.Version + " / " + c.Reason
	}
	if !strings.HasPrefix(got["vpc-cni"], "v1.19.2-eksbuild.1 / EKS's default") || !strings.HasPrefix(got["coredns"], "v1.11.4-eksbuild.10 / newest of 2") || got["old-vendor"] != "" {
		t.Errorf("add-on versions at 1.32: %v", got)
	}
	var incompatible, info []Finding
	for _, f := range res.Findings {
		switch f.Check {
		case CheckAddonIncompatible:
			incompatible = append(incompatible, f)
		case CheckAddonVersionAtTarget:
			info = append(info, f)
		}
	}
	if len(incompatible) != 1 || incompatible[0].Object != "addon/old-vendor" || incompatible[0].Severity != finding.Error || !strings.Contains(incompatible[0].Fix, "describe-addon-versions --addon-name old-vendor --kubernetes-version 1.32") {
		t.Errorf("incompatible: %+v", incompatible)
	}
	if len(info) != 2 {
		t.Errorf("versions at the target: %+v", info)
	}
	for _, in := range f.addonVersionsIn {
		if aws.ToString(in.KubernetesVersion) != "1.32" {
			t.Errorf("asked for versions of %s for %s", aws.ToString(in.AddonName), aws.ToString(in.KubernetesVersion))
		}
	}
}
