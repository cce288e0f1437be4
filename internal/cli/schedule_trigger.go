package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

func (s *session) scheduleTriggerCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:     "trigger --id ID",
		Short:   "Run the fleet upgrade now (skipped while one is running)",
		Example: `  cutover schedule trigger --id cutover-fleet-prod`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, done, err := s.scheduleHandle(cmd, id)
			if err != nil {
				return err
			}
			defer done()
			if err := h.Trigger(cmd.Context(), client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
				return notFoundOr(err, id)
			}
			if s.structured() {
				return s.print(map[string]any{"scheduleId": id, "triggered": true})
			}
			fmt.Fprintf(s.stdout, "Triggered schedule %s now.\n", id)
			return nil
		},
	}
	scheduleIDFlag(cmd, &id, "schedule ID")
	return cmd
}
