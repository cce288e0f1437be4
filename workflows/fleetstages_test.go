package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/testsuite"
)

func soakOf(d time.Duration) *spec.Duration {
	s := spec.Duration(d)
	return &s
}

func fleetResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.FleetReport {
	t.Helper()
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var r workflows.FleetReport
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func fleetStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.FleetStatus {
	t.Helper()
	v, err := env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		t.Fatalf("status query: %v", err)
	}
	var s workflows.FleetStatus
	if err := v.Get(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// decideFleetGate sends an approve update once the gate is open (polled
// every simulated minute) and records the status seen then.
func decideFleetGate(t *testing.T, env *testsuite.TestWorkflowEnvironment, gate string, approve bool, by string, seen *workflows.FleetStatus, before func()) {
	var tick func()
	tick = func() {
		s := fleetStatus(t, env)
		for _, g := range s.PendingGates {
			if g.Gate == gate {
				*seen = s
				if before != nil {
					before()
				}
				env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
					OnReject:   func(err error) { t.Errorf("update on %s rejected: %v", gate, err) },
					OnAccept:   func() {},
					OnComplete: func(any, error) {},
				}, workflows.Decision{Gate: gate, Approve: approve, By: by})
				return
			}
		}
		env.RegisterDelayedCallback(tick, time.Minute)
	}
	env.RegisterDelayedCallback(tick, time.Minute)
}

// TestFleetSoakWatchesTheWaveBeforeTheNext: the soak after a wave is a
// durable timer of its configured length, with the wave's members'
// alarms and probes watched for all of it; the next wave starts after.
func TestFleetSoakWatchesTheWaveBeforeTheNext(t *testing.T) {
	env, world := newFleetEnv(t)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Soak: soakOf(6 * time.Hour), Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	r := fleetResult(t, env)
	canary, rest := r.Results[0], r.Results[1]
	if canary.Outcome != workflows.OutcomeSucceeded || rest.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("results %+v", r.Results)
	}
	if gap := rest.Started.Sub(canary.Ended); gap < 6*time.Hour {
		t.Errorf("the next wave started %s after the canary ended; want the 6h soak between", gap)
	}
	var soakWatch []string
	for _, in := range world.Inputs("WatchTrafficHealth") {
		if w := in.(traffic.WatchInput); strings.Contains(w.What, "soak of wave canary") {
			soakWatch = append(soakWatch, w.What)
		}
	}
	if len(soakWatch) == 0 {
		t.Errorf("no watch of the canary's alarms during the soak")
	}
	// The soak ended with the canary's new cluster read from EKS.
	if !slices.ContainsFunc(world.Inputs("DescribeEKSCluster"), func(in any) bool { return in.(eks.DescribeInput).Cluster.Name == "shop-1-30" }) {
		t.Errorf("the canary's green shop-1-30 was not read at the end of the soak")
	}
}

