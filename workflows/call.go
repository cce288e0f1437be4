package workflows

import (
	"fmt"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// call runs one activity with the given options and decodes its result.
// fn is a method of a nil activity struct pointer (eksA.DescribeEKSCluster):
// only its name reaches Temporal.
func call[T any](ctx workflow.Context, opts workflow.ActivityOptions, fn, in any) (T, error) {
	var out T
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), fn, in).Get(ctx, &out)
	return out, err
}

// run runs one activity whose result the workflow does not use.
func run(ctx workflow.Context, opts workflow.ActivityOptions, fn, in any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), fn, in).Get(ctx, nil)
}

// changeLocalCalls versions the short calls (reads and quick idempotent
// writes of seconds) run as local activities: each is one marker event in
// history instead of three events and a workflow task of its own, which
// keeps a migration's history near 300 events. Runs recorded before it
// replay them as regular activities.
const changeLocalCalls = "local-short-calls"

// short runs one short activity like call, as a local activity (the
// worker runs it within the workflow task; a worker that dies meanwhile
// is noticed at the workflow task's timeout and the call retried on
// another). opts give its timeouts and retry policy; its heartbeats are
// no-ops, so only calls that finish in seconds and need no heartbeat
// details to resume go through here.
func short[T any](ctx workflow.Context, opts workflow.ActivityOptions, fn, in any) (T, error) {
	if workflow.GetVersion(ctx, changeLocalCalls, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return call[T](ctx, opts, fn, in)
	}
	var out T
	lo := workflow.LocalActivityOptions{StartToCloseTimeout: opts.StartToCloseTimeout, ScheduleToCloseTimeout: opts.ScheduleToCloseTimeout, RetryPolicy: opts.RetryPolicy}
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, lo), fn, in).Get(ctx, &out)
	return out, err
}

// shortRun is short for an activity whose result the workflow does not use.
func shortRun(ctx workflow.Context, opts workflow.ActivityOptions, fn, in any) error {
	_, err := short[struct{}](ctx, opts, fn, in)
	return err
}

// jsonPayload returns the JSON of a raw workflow input, signal or update
// payload: it must be non-empty and encoded json/plain (what the Temporal
// UI, the CLI and the SDKs send). want says what the JSON should be, for
// the error.
func jsonPayload(in converter.RawValue, want string) ([]byte, error) {
	p := in.Payload()
	if p == nil || len(p.GetData()) == 0 {
		return nil, fmt.Errorf("is empty: %s", want)
	}
	if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		return nil, fmt.Errorf("must be JSON (payload encoding %q), got encoding %q", converter.MetadataEncodingJSON, enc)
	}
	return p.GetData(), nil
}
