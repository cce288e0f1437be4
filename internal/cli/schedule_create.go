package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func (s *session) scheduleCreateCmd() *cobra.Command {
	var file, id, cron string
	cmd := &cobra.Command{
		Use:   "create -f FLEET [--cron CRON] [--id ID]",
		Short: "Create the schedule of a fleet (quarterly by default)",
		Long: `Create a Temporal Schedule that starts FleetUpgrade with the fleet file as
its input. The fleet is read and every member checked now (exit 2 with the
problems), not when the schedule fires months later.`,
		Example: `  cutover schedule create -f deploy/examples/fleet/quarterly.json
  cutover schedule create -f fleet.json --cron "0 9 * * 2" --id weekly-dev`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fleet, err := s.readFleet(file)
			if err != nil {
				return err
			}
			if id == "" {
				id = "cutover-fleet-" + fleet.Name
			}
			c, err := s.dial(nil)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.ScheduleClient().Create(cmd.Context(), client.ScheduleOptions{
				ID:   id,
				Spec: client.ScheduleSpec{CronExpressions: []string{cron}, TimeZoneName: "UTC"},
				Action: &client.ScheduleWorkflowAction{
					ID: "cutover-fleet-" + fleet.Name, Workflow: workflows.FleetWorkflowType, Args: []any{fleet},
					TaskQueue: workflows.TaskQueue, WorkflowExecutionTimeout: 90 * 24 * time.Hour,
				},
				// A quarter's upgrade still running (gates wait for people) is never doubled.
				Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
				CatchupWindow: 24 * time.Hour,
				Note:          "cutover fleet upgrade of " + fleet.Name,
			})
			if err != nil {
				if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
					return &exitError{code: ExitFailed, msg: fmt.Sprintf("schedule %q already exists; delete it first or use another --id", id)}
				}
				return fmt.Errorf("create schedule: %w", err)
			}
			if s.structured() {
				return s.print(map[string]string{"scheduleId": id, "cron": cron})
			}
			fmt.Fprintf(s.stdout, "Created schedule %s: FleetUpgrade of %s at %q (UTC), overlapping runs skipped.\n", id, fleet.Name, cron)
			return nil
		},
	}
	specFlag(cmd, &file, "fleet spec")
	scheduleIDFlag(cmd, &id, "schedule ID (default cutover-fleet-<fleet name>)")
	cmd.Flags().StringVar(&cron, "cron", DefaultQuarterlyCron, "when to run (cron, UTC)")
	_ = cmd.RegisterFlagCompletionFunc("cron", noCompletions)
	return cmd
}