// TestFleetSoakUnhealthyStopsTheFleet: an alarm of a member in ALARM
// during the soak stops the fleet before the next wave.
func TestFleetSoakUnhealthyStopsTheFleet(t *testing.T) {
	env, world := newFleetEnv(t)
	world.UnhealthyAlarm = "shop-5xx"
	world.SetUnhealthyWhile("soak of wave canary")
	off := false
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Resume: spec.GateSpec{Enabled: &off}, Waves: []workflows.FleetWave{
		{Name: "canary", Soak: soakOf(time.Hour), Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	err := env.GetWorkflowError()
	typ, _ := failureReport(t, err)
	if typ != "FleetStopped" || !strings.Contains(err.Error(), "unhealthy during the soak") || !strings.Contains(err.Error(), "shop-5xx") {
		t.Fatalf("type %q: %v", typ, err)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("%d greens built; the second wave must not start", n)
	}
}

// TestFleetGateBeforeAWave: the wave waits at before-<wave> until a
// person approves; its migrations start only then. An approver outside
// the allow-list is refused by the validator.
func TestFleetGateBeforeAWave(t *testing.T) {
	env, world := newFleetEnv(t)
	on := true
	var seen workflows.FleetStatus
	greensAtGate := -1
	decideFleetGate(t, env, "before-rest", true, "alice", &seen, func() {
		greensAtGate = len(world.Inputs("EnsureGreenCluster"))
		env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnReject:   func(error) {},
			OnAccept:   func() { t.Errorf("mallory's decision was accepted") },
			OnComplete: func(any, error) {},
		}, workflows.Decision{Gate: "before-rest", Approve: true, By: "mallory"})
	})
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Soak: soakOf(0), Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", GateBefore: spec.GateSpec{Enabled: &on, Approvers: []string{"alice"}}, Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	r := fleetResult(t, env)
	if greensAtGate != 1 {
		t.Errorf("%d greens built when the gate was open; want only the canary's", greensAtGate)
	}
	if seen.State != workflows.FleetGate || seen.Waves[1].State != workflows.FleetGate || seen.Waves[1].Members[0].Outcome != workflows.MemberPending {
		t.Errorf("status at the gate %+v", seen)
	}
	if r.Results[1].Outcome != workflows.OutcomeSucceeded || len(r.Approvals) != 1 || r.Approvals[0].By != "alice" || r.Approvals[0].Gate != "before-rest" {
		t.Errorf("report %+v", r)
	}
}

// TestFleetGateRejectedStops: rejecting the gate before a wave ends the
// fleet without running the wave and without a resume wait.
func TestFleetGateRejectedStops(t *testing.T) {
	env, world := newFleetEnv(t)
	on := true
	var seen workflows.FleetStatus
	decideFleetGate(t, env, "before-canary", false, "bob", &seen, nil)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", GateBefore: spec.GateSpec{Enabled: &on}, Migrations: []spec.MigrationSpec{fleetMember("shop")}},
	}})
	err := env.GetWorkflowError()
	if typ, _ := failureReport(t, err); typ != "FleetStopped" || !strings.Contains(err.Error(), `gate "before-canary" rejected by bob`) {
		t.Fatalf("%v", err)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 0 {
		t.Errorf("%d greens built after a rejected gate", n)
	}
}

// TestFleetMaxConcurrency: with maxConcurrency 1 the wave's migrations
// run one after another, never two at once.
func TestFleetMaxConcurrency(t *testing.T) {
	for _, tt := range []struct {
		limit, wantMax int
	}{{1, 1}, {2, 2}, {0, 3}} {
		env, _ := newFleetEnv(t)
		env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
			{Name: "all", MaxConcurrency: tt.limit, Migrations: []spec.MigrationSpec{fleetMember("a"), fleetMember("b"), fleetMember("c")}},
		}})
		r := fleetResult(t, env)
		most := 0
		for _, x := range r.Results {
			if x.Outcome != workflows.OutcomeSucceeded {
				t.Fatalf("limit %d: %+v", tt.limit, r.Results)
			}
			n := 0
			for _, y := range r.Results {
				if !y.Started.After(x.Started) && y.Ended.After(x.Started) {
					n++ // y was running when x started
				}
			}
			most = max(most, n)
		}
		if most != tt.wantMax {
			t.Errorf("maxConcurrency %d: at most %d ran at once, want %d (%+v)", tt.limit, most, tt.wantMax, r.Results)
		}
	}
}

