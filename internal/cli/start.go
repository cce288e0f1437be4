package cli

import (
	"errors"
	"fmt"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/internal/temporalclient"
	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func (s *session) startCmd() *cobra.Command {
	var (
		file   string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "start -f SPEC [--dry-run]",
		Short: "Start a migration; prints the workflow ID and UI link",
		Long: `Start BlueGreenMigration with the spec as its input, under workflow ID
cutover-<name>. The spec is read and validated first: a spec with problems
exits 2 and nothing is started. A migration of that name already running is
refused (exit 1) with the command to follow it.`,
		Example: `  cutover start -f deploy/examples/route53-weighted.json
  cutover start -f deploy/examples/route53-weighted.json --dry-run   # the plan and blue's findings, nothing built
  cutover start -f spec.json -o json                                 # {"workflowId": ..., "runId": ..., "url": ...}`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return s.start(cmd, file, dryRun) },
	}
	specFlag(cmd, &file, "migration spec")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "stop after Preflight and return the plan (workflow ID gets -dry-run)")
	return cmd
}

func (s *session) start(cmd *cobra.Command, file string, dryRun bool) error {
	sp, err := s.readSpec(file)
	var fe spec.FieldErrors
	if errors.As(err, &fe) {
		printFieldErrors(s.stderr, file, err)
		return &exitError{code: ExitUsage, msg: "nothing was started"}
	} else if err != nil {
		return err
	}
	if dryRun {
		sp.DryRun = true
		sp.Name += "-dry-run"
		if verr := sp.Validate(); verr != nil {
			printFieldErrors(s.stderr, file, verr)
			return &exitError{code: ExitUsage, msg: "nothing was started"}
		}
	}
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(cmd.Context(), client.StartWorkflowOptions{
		ID:                       sp.WorkflowID(),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Starting a migration that is already running must say so, not
		// silently hand back the running one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.PhaseKey.ValueSet(workflows.PhaseValidate)),
		// The UI's User Metadata tab: what this run is, beside Current
		// Details (what it does now).
		StaticSummary: sp.Summary(),
		StaticDetails: sp.Details(),
	}, workflows.WorkflowType, sp)
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			return &exitError{code: ExitFailed, msg: fmt.Sprintf("migration %q is already running as workflow %s; watch it with `cutover watch %s`", sp.Name, sp.WorkflowID(), sp.WorkflowID())}
		}
		if msg, refused := refusedByServer(err); refused {
			return &exitError{code: ExitUsage, msg: fmt.Sprintf("Temporal refused to start %s: %s; nothing was started", sp.WorkflowID(), msg)}
		}
		return fmt.Errorf("start workflow: %w", err)
	}
	link := temporalclient.WorkflowURL(s.uiNamespace(), run.GetID())
	if s.structured() {
		return s.print(map[string]string{"workflowId": run.GetID(), "runId": run.GetRunID(), "url": link})
	}
	fmt.Fprintf(s.stdout, "Started migration %s\n  workflow ID: %s\n  run ID:      %s\n  UI:          %s\nFollow it with: cutover watch %s\n", sp.Name, run.GetID(), run.GetRunID(), link, run.GetID())
	return nil
}

// refusedByServer reports a start the server answered and refused for the
// request itself (too large, over a limit, malformed): a usage problem, not
// "could not reach Temporal".
func refusedByServer(err error) (string, bool) {
	var exhausted *serviceerror.ResourceExhausted
	if errors.As(err, &exhausted) {
		return exhausted.Message, true
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		return invalid.Message, true
	}
	return "", false
}
