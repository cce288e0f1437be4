package workflows_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"context"
	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

func testSpec() spec.MigrationSpec {
	yes := true
	return spec.MigrationSpec{
		Name:   "shop-prod",
		Blue:   spec.BlueSpec{ClusterName: "blue", Region: "eu-west-1"},
		Green:  spec.GreenSpec{ClusterName: "green", KubernetesVersion: "1.31"},
		Velero: spec.VeleroSpec{Enabled: true, IncludedNamespaces: []string{"shop"}},
		Smoke:  spec.SmokeSpec{HTTP: []spec.HTTPProbe{{Name: "checkout", URL: "https://green-ingress.example.com/healthz", Host: "shop.example.com"}}},
		Traffic: spec.TrafficSpec{
			Provider: spec.ProviderRoute53,
			Route53:  &spec.Route53Spec{HostedZoneID: "Z0123456789ABC", RecordName: "shop.example.com", GreenTarget: "green-lb.elb.amazonaws.com"},
			Steps:    []int{10, 50, 100},
			BakeTime: spec.Duration(10 * time.Minute),
			Alarms:   []string{"shop-5xx-rate"},
		},
		Approvals: spec.ApprovalsSpec{
			Cutover: spec.GateSpec{Approvers: []string{"alice", "bob"}, Timeout: spec.Duration(4 * time.Hour)},
			Retire:  spec.GateSpec{Enabled: &yes, Approvers: []string{"alice"}, Timeout: spec.Duration(4 * time.Hour)},
		},
		Retire: spec.RetireSpec{Soak: spec.Duration(time.Hour)},
	}
}

// testWorkerOptions: the test environment's deadlock detector (1 s by
// default) measures wall time, which a loaded CI machine stretches; a
// workflow that really blocks still fails after 30 s.
var testWorkerOptions = worker.Options{DeadlockDetectionTimeout: 30 * time.Second}

// testEnvTimeout replaces the test environment's 3 s of wall time it waits
// for anything to happen before panicking with "test timeout": on a loaded
// CI machine (kube-apiservers, etcd and moto of other packages beside it) a
// fake activity's goroutine can wait longer than that for a core.
const testEnvTimeout = 2 * time.Minute

// newTestEnv is a test workflow environment with both allowances.
func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(testWorkerOptions)
	env.SetTestTimeout(testEnvTimeout)
	return env
}

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	world *fakeworld.World
}

func newHarness(t *testing.T) *harness {
	env := newTestEnv()
	env.RegisterWorkflow(workflows.BlueGreenMigration)
	w := fakeworld.New()
	w.UnhealthyAlarm = "shop-5xx-rate"
	env.RegisterActivity(w.Activities())
	return &harness{t: t, env: env, world: w}
}

// decideWhenOpen answers each named gate as soon as it is pending, by
// polling the status query every minute of workflow time.
func (h *harness) decideWhenOpen(decisions ...workflows.Decision) {
	pending := slices.Clone(decisions)
	var tick func()
	tick = func() {
		if len(pending) == 0 {
			return
		}
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			h.t.Errorf("status query: %v", err)
			return
		}
		var st workflows.Status
		if err := v.Get(&st); err != nil {
			h.t.Errorf("status decode: %v", err)
			return
		}
		for _, g := range st.PendingGates {
			if len(pending) > 0 && pending[0].Gate == g.Gate {
				h.env.SignalWorkflow(workflows.SignalApproval, pending[0])
				pending = pending[1:]
			}
		}
		h.env.RegisterDelayedCallback(tick, time.Minute)
	}
	h.env.RegisterDelayedCallback(tick, time.Minute)
}

func (h *harness) run(s spec.MigrationSpec) (*workflows.MigrationReport, error) {
	h.env.ExecuteWorkflow(workflows.WorkflowType, s)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	err := h.env.GetWorkflowError()
	if err != nil {
		return nil, err
	}
	var r workflows.MigrationReport
	if err := h.env.GetWorkflowResult(&r); err != nil {
		h.t.Fatalf("result: %v", err)
	}
	return &r, nil
}

// failureReport extracts the report attached to a failed run.
func failureReport(t *testing.T, err error) (string, workflows.MigrationReport) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("want an ApplicationError, got %T: %v", err, err)
	}
	var r workflows.MigrationReport
	if appErr.HasDetails() {
		if derr := appErr.Details(&r); derr != nil {
			t.Fatalf("details: %v", derr)
		}
	}
	return appErr.Type(), r
}

func greenWeights(w *fakeworld.World) []int {
	var out []int
	for _, in := range w.Inputs("SetTrafficWeights") {
		out = append(out, in.(traffic.SetWeightsInput).Green)
	}
	return out
}

