package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// al2Insight is what EKS says about blue's AL2 node groups before 1.33.
var al2Insight = finding.Finding{Check: eks.CheckInsightPrefix + "amazon-linux-2-compatibility", Cluster: "blue", Severity: finding.Error,
	Message: "Managed node groups use Amazon Linux 2.", Source: eks.SourceInsight}

// TestAL2AtTargetIsRefusedInPreflight: blue's node groups are AL2 and the
// target is 1.33: by default the migration stops in preflight, before
// anything is built, with a finding that names the spec field.
func TestAL2AtTargetIsRefusedInPreflight(t *testing.T) {
	h := newHarness(t)
	h.world.InsightFindings = []finding.Finding{al2Insight}
	s := testSpec()
	s.Green.KubernetesVersion = "1.33"
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || !strings.Contains(r.Reason, "ami-type-unavailable") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
	var fixes []string
	for _, f := range r.Findings {
		if f.Check == "ami-type-unavailable" {
			if f.Severity != finding.Error {
				t.Errorf("finding %+v: want an error", f)
			}
			fixes = append(fixes, f.Fix)
		}
	}
	if len(fixes) == 0 || !strings.Contains(fixes[0], "green.nodeGroups.amiTypeUpgrade") {
		t.Errorf("fixes %q: want the spec field named", fixes)
	}
	if slices.Contains(h.world.Names(), "EnsureGreenCluster") {
		t.Errorf("built green after a refusal: %v", h.world.Names())
	}
}

// TestAL2MovesToSuccessor: with amiTypeUpgrade "successor" green's node
// groups are created on AL2023, EKS's AL2 insight does not block, and the
// migration completes.
func TestAL2MovesToSuccessor(t *testing.T) {
	h := newHarness(t)
	h.world.InsightFindings = []finding.Finding{al2Insight}
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
	s := testSpec()
	s.Green.KubernetesVersion = "1.33"
	s.Green.NodeGroups.AMITypeUpgrade = spec.AMITypeUpgradeSuccessor
	r, err := h.run(s)
	if err != nil || r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %v, %v", r, err)
	}
	in := h.world.Inputs("EnsureNodeGroups")
	if len(in) == 0 {
		t.Fatal("no node groups built")
	}
	for _, ng := range in[0].(eks.EnsureNodeGroupsInput).NodeGroups {
		if ng.AMIType != "AL2023_x86_64_STANDARD" {
			t.Errorf("green's node group %s on %s, want AL2023_x86_64_STANDARD", ng.Name, ng.AMIType)
		}
	}
	for _, f := range r.Findings {
		if (f.Check == "ami-type-unavailable" || f.Check == al2Insight.Check) && f.Severity != finding.Info {
			t.Errorf("finding %+v: want info", f)
		}
	}
}