// TestFleetStopsAndResumesFromTheFailedWave: a failed migration stops
// the fleet at the resume gate (later waves not started); once a person
// approves "resume" the failed member runs again, the member that
// succeeded does not, and the fleet goes on with the next wave.
func TestFleetStopsAndResumesFromTheFailedWave(t *testing.T) {
	env, world := newFleetEnv(t)
	world.SmokeFails = "GET /healthz: 503"
	var seen workflows.FleetStatus
	decideFleetGate(t, env, workflows.GateResume, true, "oncall", &seen, func() {
		world.SmokeFails = "" // the fix a person made before resuming
	})
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Soak: soakOf(0), Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("search")}},
	}})
	r := fleetResult(t, env)
	if seen.State != workflows.FleetStopped || seen.Stopped == nil || seen.Stopped.Wave != "canary" || !strings.Contains(seen.Stopped.Reason, "503") {
		t.Fatalf("status at the stop %+v", seen)
	}
	if seen.Waves[1].Members[0].Outcome != workflows.MemberPending {
		t.Errorf("the next wave ran before the resume: %+v", seen.Waves[1])
	}
	if r.Results[0].Outcome != workflows.OutcomeSucceeded || r.Results[1].Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("after the resume %+v", r.Results)
	}
	greens := world.Inputs("EnsureGreenCluster")
	if len(greens) != 3 {
		t.Errorf("%d greens built; want shop twice (failed, resumed) and search once", len(greens))
	}
}

// TestFleetResumeRejectedEnds: rejecting the resume gate ends the fleet
// as stopped, later waves skipped.
func TestFleetResumeRejectedEnds(t *testing.T) {
	env, world := newFleetEnv(t)
	world.SmokeFails = "GET /healthz: 503"
	var seen workflows.FleetStatus
	decideFleetGate(t, env, workflows.GateResume, false, "oncall", &seen, nil)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	err := env.GetWorkflowError()
	typ, _ := failureReport(t, err)
	if typ != "FleetStopped" || seen.Stopped == nil {
		t.Fatalf("type %q err %v seen %+v", typ, err, seen)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("%d greens built", n)
	}
}

// TestFleetVersionChoice: a member already at the fleet's target is
// skipped and reported; one below moves; a target EKS does not offer
// fails its members before anything is built; a member at the newest
// offered version without a fleet target is up to date.
func TestFleetVersionChoice(t *testing.T) {
	env, world := newFleetEnv(t)
	world.SetClusterVersion("api", "1.30")
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", TargetVersion: "1.30", Waves: []workflows.FleetWave{
		{Name: "all", Migrations: []spec.MigrationSpec{fleetMember("shop"), fleetMember("api")}},
	}})
	r := fleetResult(t, env)
	if r.Results[0].Outcome != workflows.OutcomeSucceeded || r.Results[1].Outcome != workflows.MemberUpToDate || !strings.Contains(r.Results[1].Reason, "at 1.30") {
		t.Fatalf("results %+v", r.Results)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("%d greens built; want only shop's", n)
	}

	env2, world2 := newFleetEnv(t)
	world2.SetOfferedVersions("1.28", "1.29")
	env2.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "all", Migrations: []spec.MigrationSpec{fleetMember("shop")}},
	}})
	r2 := fleetResult(t, env2)
	if r2.Results[0].Outcome != workflows.MemberUpToDate || !strings.Contains(r2.Results[0].Reason, "offers no 1.30 yet") {
		t.Errorf("newest offered: %+v", r2.Results)
	}

	env3, world3 := newFleetEnv(t)
	world3.SetOfferedVersions("1.29", "1.30")
	off := false
	env3.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", TargetVersion: "1.31", Resume: spec.GateSpec{Enabled: &off}, Waves: []workflows.FleetWave{
		{Name: "all", Migrations: []spec.MigrationSpec{fleetMember("shop")}},
	}})
	err := env3.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "does not offer Kubernetes 1.31") || len(world3.Inputs("EnsureGreenCluster")) != 0 {
		t.Errorf("target not offered: %v, greens %d", err, len(world3.Inputs("EnsureGreenCluster")))
	}
}

