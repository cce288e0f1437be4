package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
)

func (s *session) schedulePauseCmd() *cobra.Command {
	var id, note string
	cmd := &cobra.Command{
		Use:     "pause --id ID [--note TEXT]",
		Short:   "Stop the schedule from starting runs (a running upgrade continues)",
		Example: `  cutover schedule pause --id cutover-fleet-prod --note "change freeze"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, done, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer done()
			if err := h.Pause(cmd.Context(), client.SchedulePauseOptions{Note: note}); err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "paused": true})
			}
			fmt.Fprintf(s.stdout, "Paused schedule %s.\n", id)
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	cmd.Flags().StringVar(&note, "note", "", "why (shown on the schedule)")
	return cmd
}
