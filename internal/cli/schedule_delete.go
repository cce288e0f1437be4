package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (s *session) scheduleDeleteCmd() *cobra.Command {
	var (
		id  string
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "delete --id ID [--yes]",
		Short: "Delete the schedule (asks first, or --yes); running upgrades continue",
		Long: `Delete the schedule: no further fleet upgrades start; one already running
continues. It asks for confirmation on a terminal; scripts pass --yes
(without it, and without a terminal, it is refused with exit 2).`,
		Example: `  cutover schedule delete --id cutover-fleet-prod
  cutover schedule delete --id cutover-fleet-prod --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usageErr("--id is required")
			}
			if err := s.confirm(yes, cmd, fmt.Sprintf("Delete schedule %s? No further fleet upgrades start from it.", id)); err != nil {
				return err
			}
			h, done, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer done()
			if err := h.Delete(cmd.Context()); err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "deleted": true})
			}
			fmt.Fprintf(s.stdout, "Deleted schedule %s (running upgrades continue).\n", id)
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	yesFlag(cmd, &yes)
	return cmd
}
