package workflows

import (
	"fmt"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/finding"
)

// CheckFargateNotCopied: blue has Fargate profiles, which cutover does not
// copy to green (and deletes with blue).
const CheckFargateNotCopied = "fargate-not-copied"

// uncopiedFindings says, in preflight, what of blue's EKS configuration
// cutover does not build on green, so it is a finding and not a surprise
// once blue is gone. Pure: from blue's description.
func uncopiedFindings(blue eks.ClusterDescription) []finding.Finding {
	var out []finding.Finding
	for _, p := range blue.FargateProfiles {
		out = append(out, finding.Finding{Check: CheckFargateNotCopied, Cluster: blue.Name, Object: "Fargate profile " + p, Severity: finding.Warning, Source: "eks",
			Message: fmt.Sprintf("Fargate profile %s is not copied to green, and is deleted with blue: pods it schedules will not run on green", p),
			Fix:     "Create the profile on green (same selectors, pod execution role, subnets) before the cutover gate, or move its pods to a node group."})
	}
	return out
}
