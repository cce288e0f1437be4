package workflows_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/temporal"
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

// TestInPlaceFailureAfterTheFirstHopStops: the second control-plane
// update fails after the first hop finished; the run stops forward (no
// rollback is attempted: EKS cannot downgrade a control plane) and its
// report says the cluster is at 1.30, control plane and node groups.
func TestInPlaceFailureAfterTheFirstHopStops(t *testing.T) {
	h := newHarness(t)
	h.world.FailWhen = func(name string, in any) error {
		if u, ok := in.(eks.UpdateClusterVersionInput); ok && name == "UpdateClusterVersion" && u.Version == "1.31" {
			return temporal.NewNonRetryableApplicationError("VersionUpdate update 7 of cluster blue is Failed: ClusterUnreachable", eks.UpdateFailed, nil)
		}
		return nil
	}
	s := inPlaceSpec("1.31")
	h.decideWhenOpen(workflows.Decision{Gate: "control-plane-1.30", Approve: true, By: "alice"}, workflows.Decision{Gate: "control-plane-1.31", Approve: true, By: "alice"})
	_, err := h.run(s)
	typ, rep := failureReport(t, err)
	if typ != eks.UpdateFailed || !strings.Contains(err.Error(), "control plane 1.30") {
		t.Fatalf("type %s: %v", typ, err)
	}
	if rep.InPlace == nil || rep.InPlace.Now == nil || rep.InPlace.Now.ControlPlane != "1.30" {
		t.Fatalf("report %+v", rep.InPlace)
	}
	for _, ng := range rep.InPlace.Now.NodeGroups {
		if ng.Version != "1.30" {
			t.Errorf("node group %s at %s, want 1.30", ng.Name, ng.Version)
		}
	}
	var got []string
	for _, st := range rep.InPlace.Steps {
		if st.Kind == "control-plane" {
			got = append(got, st.To+":"+st.Status)
		}
	}
	if !reflect.DeepEqual(got, []string{"1.30:succeeded", "1.31:failed"}) {
		t.Errorf("control-plane steps %v", got)
	}
	for _, in := range h.world.Inputs("UpdateClusterVersion") {
		if v := in.(eks.UpdateClusterVersionInput).Version; v != "1.30" && v != "1.31" {
			t.Errorf("control plane asked to go to %s: nothing is rolled back", v)
		}
	}
	if n := len(h.world.Inputs("UpdateNodegroup")); n != 2 {
		t.Errorf("%d node group updates, want the first hop's 2 only", n)
	}
}

// TestInPlaceNodeGroupOnItsOwnLaunchTemplate: a node group whose launch
// template pins an AMI moves by a new version of its template per hop
// (checked in preflight, made before each update), never by a Kubernetes
// version, which EKS refuses for a custom AMI.
func TestInPlaceNodeGroupOnItsOwnLaunchTemplate(t *testing.T) {
	h := newHarness(t)
	h.world.PinnedLaunchTemplates = true
	h.world.Blue.NodeGroups[0].AMIType = "CUSTOM"
	h.world.Blue.NodeGroups[0].LaunchTemplate = &eks.LaunchTemplate{ID: "lt-0abc", Version: "1"}
	s := inPlaceSpec("1.31")
	h.decideWhenOpen(workflows.Decision{Gate: "control-plane-1.30", Approve: true, By: "alice"}, workflows.Decision{Gate: "control-plane-1.31", Approve: true, By: "alice"})
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %s", r.Outcome)
	}
	if plan := h.world.Inputs("PlanGreenLaunchTemplates"); len(plan) != 1 || plan[0].(eks.PlanLaunchTemplatesInput).TargetVersion != "1.31" {
		t.Errorf("preflight launch-template checks %+v", plan)
	}
	var prepared []string
	for _, in := range h.world.Inputs("PrepareInPlaceLaunchTemplate") {
		p := in.(eks.InPlaceLaunchTemplateInput)
		prepared = append(prepared, p.Nodegroup+"@"+p.Version)
		if p.Migration != s.Name {
			t.Errorf("launch template prepared for migration %q, want %q", p.Migration, s.Name)
		}
	}
	if !reflect.DeepEqual(prepared, []string{"general@1.30", "general@1.31"}) {
		t.Errorf("prepared %v", prepared)
	}
	var general []string
	for _, in := range h.world.Inputs("UpdateNodegroup") {
		u := in.(eks.UpdateNodegroupInput)
		if u.Nodegroup != "general" {
			continue
		}
		if u.LaunchTemplate == nil || u.Version != "" {
			t.Errorf("update %+v: want a launch template version and no Kubernetes version", u)
			continue
		}
		general = append(general, u.LaunchTemplate.Version)
	}
	if !reflect.DeepEqual(general, []string{"2", "3"}) {
		t.Errorf("general moved to launch template versions %v, want 2 then 3", general)
	}
	for _, st := range r.InPlace.Steps {
		if st.Kind == "nodegroup" && st.Name == "general" && !strings.Contains(st.Detail, "launch template lt-0abc version") {
			t.Errorf("step %+v does not say which launch template version", st)
		}
	}
}