func without(names []string, drop ...string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice", Comment: "smoke green, go"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %q", r.Outcome)
	}
	// The order of the world-changing calls is the contract.
	got := without(h.world.Names(), "Notify", "CheckTrafficHealth", "WatchTrafficHealth", "WaitTrafficPropagated")
	want := []string{"DescribeEKSCluster", "EKSUpgradeInsights", "PreflightBlue", "CheckSubnetCapacity", "LocateArgoCD", "CheckTrafficPrerequisites",
		"EnsureGreenCluster", "WaitEKSClusterActive", "PlanIRSATrust", "EnsureGreenOIDCProvider", "ApplyIRSATrust",
		"EnsureAccessEntries", "ArgoCDIdentities", "EnsureAccessEntries", "CopyAWSAuth", "EnsurePodIdentityAssociations", "EnsureKarpenterDiscovery",
		"EnsureNodeGroups", "EnsureAddons", "VerifyGreen",
		"CheckVelero", "EnsureVeleroBackup", "SetBSLAccessMode", "RestoreVeleroBackup", "SetBSLAccessMode", "RestoreArgoApplications", "WaitArgoSynced", "FindOnlyOnBlue", "HoldJobs",
		"InventoryCluster", "InventoryCluster", "DescribeEKSCluster", "DescribeEKSCluster", "SmokeTestGreen",
		"ConvertToWeighted", "SetTrafficWeights", "SetTrafficWeights", "SetTrafficWeights", "HoldJobs", "ReleaseJobs",
		"InstallArgoCD", "CopyArgoCDSettings", "WaitArgoSynced", "HandOverArgoCD",
		"GetTrafficWeights", "RetireLoadBalancers", "RetainedVolumes", "RetireEKSCluster", "DeleteControlPlaneLogGroup", "RetireRetainedVolumes", "RetireBlueIRSATrust", "FindBlueReferences"}
	if !slices.Equal(got, want) {
		t.Fatalf("calls\n got %v\nwant %v", got, want)
	}
	if lb := h.world.Inputs("RetireLoadBalancers")[0].(kube.RetireLoadBalancersInput); lb.Cluster.Name != "blue" {
		t.Errorf("RetireLoadBalancers on %+v; want blue", lb.Cluster)
	}
	// The role Argo CD reaches green with gets cluster admin on green
	// (beside blue's copied entries), and parity checked it; blue's
	// aws-auth mappings were carried and compared too.
	argo := h.world.Inputs("EnsureAccessEntries")[1].(eks.EnsureAccessEntriesInput)
	if len(argo.Entries) != 1 || argo.Entries[0].PrincipalARN != "arn:aws:iam::123456789012:role/argocd-application-controller" ||
		len(argo.Entries[0].Policies) != 1 || argo.Entries[0].Policies[0].PolicyARN != workflows.ArgoCDAccessPolicy || argo.Entries[0].Policies[0].ScopeType != "cluster" {
		t.Errorf("Argo CD's access entry %+v", argo)
	}
	// What still points at blue is listed for a person.
	if len(r.StillPointsAtBlue) != 1 || r.StillPointsAtBlue[0].Category != "monitoring" {
		t.Errorf("still points at blue %+v, want the fake's remote-write URL", r.StillPointsAtBlue)
	}
	if !hasParityRow(r.Parity, "argocd-access", "arn:aws:iam::123456789012:role/argocd-application-controller") {
		t.Errorf("parity %+v: want a passed argocd-access row", r.Parity)
	}
	if !slices.ContainsFunc(r.Parity.Rows, func(row workflows.ParityRow) bool { return row.Check == "aws-auth" && row.OK }) {
		t.Errorf("parity %+v: want passed aws-auth rows", r.Parity)
	}
	// Blue's Pod Identity associations are copied to green (namespace,
	// service account, role; green makes its own IDs), and parity checked them.
	pi := h.world.Inputs("EnsurePodIdentityAssociations")[0].(eks.EnsurePodIdentityInput)
	if want := []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::123456789012:role/payments-worker"}}; !slices.Equal(pi.Associations, want) ||
		pi.Cluster.Name != "green" || pi.Migration != "shop-prod" || pi.RequestToken == "" {
		t.Errorf("Pod Identity input %+v, want blue's association for green", pi)
	}
	if !hasParityRow(r.Parity, "pod-identity", "payments/worker") {
		t.Errorf("parity %+v: want a passed pod-identity row for payments/worker", r.Parity)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 50, 100}) {
		t.Errorf("green weights %v", w)
	}
	// Green is blue's copy at the target version, with a stable request token.
	ens := h.world.Inputs("EnsureGreenCluster")[0].(eks.EnsureClusterInput)
	if ens.Plan.Cluster.Name != "green" || ens.Plan.Cluster.Version != "1.31" || ens.Plan.Cluster.RoleARN != h.world.Blue.RoleARN {
		t.Errorf("green plan %+v", ens.Plan.Cluster)
	}
	if !slices.Equal(ens.Plan.Cluster.VPC.SubnetIDs, h.world.Blue.VPC.SubnetIDs) || ens.Plan.Cluster.Tags["team"] != "platform" || ens.Plan.Cluster.Tags[eks.TagMigration] != "shop-prod" {
		t.Errorf("green did not copy blue: %+v", ens.Plan.Cluster)
	}
	if !strings.HasPrefix(ens.RequestToken, "cutover-") || len(ens.RequestToken) > 64 {
		t.Errorf("request token %q", ens.RequestToken)
	}
	ngs := h.world.Inputs("EnsureNodeGroups")[0].(eks.EnsureNodeGroupsInput)
	if len(ngs.NodeGroups) != 2 || ngs.NodeGroups[0].Version != "1.31" || ngs.NodeGroups[1].Taints[0].Key != "batch" {
		t.Errorf("node groups %+v", ngs.NodeGroups)
	}
	addons := h.world.Inputs("EnsureAddons")[0].(eks.EnsureAddonsInput)
	if addons.Addons[0].Version != "" || addons.Addons[0].ConfigurationValues == "" {
		t.Errorf("add-ons must carry config and leave the version to the target: %+v", addons.Addons)
	}
	smoke := h.world.Inputs("SmokeTestGreen")[0].(kube.SmokeInput)
	if smoke.Cluster.Name != "green" || len(smoke.Smoke.HTTP) != 1 {
		t.Errorf("smoke input %+v", smoke)
	}
	retire := h.world.Inputs("RetireEKSCluster")[0].(eks.RetireInput)
	if retire.Cluster.Name != "blue" || retire.Guard == nil || retire.Guard.SetIdentifier != "blue" {
		t.Errorf("retire input %+v", retire)
	}
	// Bakes and the soak are watched, one watch each (three steps, the soak).
	// The watch while the second gate waits is left out: the gate is decided
	// at once, and whether the canceled watch's goroutine had started (and
	// the fake recorded it) is the test environment's race with wall time.
	var health []any
	for _, in := range h.world.Inputs("WatchTrafficHealth") {
		if !strings.HasPrefix(in.(traffic.WatchInput).What, "while gate ") {
			health = append(health, in)
		}
	}
	if len(health) != 4 {
		t.Fatalf("%d health watches (bakes and soak), want 4", len(health))
	}
	hin := health[0].(traffic.WatchInput).Health
	if !slices.Equal(hin.Alarms, []string{"shop-5xx-rate"}) || len(hin.Probes) != 1 {
		t.Errorf("health input %+v", hin)
	}
	// Report: approvals with who, traffic history, phase timings.
	if len(r.Approvals) != 2 || r.Approvals[0].By != "alice" || r.Approvals[0].Comment != "smoke green, go" || r.Approvals[0].Via != "signal" {
		t.Errorf("approvals %+v", r.Approvals)
	}
	if len(r.TrafficHistory) != 3 || r.TrafficHistory[2].Green != 100 {
		t.Errorf("traffic history %+v", r.TrafficHistory)
	}
	var phases []string
	for _, p := range r.Phases {
		phases = append(phases, p.Phase)
		if p.Ended.IsZero() {
			t.Errorf("phase %s has no end", p.Phase)
		}
	}
	wantPhases := []string{"Validate", "Preflight", "BuildGreen", "RestoreWorkloads", "Parity", "SmokeTest", "AwaitCutoverApproval", "ShiftTraffic", "AwaitRetireApproval", "Soak", "RetireBlue"}
	if !slices.Equal(phases, wantPhases) {
		t.Errorf("phases %v", phases)
	}
	if h.world.Weights().Green != 100 {
		t.Errorf("final weights %+v", h.world.Weights())
	}
	var steps []string
	for _, in := range h.world.Inputs("Notify") {
		if m := in.(notify.Message); m.Kind == notify.KindPhase {
			steps = append(steps, m.Text)
		}
	}
	if len(steps) != 3 || !strings.Contains(steps[1], "traffic step 2/3, 50% on green green") {
		t.Errorf("chat heard of the steps as %q", steps)
	}
}

