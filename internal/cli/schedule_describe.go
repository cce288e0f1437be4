package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (s *session) scheduleDescribeCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "describe --id ID",
		Short: "Whether the schedule is paused, and its next runs",
		Example: `  cutover schedule describe --id cutover-fleet-prod
  cutover schedule describe --id cutover-fleet-prod -o json   # {"nextRuns": [...], "paused": false, ...}`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, done, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer done()
			d, err := h.Describe(cmd.Context())
			if err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "paused": d.Schedule.State.Paused, "note": d.Schedule.State.Note,
					"nextRuns": d.Info.NextActionTimes, "recentRuns": len(d.Info.RecentActions)})
			}
			fmt.Fprintf(s.stdout, "Schedule %s (paused: %v)\n", id, d.Schedule.State.Paused)
			for _, t := range d.Info.NextActionTimes {
				fmt.Fprintf(s.stdout, "  next run %s\n", t.UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	return cmd
}
