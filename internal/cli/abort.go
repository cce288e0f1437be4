package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
)

func (s *session) abortCmd() *cobra.Command {
	var (
		by, reason string
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "abort WORKFLOW_ID --by NAME --reason TEXT [--yes]",
		Short: "Roll back from wherever the migration is (asks first, or --yes)",
		Long: `Send the abort signal: the migration rolls back from its current phase,
traffic to blue first. Once blue's deletion has started, abort is logged and
ignored. It asks for confirmation on a terminal; scripts pass --yes (without
it, and without a terminal, it is refused with exit 2).`,
		Example: `  cutover abort cutover-shop-prod-1-31 --by alice --reason "INC-42"
  cutover abort cutover-shop-prod-1-31 --by alice --reason "INC-42" --yes -o json`,
		Args:              workflowIDArg,
		ValidArgsFunction: noCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usageErr("--reason is required")
			}
			if strings.TrimSpace(by) == "" {
				return usageErr("--by is required")
			}
			id := args[0]
			if err := s.confirm(yes, cmd, fmt.Sprintf("Abort %s? It rolls back from its current phase, traffic to blue first.", id)); err != nil {
				return err
			}
			return s.abort(cmd.Context(), id, workflows.Abort{By: by, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who aborts")
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown in the report and chat)")
	yesFlag(cmd, &yes)
	_ = cmd.RegisterFlagCompletionFunc("by", noCompletions)
	_ = cmd.RegisterFlagCompletionFunc("reason", noCompletions)
	return cmd
}

func (s *session) abort(ctx context.Context, id string, ab workflows.Abort) error {
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SignalWorkflow(ctx, id, "", workflows.SignalAbort, ab); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return &exitError{code: ExitFailed, msg: fmt.Sprintf("no running migration with workflow ID %q", id)}
		}
		return fmt.Errorf("signal abort: %w", err)
	}
	if s.structured() {
		return s.print(map[string]string{"workflowId": id, "aborted": "requested"})
	}
	fmt.Fprintf(s.stdout, "Abort sent to %s; it rolls back from its current phase. Follow it with: cutover watch %s\n", id, id)
	return nil
}