func TestRejectCutoverGate(t *testing.T) {
	h := newHarness(t)
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: false, By: "bob", Comment: "p99 looks off"})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || r.Outcome != workflows.OutcomeRolledBack {
		t.Fatalf("type %q outcome %q", typ, r.Outcome)
	}
	if !strings.Contains(r.Reason, `gate "cutover" rejected by bob: p99 looks off`) {
		t.Errorf("reason %q", r.Reason)
	}
	if n := len(h.world.Inputs("SetTrafficWeights")); n != 0 {
		t.Errorf("traffic moved %d times before the cutover gate", n)
	}
	if n := len(h.world.Inputs("RetireEKSCluster")); n != 0 {
		t.Errorf("rollback.green=keep must keep green, got %d retire calls", n)
	}
}

func TestRejectRetireGateRollsTrafficBack(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	s.Rollback.Green = spec.FateDelete
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: false, By: "alice", Comment: "keep blue one more week"},
	)
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q: %v", typ, err)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 50, 100, 0}) {
		t.Errorf("green weights %v, want the steps then 0", w)
	}
	retire := h.world.Inputs("RetireEKSCluster")
	if len(retire) != 1 || retire[0].(eks.RetireInput).Role != "green" || retire[0].(eks.RetireInput).OwnedBy != "shop-prod" {
		t.Fatalf("want green deleted after traffic returned, got %+v", retire)
	}
	names := without(h.world.Names(), "Notify", "CheckTrafficHealth", "WaitTrafficPropagated")
	if tail := names[len(names)-7:]; !slices.Equal(tail, []string{"SetTrafficWeights", "HoldJobs", "ReleaseJobs", "RevertArgoApplications", "DeletePodIdentityAssociations", "RevertIRSATrust", "RetireEKSCluster"}) {
		t.Errorf("rollback order %v: traffic to blue, then the jobs back on blue (green's held first), then Argo CD back to blue, then the Pod Identity associations cutover made and green's IRSA trust removed, then green deleted (all: %v)", tail, names)
	}
	// The jobs run on blue again, not on green.
	if held := h.world.HeldJobs("green"); len(held) == 0 {
		t.Errorf("after the rollback green's jobs are not held")
	}
	if held := h.world.HeldJobs("blue"); len(held) != 0 {
		t.Errorf("after the rollback blue's jobs are held: %+v", held)
	}
	if del := h.world.Inputs("DeletePodIdentityAssociations")[0].(eks.DeletePodIdentityInput); len(del.Associations) != 1 || del.Associations[0].AssociationID == "" ||
		del.Migration != "shop-prod" || del.Cluster.Name != "green" {
		t.Errorf("Pod Identity delete input %+v: want exactly the association the run created, by ID", del)
	}
	if rev := h.world.Inputs("RevertIRSATrust")[0].(eks.RevertIRSAInput); len(rev.Added) == 0 || rev.Migration != "shop-prod" {
		t.Errorf("IRSA revert input %+v: want exactly the statements the run added", rev)
	}
	if rev := h.world.Inputs("RevertArgoApplications")[0].(argocd.RevertInput); rev.ArgoCluster.Name != "blue" || rev.Namespace != "argocd" {
		t.Errorf("revert input %+v", rev)
	}
	lastSet := 0
	for i, n := range names {
		if n == "SetTrafficWeights" {
			lastSet = i
		}
	}
	if slices.Index(names, "RetireEKSCluster") < lastSet {
		t.Errorf("green deleted before traffic returned to blue: %v", names)
	}
	last := r.TrafficHistory[len(r.TrafficHistory)-1]
	if last.Green != 0 || !strings.Contains(last.Reason, "rollback") {
		t.Errorf("last traffic event %+v", last)
	}
}

func TestRejectStepGate(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	yes := true
	s.Approvals.EachStep = spec.GateSpec{Enabled: &yes, Approvers: []string{"carol"}}
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "traffic-step-2", Approve: true, By: "carol"},
		workflows.Decision{Gate: "traffic-step-3", Approve: false, By: "carol", Comment: "latency"},
	)
	_, err := h.run(s)
	typ, _ := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q", typ)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 50, 0}) {
		t.Errorf("green weights %v", w)
	}
}

func TestGateTimeoutRejectsByDefault(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	rem := spec.Duration(time.Hour)
	s.Approvals.ReminderInterval = &rem
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q", typ)
	}
	if len(r.Approvals) != 1 || r.Approvals[0].Via != "timeout" || r.Approvals[0].Approved {
		t.Fatalf("approvals %+v", r.Approvals)
	}
	// 4h timeout, reminders every hour: opened + 3 reminders + decided.
	var kinds []string
	for _, in := range h.world.Inputs("Notify") {
		kinds = append(kinds, in.(notify.Message).Kind)
	}
	if c := countOf(kinds, notify.KindReminder); c != 3 {
		t.Errorf("%d reminders, want 3: %v", c, kinds)
	}
	if countOf(kinds, notify.KindGateOpened) != 1 || countOf(kinds, notify.KindRolledBack) != 1 {
		t.Errorf("notifications %v", kinds)
	}
	if len(h.world.Inputs("SetTrafficWeights")) != 0 {
		t.Error("traffic moved")
	}
}

func TestGateTimeoutCanApprove(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	s.Approvals.Cutover.OnTimeout = spec.OnTimeoutApprove
	s.Approvals.Retire.OnTimeout = spec.OnTimeoutApprove
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Approvals) != 2 || !r.Approvals[0].Approved || r.Approvals[0].By != "timeout" {
		t.Errorf("approvals %+v", r.Approvals)
	}
}

