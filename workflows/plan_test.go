package workflows

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

func blueFixture() eks.ClusterDescription {
	return eks.ClusterDescription{
		Name:     "prod",
		Region:   "eu-west-1",
		ARN:      "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
		Version:  "1.29",
		Status:   "ACTIVE",
		Endpoint: "https://blue.example",
		RoleARN:  "arn:aws:iam::123456789012:role/eks-cluster",
		VPC: eks.VPCConfig{
			SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
			EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"10.0.0.0/8"},
		},
		Logging:    []string{"api", "audit"},
		Encryption: []eks.EncryptionConfig{{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k", Resources: []string{"secrets"}}},
		Tags: map[string]string{
			"team": "platform", "aws:cloudformation:stack-name": "x",
			eks.TagMigration: "previous-migration", eks.TagCopiedFrom: "older",
		},
		Access: eks.AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
		AccessEntries: []eks.AccessEntry{{
			PrincipalARN: "arn:aws:iam::123456789012:role/admins", Type: "STANDARD", KubernetesGroups: []string{"ops"},
			Policies: []eks.AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", ScopeType: "namespace", Namespaces: []string{"shop"}}},
		}},
		Addons: []eks.Addon{
			{Name: "coredns", Version: "v1.11.1-eksbuild.4", ConfigurationValues: `{"replicaCount":3}`},
			{Name: "vpc-cni", Version: "v1.16.0-eksbuild.1", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
		},
		NodeGroups: []eks.NodeGroup{
			{
				Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-a"},
				InstanceTypes: []string{"m5.large"}, AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", DiskSize: 50,
				Scaling: eks.Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"role": "general"},
				Taints:       []eks.Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}},
				Tags:         map[string]string{"team": "platform", "aws:autoscaling:groupName": "asg"},
				UpdateConfig: &eks.UpdateConfig{MaxUnavailable: 1},
				Version:      "1.29", ReleaseVersion: "1.29.3-20240531", Status: "ACTIVE",
			},
			{
				Name: "templated", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"},
				AMIType: "CUSTOM", LaunchTemplate: &eks.LaunchTemplate{ID: "lt-1", Name: "tmpl", Version: "4"},
				Scaling: eks.Scaling{Min: 1, Max: 1, Desired: 1}, Version: "1.29", ReleaseVersion: "ami-123", Status: "ACTIVE",
			},
		},
		Network:            &eks.NetworkConfig{ServiceIPv4CIDR: "172.20.0.0/16", IPFamily: "ipv4"},
		SupportType:        "STANDARD",
		DeletionProtection: true,
		Health:             []string{"SomeIssue: blue only"},
	}
}

func specFixture() spec.MigrationSpec {
	return spec.MigrationSpec{
		Name:  "prod-to-1-30",
		Blue:  spec.BlueSpec{ClusterName: "prod", Region: "eu-west-1"},
		Green: spec.GreenSpec{ClusterName: "prod-1-30", KubernetesVersion: "1.30"},
	}
}

func boolp(b bool) *bool { return &b }

// wantDefaultGreen is the plan for blueFixture and specFixture.
func wantDefaultGreen() eks.GreenPlan {
	return eks.GreenPlan{
		CopiedFrom: "prod",
		Cluster: eks.ClusterDescription{
			Name: "prod-1-30", Region: "eu-west-1", Version: "1.30",
			RoleARN: "arn:aws:iam::123456789012:role/eks-cluster",
			VPC: eks.VPCConfig{
				SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
				EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"10.0.0.0/8"},
			},
			Logging:    []string{"api", "audit"},
			Encryption: []eks.EncryptionConfig{{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k", Resources: []string{"secrets"}}},
			Tags: map[string]string{
				"team": "platform", eks.TagManagedBy: "cutover", eks.TagMigration: "prod-to-1-30", eks.TagCopiedFrom: "prod",
			},
			Access: eks.AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
			AccessEntries: []eks.AccessEntry{{
				PrincipalARN: "arn:aws:iam::123456789012:role/admins", Type: "STANDARD", KubernetesGroups: []string{"ops"},
				Policies: []eks.AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", ScopeType: "namespace", Namespaces: []string{"shop"}}},
			}},
			Addons: []eks.Addon{
				{Name: "coredns", ConfigurationValues: `{"replicaCount":3}`},
				{Name: "vpc-cni", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
			},
			NodeGroups: []eks.NodeGroup{
				{
					Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-a"},
					InstanceTypes: []string{"m5.large"}, AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", DiskSize: 50,
					Scaling: eks.Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"role": "general"},
					Taints:       []eks.Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}},
					Tags:         map[string]string{"team": "platform", eks.TagManagedBy: "cutover", eks.TagMigration: "prod-to-1-30", eks.TagCopiedFrom: "prod"},
					UpdateConfig: &eks.UpdateConfig{MaxUnavailable: 1},
					Version:      "1.30",
				},
				{
					Name: "templated", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"},
					AMIType: "CUSTOM", LaunchTemplate: &eks.LaunchTemplate{ID: "lt-1", Name: "tmpl", Version: "4"},
					Scaling: eks.Scaling{Min: 1, Max: 1, Desired: 1},
					Tags:    map[string]string{eks.TagManagedBy: "cutover", eks.TagMigration: "prod-to-1-30", eks.TagCopiedFrom: "prod"},
					Version: "1.30",
				},
			},
			Network:     &eks.NetworkConfig{ServiceIPv4CIDR: "172.20.0.0/16", IPFamily: "ipv4"},
			SupportType: "STANDARD",
		},
	}
}

