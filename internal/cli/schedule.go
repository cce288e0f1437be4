package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// DefaultQuarterlyCron is 09:00 UTC on the first Tuesday-ish working day of
// each quarter: the 1st of January, April, July and October.
const DefaultQuarterlyCron = "0 9 1 1,4,7,10 *"

func (s *session) scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "The Temporal Schedule that runs the quarterly FleetUpgrade",
		Long: `Manage the Temporal Schedule that runs FleetUpgrade: each run moves every
cluster of a fleet one minor version up, wave by wave. A run still in
progress (its gates wait for people) is never doubled: overlapping runs are
skipped.`,
		Example: `  cutover schedule create -f deploy/examples/fleet/quarterly.json          # 09:00 UTC on Jan/Apr/Jul/Oct 1st
  cutover schedule create -f fleet.json --cron "0 9 * * 2" --id weekly-dev  # any cron
  cutover schedule describe --id cutover-fleet-prod                         # next runs
  cutover schedule trigger  --id cutover-fleet-prod                         # run now
  cutover schedule pause    --id cutover-fleet-prod --note "change freeze"
  cutover schedule delete   --id cutover-fleet-prod --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: s.group,
	}
	cmd.AddCommand(
		s.scheduleCreateCmd(),
		s.scheduleDescribeCmd(),
		s.scheduleTriggerCmd(),
		s.schedulePauseCmd(true),
		s.schedulePauseCmd(false),
		s.scheduleDeleteCmd(),
	)
	return cmd
}

// scheduleIDFlag adds --id, the schedule a command works on.
func scheduleIDFlag(cmd *cobra.Command, id *string, usage string) {
	cmd.Flags().StringVar(id, "id", "", usage)
	_ = cmd.RegisterFlagCompletionFunc("id", noCompletions)
}

// scheduleHandle checks --id and connects; the caller calls done.
func (s *session) scheduleHandle(cmd *cobra.Command, id string) (h client.ScheduleHandle, done func(), err error) {
	if id == "" {
		return nil, nil, usageErr("--id is required")
	}
	c, err := s.dial(nil)
	if err != nil {
		return nil, nil, err
	}
	return c.ScheduleClient().GetHandle(cmd.Context(), id), c.Close, nil
}

// readFleet reads a fleet file with the strict reader of specs and checks
// every member now, not when the schedule fires months later.
func (s *session) readFleet(path string) (workflows.FleetSpec, error) {
	var f workflows.FleetSpec
	b, err := s.readDocument(path, "fleet")
	if err != nil {
		return f, err
	}
	problems := workflows.CheckFleet(b, &f)
	if len(problems) > 0 {
		return f, usageErr("%s: %d problems:\n  %s", path, len(problems), strings.Join(problemLines(problems), "\n  "))
	}
	return f, nil
}

func problemLines(fe spec.FieldErrors) []string {
	out := make([]string, len(fe))
	for i, e := range fe {
		out[i] = e.Error()
	}
	return out
}

func notFoundOr(err error, id string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("no schedule %q", id)}
	}
	return err
}