func countOf(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

func TestSmokeFailureStopsBeforeTraffic(t *testing.T) {
	h := newHarness(t)
	h.world.SmokeFails = "GET https://green-ingress.example.com/healthz: status 503, want 200"
	s := testSpec()
	s.Rollback.Green = spec.FateDelete
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q", typ)
	}
	if !strings.Contains(r.Reason, "status 503") || r.Smoke == nil || r.Smoke.Passed {
		t.Errorf("reason %q smoke %+v", r.Reason, r.Smoke)
	}
	if len(h.world.Inputs("SetTrafficWeights")) != 0 {
		t.Error("traffic moved after a smoke failure")
	}
	if h.world.GreenExists() {
		t.Error("rollback.green=delete must delete green")
	}
}

func TestAlarmDuringSecondStep(t *testing.T) {
	h := newHarness(t)
	h.world.UnhealthyAtGreen = 50
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q: %v", typ, err)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 50, 0}) {
		t.Errorf("green weights %v", w)
	}
	if !strings.Contains(r.Reason, "step 2/3") || !strings.Contains(r.Reason, "shop-5xx-rate is in ALARM") {
		t.Errorf("reason %q", r.Reason)
	}
	if got := h.world.Weights(); got.Blue != 100 {
		t.Errorf("traffic not back on blue: %+v", got)
	}
	if len(h.world.Inputs("RetireEKSCluster")) != 0 {
		t.Error("nothing may be retired after a rollback with rollback.green=keep")
	}
}

func TestAbortMidShift(t *testing.T) {
	h := newHarness(t)
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "alice"})
	// Abort once step 2 is baking.
	var check func()
	check = func() {
		if h.world.Weights().Green == 50 {
			h.env.SignalWorkflow(workflows.SignalAbort, workflows.Abort{By: "oncall", Reason: "incident INC-42"})
			return
		}
		h.env.RegisterDelayedCallback(check, time.Minute)
	}
	h.env.RegisterDelayedCallback(check, time.Minute)
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q: %v", typ, err)
	}
	if !strings.Contains(r.Reason, "aborted by oncall: incident INC-42") {
		t.Errorf("reason %q", r.Reason)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 50, 0}) {
		t.Errorf("green weights %v", w)
	}
}

func TestRetryableFailureSucceedsOnRetry(t *testing.T) {
	h := newHarness(t)
	h.world.FailTimes = map[string]int{"EnsureGreenCluster": 2, "SetTrafficWeights": 1}
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.world.Inputs("EnsureGreenCluster")); n != 3 {
		t.Errorf("EnsureGreenCluster attempts %d, want 3", n)
	}
	if w := greenWeights(h.world); !slices.Equal(w, []int{10, 10, 50, 100}) {
		t.Errorf("green weights %v", w)
	}
	if r.Outcome != workflows.OutcomeSucceeded {
		t.Errorf("outcome %q", r.Outcome)
	}
}

func TestNonRetryableFailureIsNotRetried(t *testing.T) {
	h := newHarness(t)
	h.world.Errors = map[string]error{"EnsureGreenCluster": failures.New(failures.Conflict, "cluster green exists with version 1.30, plan wants 1.31")}
	s := testSpec()
	s.Rollback.Green = spec.FateDelete
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.Conflict || r.Outcome != workflows.OutcomeFailed || !strings.Contains(r.Reason, "version 1.30") {
		t.Fatalf("type %q outcome %q reason %q", typ, r.Outcome, r.Reason)
	}
	if n := len(h.world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("a Conflict was retried: %d attempts", n)
	}
	// The cluster named green is not ours: a rollback must never delete it.
	if n := len(h.world.Inputs("RetireEKSCluster")); n != 0 {
		t.Errorf("someone else's cluster was retired %d times", n)
	}
}

func TestValidationFailsBeforeAnyActivity(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	s.Name = "Shop Prod"
	s.Blue.Region = ""
	s.Green.KubernetesVersion = "131"
	s.Traffic.Steps = []int{10, 5, 100}
	s.Smoke.HTTP[0].URL = "ftp://x"
	h.env.ExecuteWorkflow(workflows.WorkflowType, s)
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != failures.Validation || appErr.NonRetryable() == false {
		t.Fatalf("want non-retryable ValidationError, got %v", err)
	}
	for _, field := range []string{"name:", "blue.region:", "green.kubernetesVersion:", "traffic.steps[1]:", "smoke.http[0].url:"} {
		if !strings.Contains(appErr.Error(), field) {
			t.Errorf("error does not name %s: %v", field, appErr)
		}
	}
	var fields spec.FieldErrors
	if err := appErr.Details(&fields); err != nil || len(fields) != 5 {
		t.Errorf("details %v %v", fields, err)
	}
	if calls := h.world.Calls(); len(calls) != 0 {
		t.Errorf("activities ran before validation failed: %v", h.world.Names())
	}
}

func TestPreflightBlocks(t *testing.T) {
	h := newHarness(t)
	h.world.PreflightFindings = []finding.Finding{{Check: "removed-api", Object: "policy/v1beta1 PodDisruptionBudget shop/web", Severity: finding.Error, Message: "removed in 1.25"}}
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || r.Outcome != workflows.OutcomeFailed {
		t.Fatalf("type %q outcome %q", typ, r.Outcome)
	}
	if slices.Contains(h.world.Names(), "EnsureGreenCluster") {
		t.Error("green was built despite a blocking finding")
	}
	// The same finding is only reported under blockOn=none.
	h2 := newHarness(t)
	h2.world.PreflightFindings = h.world.PreflightFindings
	s := testSpec()
	s.Preflight.BlockOn = "none"
	s.Approvals.Cutover.OnTimeout, s.Approvals.Retire.OnTimeout = "approve", "approve"
	r2, err := h2.run(s)
	// Besides the retire's info findings (what it deleted and kept).
	if err != nil || len(slices.DeleteFunc(slices.Clone(r2.Findings), func(f finding.Finding) bool { return strings.HasPrefix(f.Check, "retire-") })) != 1 {
		t.Fatalf("err %v findings %+v", err, r2)
	}
}

