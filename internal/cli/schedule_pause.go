package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
)

// schedulePauseCmd is `schedule pause` (pause true) or `schedule unpause`.
func (s *session) schedulePauseCmd(pause bool) *cobra.Command {
	var id, note string
	name, short, example, done := "unpause", "Let a paused schedule start runs again",
		`  cutover schedule unpause --id cutover-fleet-prod --note "freeze over"`, "Unpaused"
	if pause {
		name, short, example, done = "pause", "Stop the schedule from starting runs (a running upgrade continues)",
			`  cutover schedule pause --id cutover-fleet-prod --note "change freeze"`, "Paused"
	}
	cmd := &cobra.Command{
		Use:     name + " --id ID [--note TEXT]",
		Short:   short,
		Example: example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, closeHandle, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer closeHandle()
			if pause {
				err = h.Pause(cmd.Context(), client.SchedulePauseOptions{Note: note})
			} else {
				err = h.Unpause(cmd.Context(), client.ScheduleUnpauseOptions{Note: note})
			}
			if err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "paused": pause})
			}
			fmt.Fprintf(s.stdout, "%s schedule %s.\n", done, id)
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	cmd.Flags().StringVar(&note, "note", "", "why (shown on the schedule)")
	return cmd
}
