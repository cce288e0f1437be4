package workflows

import "go.temporal.io/sdk/workflow"

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