func TestDryRun(t *testing.T) {
	h := newHarness(t)
	h.world.PreflightFindings = []finding.Finding{{Check: "removed-api", Severity: finding.Error, Message: "HPA autoscaling/v2beta2 removed in 1.26"}}
	s := testSpec()
	s.DryRun = true
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	got := without(h.world.Names(), "Notify")
	if !slices.Equal(got, []string{"DescribeEKSCluster", "EKSUpgradeInsights", "PreflightBlue", "CheckSubnetCapacity", "LocateArgoCD", "CheckTrafficPrerequisites", "PlanIRSATrust", "ArgoCDIdentities", "ReadAWSAuth"}) {
		t.Fatalf("dry run made calls %v", got)
	}
	if in := h.world.Inputs("PlanIRSATrust")[0].(eks.PlanIRSAInput); in.Green.Name != "" {
		t.Errorf("a dry run plans IRSA without green: %+v", in)
	}
	if r.Outcome != workflows.OutcomeDryRun || r.Plan == nil || r.Plan.Green.Cluster.Version != "1.31" || len(r.Plan.Green.Cluster.NodeGroups) != 2 {
		t.Fatalf("report %+v", r)
	}
	if !slices.Equal(r.Plan.Gates, []string{"cutover", "retire"}) || !strings.Contains(r.Reason, "preflight would block") {
		t.Errorf("plan gates %v reason %q", r.Plan.Gates, r.Reason)
	}
	if want := []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::123456789012:role/payments-worker"}}; !slices.Equal(r.Plan.PodIdentity, want) {
		t.Errorf("plan Pod Identity %+v, want blue's association without its ID", r.Plan.PodIdentity)
	}
	if !slices.Equal(r.Plan.ArgoCDAccess, []string{"arn:aws:iam::123456789012:role/argocd-application-controller"}) || len(r.Plan.AWSAuth) == 0 ||
		slices.ContainsFunc(r.Plan.AWSAuth, func(m kube.AWSAuthMapping) bool { return slices.Contains(m.Groups, "system:nodes") }) {
		t.Errorf("plan Argo CD access %v, aws-auth %+v: want Argo CD's role and blue's mappings without the node role", r.Plan.ArgoCDAccess, r.Plan.AWSAuth)
	}
}

// TestKarpenterDiscovery: blue's subnets and security group carry its
// Karpenter discovery tag. Green shares them, so they keep blue's value
// while blue lives; green's EC2NodeClasses get green's value beside blue's
// after the restore; the Velero backup and restore carry Karpenter's
// cluster-scoped objects; once blue is deleted the shared resources move
// to green's value.
func TestKarpenterDiscovery(t *testing.T) {
	h := newHarness(t)
	h.world.UseKarpenter()
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "alice"}, workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	names := h.world.Names()
	if i, j := slices.Index(names, "WaitArgoSynced"), slices.Index(names, "RetargetKarpenterNodeClasses"); j < 0 || j < i {
		t.Errorf("calls %v: want RetargetKarpenterNodeClasses after the restore", names)
	}
	if names[len(names)-1] != "RetagKarpenterDiscovery" && !slices.Contains(names[slices.Index(names, "RetireEKSCluster"):], "RetagKarpenterDiscovery") {
		t.Errorf("calls %v: want RetagKarpenterDiscovery after blue is deleted", names)
	}
	for id, v := range h.world.KarpenterTags() {
		if v != "green" {
			t.Errorf("%s carries %s=%s after blue's retirement, want green", id, eks.KarpenterDiscoveryKey, v)
		}
	}
	b := h.world.Inputs("EnsureVeleroBackup")[0].(velero.BackupInput)
	rs := h.world.Inputs("RestoreVeleroBackup")[0].(velero.RestoreInput)
	if !slices.Contains(b.IncludedClusterScopedResources, "ec2nodeclasses.karpenter.k8s.aws") || !rs.IncludeClusterResources {
		t.Errorf("backup %+v restore %+v: want Karpenter's cluster-scoped objects carried", b, rs)
	}
	if !slices.ContainsFunc(r.Parity.Rows, func(row workflows.ParityRow) bool { return row.Check == "karpenter-nodeclass" && row.OK }) ||
		!slices.ContainsFunc(r.Parity.Rows, func(row workflows.ParityRow) bool { return row.Check == "karpenter-discovery" && row.OK }) {
		t.Errorf("parity rows %+v: want Karpenter discovery and node class rows", r.Parity.Rows)
	}

	// Blue without Karpenter: nothing is tagged and the backup stays namespaced.
	plain := newHarness(t)
	plain.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "alice"}, workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	if _, err := plain.run(testSpec()); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plain.world.Names(), "RetargetKarpenterNodeClasses") || len(plain.world.Inputs("EnsureVeleroBackup")[0].(velero.BackupInput).IncludedClusterScopedResources) > 0 {
		t.Errorf("calls %v: Karpenter handled for a blue without it", plain.world.Names())
	}
}

// TestLaunchTemplateVersionsDeletedWithGreen: a node group on a launch
// template that pins blue's AMI is checked in preflight and gets a new
// version for green; a rollback that deletes green deletes that version
// after green's node groups are gone.
func TestLaunchTemplateVersionsDeletedWithGreen(t *testing.T) {
	h := newHarness(t)
	h.world.PinnedLaunchTemplates = true
	h.world.Blue.NodeGroups[0].LaunchTemplate = &eks.LaunchTemplate{ID: "lt-0123456789abcdef0", Version: "1"}
	h.world.GreenInventoryDrift = func(inv *kube.Inventory) { inv.Workloads = nil }
	s := testSpec()
	s.Rollback.Green = spec.FateDelete
	if _, err := h.run(s); err == nil {
		t.Fatal("want parity to fail")
	}
	names := h.world.Names()
	if plan := h.world.Inputs("PlanGreenLaunchTemplates"); len(plan) != 1 || slices.Index(names, "PlanGreenLaunchTemplates") > slices.Index(names, "EnsureGreenCluster") {
		t.Errorf("calls %v: want the launch templates checked in preflight, before green is built", names)
	}
	del := h.world.Inputs("DeleteLaunchTemplateVersions")
	if len(del) != 1 || names[len(names)-2] != "DeleteLaunchTemplateVersions" || names[len(names)-3] != "RetireEKSCluster" {
		t.Fatalf("calls %v: want green's launch template version deleted after green", names)
	}
	want := []eks.LaunchTemplateVersion{{NodeGroup: "general", LaunchTemplateID: "lt-0123456789abcdef0", Version: "2", Created: true}}
	if in := del[0].(eks.DeleteLaunchTemplateVersionsInput); !slices.Equal(in.Versions, want) || in.Migration != "shop-prod" {
		t.Errorf("DeleteLaunchTemplateVersions %+v, want %+v", in, want)
	}

	// Green kept: its node groups still use the version, so it stays.
	kept := newHarness(t)
	kept.world.PinnedLaunchTemplates = true
	kept.world.Blue.NodeGroups[0].LaunchTemplate = &eks.LaunchTemplate{ID: "lt-0123456789abcdef0", Version: "1"}
	kept.world.GreenInventoryDrift = func(inv *kube.Inventory) { inv.Workloads = nil }
	if _, err := kept.run(testSpec()); err == nil {
		t.Fatal("want parity to fail")
	}
	if slices.Contains(kept.world.Names(), "DeleteLaunchTemplateVersions") {
		t.Errorf("calls %v: a version deleted while green (kept) uses it", kept.world.Names())
	}
}

