// Package histories records workflow histories of BlueGreenMigration from a
// real Temporal server, for the replay test in workflows/. Each scenario
// runs the workflow against the fake world and answers gates the way a
// person would, through the approve update and the abort signal.
//
// Regenerate with scripts/record-histories.sh after a deliberate workflow
// change; a change that makes old histories fail to replay needs
// workflow.GetVersion instead.
package histories

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Scenario is one recorded run.
type Scenario struct {
	Name string
	// World adjusts the fake world.
	World func(w *fakeworld.World)
	// Spec adjusts the base spec.
	Spec func(s *spec.MigrationSpec)
	// Decisions answer gates in order as they open.
	Decisions []workflows.Decision
	// AbortAtGreen sends abort once green has this weight.
	AbortAtGreen int
	// Fleet, when true, records a FleetUpgrade of the (adjusted) spec with
	// gates off instead of a BlueGreenMigration.
	Fleet bool
}

// Scenarios are the histories kept in workflows/testdata/histories.
var Scenarios = []Scenario{
	{Name: "happy-path", Decisions: []workflows.Decision{{Gate: "cutover", Approve: true, By: "alice"}, {Gate: "retire", Approve: true, By: "alice"}}},
	{Name: "reject-cutover", Decisions: []workflows.Decision{{Gate: "cutover", Approve: false, By: "bob", Comment: "not today"}}},
	{Name: "alarm-rollback", World: func(w *fakeworld.World) { w.UnhealthyAtGreen = 50; w.UnhealthyAlarm = "shop-5xx" },
		Decisions: []workflows.Decision{{Gate: "cutover", Approve: true, By: "alice"}}},
	{Name: "abort-mid-shift", AbortAtGreen: 10, Decisions: []workflows.Decision{{Gate: "cutover", Approve: true, By: "alice"}}},
	{Name: "dry-run", Spec: func(s *spec.MigrationSpec) { s.DryRun = true }},
	{Name: "invalid-spec", Spec: func(s *spec.MigrationSpec) { s.Traffic.Steps = []int{50, 20} }},
	{Name: "fleet-upgrade", Fleet: true, Spec: func(s *spec.MigrationSpec) {
		off := false
		s.Name, s.Green = "", spec.GreenSpec{}
		s.Approvals.Cutover.Enabled, s.Approvals.Retire.Enabled = &off, &off
	}, Decisions: []workflows.Decision{{Gate: "before-two", Approve: true, By: "alice"}}},
}

// RecordedFleet is the fleet of the fleet-upgrade scenario: a wave of the
// member, a soak, then a gated wave of a second member, at most one
// migration at a time.
func RecordedFleet(member spec.MigrationSpec) workflows.FleetSpec {
	on := true
	soak := spec.Duration(time.Second)
	second := member
	second.Blue.ClusterName = member.Blue.ClusterName + "-two"
	return workflows.FleetSpec{Name: "record", Waves: []workflows.FleetWave{
		{Name: "one", Soak: &soak, Migrations: []spec.MigrationSpec{member}},
		{Name: "two", MaxConcurrency: 1, GateBefore: spec.GateSpec{Enabled: &on, Approvers: []string{"alice"}, Timeout: spec.Duration(10 * time.Minute)},
			Migrations: []spec.MigrationSpec{second}},
	}}
}

// BaseSpec is a small migration with short timers.
func BaseSpec(name string) spec.MigrationSpec {
	yes := true
	zero := spec.Duration(0)
	return spec.MigrationSpec{
		Name:  name,
		Blue:  spec.BlueSpec{ClusterName: "blue", Region: "eu-west-1"},
		Green: spec.GreenSpec{ClusterName: "green", KubernetesVersion: "1.31"},
		Traffic: spec.TrafficSpec{Provider: spec.ProviderRoute53,
			Route53: &spec.Route53Spec{HostedZoneID: "Z0123456789ABC", RecordName: "shop.example.com", GreenTarget: "green-lb.example.com"},
			Steps:   []int{10, 50, 100}, BakeTime: spec.Duration(2 * time.Second), CheckInterval: spec.Duration(time.Second), Alarms: []string{"shop-5xx"}},
		Approvals: spec.ApprovalsSpec{Cutover: spec.GateSpec{Approvers: []string{"alice", "bob"}, Timeout: spec.Duration(10 * time.Minute)},
			Retire: spec.GateSpec{Enabled: &yes, Timeout: spec.Duration(10 * time.Minute)}, ReminderInterval: &zero},
		Retire: spec.RetireSpec{Soak: spec.Duration(time.Second)},
	}
}

// Record runs every scenario on the server c points at and writes
// <outDir>/<scenario>.json.
func Record(ctx context.Context, c client.Client, outDir string, logf func(string, ...any)) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, sc := range Scenarios {
		if err := recordOne(ctx, c, outDir, sc, logf); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	return nil
}

func recordOne(ctx context.Context, c client.Client, outDir string, sc Scenario, logf func(string, ...any)) error {
	hist, err := Run(ctx, c, sc, nil)
	if err != nil {
		return err
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		return err
	}
	path := filepath.Join(outDir, sc.Name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	logf("Recorded history scenario=%s events=%d path=%s", sc.Name, len(hist.Events), path)
	return nil
}

// Run runs one scenario on the server c points at, answering its gates,
// and returns the run's history. adjust, when given, changes the spec
// after the scenario's own Spec.
func Run(ctx context.Context, c client.Client, sc Scenario, adjust func(*spec.MigrationSpec)) (*historypb.History, error) {
	world := fakeworld.New()
	if sc.World != nil {
		sc.World(world)
	}
	queue := "record-" + sc.Name
	if sc.Fleet {
		queue = workflows.TaskQueue // where FleetUpgrade starts its children
	}
	w := wiring.NewWorker(c, queue, worker.Options{})
	wiring.Register(w, world.Activities())
	if err := w.Start(); err != nil {
		return nil, err
	}
	defer w.Stop()

	s := BaseSpec(sc.Name)
	if sc.Spec != nil {
		sc.Spec(&s)
	}
	if adjust != nil {
		adjust(&s)
	}
	opts := client.StartWorkflowOptions{ID: "record-" + sc.Name + fmt.Sprint(time.Now().UnixNano()), TaskQueue: queue}
	var run client.WorkflowRun
	var err error
	if sc.Fleet {
		run, err = c.ExecuteWorkflow(ctx, opts, workflows.FleetWorkflowType, RecordedFleet(s))
	} else {
		run, err = c.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, s)
	}
	if err != nil {
		return nil, err
	}
	pending := sc.Decisions
	aborted := false
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return nil, err
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if sc.AbortAtGreen > 0 && !aborted && world.Weights().Green == sc.AbortAtGreen {
			if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.SignalAbort, workflows.Abort{By: "oncall", Reason: "recorded abort"}); err != nil {
				return nil, err
			}
			aborted = true
		}
		if len(pending) > 0 {
			if v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryStatus); err == nil {
				var st workflows.Status
				if v.Get(&st) == nil {
					for _, g := range st.PendingGates {
						if g.Gate == pending[0].Gate {
							h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
								UpdateName: workflows.UpdateApprove, Args: []any{pending[0]}, WaitForStage: client.WorkflowUpdateStageCompleted})
							if err != nil {
								return nil, err
							}
							if err := h.Get(ctx, nil); err != nil {
								return nil, err
							}
							pending = pending[1:]
							break
						}
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	hist := &historypb.History{}
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, err
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist, nil
}
