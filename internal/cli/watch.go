package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
)

func (s *session) watchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch WORKFLOW_ID",
		Short: "Follow a migration until it ends, then print its report",
		Long: `Print a line whenever the migration's phase, progress, traffic or open gates
change (with the command that answers an open gate), until it ends; then
print its MigrationReport. Exits 0 when it succeeded, 1 when it did not.
With -o json each change is a JSON line and the report the last document;
with -o yaml each is a YAML document.`,
		Example: `  cutover watch cutover-shop-prod-1-31
  cutover watch cutover-shop-prod-1-31 -o json | jq -r .phase`,
		Args:              workflowIDArg,
		ValidArgsFunction: noCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return s.watch(cmd.Context(), args[0]) },
	}
}

func (s *session) watch(ctx context.Context, id string) error {
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	interval := s.PollInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	last := ""
	for {
		st, qerr := queryStatus(ctx, c, id)
		if qerr == nil {
			line := st.Phase + " | " + st.Progress + fmt.Sprintf(" | traffic blue %d%% green %d%%", st.Traffic.Blue, st.Traffic.Green)
			for _, g := range st.PendingGates {
				line += fmt.Sprintf(" | waiting for gate %q (cutover approve %s --gate %s --by NAME)", g.Gate, id, g.Gate)
			}
			if line != last {
				if s.structured() {
					_ = s.stream(st)
				} else {
					fmt.Fprintf(s.stdout, "%s  %s\n", time.Now().Format("15:04:05"), line)
				}
				last = line
			}
		}
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return fmt.Errorf("describe %s: %w", id, err)
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			if !s.structured() {
				fmt.Fprintf(s.stdout, "Migration %s ended: %s\n", id, strings.TrimPrefix(st.String(), "WorkflowExecutionStatus"))
			} else if s.output == outputYAML {
				fmt.Fprintln(s.stdout, "---")
			}
			return s.printResult(ctx, c, id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
