package workflows_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
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

// TestInPlaceTwoHops: 1.29 to 1.31 in place. Each control-plane update
// waits for its gate; per hop the control plane, both add-ons and both
// node groups move (maxUnavailable from the spec), the nodes are verified
// at the hop's version, and the report lists every step (an add-on at
// the version it got). Nothing of
// blue/green (no green, no traffic) is touched.
func TestInPlaceTwoHops(t *testing.T) {
	h := newHarness(t)
	s := inPlaceSpec("1.31")
	s.InPlace.MaxUnavailable = 1
	s.Approvals.ControlPlane.Approvers = []string{"alice"}
	h.decideWhenOpen(workflows.Decision{Gate: "control-plane-1.30", Approve: true, By: "alice"}, workflows.Decision{Gate: "control-plane-1.31", Approve: true, By: "alice"})
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != workflows.OutcomeSucceeded || h.world.Blue.Version != "1.31" {
		t.Fatalf("outcome %s, control plane %s", r.Outcome, h.world.Blue.Version)
	}
	for _, ng := range h.world.Blue.NodeGroups {
		if ng.Version != "1.31" {
			t.Errorf("node group %s at %s", ng.Name, ng.Version)
		}
	}
	var order []string
	for _, st := range r.InPlace.Steps {
		order = append(order, st.Kind+":"+st.Name+"@"+st.To)
	}
	want := []string{
		"control-plane:blue@1.30", "addon:coredns@v-for-1.30-eksbuild.1", "addon:vpc-cni@v-for-1.30-eksbuild.1", "nodegroup:batch@1.30", "nodegroup:general@1.30", "verify:blue@1.30",
		"control-plane:blue@1.31", "addon:coredns@v-for-1.31-eksbuild.1", "addon:vpc-cni@v-for-1.31-eksbuild.1", "nodegroup:batch@1.31", "nodegroup:general@1.31", "verify:blue@1.31",
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("steps %v\nwant %v", order, want)
	}
	if len(r.Approvals) != 2 || r.Approvals[0].Gate != "control-plane-1.30" || r.Approvals[1].Gate != "control-plane-1.31" {
		t.Errorf("approvals %+v", r.Approvals)
	}
	for _, in := range h.world.Inputs("UpdateNodegroup") {
		if u := in.(eks.UpdateNodegroupInput); u.UpdateConfig == nil || u.UpdateConfig.MaxUnavailable != 1 || u.Force {
			t.Errorf("node group update %+v: want maxUnavailable 1, no force", u)
		}
	}
	for _, name := range []string{"EnsureGreenCluster", "SetTrafficWeights", "RetireEKSCluster"} {
		if len(h.world.Inputs(name)) != 0 {
			t.Errorf("an in-place upgrade called %s", name)
		}
	}
}

// TestInPlaceStallsOnAPodDisruptionBudget: a node group whose update EKS
// stops on pods it cannot evict fails the run naming the budget, stops
// forward (no rollback) and reports what is at which version.
func TestInPlaceStallsOnAPodDisruptionBudget(t *testing.T) {
	h := newHarness(t)
	h.world.BlockNodegroupEviction("general", "shop/web-pdb")
	s := inPlaceSpec("1.30")
	h.decideWhenOpen(workflows.Decision{Gate: "control-plane-1.30", Approve: true, By: "alice"})
	_, err := h.run(s)
	typ, rep := failureReport(t, err)
	if typ != eks.PodEvictionBlocked || !strings.Contains(err.Error(), "shop/web-pdb") || !strings.Contains(err.Error(), "inPlace.force") {
		t.Fatalf("type %s: %v", typ, err)
	}
	// The budgets are read from the cluster too, with the pods they hold.
	if in := h.world.Inputs("BlockingPDBs"); len(in) != 1 || in[0].(kube.BlockingPDBsInput).Nodegroup != "general" || in[0].(kube.BlockingPDBsInput).Cluster.Name != "blue" {
		t.Errorf("BlockingPDBs inputs %+v", in)
	}
	if !strings.Contains(err.Error(), "shop/web-pdb-pod-0") {
		t.Errorf("error %v does not name the budget's pods read from the cluster", err)
	}
	if rep.Outcome != workflows.OutcomeFailed || rep.InPlace == nil || rep.InPlace.Now == nil {
		t.Fatalf("report %+v", rep)
	}
	now := map[string]string{}
	for _, ng := range rep.InPlace.Now.NodeGroups {
		now[ng.Name] = ng.Version
	}
	if rep.InPlace.Now.ControlPlane != "1.30" || now["batch"] != "1.30" || now["general"] != "1.29" || !strings.Contains(err.Error(), "general 1.29") {
		t.Errorf("now %+v (%v): want the control plane and batch at 1.30, general at 1.29", rep.InPlace.Now, err)
	}
}
