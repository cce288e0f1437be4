package workflows

import (
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
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
