package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func (s *session) approveCmd() *cobra.Command {
	return s.decideCmd(true, &cobra.Command{
		Use:   "approve WORKFLOW_ID --gate GATE --by NAME [--comment TEXT]",
		Short: "Approve an open gate (cutover, retire, traffic-step-N)",
		Long: `Approve an open gate through the workflow's approve update, which answers:
a wrong gate, a gate not open yet or already decided, and an approver not on
the gate's list are refused (exit 1) with the workflow's own message.`,
		Example: `  cutover approve cutover-shop-prod-1-31 --gate cutover --by alice --comment "smoke is green"
  cutover approve cutover-shop-prod-1-31 --gate retire --by alice
  cutover approve cutover-shop-prod-1-31 --gate traffic-step-2 --by bob -o json`,
	})
}

// decideCmd completes approve or reject: the same flags and update, one
// answer each.
func (s *session) decideCmd(approve bool, cmd *cobra.Command) *cobra.Command {
	var gate, by, comment string
	cmd.Args = workflowIDArg
	cmd.ValidArgsFunction = noCompletions
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if gate == "" {
			return usageErr("--gate is required")
		}
		return s.decide(cmd.Context(), args[0], workflows.Decision{Gate: gate, Approve: approve, By: by, Comment: comment})
	}
	cmd.Flags().StringVar(&gate, "gate", "", "gate to decide: cutover, retire or traffic-step-N")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who decides (must be on the gate's approver list)")
	cmd.Flags().StringVar(&comment, "comment", "", "why")
	_ = cmd.RegisterFlagCompletionFunc("gate", fixedCompletions("cutover", "retire"))
	_ = cmd.RegisterFlagCompletionFunc("by", noCompletions)
	_ = cmd.RegisterFlagCompletionFunc("comment", noCompletions)
	return cmd
}

func (s *session) decide(ctx context.Context, id string, d workflows.Decision) error {
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateApprove, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return refused(id, err)
	}
	var out workflows.GateOutcome
	if err := h.Get(ctx, &out); err != nil {
		return refused(id, err)
	}
	if s.structured() {
		return s.print(out)
	}
	fmt.Fprintf(s.stdout, "Gate %q of %s %s by %s.\n", out.Gate, id, decision(out.Approved), out.By)
	return nil
}

// refused explains why the workflow did not take the decision: the update
// validator's message (unknown gate, already decided, not an approver), or
// that the migration is not running.
func refused(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("no running migration with workflow ID %q", id)}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("refused: %s", appErr.Message())}
	}
	return &exitError{code: ExitFailed, msg: fmt.Sprintf("refused: %v", err)}
}
