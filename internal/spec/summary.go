package spec

import (
	"fmt"
	"strings"
)

// Summary is the run's one-line static summary in the Temporal UI (the
// User Metadata tab's Summary), set by `cutover start`.
func (s *MigrationSpec) Summary() string {
	if s.IsInPlace() {
		return fmt.Sprintf("In-place upgrade %s: %s to Kubernetes %s", s.Name, s.Blue.ClusterName, s.Green.KubernetesVersion)
	}
	return fmt.Sprintf("Blue/green migration %s: %s → %s at Kubernetes %s", s.Name, s.Blue.ClusterName, s.Green.ClusterName, s.Green.KubernetesVersion)
}

// Details is the run's static details (Markdown): where it goes, how
// traffic moves and who decides.
func (s *MigrationSpec) Details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Blue `%s` (%s)", s.Blue.ClusterName, s.Blue.Region)
	if !s.IsInPlace() {
		fmt.Fprintf(&b, ", green `%s`", s.Green.ClusterName)
	}
	fmt.Fprintf(&b, ", Kubernetes %s.  \n", s.Green.KubernetesVersion)
	if s.Traffic.Provider != "" && !s.IsInPlace() {
		fmt.Fprintf(&b, "Traffic: %s, steps %v.  \n", s.Traffic.Provider, s.Traffic.Steps)
	}
	if len(s.Approvals.Cutover.Approvers) > 0 {
		fmt.Fprintf(&b, "Approvers: %s.  \n", strings.Join(s.Approvals.Cutover.Approvers, ", "))
	}
	fmt.Fprintf(&b, "Status: `cutover status %s`", s.WorkflowID())
	return b.String()
}
