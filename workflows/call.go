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
