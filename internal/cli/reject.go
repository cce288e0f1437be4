package cli

import "github.com/spf13/cobra"

func (s *session) rejectCmd() *cobra.Command {
	return s.decideCmd(false, &cobra.Command{
		Use:   "reject WORKFLOW_ID --gate GATE --by NAME [--comment TEXT]",
		Short: "Reject an open gate: the migration rolls back, traffic to blue first",
		Long: `Reject an open gate through the workflow's approve update: the migration
rolls back, traffic to blue first. A wrong gate, a gate not open yet or
already decided, and an approver not on the gate's list are refused (exit 1)
with the workflow's own message.`,
		Example: `  cutover reject cutover-shop-prod-1-31 --gate retire --by alice --comment "keep blue a week"
  cutover reject cutover-shop-prod-1-31 --gate cutover --by bob --comment "p99 regressed"`,
	})
}
