package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/testsuite"
)

func TestNextVersionAndGreenName(t *testing.T) {
	for _, tt := range []struct {
		cur, target, want string
		move              bool
	}{
		{"1.29", "", "1.30", true},
		{"1.31", "", "1.32", true},
		{"1.29", "1.31", "1.31", true},
		{"1.31", "1.31", "1.31", false},
		{"1.32", "1.31", "1.31", false},
		{"garbage", "", "", false},
	} {
		got, move := workflows.NextVersion(tt.cur, tt.target)
		if got != tt.want || move != tt.move {
			t.Errorf("NextVersion(%q, %q) = %q, %v; want %q, %v", tt.cur, tt.target, got, move, tt.want, tt.move)
		}
	}
	for blue, want := range map[string]string{"shop": "shop-1-31", "shop-1-30": "shop-1-31", "shop-1-x": "shop-1-x-1-31", "eu-1-prod": "eu-1-prod-1-31"} {
		if got := workflows.GreenName(blue, "1.31"); got != want {
			t.Errorf("GreenName(%q) = %q, want %q", blue, got, want)
		}
	}
}

func fleetMember(blue string) spec.MigrationSpec {
	off := false
	s := testSpec()
	s.Name, s.Green = "", spec.GreenSpec{}
	s.Blue.ClusterName = blue
	// Each member its own record, as in a real fleet: the fake world
	// keeps a split per record, so concurrent members do not share one.
	s.Traffic.Route53.RecordName = blue + ".example.com"
	s.Approvals = spec.ApprovalsSpec{Cutover: spec.GateSpec{Enabled: &off}, Retire: spec.GateSpec{Enabled: &off}}
	s.Retire.Soak = spec.Duration(time.Minute)
	return s
}

func newFleetEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fakeworld.World) {
	env := newTestEnv()
	workflows.Register(env)
	w := fakeworld.New()
	env.RegisterActivity(w.Activities())
	return env, w
}

func TestFleetUpgradeWaves(t *testing.T) {
	env, world := newFleetEnv(t)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Migrations: []spec.MigrationSpec{fleetMember("shop-1-29")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("api"), fleetMember("search")}},
	}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var r workflows.FleetReport
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 3 {
		t.Fatalf("results %+v", r.Results)
	}
	want := []struct{ blue, id string }{{"shop-1-29", "cutover-shop-1-30"}, {"api", "cutover-api-1-30"}, {"search", "cutover-search-1-30"}}
	for i, w := range want {
		got := r.Results[i]
		if got.Blue != w.blue || got.WorkflowID != w.id || got.From != "1.29" || got.To != "1.30" || got.Outcome != workflows.OutcomeSucceeded {
			t.Errorf("result %d = %+v, want blue %s id %s 1.29→1.30 succeeded", i, got, w.blue, w.id)
		}
	}
	// Every child built its green at the next version.
	if n := len(world.Inputs("EnsureGreenCluster")); n != 3 {
		t.Errorf("%d greens built", n)
	}
}

func TestFleetStopsAfterAFailedWave(t *testing.T) {
	env, world := newFleetEnv(t)
	world.SmokeFails = "GET /healthz: 503"
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{
		{Name: "canary", Migrations: []spec.MigrationSpec{fleetMember("shop")}},
		{Name: "rest", Migrations: []spec.MigrationSpec{fleetMember("api")}},
	}})
	err := env.GetWorkflowError()
	typ, _ := failureReport(t, err)
	if typ != "FleetStopped" {
		t.Fatalf("type %q: %v", typ, err)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("the second wave ran: %d greens built", n)
	}
}

func TestFleetSkipsUpToDateClusters(t *testing.T) {
	env, world := newFleetEnv(t)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Name: "prod", TargetVersion: "1.29",
		Waves: []workflows.FleetWave{{Migrations: []spec.MigrationSpec{fleetMember("shop")}}}})
	var r workflows.FleetReport
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	if r.Results[0].Outcome != "up-to-date" || len(world.Inputs("EnsureGreenCluster")) != 0 {
		t.Errorf("results %+v", r.Results)
	}
}

func TestFleetValidation(t *testing.T) {
	env, world := newFleetEnv(t)
	env.ExecuteWorkflow(workflows.FleetWorkflowType, workflows.FleetSpec{Waves: []workflows.FleetWave{{}}})
	err := env.GetWorkflowError()
	if !failures.Is(err, failures.Validation) || len(world.Calls()) != 0 {
		t.Fatalf("err %v calls %v", err, world.Names())
	}
	for _, field := range []string{"name: is required", "waves[0].migrations: must list at least one migration"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error lacks %q: %v", field, err)
		}
	}
}

// TestFleetLogicalClustersAcrossQuarters: a member names its logical
// cluster; the first quarter moves the untagged original and green takes
// the logical cluster over; the next quarter resolves the logical name to
// that green and moves it on, with green and workflow named after the
// logical cluster.
func TestFleetLogicalClustersAcrossQuarters(t *testing.T) {
	env, world := newFleetEnv(t)
	member := fleetMember("shop")
	member.Blue.LogicalName = "shop-prod"
	fleet := workflows.FleetSpec{Name: "prod", Waves: []workflows.FleetWave{{Name: "all", Migrations: []spec.MigrationSpec{member}}}}
	env.ExecuteWorkflow(workflows.FleetWorkflowType, fleet)
	var r workflows.FleetReport
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	got := r.Results[0]
	if got.Logical != "shop-prod" || got.Blue != "shop" || got.To != "1.30" || got.WorkflowID != "cutover-shop-prod-1-30" || got.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("first quarter %+v", got)
	}
	if lc := world.LogicalCluster("shop-prod"); lc.Cluster != "shop-prod-1-30" || lc.Generation != 1 {
		t.Fatalf("after the first quarter shop-prod is %+v; want shop-prod-1-30, generation 1", lc)
	}
	take := world.Inputs("TakeOverLogicalCluster")
	if len(take) != 1 || slices.Index(world.Names(), "TakeOverLogicalCluster") > slices.Index(world.Names(), "RetireEKSCluster") {
		t.Errorf("take-over %v, calls %v: want one, before blue's deletion", take, world.Names())
	}

	// Next quarter: the same fleet file; the world's clusters are at 1.30.
	env2 := newTestEnv()
	workflows.Register(env2)
	env2.RegisterActivity(world.Activities())
	world.Blue.Version = "1.30"
	env2.ExecuteWorkflow(workflows.FleetWorkflowType, fleet)
	var r2 workflows.FleetReport
	if err := env2.GetWorkflowResult(&r2); err != nil {
		t.Fatal(err)
	}
	got = r2.Results[0]
	if got.Blue != "shop-prod-1-30" || got.To != "1.31" || got.WorkflowID != "cutover-shop-prod-1-31" || got.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("second quarter %+v: want shop-prod-1-30 moved to 1.31", got)
	}
	if lc := world.LogicalCluster("shop-prod"); lc.Cluster != "shop-prod-1-31" || lc.Generation != 2 {
		t.Errorf("after the second quarter shop-prod is %+v", lc)
	}
}