// TestInPlaceRollsNodeGroupsBackToTheirLaunchTemplate: smoke tests that
// fail after a hop put the node groups the hop moved to a new version of
// their own launch template back on the version they ran before, with
// inPlace.rollbackNodeGroups; node groups on an EKS AMI release and the
// control plane stay where they are, and the run fails with the smoke
// tests' reason. Without the option nothing is rolled back.
func TestInPlaceRollsNodeGroupsBackToTheirLaunchTemplate(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run(fmt.Sprintf("rollbackNodeGroups=%v", rollback), func(t *testing.T) {
			h := newHarness(t)
			h.world.PinnedLaunchTemplates = true
			h.world.SmokeFails = "checkout answered 503"
			h.world.Blue.NodeGroups[0].AMIType = "CUSTOM"
			h.world.Blue.NodeGroups[0].LaunchTemplate = &eks.LaunchTemplate{ID: "lt-0abc", Version: "1"}
			s := inPlaceSpec("1.30")
			s.InPlace.RollbackNodeGroups = rollback
			h.decideWhenOpen(workflows.Decision{Gate: "control-plane-1.30", Approve: true, By: "alice"})
			_, err := h.run(s)
			typ, rep := failureReport(t, err)
			if typ != failures.SmokeFailed || !strings.Contains(err.Error(), "checkout answered 503") {
				t.Fatalf("type %s: %v", typ, err)
			}
			var versions []string
			for _, in := range h.world.Inputs("UpdateNodegroup") {
				if u := in.(eks.UpdateNodegroupInput); u.Nodegroup == "general" {
					versions = append(versions, u.LaunchTemplate.Version)
				}
			}
			var general *eks.NodeGroup
			for i := range h.world.Blue.NodeGroups {
				if h.world.Blue.NodeGroups[i].Name == "general" {
					general = &h.world.Blue.NodeGroups[i]
				}
			}
			var rolled []workflows.InPlaceStep
			for _, st := range rep.InPlace.Steps {
				if st.Kind == "nodegroup-rollback" {
					rolled = append(rolled, st)
				}
			}
			if !rollback {
				if !reflect.DeepEqual(versions, []string{"2"}) || len(rolled) != 0 || general.LaunchTemplate.Version != "2" {
					t.Fatalf("without the option: updates to %v, rollback steps %+v, general on %s", versions, rolled, general.LaunchTemplate.Version)
				}
				return
			}
			if !reflect.DeepEqual(versions, []string{"2", "1"}) {
				t.Errorf("general moved to launch template versions %v, want 2 then back to 1", versions)
			}
			if len(rolled) != 1 || rolled[0].Name != "general" || rolled[0].Status != "succeeded" || !strings.Contains(rolled[0].Detail, "version 1") {
				t.Errorf("rollback steps %+v", rolled)
			}
			if general.LaunchTemplate.Version != "1" {
				t.Errorf("general on launch template version %s, want 1", general.LaunchTemplate.Version)
			}
			if h.world.Blue.Version != "1.30" || rep.InPlace.Now == nil || rep.InPlace.Now.ControlPlane != "1.30" {
				t.Errorf("control plane %s (report %+v): a control plane stays where it is", h.world.Blue.Version, rep.InPlace.Now)
			}
			for _, in := range h.world.Inputs("UpdateNodegroup") {
				if u := in.(eks.UpdateNodegroupInput); u.Nodegroup == "batch" && u.LaunchTemplate != nil {
					t.Errorf("batch (an EKS AMI release) was rolled back: %+v", u)
				}
			}
		})
	}
}

// TestSubnetsNearlyFullBlockPreflight: a control-plane subnet with too few
// free addresses blocks both strategies in preflight, before any gate or
// update, naming the subnet; the in-place check counts the rolling
// update's surge (twice the node group's subnets at least).
func TestSubnetsNearlyFullBlockPreflight(t *testing.T) {
	for _, s := range []spec.MigrationSpec{testSpec(), inPlaceSpec("1.30")} {
		t.Run(s.Strategy, func(t *testing.T) {
			h := newHarness(t)
			h.world.SubnetsFull = map[string]bool{"subnet-1a2b3c4d": true}
			s.Preflight.BlockOn = "error"
			_, err := h.run(s)
			typ, _ := failureReport(t, err)
			if typ != "PreflightBlocked" || !strings.Contains(err.Error(), eks.CheckSubnetControlPlaneIPs) || !strings.Contains(err.Error(), "subnet-1a2b3c4d") {
				t.Fatalf("type %s: %v", typ, err)
			}
			for _, name := range h.world.Names() {
				if strings.HasPrefix(name, "Update") || name == "EnsureGreenCluster" {
					t.Errorf("%s ran after a blocking preflight", name)
				}
			}
			in := h.world.Inputs("CheckSubnetCapacity")[0].(eks.SubnetCapacityInput)
			nodes := map[string]int32{}
			for _, d := range in.NodeGroups {
				nodes[d.Nodegroup] = d.Nodes
			}
			want := map[string]int32{"general": 3, "batch": 1} // green's copies
			if s.IsInPlace() {
				want = map[string]int32{"general": 2, "batch": 2} // the surge: two per subnet
			}
			if !reflect.DeepEqual(nodes, want) || !reflect.DeepEqual(in.ControlPlaneSubnets, []string{"subnet-0a1b2c3d", "subnet-1a2b3c4d"}) {
				t.Errorf("demand %v on %v, want %v", nodes, in.ControlPlaneSubnets, want)
			}
		})
	}
}

// TestUnhealthyAddonBlocksPreflight: an add-on EKS reports DEGRADED blocks
// both strategies in preflight, naming it and its issue.
func TestUnhealthyAddonBlocksPreflight(t *testing.T) {
	for _, s := range []spec.MigrationSpec{testSpec(), inPlaceSpec("1.30")} {
		t.Run(s.Strategy, func(t *testing.T) {
			h := newHarness(t)
			h.world.Blue.AddonHealth = map[string]string{"vpc-cni": "DEGRADED: AccessDenied: the role cannot be assumed"}
			s.Preflight.BlockOn = "error"
			_, err := h.run(s)
			typ, _ := failureReport(t, err)
			if typ != "PreflightBlocked" || !strings.Contains(err.Error(), workflows.CheckAddonHealth) || !strings.Contains(err.Error(), "AccessDenied") {
				t.Fatalf("type %s: %v", typ, err)
			}
		})
	}
}