func TestPlanGreen(t *testing.T) {
	tests := []struct {
		name string
		spec func(*spec.MigrationSpec)
		want func(*eks.GreenPlan)
	}{
		{
			name: "defaults copy everything at the target version",
			spec: func(*spec.MigrationSpec) {},
			want: func(*eks.GreenPlan) {},
		},
		{
			name: "copy flags explicitly true are the default",
			spec: func(s *spec.MigrationSpec) {
				s.Green.Copy = spec.CopySpec{NodeGroups: boolp(true), Addons: boolp(true), AccessEntries: boolp(true), Tags: boolp(true), Logging: boolp(true)}
			},
			want: func(*eks.GreenPlan) {},
		},
		{
			name: "copy flags false drop those parts but keep cutover's tags",
			spec: func(s *spec.MigrationSpec) {
				s.Green.Copy = spec.CopySpec{NodeGroups: boolp(false), Addons: boolp(false), AccessEntries: boolp(false), Tags: boolp(false), Logging: boolp(false)}
			},
			want: func(p *eks.GreenPlan) {
				p.Cluster.NodeGroups, p.Cluster.Addons, p.Cluster.AccessEntries, p.Cluster.Logging = nil, nil, nil, nil
				p.Cluster.Tags = map[string]string{eks.TagManagedBy: "cutover", eks.TagMigration: "prod-to-1-30", eks.TagCopiedFrom: "prod"}
			},
		},
		{
			name: "overrides replace role, subnets, security groups, add tags and instance types (not for launch templates)",
			spec: func(s *spec.MigrationSpec) {
				s.Green.Overrides = spec.GreenOverrides{
					RoleARN: "arn:aws:iam::123456789012:role/green", SubnetIDs: []string{"subnet-x", "subnet-y"},
					SecurityGroupIDs: []string{"sg-2"}, Tags: map[string]string{"team": "green-team", "cost": "42"},
					NodeGroupInstanceTypes: []string{"m6i.large", "m6a.large"},
				}
			},
			want: func(p *eks.GreenPlan) {
				c := &p.Cluster
				c.RoleARN = "arn:aws:iam::123456789012:role/green"
				c.VPC.SubnetIDs = []string{"subnet-x", "subnet-y"}
				c.VPC.SecurityGroupIDs = []string{"sg-2"}
				c.Tags["team"] = "green-team"
				c.Tags["cost"] = "42"
				c.NodeGroups[0].InstanceTypes = []string{"m6i.large", "m6a.large"}
			},
		},
		{
			name: "override tags cannot replace cutover's own tags",
			spec: func(s *spec.MigrationSpec) {
				s.Green.Overrides.Tags = map[string]string{eks.TagMigration: "hijack"}
			},
			want: func(*eks.GreenPlan) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := specFixture()
			tt.spec(&s)
			want := wantDefaultGreen()
			tt.want(&want)
			got := planGreen(blueFixture(), s)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.MarshalIndent(got, "", "  ")
				wj, _ := json.MarshalIndent(want, "", "  ")
				t.Fatalf("plan mismatch\n got: %s\nwant: %s", gj, wj)
			}
		})
	}
}

func TestPlanGreenDoesNotAliasBlue(t *testing.T) {
	blue := blueFixture()
	before, _ := json.Marshal(blue)
	p := planGreen(blue, specFixture())
	g := &p.Cluster
	g.VPC.SubnetIDs[0] = "changed"
	g.Encryption[0].Resources[0] = "changed"
	g.AccessEntries[0].KubernetesGroups[0] = "changed"
	g.AccessEntries[0].Policies[0].Namespaces[0] = "changed"
	g.NodeGroups[0].Labels["role"] = "changed"
	g.NodeGroups[0].Taints[0].Key = "changed"
	g.NodeGroups[0].UpdateConfig.MaxUnavailable = 9
	g.NodeGroups[1].LaunchTemplate.Version = "changed"
	g.Network.IPFamily = "changed"
	g.Tags["team"] = "changed"
	after, _ := json.Marshal(blue)
	if string(before) != string(after) {
		t.Fatalf("mutating the plan changed blue:\nbefore %s\nafter  %s", before, after)
	}
}

func TestPlanGreenIsDeterministic(t *testing.T) {
	first, _ := json.Marshal(planGreen(blueFixture(), specFixture()))
	for i := 0; i < 20; i++ {
		again, _ := json.Marshal(planGreen(blueFixture(), specFixture()))
		if string(again) != string(first) {
			t.Fatalf("plan differs between runs:\n%s\n%s", first, again)
		}
	}
}

