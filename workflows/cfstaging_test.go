package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

func stagingSpec() spec.MigrationSpec {
	s := testSpec()
	s.Traffic.Provider, s.Traffic.Route53 = spec.ProviderCloudFront, nil
	s.Traffic.CloudFront = &spec.CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "blue", GreenOriginID: "green", Mode: spec.CloudFrontModeContinuous}
	s.Traffic.Steps = []int{5, 15, 100}
	return s
}

// TestCloudFrontContinuousDeployment: 5 % and 15 % go through the staging
// distribution's policy, each baked; 100 promotes and cleans up, before
// blue is retired; no origin switch on the primary.
func TestCloudFrontContinuousDeployment(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	r, err := h.run(stagingSpec())
	if err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	order := []string{"EnsureStaging", "SetStagingWeight", "PromoteStaging", "CleanupStaging", "RetireEKSCluster"}
	for i := 1; i < len(order); i++ {
		if a, b := slices.Index(names, order[i-1]), slices.Index(names, order[i]); a < 0 || a > b {
			t.Fatalf("calls %v: want %v in that order", names, order)
		}
	}
	if in := h.world.Inputs("EnsureStaging"); len(in) != 1 || in[0].(traffic.StartStagingInput).Weight != 5 {
		t.Errorf("EnsureStaging inputs %v", in)
	}
	if in := h.world.Inputs("SetStagingWeight"); len(in) != 1 || in[0].(traffic.StagingWeightInput).Weight != 15 {
		t.Errorf("SetStagingWeight inputs %v", in)
	}
	if len(h.world.Inputs("SetTrafficWeights")) != 0 {
		t.Errorf("the primary's origin was switched: %v", h.world.Inputs("SetTrafficWeights"))
	}
	if st := h.world.CloudFrontStaging(); !st.Promoted || st.Staging || st.Policy {
		t.Errorf("after the migration: %+v; want promoted, staging and policy deleted", st)
	}
	var steps []int
	for _, e := range r.TrafficHistory {
		steps = append(steps, e.Green)
	}
	if !slices.Equal(steps, []int{5, 15, 100}) || r.CloudFrontStaging == nil || r.CloudFrontStaging.StagingID == "" {
		t.Errorf("traffic history %v, staging %+v", steps, r.CloudFrontStaging)
	}
	if r.Retire == nil || !slices.ContainsFunc(r.Retire.Kept, func(k string) bool {
		return strings.Contains(k, "CloudFront origin blue of distribution E2QWRUHAPOMQZL: kept")
	}) {
		t.Errorf("retire %+v: want blue's origin listed kept", r.Retire)
	}
}

// TestCloudFrontStagingRollback: an alarm at 15 % detaches the policy
// (every request back on the primary, on blue) and removes the staging
// distribution; nothing is promoted.
func TestCloudFrontStagingRollback(t *testing.T) {
	h := newHarness(t)
	h.world.UnhealthyAtGreen = 15
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	_, err := h.run(stagingSpec())
	if typ, _ := failureReport(t, err); typ != failures.RolledBack {
		t.Fatalf("type %q: %v", typ, err)
	}
	if st := h.world.CloudFrontStaging(); st.Promoted || st.Attached || st.Staging || st.Policy {
		t.Errorf("after the rollback: %+v; want detached, deleted, never promoted", st)
	}
	if got := h.world.Weights(); got.Blue != 100 {
		t.Errorf("traffic %+v; want all on blue", got)
	}
	names := h.world.Names()
	if slices.Contains(names, "PromoteStaging") || slices.Index(names, "DetachStaging") > slices.Index(names, "CleanupStaging") || !slices.Contains(names, "DetachStaging") {
		t.Errorf("calls %v: want DetachStaging then CleanupStaging, no promotion", names)
	}
}
