package worker

import (
	"fmt"
	"strconv"

	sdkworker "go.temporal.io/sdk/worker"
)

// Worker tuning from the environment (the chart's worker.tuning values).
// Unset leaves the SDK's default; with hundreds of concurrent migrations
// on one worker, 8 workflow-task and 8 activity pollers gave more
// throughput than the defaults (README, operator guide).
const (
	EnvWorkflowTaskPollers        = "CUTOVER_WORKFLOW_TASK_POLLERS"
	EnvActivityTaskPollers        = "CUTOVER_ACTIVITY_TASK_POLLERS"
	EnvMaxConcurrentActivities    = "CUTOVER_MAX_CONCURRENT_ACTIVITIES"
	EnvMaxConcurrentWorkflowTasks = "CUTOVER_MAX_CONCURRENT_WORKFLOW_TASKS"
)

// applyTuning sets the poller and slot counts the environment names on o.
// A value that is not a whole number in range is an error naming the
// variable, so a typo stops the worker at start instead of running it
// with defaults nobody chose.
func applyTuning(o *sdkworker.Options, getenv func(string) string) error {
	for _, f := range []struct {
		env      string
		min, max int
		set      func(int)
	}{
		// The SDK needs at least 2 workflow-task pollers (sticky and normal queue).
		{EnvWorkflowTaskPollers, 2, 256, func(n int) { o.MaxConcurrentWorkflowTaskPollers = n }},
		{EnvActivityTaskPollers, 1, 256, func(n int) { o.MaxConcurrentActivityTaskPollers = n }},
		{EnvMaxConcurrentActivities, 1, 100000, func(n int) { o.MaxConcurrentActivityExecutionSize = n }},
		{EnvMaxConcurrentWorkflowTasks, 2, 100000, func(n int) { o.MaxConcurrentWorkflowTaskExecutionSize = n }},
	} {
		v := getenv(f.env)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < f.min || n > f.max {
			return fmt.Errorf("%s=%q: want a whole number from %d to %d", f.env, v, f.min, f.max)
		}
		f.set(n)
	}
	return nil
}