// TestKarpenterTagsRemovedOnRollback: green on a subnet of its own gets
// green's discovery tag there; the rollback removes exactly that tag, and
// blue's shared ones are untouched.
func TestKarpenterTagsRemovedOnRollback(t *testing.T) {
	h := newHarness(t)
	h.world.UseKarpenter()
	h.world.GreenInventoryDrift = func(inv *kube.Inventory) { inv.Workloads = nil }
	s := testSpec()
	s.Green.Overrides.SubnetIDs = []string{"subnet-0f0e0d0c0b0a0908", "subnet-1a2b3c4d"} // its own and one of blue's
	if _, err := h.run(s); err == nil {
		t.Fatal("want parity to fail")
	}
	rm := h.world.Inputs("RemoveKarpenterDiscovery")
	if len(rm) != 1 {
		t.Fatalf("calls %v: want the rollback to remove green's discovery tags", h.world.Names())
	}
	if in := rm[0].(eks.RemoveKarpenterDiscoveryInput); in.Value != "green" || len(in.Resources) != 1 || in.Resources[0].ID != "subnet-0f0e0d0c0b0a0908" {
		t.Errorf("rollback removes %+v, want only the tag of green's own subnet", in)
	}
	tags := h.world.KarpenterTags()
	if v, ok := tags["subnet-0f0e0d0c0b0a0908"]; ok {
		t.Errorf("green's subnet still carries %s=%s after the rollback", eks.KarpenterDiscoveryKey, v)
	}
	for id, v := range tags {
		if v != "blue" {
			t.Errorf("%s carries %s=%s after the rollback, want blue's", id, eks.KarpenterDiscoveryKey, v)
		}
	}
}

// TestPodIdentityCopyOff: with green.copy.podIdentity false nothing is
// copied, parity does not expect blue's associations on green, and a dry
// run lists none.
func TestPodIdentityCopyOff(t *testing.T) {
	off := false
	h := newHarness(t)
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "alice"}, workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	s := testSpec()
	s.Green.Copy.PodIdentity = &off
	r, err := h.run(s)
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if slices.Contains(h.world.Names(), "EnsurePodIdentityAssociations") {
		t.Errorf("calls %v: Pod Identity copied although green.copy.podIdentity is false", h.world.Names())
	}
	for _, row := range r.Parity.Rows {
		if row.Check == "pod-identity" {
			t.Errorf("parity row %+v for an association that was not to be copied", row)
		}
	}
	dry := newHarness(t)
	s.DryRun = true
	d, err := dry.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if d.Plan == nil || len(d.Plan.PodIdentity) != 0 {
		t.Errorf("dry-run plan %+v lists Pod Identity associations", d.Plan)
	}
}

func TestApproveUpdateValidator(t *testing.T) {
	h := newHarness(t)
	type attempt struct {
		d       workflows.Decision
		wantErr string
	}
	var results []string
	send := func(a attempt) {
		h.env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				results = append(results, "reject:"+err.Error())
				if a.wantErr == "" || !strings.Contains(err.Error(), a.wantErr) {
					t.Errorf("%+v rejected with %v, want %q", a.d, err, a.wantErr)
				}
			},
			OnAccept: func() {
				if a.wantErr != "" {
					t.Errorf("%+v accepted, want rejection %q", a.d, a.wantErr)
				}
			},
			OnComplete: func(v interface{}, err error) { results = append(results, "complete") },
		}, a.d)
	}
	// Before the gate opens.
	h.env.RegisterDelayedCallback(func() {
		send(attempt{workflows.Decision{Gate: "retire", Approve: true, By: "alice"}, `gate "retire" is not open yet`})
	}, 0)
	h.env.RegisterDelayedCallback(func() {
		send(attempt{workflows.Decision{Gate: "launch", Approve: true, By: "alice"}, `unknown gate "launch"`})
		send(attempt{workflows.Decision{Gate: "cutover", Approve: true, By: "mallory"}, `"mallory" may not decide gate "cutover"`})
		send(attempt{workflows.Decision{Gate: "cutover", Approve: true}, "by is required"})
		send(attempt{workflows.Decision{Gate: "cutover", Approve: true, By: "bob", Comment: "lgtm"}, ""})
		send(attempt{workflows.Decision{Gate: "cutover", Approve: false, By: "alice"}, `gate "cutover" was already approved by bob`})
	}, time.Minute)
	h.decideWhenOpen(workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Approvals) != 2 || r.Approvals[0].By != "bob" || r.Approvals[0].Via != "update" {
		t.Errorf("approvals %+v", r.Approvals)
	}
	if countOf(results, "complete") != 1 {
		t.Errorf("results %v", results)
	}
}

func TestStatusQueryWhileWaiting(t *testing.T) {
	h := newHarness(t)
	var seen workflows.Status
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&seen)
		h.env.SignalWorkflow(workflows.SignalAbort, workflows.Abort{By: "alice", Reason: "checked status"})
	}, 30*time.Minute)
	_, _ = h.run(testSpec())
	if seen.Phase != workflows.PhaseAwaitCutover || len(seen.PendingGates) != 1 || seen.PendingGates[0].Gate != "cutover" {
		t.Fatalf("status %+v", seen)
	}
	if seen.PendingGates[0].Deadline.Sub(seen.PendingGates[0].OpenedAt) != 4*time.Hour || !slices.Equal(seen.PendingGates[0].Approvers, []string{"alice", "bob"}) {
		t.Errorf("pending gate %+v", seen.PendingGates[0])
	}
	if seen.Traffic.Blue != 100 || seen.Traffic.TotalSteps != 3 || len(seen.Phases) != 7 || seen.Parity == nil || !seen.Parity.Passed {
		t.Errorf("status %+v", seen)
	}
}

func TestVeleroRestoreErrorsStopBeforeTraffic(t *testing.T) {
	h := newHarness(t)
	h.world.RestoreErrors = 3
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || !strings.Contains(r.Reason, "finished with 3 errors") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
	if slices.Contains(h.world.Names(), "SmokeTestGreen") || slices.Contains(h.world.Names(), "SetTrafficWeights") {
		t.Errorf("went on after a failed restore: %v", h.world.Names())
	}
}

func TestBlueNotActiveBlocks(t *testing.T) {
	h := newHarness(t)
	h.world.Blue.Status = "UPDATING"
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || !strings.Contains(r.Reason, "blue is UPDATING") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
}