func TestAMITypeSuccessor(t *testing.T) {
	tests := []struct {
		amiType, target string
		want            string
		gone            bool
	}{
		{"AL2_x86_64", "1.32", "", false},
		{"AL2_x86_64", "1.33", "AL2023_x86_64_STANDARD", true},
		{"AL2_x86_64_GPU", "1.34", "AL2023_x86_64_NVIDIA", true},
		{"AL2_ARM_64", "1.33", "AL2023_ARM_64_STANDARD", true},
		{"AL2023_x86_64_STANDARD", "1.33", "", false},
		{"BOTTLEROCKET_x86_64", "1.33", "", false},
		{"CUSTOM", "1.33", "", false},
		{"AL2_x86_64", "not-a-version", "", false},
	}
	for _, tt := range tests {
		got, gone := amiTypeSuccessor(tt.amiType, tt.target)
		if got != tt.want || gone != tt.gone {
			t.Errorf("amiTypeSuccessor(%s, %s) = %q, %v; want %q, %v", tt.amiType, tt.target, got, gone, tt.want, tt.gone)
		}
	}
}

// TestAMITypeUpgrade: at 1.33 blue's AL2 node group is refused in
// preflight by default (an error naming the spec field) and moved to
// AL2023 with amiTypeUpgrade "successor" (an info finding; the planner
// agrees); the CUSTOM launch-template group is left alone either way.
func TestAMITypeUpgrade(t *testing.T) {
	tests := []struct {
		name, target, upgrade string
		copyNodeGroups        *bool
		wantSeverity          []finding.Severity
		wantAMIType           string
	}{
		{"before 1.33 nothing changes", "1.32", "", nil, nil, "AL2_x86_64"},
		{"refused by default", "1.33", "", nil, []finding.Severity{finding.Error}, "AL2_x86_64"},
		{"refused explicitly", "1.33", spec.AMITypeUpgradeRefuse, nil, []finding.Severity{finding.Error}, "AL2_x86_64"},
		{"successor", "1.33", spec.AMITypeUpgradeSuccessor, nil, []finding.Severity{finding.Info}, "AL2023_x86_64_STANDARD"},
		{"node groups not copied", "1.33", "", boolp(false), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := specFixture()
			s.Green.KubernetesVersion = tt.target
			s.Green.NodeGroups.AMITypeUpgrade = tt.upgrade
			s.Green.Copy.NodeGroups = tt.copyNodeGroups
			s = s.WithDefaults()
			fs := amiTypeFindings(blueFixture(), s)
			var sev []finding.Severity
			for _, f := range fs {
				sev = append(sev, f.Severity)
				if f.Check != CheckAMITypeUnavailable || f.Object != "nodegroup/general" || f.Cluster != "prod" {
					t.Errorf("finding = %+v", f)
				}
				if f.Severity == finding.Error && !strings.Contains(f.Fix, "green.nodeGroups.amiTypeUpgrade") {
					t.Errorf("fix %q does not name the spec field", f.Fix)
				}
				if !strings.Contains(f.Message, "AL2_x86_64") || !strings.Contains(f.Message, tt.target) {
					t.Errorf("message %q does not say the AMI type and the target", f.Message)
				}
			}
			if !reflect.DeepEqual(sev, tt.wantSeverity) {
				t.Errorf("severities = %v, want %v (%+v)", sev, tt.wantSeverity, fs)
			}
			var got, custom string
			for _, ng := range planGreen(blueFixture(), s).Cluster.NodeGroups {
				switch ng.Name {
				case "general":
					got = ng.AMIType
				case "templated":
					custom = ng.AMIType
				}
			}
			if got != tt.wantAMIType {
				t.Errorf("green's general AMI type = %q, want %q", got, tt.wantAMIType)
			}
			if tt.wantAMIType != "" && custom != "CUSTOM" {
				t.Errorf("green's templated AMI type = %q, want CUSTOM", custom)
			}
		})
	}
}

func TestSettleAMITypeInsights(t *testing.T) {
	al2 := finding.Finding{Check: eks.CheckInsightPrefix + "amazon-linux-2-compatibility", Severity: finding.Error, Message: "AL2."}
	other := finding.Finding{Check: eks.CheckInsightPrefix + "deprecated-apis-removed-in-kubernetes-v1-33", Severity: finding.Error}
	in := []finding.Finding{al2, other}
	s := specFixture()
	if got := settleAMITypeInsights(in, s.WithDefaults()); !reflect.DeepEqual(got, in) {
		t.Errorf("refuse: %+v, want unchanged", got)
	}
	s.Green.NodeGroups.AMITypeUpgrade = spec.AMITypeUpgradeSuccessor
	got := settleAMITypeInsights(in, s.WithDefaults())
	if got[0].Severity != finding.Info || !strings.Contains(got[0].Message, "successor") || !reflect.DeepEqual(got[1], other) {
		t.Errorf("successor: %+v", got)
	}
	if in[0].Severity != finding.Error {
		t.Error("the input was changed")
	}
}
