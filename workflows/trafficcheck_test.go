package workflows_test

import (
	"slices"
	"testing"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// TestTrafficPrerequisitesBlockBeforeBuild: a record that does not exist
// is found in preflight, with its field path, and nothing is built.
func TestTrafficPrerequisitesBlockBeforeBuild(t *testing.T) {
	h := newHarness(t)
	h.world.SetTrafficFindings([]finding.Finding{{Check: "traffic-record-missing", Severity: finding.Error, Source: "traffic",
		Object: "record shop.example.com", Message: "traffic.route53.recordName: no CNAME record shop.example.com with set identifier blue", Fix: "create it"}})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Check == "traffic-record-missing" }) {
		t.Fatalf("type %q findings %+v", typ, r.Findings)
	}
	if slices.Contains(h.world.Names(), "EnsureGreenCluster") {
		t.Errorf("calls %v: green built although the traffic record is missing", h.world.Names())
	}
}
