package workflows_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/workflows"
)

func TestPlanInPlace(t *testing.T) {
	ng := func(name, v string) workflows.InPlaceNodeGroupState {
		return workflows.InPlaceNodeGroupState{Name: name, Version: v}
	}
	addons := []workflows.InPlaceAddonState{{Name: "vpc-cni"}, {Name: "coredns"}}
	both := []string{"apps", "system"}
	for _, tt := range []struct {
		name    string
		o       workflows.InPlaceObserved
		target  string
		want    []workflows.InPlaceHop
		wantErr string
	}{
		{"two hops", workflows.InPlaceObserved{ControlPlane: "1.29", NodeGroups: []workflows.InPlaceNodeGroupState{ng("system", "1.29"), ng("apps", "1.29")}, Addons: addons}, "1.31",
			[]workflows.InPlaceHop{
				{Version: "1.30", ControlPlane: true, Addons: []string{"coredns", "vpc-cni"}, NodeGroups: both},
				{Version: "1.31", ControlPlane: true, Addons: []string{"coredns", "vpc-cni"}, NodeGroups: both},
			}, ""},
		{"resumed: the control plane moved, one node group did not", workflows.InPlaceObserved{ControlPlane: "1.30", NodeGroups: []workflows.InPlaceNodeGroupState{ng("system", "1.30"), ng("apps", "1.29")}}, "1.31",
			[]workflows.InPlaceHop{
				{Version: "1.30", Addons: []string{}, NodeGroups: []string{"apps"}},
				{Version: "1.31", ControlPlane: true, Addons: []string{}, NodeGroups: both},
			}, ""},
		{"at target, a node group behind", workflows.InPlaceObserved{ControlPlane: "1.31", NodeGroups: []workflows.InPlaceNodeGroupState{ng("apps", "1.30")}}, "1.31",
			[]workflows.InPlaceHop{{Version: "1.31", Addons: []string{}, NodeGroups: []string{"apps"}}}, ""},
		{"done", workflows.InPlaceObserved{ControlPlane: "1.31", NodeGroups: []workflows.InPlaceNodeGroupState{ng("apps", "1.31")}}, "1.31", nil, ""},
		{"no downgrade", workflows.InPlaceObserved{ControlPlane: "1.31"}, "1.30", nil, "cannot downgrade"},
		{"node group above the control plane", workflows.InPlaceObserved{ControlPlane: "1.29", NodeGroups: []workflows.InPlaceNodeGroupState{ng("apps", "1.30")}}, "1.30", nil, "above the control plane"},
		{"bad version", workflows.InPlaceObserved{ControlPlane: "latest"}, "1.30", nil, "not a Kubernetes minor version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := workflows.PlanInPlace(tt.o, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanInPlace = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
	if workflows.InPlaceSkew("1.29") != 3 || workflows.InPlaceSkew("1.27") != 2 {
		t.Errorf("skew")
	}
}