// TestFleetStagesValidation: what the fleet adds to its members is
// checked with field paths.
func TestFleetStagesValidation(t *testing.T) {
	doc := `{"name":"prod","waves":[` +
		`{"name":"Canary","maxConcurrency":-1,"soak":"-1h","gateBefore":{"enabled":true,"onTimeout":"later"},"migrations":[M]},` +
		`{"name":"rest","migrations":[M]},{"name":"rest","migrations":[M]}],` +
		`"resume":{"timeout":"900h"},"notify":{"slackChannel":"general"}}`
	member := `{"blue":{"clusterName":"shop","region":"eu-west-1"},"traffic":{"route53":{"hostedZoneId":"Z1","recordName":"shop.example.com","blueTarget":"b.example.com","greenTarget":"g.example.com"}}}`
	var f workflows.FleetSpec
	errs := workflows.CheckFleet([]byte(strings.ReplaceAll(doc, "M", member)), &f)
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Field] = true
	}
	for _, want := range []string{"waves[0].name", "waves[0].maxConcurrency", "waves[0].soak", "waves[0].gateBefore.onTimeout", "waves[2].name", "resume.timeout", "notify.slackChannel"} {
		if !got[want] {
			t.Errorf("no problem on %s; got %v", want, errs)
		}
	}
}

// TestFleetInPlaceMember: a member with strategy inPlace is planned
// without a green (its migration is named after it and the version) and
// its child runs the in-place path (a dry run here: the updates are not
// built yet).
func TestFleetInPlaceMember(t *testing.T) {
	env, world := newFleetEnv(t)
	m := fleetMember("shop")
	m.Strategy, m.Traffic, m.Velero, m.Jobs, m.DryRun = spec.StrategyInPlace, spec.TrafficSpec{}, spec.VeleroSpec{}, spec.JobsSpec{}, true
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{{Name: "all", Migrations: []spec.MigrationSpec{m}}}})
	r := fleetResult(t, env)
	got := r.Results[0]
	if got.Outcome != workflows.OutcomeDryRun || got.Green != "" || got.WorkflowID != "cutover-shop-1-30" {
		t.Fatalf("member %+v", got)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 0 {
		t.Errorf("%d greens built for an in-place member", n)
	}
}

// TestFleetSlackThread: a fleet posting to Slack keeps one thread: every
// fleet message after the first replies to it, and the gate's decision
// names the gate's request to rewrite.
func TestFleetSlackThread(t *testing.T) {
	env, world := newFleetEnv(t)
	on := true
	var seen workflows.FleetStatus
	decideFleetGate(t, env, "before-rest", true, "alice", &seen, nil)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Notify: spec.NotifySpec{SlackChannel: "#platform"}, Waves: []workflows.FleetWave{
		{Name: "canary", Soak: soakOf(0), Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", GateBefore: spec.GateSpec{Enabled: &on, Approvers: []string{"alice"}}, Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	fleetResult(t, env)
	var fleetMsgs []notify.Message
	for _, in := range world.Inputs("Notify") {
		if m := in.(notify.Message); m.Migration == "prod" {
			fleetMsgs = append(fleetMsgs, m)
		}
	}
	if len(fleetMsgs) < 3 {
		t.Fatalf("fleet messages %+v: want the gate's request, its decision and the outcome", fleetMsgs)
	}
	if fleetMsgs[0].ThreadTS != "" || fleetMsgs[0].Kind != notify.KindGateOpened {
		t.Fatalf("first fleet message %+v", fleetMsgs[0])
	}
	var decided *notify.Message
	for i, m := range fleetMsgs[1:] {
		if m.ThreadTS == "" || m.SlackChannel != "C0FAKE0001" {
			t.Errorf("fleet message %d outside the thread: %+v", i+1, m)
		}
		if m.Kind == notify.KindGateDecided {
			decided = &fleetMsgs[i+1]
		}
	}
	if decided == nil || len(decided.Updates) != 1 || decided.Updates[0].TS != fleetMsgs[1].ThreadTS {
		t.Errorf("the gate's decision %+v: want it to rewrite the gate's request", decided)
	}
}
