package activitylog

import (
	"context"
	"log/slog"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

func TestOutsideAnActivity(t *testing.T) {
	fallback := slog.Default()
	if got := For(context.Background(), fallback); got != Logger(fallback) {
		t.Fatalf("For outside an activity = %T, want the fallback", got)
	}
	Heartbeat(context.Background(), "ignored") // must not panic
	Discard.Info("dropped", "k", "v")
}

func TestInsideAnActivity(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	fallback := slog.Default()
	env.RegisterActivityWithOptions(func(ctx context.Context) (bool, error) {
		Heartbeat(ctx, map[string]int{"polls": 1})
		return For(ctx, fallback) != Logger(fallback), nil
	}, activity.RegisterOptions{Name: "UsesActivityLogger"})
	v, err := env.ExecuteActivity("UsesActivityLogger")
	if err != nil {
		t.Fatal(err)
	}
	var usedActivityLogger bool
	if err := v.Get(&usedActivityLogger); err != nil {
		t.Fatal(err)
	}
	if !usedActivityLogger {
		t.Fatal("For inside an activity returned the fallback, want the activity logger")
	}
}
