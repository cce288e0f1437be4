package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
)

func (s *session) scheduleUnpauseCmd() *cobra.Command {
	var id, note string
	cmd := &cobra.Command{
		Use:     "unpause --id ID [--note TEXT]",
		Short:   "Let a paused schedule start runs again",
		Example: `  cutover schedule unpause --id cutover-fleet-prod --note "freeze over"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, done, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer done()
			if err := h.Unpause(cmd.Context(), client.ScheduleUnpauseOptions{Note: note}); err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "paused": false})
			}
			fmt.Fprintf(s.stdout, "Unpaused schedule %s.\n", id)
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	cmd.Flags().StringVar(&note, "note", "", "why (shown on the schedule)")
	return cmd
}
