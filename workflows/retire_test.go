package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/workflows"
)

// TestRetireLoadBalancersFailureIsReported: blue's load balancers that
// cannot be retired (here ELBv2 refuses) do not stop blue's deletion,
// which had started (traffic is on green); the report says so with an
// error and a warning finding.
func TestRetireLoadBalancersFailureIsReported(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	h.world.Errors = map[string]error{"RetireLoadBalancers": failures.New(failures.AccessDenied, "describe load balancers in eu-west-1: AccessDenied")}
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	names := h.world.Names()
	lb, del := slices.Index(names, "RetireLoadBalancers"), slices.Index(names, "RetireEKSCluster")
	if r.Outcome != workflows.OutcomeSucceeded || lb < 0 || del < lb {
		t.Fatalf("outcome %s, calls %v; want blue retired after the failed load balancer retire", r.Outcome, names)
	}
	if !slices.ContainsFunc(r.Errors, func(e string) bool { return strings.Contains(e, "retire blue's load balancers") && strings.Contains(e, "AccessDenied") }) {
		t.Errorf("report errors %q; want the load balancer retire's", r.Errors)
	}
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
		return f.Check == workflows.CheckRetireLoadBalancersFailed && f.Severity == finding.Warning && f.Cluster == "blue"
	}) {
		t.Errorf("findings %+v; want %s", r.Findings, workflows.CheckRetireLoadBalancersFailed)
	}
}
