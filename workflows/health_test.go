package workflows

import (
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/finding"
)

func TestHealthFindings(t *testing.T) {
	tests := []struct {
		name string
		blue eks.ClusterDescription
		want []string
	}{
		{"healthy", eks.ClusterDescription{Name: "blue"}, nil},
		{"a degraded add-on and a node group with issues", eks.ClusterDescription{Name: "blue",
			AddonHealth:     map[string]string{"vpc-cni": "DEGRADED: AccessDenied: the role cannot be assumed"},
			NodeGroupHealth: map[string]string{"general": "DEGRADED: Ec2LaunchTemplateNotFound: lt-0abc", "batch": "CREATE_FAILED"}},
			[]string{"nodegroup-health nodegroup/batch", "nodegroup-health nodegroup/general", "addon-health addon/vpc-cni"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range healthFindings(tc.blue) {
				got = append(got, f.Check+" "+f.Object)
				if f.Severity != "error" || f.Fix == "" || f.Cluster != "blue" {
					t.Errorf("finding %+v", f)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCNIFindings: a self-managed aws-node is compared with the VPC CNI
// versions EKS publishes for the target; the vpc-cni EKS add-on is checked
// by EKSUpgradeInsights instead, and another CNI has nothing to compare.
func TestCNIFindings(t *testing.T) {
	old := &kube.CNIImage{Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.12.6-eksbuild.2", Version: "v1.12.6-eksbuild.2"}
	insights := eks.InsightsResult{VPCCNI: []string{"v1.18.6-eksbuild.1", "v1.18.3-eksbuild.3"}, VPCCNIDefault: "v1.18.6-eksbuild.1"}
	selfManaged := eks.ClusterDescription{Name: "blue", Addons: []eks.Addon{{Name: "coredns"}}}
	withAddon := eks.ClusterDescription{Name: "blue", Addons: []eks.Addon{{Name: "vpc-cni", Version: "v1.12.6-eksbuild.2"}}}
	for _, tt := range []struct {
		name    string
		blue    eks.ClusterDescription
		cni     *kube.CNIImage
		inPlace bool
		want    finding.Severity
	}{
		{"self-managed, in place", selfManaged, old, true, finding.Error},
		{"self-managed, blue/green", selfManaged, old, false, finding.Info},
		{"the EKS add-on", withAddon, old, true, ""},
		{"another CNI", selfManaged, nil, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := cniFindings(tt.blue, tt.cni, insights, "1.30", tt.inPlace)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("%+v; want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.want || got[0].Check != eks.CheckAddonVersionSkew || got[0].Cluster != "blue" {
				t.Errorf("%+v; want one %s", got, tt.want)
			}
		})
	}
}