func TestIgnoredApprovalSignalIsVisible(t *testing.T) {
	h := newHarness(t)
	var seen workflows.Status
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalApproval, workflows.Decision{Gate: "cutover", Approve: true, By: "mallory"})
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&seen)
		h.env.SignalWorkflow(workflows.SignalAbort, workflows.Abort{By: "alice", Reason: "done looking"})
	}, 20*time.Minute)
	_, _ = h.run(testSpec())
	if len(seen.IgnoredApprovals) != 1 || !strings.Contains(seen.IgnoredApprovals[0], `"mallory" may not decide gate "cutover"`) || len(seen.PendingGates) != 1 {
		t.Fatalf("status %+v", seen)
	}
}

// rawJSON is a signal or update payload exactly as a hand-typed UI signal
// (or any client) sends it.
func rawJSON(s string) converter.RawValue {
	return converter.NewRawValue(&commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(s),
	})
}

// TestHalfDecodedSignalsNeverMerge: a payload that does not decode leaves
// nothing behind for the next one. Before, the first (dropped) payload's
// gate and by were kept and the second approved the gate as alice.
func TestHalfDecodedSignalsNeverMerge(t *testing.T) {
	h := newHarness(t)
	var seen workflows.Status
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"gate":"cutover","by":"alice","approve":"yes"}`))
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"approve":true}`))
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"gate":"cutover","by":"alice"}`))
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"gate":"cutover","by":"alice","approve":true,"Approve":false}`))
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"gate":"cutover","by":"alice","approve":true}{"by":"x"}`))
		h.env.SignalWorkflow(workflows.SignalApproval, rawJSON(`{"gate":"cutover","by":"alice","by":"bob","approve":true}`))
		h.env.SignalWorkflow(workflows.SignalAbort, rawJSON(`{"by":5,"reason":"typo"}`))
		h.env.SignalWorkflow(workflows.SignalAbort, rawJSON(`{"reason":"who?"}`))
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Get(&seen)
		h.env.SignalWorkflow(workflows.SignalAbort, rawJSON(`{"by":"alice","reason":"done"}`))
	}, 20*time.Minute)
	_, err := h.run(testSpec())
	if typ, _ := failureReport(t, err); typ != failures.Aborted && typ != failures.RolledBack {
		t.Fatalf("want the valid abort to end the run, got %q", typ)
	}
	if len(seen.PendingGates) != 1 || seen.PendingGates[0].Gate != "cutover" || len(seen.Approvals) != 0 {
		t.Fatalf("the gate was decided by malformed signals: %+v", seen)
	}
	want := []string{
		`approve: must be true or false`,
		`gate is required`, // {"approve":true}: gate and by are not carried over from the first
		`approve is required`,
		`Approve: is not a field`,
		`after the end of the JSON document`,
		`by: is given twice`,
		`abort signal: the payload does not decode: by: must be a string`,
		`abort signal: by is required`,
	}
	if len(seen.IgnoredApprovals) != len(want) || seen.IgnoredCount != len(want) {
		t.Fatalf("ignored %d (count %d), want %d:\n%s", len(seen.IgnoredApprovals), seen.IgnoredCount, len(want), strings.Join(seen.IgnoredApprovals, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(seen.IgnoredApprovals[i], w) {
			t.Errorf("ignored[%d] = %q, want it to say %q", i, seen.IgnoredApprovals[i], w)
		}
	}
	if !strings.Contains(seen.IgnoredApprovals[1], `gate "" by ""`) {
		t.Errorf("the second signal must be read alone, got %q", seen.IgnoredApprovals[1])
	}
}

func TestApproveUpdateRefusesMalformedPayloads(t *testing.T) {
	h := newHarness(t)
	var refusals []string
	send := func(payload string) {
		h.env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { refusals = append(refusals, err.Error()) },
			OnAccept:   func() { t.Errorf("%s accepted", payload) },
			OnComplete: func(interface{}, error) {},
		}, rawJSON(payload))
	}
	h.env.RegisterDelayedCallback(func() {
		send(`{"gate":"cutover","by":"alice"}`)
		send(`{"gate":"cutover","by":"alice","approve":1}`)
		send(`{"gate":"cutover","by":"alice","approve":true,"extra":1}`)
		send(`[]`)
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalAbort, workflows.Abort{By: "alice", Reason: "done"})
	}, 20*time.Minute)
	_, _ = h.run(testSpec())
	want := []string{"approve is required", "approve: must be true or false", "extra: is not a field", "must be a JSON object"}
	if len(refusals) != len(want) {
		t.Fatalf("refusals %q", refusals)
	}
	for i, w := range want {
		if !strings.Contains(refusals[i], w) {
			t.Errorf("refusal %d %q, want %q", i, refusals[i], w)
		}
	}
}

// TestRawStartIsReadStrictly: the Temporal UI sends the spec as typed; a
// spec with problems fails Validate with every path, before any activity.
func TestRawStartIsReadStrictly(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(workflows.WorkflowType, rawJSON(`{"name":"shop","Name":"other","blue":{"clusterName":"blue","region":"eu-west-1"},
"green":{"kubernetesVersion":"1.99"},"traffic":{"provider":"route53","bakeTim":"5m","route53":{"hostedZoneId":"Z1","recordName":"a.example.com","greenTarget":"lb.example.com"}},
"approvals":{"cutover":{"approvers":["alice"]},"cutover":{"onTimeout":"approve"}}}`))
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != failures.Validation || !appErr.NonRetryable() {
		t.Fatalf("want a non-retryable ValidationError, got %v", err)
	}
	var fields spec.FieldErrors
	if err := appErr.Details(&fields); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.Field)
	}
	want := []string{"Name", "traffic.bakeTim", "approvals.cutover", "green.kubernetesVersion"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %q, want %q", got, want)
	}
	if n := len(h.world.Names()); n != 0 {
		t.Fatalf("activities ran for a rejected spec: %v", h.world.Names())
	}
}

func approveAll(h *harness) {
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
}

// TestRollbackFailedSaysCheckTrafficByHand: when traffic cannot be put back
// on blue, the run fails as RollbackFailed and says so.
func TestRollbackFailedSaysCheckTrafficByHand(t *testing.T) {
	h := newHarness(t)
	h.world.UnhealthyAtGreen = 50
	h.world.FailWhen = func(name string, in any) error {
		if si, ok := in.(traffic.SetWeightsInput); ok && name == "SetTrafficWeights" && si.Green == 0 {
			return failures.New(failures.AccessDenied, "route53: not authorized to change the record")
		}
		return nil
	}
	approveAll(h)
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RollbackFailed || r.Outcome != workflows.OutcomeFailed {
		t.Fatalf("type %q outcome %q", typ, r.Outcome)
	}
	if !strings.Contains(err.Error(), "check traffic by hand") || !slices.ContainsFunc(r.Errors, func(e string) bool { return strings.HasPrefix(e, "rollback: ") }) {
		t.Fatalf("error %v, report errors %v", err, r.Errors)
	}
}

func TestGreenNotReadyRollsBackBeforeTraffic(t *testing.T) {
	h := newHarness(t)
	h.world.GreenNotReady = true
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || !strings.Contains(r.Reason, "is not ready") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
	for _, n := range []string{"SmokeTestGreen", "SetTrafficWeights", "RestoreVeleroBackup"} {
		if slices.Contains(h.world.Names(), n) {
			t.Errorf("%s ran after green was not ready", n)
		}
	}
}

// TestStillServingTrafficKeepsBlue: blue still gets traffic at retire (the
// record was changed behind cutover's back): blue is not deleted, and the
// run rolls traffic back to it.
func TestStillServingTrafficKeepsBlue(t *testing.T) {
	h := newHarness(t)
	h.world.BlueWeightAtRetire = 20
	approveAll(h)
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || !strings.Contains(r.Reason, "still receives 20% of traffic") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
	if slices.Contains(h.world.Names(), "RetireEKSCluster") {
		t.Fatal("blue was retired while it served traffic")
	}
	if w := greenWeights(h.world); w[len(w)-1] != 0 {
		t.Fatalf("traffic not returned to blue: %v", w)
	}
}

// TestAbortWhileBlueRetiresIsIgnored: once blue's deletion started, an
// abort cannot send traffic back to it; the retire finishes and the abort
// is listed as ignored.
func TestAbortWhileBlueRetiresIsIgnored(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "RetireEKSCluster" {
			h.env.SignalWorkflow(workflows.SignalAbort, workflows.Abort{By: "oncall", Reason: "late"})
		}
	})
	var seen workflows.Status
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "RetireEKSCluster" {
			v, err := h.env.QueryWorkflow(workflows.QueryStatus)
			if err == nil {
				_ = v.Get(&seen)
			}
		}
	})
	r, err := h.run(testSpec())
	if err != nil || r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("want the retire to finish, got %v", err)
	}
	if w := greenWeights(h.world); w[len(w)-1] != 100 {
		t.Fatalf("traffic moved after blue's deletion started: %v", w)
	}
	if seen.Aborted != nil || len(seen.IgnoredApprovals) != 1 || !strings.Contains(seen.IgnoredApprovals[0], "is being retired") {
		t.Fatalf("status %+v", seen)
	}
}

func TestRetireBlueKeep(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	s := testSpec()
	s.Retire.Blue = spec.FateKeep
	r, err := h.run(s)
	if err != nil || r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %v %v", r, err)
	}
	for _, n := range []string{"RetireEKSCluster", "GetTrafficWeights"} {
		if slices.Contains(h.world.Names(), n) {
			t.Errorf("%s ran with retire.blue = keep", n)
		}
	}
}

// TestParityStopsBeforeTraffic: green missing an add-on and a workload's
// IAM role fails Parity, with the table in the report, before the cutover
// gate and before any traffic moves.
func TestParityStopsBeforeTraffic(t *testing.T) {
	h := newHarness(t)
	h.world.GreenDrift = func(g *eks.ClusterDescription) { g.Addons = g.Addons[:1] }
	h.world.GreenInventoryDrift = func(inv *kube.Inventory) { inv.ServiceAccounts = nil }
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || !strings.Contains(r.Reason, "differs from blue in 2 ways") {
		t.Fatalf("type %q reason %q", typ, r.Reason)
	}
	if r.Parity == nil || r.Parity.Passed || len(r.Parity.Failed()) != 2 {
		t.Fatalf("parity %+v", r.Parity)
	}
	for _, n := range []string{"SmokeTestGreen", "SetTrafficWeights"} {
		if slices.Contains(h.world.Names(), n) {
			t.Errorf("%s ran after parity failed", n)
		}
	}
}

// TestIRSARefusedRoleFailsParity: a role whose trust IAM refuses to change
// would leave green's pods without AWS access: parity stops the migration
// before traffic, and the rollback removes what was added to the others.
func TestIRSARefusedRoleFailsParity(t *testing.T) {
	h := newHarness(t)
	h.world.IRSARefused = map[string]bool{"vpc-cni": true}
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || r.Parity == nil || len(r.Parity.Failed()) != 1 || r.Parity.Failed()[0].Check != "irsa-trust" {
		t.Fatalf("type %q parity %+v", typ, r.Parity)
	}
	if slices.Contains(h.world.Names(), "SetTrafficWeights") {
		t.Fatal("traffic moved with a role green cannot assume")
	}
	if !slices.Contains(h.world.Names(), "RevertIRSATrust") {
		t.Fatal("the statements added to the other roles were not removed")
	}
}

// TestPodIdentityMissingFailsParity: a Pod Identity association green does
// not have (someone deleted it, or another role took its place) leaves the
// service account's pods without AWS access: parity stops the migration
// before traffic moves, and the rollback deletes what cutover created.
func TestPodIdentityMissingFailsParity(t *testing.T) {
	h := newHarness(t)
	h.world.GreenDrift = func(g *eks.ClusterDescription) {
		g.PodIdentityAssociations = []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::123456789012:role/other"}}
	}
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack || r.Parity == nil || len(r.Parity.Failed()) != 1 {
		t.Fatalf("type %q parity %+v", typ, r.Parity)
	}
	if f := r.Parity.Failed()[0]; f.Check != "pod-identity" || f.Object != "payments/worker" || f.Green != "arn:aws:iam::123456789012:role/other" {
		t.Errorf("failed row %+v", f)
	}
	if slices.Contains(h.world.Names(), "SetTrafficWeights") {
		t.Error("traffic moved after parity failed")
	}
	if len(h.world.Inputs("DeletePodIdentityAssociations")) != 1 {
		t.Errorf("calls %v: want the created association deleted by the rollback", h.world.Names())
	}
}

// hasParityRow reports whether p has a passed row of check for object.
func hasParityRow(p *workflows.ParityReport, check, object string) bool {
	if p == nil {
		return false
	}
	for _, r := range p.Rows {
		if r.Check == check && r.Object == object && r.OK {
			return true
		}
	}
	return false
}
