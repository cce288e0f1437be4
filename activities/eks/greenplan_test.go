package eks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The planner that turns blue and the spec into a GreenPlan is workflow
// code (workflows/plan.go, with its table tests there). These tests build
// plans from fixtures instead: greenPlanFixture is what the planner makes of
// blueFixture with the spec's defaults, and copyPlan makes that default plan
// of any blue (the moto tests describe a blue and build its green).

func blueFixture() ClusterDescription {
	return ClusterDescription{
		Name:     "prod",
		Region:   "eu-west-1",
		ARN:      "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
		Version:  "1.29",
		Status:   "ACTIVE",
		Endpoint: "https://blue.example",
		RoleARN:  "arn:aws:iam::123456789012:role/eks-cluster",
		VPC: VPCConfig{
			SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
			EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"10.0.0.0/8"},
		},
		Logging:    []string{"api", "audit"},
		Encryption: []EncryptionConfig{{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k", Resources: []string{"secrets"}}},
		Tags: map[string]string{
			"team": "platform", "aws:cloudformation:stack-name": "x",
			TagMigration: "previous-migration", TagCopiedFrom: "older",
		},
		Access: AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
		AccessEntries: []AccessEntry{{
			PrincipalARN: "arn:aws:iam::123456789012:role/admins", Type: "STANDARD", KubernetesGroups: []string{"ops"},
			Policies: []AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", ScopeType: "namespace", Namespaces: []string{"shop"}}},
		}},
		Addons: []Addon{
			{Name: "coredns", Version: "v1.11.1-eksbuild.4", ConfigurationValues: `{"replicaCount":3}`},
			{Name: "vpc-cni", Version: "v1.16.0-eksbuild.1", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
		},
		NodeGroups: []NodeGroup{
			{
				Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-a"},
				InstanceTypes: []string{"m5.large"}, AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", DiskSize: 50,
				Scaling: Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"role": "general"},
				Taints:       []Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}},
				Tags:         map[string]string{"team": "platform", "aws:autoscaling:groupName": "asg"},
				UpdateConfig: &UpdateConfig{MaxUnavailable: 1},
				Version:      "1.29", ReleaseVersion: "1.29.3-20240531", Status: "ACTIVE",
			},
			{
				Name: "templated", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"},
				AMIType: "CUSTOM", LaunchTemplate: &LaunchTemplate{ID: "lt-1", Name: "tmpl", Version: "4"},
				Scaling: Scaling{Min: 1, Max: 1, Desired: 1}, Version: "1.29", ReleaseVersion: "ami-123", Status: "ACTIVE",
			},
		},
		Network:            &NetworkConfig{ServiceIPv4CIDR: "172.20.0.0/16", IPFamily: "ipv4"},
		SupportType:        "STANDARD",
		DeletionProtection: true,
		Health:             []string{"SomeIssue: blue only"},
	}
}

// greenPlanFixture is the plan for blueFixture with the spec's defaults
// (migration "prod-to-1-30", green "prod-1-30" at 1.30): every part of
// blue copied at the target version; workflows.TestPlanGreen pins the
// planner to the same plan.
func greenPlanFixture() GreenPlan {
	return GreenPlan{
		CopiedFrom: "prod",
		Cluster: ClusterDescription{
			Name: "prod-1-30", Region: "eu-west-1", Version: "1.30",
			RoleARN: "arn:aws:iam::123456789012:role/eks-cluster",
			VPC: VPCConfig{
				SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"},
				EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"10.0.0.0/8"},
			},
			Logging:    []string{"api", "audit"},
			Encryption: []EncryptionConfig{{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k", Resources: []string{"secrets"}}},
			Tags: map[string]string{
				"team": "platform", TagManagedBy: "cutover", TagMigration: "prod-to-1-30", TagCopiedFrom: "prod",
			},
			Access: AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
			AccessEntries: []AccessEntry{{
				PrincipalARN: "arn:aws:iam::123456789012:role/admins", Type: "STANDARD", KubernetesGroups: []string{"ops"},
				Policies: []AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", ScopeType: "namespace", Namespaces: []string{"shop"}}},
			}},
			Addons: []Addon{
				{Name: "coredns", ConfigurationValues: `{"replicaCount":3}`},
				{Name: "vpc-cni", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
			},
			NodeGroups: []NodeGroup{
				{
					Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-a"},
					InstanceTypes: []string{"m5.large"}, AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", DiskSize: 50,
					Scaling: Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"role": "general"},
					Taints:       []Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}},
					Tags:         map[string]string{"team": "platform", TagManagedBy: "cutover", TagMigration: "prod-to-1-30", TagCopiedFrom: "prod"},
					UpdateConfig: &UpdateConfig{MaxUnavailable: 1},
					Version:      "1.30",
				},
				{
					Name: "templated", NodeRoleARN: "arn:aws:iam::123456789012:role/nodes", SubnetIDs: []string{"subnet-b"},
					AMIType: "CUSTOM", LaunchTemplate: &LaunchTemplate{ID: "lt-1", Name: "tmpl", Version: "4"},
					Scaling: Scaling{Min: 1, Max: 1, Desired: 1},
					Tags:    map[string]string{TagManagedBy: "cutover", TagMigration: "prod-to-1-30", TagCopiedFrom: "prod"},
					Version: "1.30",
				},
			},
			Network:     &NetworkConfig{ServiceIPv4CIDR: "172.20.0.0/16", IPFamily: "ipv4"},
			SupportType: "STANDARD",
		},
	}
}

// copyPlan is the default plan of blue: blue copied as green at version,
// without what EKS decides (ARN, status, endpoint, health, deletion
// protection, add-on versions, AMI releases) and with cutover's tags in
// place of AWS's and an earlier migration's.
func copyPlan(blue ClusterDescription, migration, green, version string) GreenPlan {
	var g ClusterDescription
	b, err := json.Marshal(blue)
	if err == nil {
		err = json.Unmarshal(b, &g) // a deep copy
	}
	if err != nil {
		panic(err)
	}
	tags := func(src map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range src {
			if !strings.HasPrefix(strings.ToLower(k), "aws:") && !strings.HasPrefix(k, "cutover.dev/") {
				out[k] = v
			}
		}
		out[TagManagedBy], out[TagMigration], out[TagCopiedFrom] = "cutover", migration, blue.Name
		return out
	}
	g.Name, g.Version, g.Tags = green, version, tags(blue.Tags)
	g.ARN, g.Status, g.Endpoint, g.DeletionProtection, g.Health = "", "", "", false, nil
	for i := range g.Addons {
		g.Addons[i].Version = ""
	}
	for i := range g.NodeGroups {
		ng := &g.NodeGroups[i]
		ng.Version, ng.ReleaseVersion, ng.Status, ng.Tags = version, "", "", tags(ng.Tags)
	}
	return GreenPlan{Cluster: g, CopiedFrom: blue.Name}
}

func TestCopyPlanIsTheDefaultPlan(t *testing.T) {
	got := copyPlan(blueFixture(), "prod-to-1-30", "prod-1-30", "1.30")
	if want := greenPlanFixture(); !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("copyPlan differs from the default plan\n got: %s\nwant: %s", gj, wj)
	}
}
