package chatops

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
)

// gateWorkflow is a stand-in for BlueGreenMigration's gate: the same
// `approve` Update with a validator that refuses anyone but alice and any
// gate but "cutover".
func gateWorkflow(ctx workflow.Context) (workflows.GateOutcome, error) {
	var decided *workflows.GateOutcome
	validate := func(d workflows.Decision) error {
		switch {
		case d.Gate != "cutover":
			return fmt.Errorf("unknown gate %q (open gates: cutover)", d.Gate)
		case decided != nil:
			return fmt.Errorf("gate %q was already decided by %s", d.Gate, decided.By)
		case d.By != "alice":
			return fmt.Errorf("%s may not decide gate %q (approvers: alice)", d.By, d.Gate)
		}
		return nil
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, workflows.UpdateApprove,
		func(ctx workflow.Context, d workflows.Decision) (workflows.GateOutcome, error) {
			decided = &workflows.GateOutcome{Gate: d.Gate, Approved: d.Approve, By: d.By, At: workflow.Now(ctx)}
			return *decided, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d workflows.Decision) error { return validate(d) }},
	)
	if err != nil {
		return workflows.GateOutcome{}, err
	}
	if err := workflow.Await(ctx, func() bool { return decided != nil }); err != nil {
		return workflows.GateOutcome{}, err
	}
	return *decided, nil
}

// TestTemporalUpdater sends decisions through a real Temporal dev server.
func TestTemporalUpdater(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "chatops-test"
	w := wiring.NewWorker(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(gateWorkflow, workflow.RegisterOptions{Name: "ChatopsGateTest"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cutover-chatops-test", TaskQueue: queue}, "ChatopsGateTest")
	if err != nil {
		t.Fatal(err)
	}

	u := NewTemporalUpdater(c)
	try := func(workflowID string, d workflows.Decision) string {
		t.Helper()
		out, err := u.Approve(ctx, workflowID, d)
		text, _ := describe(workflowID, d, out, err)
		return text
	}
	if got, want := try("cutover-chatops-test", workflows.Decision{Gate: "cutover", Approve: true, By: "mallory"}),
		`Refused: mallory may not decide gate "cutover" (approvers: alice)`; got != want {
		t.Fatalf("non-approver: %q, want %q", got, want)
	}
	if got, want := try("cutover-chatops-test", workflows.Decision{Gate: "retire", Approve: true, By: "alice"}),
		`Refused: unknown gate "retire" (open gates: cutover)`; got != want {
		t.Fatalf("unknown gate: %q, want %q", got, want)
	}
	if got, want := try("cutover-nosuch", workflows.Decision{Gate: "cutover", Approve: true, By: "alice"}),
		`No running migration with workflow ID "cutover-nosuch".`; got != want {
		t.Fatalf("missing workflow: %q, want %q", got, want)
	}
	out, err := u.Approve(ctx, "cutover-chatops-test", workflows.Decision{Gate: "cutover", Approve: true, By: "alice", Comment: "go"})
	if err != nil || !out.Approved || out.By != "alice" || out.Gate != "cutover" {
		t.Fatalf("approval: %+v, %v", out, err)
	}
	var res workflows.GateOutcome
	if err := run.Get(ctx, &res); err != nil || res.By != "alice" {
		t.Fatalf("workflow result %+v, %v", res, err)
	}
}
