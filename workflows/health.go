package workflows

import (
	"fmt"
	"sort"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Preflight checks of blue's EKS health (eksup's EKS004 and EKS005).
const (
	// CheckNodeGroupHealth: a managed node group reports health issues or
	// is neither ACTIVE nor UPDATING; its copy on green, or its rolling
	// update in place, starts from a broken group.
	CheckNodeGroupHealth = "nodegroup-health"
	// CheckAddonHealth: an add-on is not ACTIVE or reports health issues;
	// green gets the same configuration, and an in-place update of it
	// fails the same way.
	CheckAddonHealth = "addon-health"
)

// healthFindings reports blue's unhealthy node groups and add-ons, as
// EKS describes them. Pure: from blue's description.
func healthFindings(blue eks.ClusterDescription) []finding.Finding {
	var out []finding.Finding
	for _, name := range sortedKeys(blue.NodeGroupHealth) {
		out = append(out, finding.Finding{Check: CheckNodeGroupHealth, Cluster: blue.Name, Object: "nodegroup/" + name, Severity: finding.Error, Source: "eks",
			Message: fmt.Sprintf("node group %s is unhealthy: %s", name, blue.NodeGroupHealth[name]),
			Fix:     "Fix the node group's health issues first (EKS's health issues name the cause and the resources), then start again."})
	}
	for _, name := range sortedKeys(blue.AddonHealth) {
		out = append(out, finding.Finding{Check: CheckAddonHealth, Cluster: blue.Name, Object: "addon/" + name, Severity: finding.Error, Source: "eks",
			Message: fmt.Sprintf("add-on %s is %s", name, blue.AddonHealth[name]),
			Fix:     "Fix the add-on (its service account role, its configuration values, conflicts with self-managed resources) until EKS reports it ACTIVE, then start again."})
	}
	return out
}

// sortedKeys is m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	//workflowcheck:ignore the keys are sorted before use
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// addonNames are the names of the cluster's EKS add-ons, as described.
// addonVersions are blue's installed add-on versions by name.
func addonVersions(d eks.ClusterDescription) map[string]string {
	out := map[string]string{}
	for _, a := range d.Addons {
		if a.Version != "" {
			out[a.Name] = a.Version
		}
	}
	return out
}

// hasAddon says whether blue runs name as an EKS add-on.
func hasAddon(d eks.ClusterDescription, name string) bool {
	for _, a := range d.Addons {
		if a.Name == name {
			return true
		}
	}
	return false
}

// firstHop is the version an in-place upgrade of blue's control plane
// goes to first (one minor above it), "" when that is the target itself
// or a version does not parse.
func firstHop(blueVersion, target string) string {
	cur, ok := spec.MinorVersion(blueVersion)
	t, ok2 := spec.MinorVersion(target)
	if !ok || !ok2 || cur+1 >= t {
		return ""
	}
	return fmt.Sprintf("1.%d", cur+1)
}

// cniFindings compares a self-managed aws-node (PreflightBlue's CNI, when
// blue has no vpc-cni EKS add-on) with the VPC CNI versions EKS publishes
// for the target.
func cniFindings(blue eks.ClusterDescription, cni *kube.CNIImage, insights eks.InsightsResult, target string, inPlace bool) []finding.Finding {
	if cni == nil || hasAddon(blue, eks.VPCCNIAddon) {
		return nil
	}
	return eks.SelfManagedCNIFindings(blue.Name, cni.Image, cni.Version, insights.VPCCNI, insights.VPCCNIDefault, target, inPlace)
}

func addonNames(d eks.ClusterDescription) []string {
	out := make([]string, 0, len(d.Addons))
	for _, a := range d.Addons {
		out = append(out, a.Name)
	}
	return out
}
