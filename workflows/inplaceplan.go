package workflows

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/cutover-dev/cutover/internal/spec"
)

// In-place upgrades go one minor version at a time (EKS refuses to skip
// one): for each hop the control plane, then the add-ons at the newest
// version compatible with that minor, then every managed node group.
// PlanInPlace is a pure function of what is observed, so a run resumed
// after a failure (or a retry of the whole workflow) plans again from
// where the cluster is and never repeats a finished step.

// InPlaceObserved is the cluster as it is now.
type InPlaceObserved struct {
	ControlPlane string                  `json:"controlPlane"`
	NodeGroups   []InPlaceNodeGroupState `json:"nodeGroups"`
	Addons       []InPlaceAddonState     `json:"addons"`
}

// InPlaceNodeGroupState is one managed node group.
type InPlaceNodeGroupState struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	AMIType string `json:"amiType,omitempty"`
	// CustomAMI: a launch template with its own image, which EKS cannot
	// move to another release (the template needs a new version).
	CustomAMI bool `json:"customAmi,omitempty"`
}

// InPlaceAddonState is one EKS add-on.
type InPlaceAddonState struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// InPlaceHop is one minor version of the way.
type InPlaceHop struct {
	Version string `json:"version"`
	// ControlPlane is true when the control plane still has to move to Version.
	ControlPlane bool `json:"controlPlane"`
	// Addons are updated to the newest version compatible with Version.
	Addons []string `json:"addons"`
	// NodeGroups are below Version and move to it, in name order.
	NodeGroups []string `json:"nodeGroups"`
}

// InPlaceSkew is how many minor versions a node group may be behind the
// control plane before EKS refuses the next control-plane update (the
// Kubernetes version skew policy EKS applies: 3 from 1.28 on, else 2).
func InPlaceSkew(controlPlane string) int {
	if m, ok := spec.MinorVersion(controlPlane); ok && m >= 28 {
		return 3
	}
	return 2
}

// PlanInPlace plans the hops from what is observed to target. It refuses
// a target below the control plane (EKS cannot downgrade) and a node
// group at an unparseable version; a cluster already at target with
// every node group there is an empty plan.
func PlanInPlace(o InPlaceObserved, target string) ([]InPlaceHop, error) {
	cp, ok := spec.MinorVersion(o.ControlPlane)
	if !ok {
		return nil, fmt.Errorf("the control plane's version %q is not a Kubernetes minor version", o.ControlPlane)
	}
	t, ok := spec.MinorVersion(target)
	if !ok {
		return nil, fmt.Errorf("the target %q is not a Kubernetes minor version", target)
	}
	if t < cp {
		return nil, fmt.Errorf("the control plane is at %s, above the target %s: EKS cannot downgrade a control plane", o.ControlPlane, target)
	}
	groups := append([]InPlaceNodeGroupState(nil), o.NodeGroups...)
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	minors := make([]int, len(groups))
	for i, g := range groups {
		m, ok := spec.MinorVersion(g.Version)
		if !ok {
			return nil, fmt.Errorf("node group %s is at %q, not a Kubernetes minor version", g.Name, g.Version)
		}
		if m > cp {
			return nil, fmt.Errorf("node group %s is at %s, above the control plane's %s", g.Name, g.Version, o.ControlPlane)
		}
		minors[i] = m
	}
	addons := make([]string, 0, len(o.Addons))
	for _, a := range o.Addons {
		addons = append(addons, a.Name)
	}
	sort.Strings(addons)

	var hops []InPlaceHop
	// The node groups behind the control plane catch up first: a
	// resumed run whose control plane moved but whose node groups did not.
	if behind := groupsBelow(groups, minors, cp); len(behind) > 0 {
		hops = append(hops, InPlaceHop{Version: o.ControlPlane, Addons: addons, NodeGroups: behind})
		for i := range minors {
			minors[i] = max(minors[i], cp)
		}
	}
	for v := cp + 1; v <= t; v++ {
		version := "1." + strconv.Itoa(v)
		hops = append(hops, InPlaceHop{Version: version, ControlPlane: true, Addons: addons, NodeGroups: groupsBelow(groups, minors, v)})
		for i := range minors {
			minors[i] = v
		}
	}
	return hops, nil
}

func groupsBelow(groups []InPlaceNodeGroupState, minors []int, v int) []string {
	out := []string{}
	for i, g := range groups {
		if minors[i] < v {
			out = append(out, g.Name)
		}
	}
	return out
}

// ControlPlaneGateName is the gate before the control plane moves to version.
func ControlPlaneGateName(version string) string { return "control-plane-" + version }
