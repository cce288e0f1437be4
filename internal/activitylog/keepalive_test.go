package activitylog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// blockingWorkflow runs activity "Blocks" with a short heartbeat timeout.
func blockingWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    1500 * time.Millisecond,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 2},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "Blocks").Get(ctx, &out)
	return out, err
}

type beats struct {
	mu   sync.Mutex
	seen []string
}

func (b *beats) listen(_ *activity.Info, d converter.EncodedValues) {
	var s string
	if d.HasValues() {
		_ = d.Get(&s)
	}
	b.mu.Lock()
	b.seen = append(b.seen, s)
	b.mu.Unlock()
}

func runBlocking(t *testing.T, keepAlive bool, b *beats) error {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(blockingWorkflow)
	env.RegisterActivityWithOptions(func(ctx context.Context) (string, error) {
		if activity.GetInfo(ctx).Attempt == 1 {
			// The first attempt records where it got to and fails.
			Heartbeat(ctx, "resume-here")
			return "", errors.New("first attempt fails")
		}
		if keepAlive {
			var stop func()
			ctx, stop = KeepAlive(ctx)
			defer stop()
		}
		// One call that blocks longer than the heartbeat timeout.
		time.Sleep(3 * time.Second)
		return "done", nil
	}, activity.RegisterOptions{Name: "Blocks"})
	if b != nil {
		env.SetOnActivityHeartbeatListener(b.listen)
	}
	env.ExecuteWorkflow(blockingWorkflow)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return env.GetWorkflowError()
}

func TestKeepAliveOutlivesABlockingCall(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for heartbeat timeouts")
	}
	var wg sync.WaitGroup
	var without, with error
	b := &beats{}
	wg.Add(2)
	go func() { defer wg.Done(); without = runBlocking(t, false, nil) }()
	go func() { defer wg.Done(); with = runBlocking(t, true, b) }()
	wg.Wait()
	var timeout *temporal.TimeoutError
	if !errors.As(without, &timeout) {
		t.Fatalf("without KeepAlive the blocking call must hit the heartbeat timeout, got %v", without)
	}
	if with != nil {
		t.Fatalf("with KeepAlive: %v", with)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) < 3 {
		t.Fatalf("heartbeats %v, want the first attempt's and background ones", b.seen)
	}
	for i, s := range b.seen {
		if s != "resume-here" {
			t.Fatalf("heartbeat %d carried %q: the previous attempt's details must be re-sent, never overwritten", i, s)
		}
	}
}

func TestKeepAliveOutsideAnActivity(t *testing.T) {
	ctx, stop := KeepAlive(context.Background())
	defer stop()
	Heartbeat(ctx, "ignored")
	stop() // idempotent
}
