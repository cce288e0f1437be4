package workflows_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

func inPlaceSpec(target string) spec.MigrationSpec {
	s := testSpec()
	s.Strategy, s.Green = spec.StrategyInPlace, spec.GreenSpec{KubernetesVersion: target}
	s.Traffic, s.Velero = spec.TrafficSpec{}, spec.VeleroSpec{}
	s.Jobs = spec.JobsSpec{}
	return s
}

// TestInPlaceDryRunPlansEachMinor: a dry run of an in-place upgrade from
// 1.29 to 1.31 plans two hops, each with the control plane, the add-ons
// and both node groups, builds nothing and asks no gate.
func TestInPlaceDryRunPlansEachMinor(t *testing.T) {
	h := newHarness(t)
	s := inPlaceSpec("1.31")
	s.DryRun = true
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != workflows.OutcomeDryRun || r.InPlace == nil || r.InPlace.From != "1.29" || r.InPlace.Target != "1.31" {
		t.Fatalf("report %+v", r)
	}
	want := []workflows.InPlaceHop{
		{Version: "1.30", ControlPlane: true, Addons: []string{"coredns", "vpc-cni"}, NodeGroups: []string{"batch", "general"}},
		{Version: "1.31", ControlPlane: true, Addons: []string{"coredns", "vpc-cni"}, NodeGroups: []string{"batch", "general"}},
	}
	if !reflect.DeepEqual(r.InPlace.Plan, want) {
		t.Errorf("plan %+v\nwant %+v", r.InPlace.Plan, want)
	}
	for _, name := range h.world.Names() {
		if name == "EnsureGreenCluster" || name == "SetTrafficWeights" || strings.HasPrefix(name, "Update") {
			t.Errorf("a dry run called %s", name)
		}
	}
}

// TestInPlaceRefusesAL2PastItsEnd: Amazon Linux 2 node groups have no
// release at 1.33 and cannot change AMI type in place: preflight blocks.
func TestInPlaceRefusesAL2PastItsEnd(t *testing.T) {
	h := newHarness(t)
	h.world.Blue.Version = "1.32"
	for i := range h.world.Blue.NodeGroups {
		h.world.Blue.NodeGroups[i].Version = "1.32"
	}
	_, err := h.run(inPlaceSpec("1.33"))
	typ, rep := failureReport(t, err)
	if typ != "PreflightBlocked" || !strings.Contains(err.Error(), workflows.CheckAMITypeInPlace) {
		t.Fatalf("type %s: %v", typ, err)
	}
	if rep.Outcome != workflows.OutcomeFailed {
		t.Errorf("outcome %s: an in-place upgrade never rolls back", rep.Outcome)
	}
}
