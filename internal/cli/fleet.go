package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// phaseConverter decodes the CutoverPhase search attribute's payload.
var phaseConverter = converter.GetDefaultDataConverter()

func (s *session) fleetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Follow a FleetUpgrade run: waves, members, gates",
		Long: `Follow a FleetUpgrade run (started by the schedule or by hand). A fleet's
gates are answered like a migration's: cutover approve FLEET_RUN_ID --gate
before-<wave> | after-<wave> | resume --by NAME.`,
		Example: `  cutover fleet status --schedule cutover-fleet-prod    # the schedule's latest run
  cutover fleet status cutover-fleet-prod-2027-01-01T09:00:00Z -o json
  cutover approve cutover-fleet-prod-2027-01-01T09:00:00Z --gate resume --by alice`,
		Args: cobra.ArbitraryArgs,
		RunE: s.group,
	}
	cmd.AddCommand(s.fleetStatusCmd())
	return cmd
}

func (s *session) fleetStatusCmd() *cobra.Command {
	var schedule string
	cmd := &cobra.Command{
		Use:   "status [FLEET_RUN_ID]",
		Short: "Waves and members of a fleet run, each with its migration's phase",
		Long: `Print a FleetUpgrade run's status (its status query): per wave its state,
soak and gates; per member its logical cluster, the physical cluster it
resolved to, from → to version, its child migration and that migration's
phase (its CutoverPhase search attribute) and open gates.

Name the run by its workflow ID, or give --schedule to take the schedule's
most recent run.`,
		Example: `  cutover fleet status --schedule cutover-fleet-prod
  cutover fleet status cutover-fleet-prod-2027-01-01T09:00:00Z
  cutover fleet status --schedule cutover-fleet-prod -o yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageErr("usage: %s [FLEET_RUN_ID] (got %d arguments)", cmd.CommandPath(), len(args))
			case len(args) == 1 && schedule != "":
				return usageErr("give a fleet run ID or --schedule, not both")
			case len(args) == 0 && schedule == "":
				return usageErr("name the fleet run: %s FLEET_RUN_ID, or --schedule SCHEDULE_ID", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: noCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			return s.fleetStatus(cmd.Context(), id, schedule)
		},
	}
	cmd.Flags().StringVar(&schedule, "schedule", "", "take the most recent run of this schedule (e.g. cutover-fleet-prod)")
	_ = cmd.RegisterFlagCompletionFunc("schedule", noCompletions)
	return cmd
}

func (s *session) fleetStatus(ctx context.Context, id, schedule string) error {
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if schedule != "" {
		if id, err = latestScheduledRun(ctx, c, schedule); err != nil {
			return err
		}
	}
	st, err := queryFleetStatus(ctx, c, id)
	if err != nil {
		return err
	}
	fillChildPhases(ctx, c, &st)
	if s.structured() {
		return s.print(struct {
			ID string `json:"id"`
			workflows.FleetStatus
		}{id, st})
	}
	printFleetStatus(s.stdout, id, st)
	return nil
}

// latestScheduledRun is the workflow ID of a schedule's most recent run.
func latestScheduledRun(ctx context.Context, c client.Client, schedule string) (string, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, schedule).Describe(ctx)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return "", &exitError{code: ExitFailed, msg: fmt.Sprintf("no schedule %q", schedule)}
		}
		return "", fmt.Errorf("describe schedule %s: %w", schedule, err)
	}
	if n := len(d.Info.RunningWorkflows); n > 0 {
		return d.Info.RunningWorkflows[n-1].WorkflowID, nil
	}
	if n := len(d.Info.RecentActions); n > 0 {
		if r := d.Info.RecentActions[n-1].StartWorkflowResult; r != nil {
			return r.WorkflowID, nil
		}
	}
	return "", &exitError{code: ExitFailed, msg: fmt.Sprintf("schedule %s has not run yet (cutover schedule trigger --id %s runs it now)", schedule, schedule)}
}

func queryFleetStatus(ctx context.Context, c client.Client, id string) (workflows.FleetStatus, error) {
	st, err := queryWorkflow[workflows.FleetStatus](ctx, c, id, "fleet run")
	if err != nil {
		return st, err
	}
	if st.Fleet == "" || st.Waves == nil {
		return st, &exitError{code: ExitFailed, msg: fmt.Sprintf("%s is not a fleet run (a migration? try cutover status %s)", id, id)}
	}
	return st, nil
}

// fillChildPhases reads each started member's migration: its phase from
// the CutoverPhase search attribute, and, while it runs, its open gates.
// What cannot be read is left empty: the fleet's own status stands.
func fillChildPhases(ctx context.Context, c client.Client, st *workflows.FleetStatus) {
	for wi := range st.Waves {
		for mi := range st.Waves[wi].Members {
			m := &st.Waves[wi].Members[mi]
			if m.WorkflowID == "" || m.Outcome == workflows.MemberPending {
				continue
			}
			desc, err := c.DescribeWorkflowExecution(ctx, m.WorkflowID, "")
			if err != nil {
				continue
			}
			if p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.PhaseKey.GetName()]; p != nil {
				var phase string
				if phaseConverter.FromPayload(p, &phase) == nil {
					m.Phase = phase
				}
			}
			if m.Outcome != workflows.MemberRunning {
				continue
			}
			if child, err := queryStatus(ctx, c, m.WorkflowID); err == nil {
				for _, g := range child.PendingGates {
					m.Reason = fmt.Sprintf("waiting for gate %q until %s (cutover approve %s --gate %s --by NAME)", g.Gate, g.Deadline.UTC().Format(time.RFC3339), m.WorkflowID, g.Gate)
				}
			}
		}
	}
}

func printFleetStatus(w io.Writer, id string, st workflows.FleetStatus) {
	fmt.Fprintf(w, "Fleet %s (%s): %s\n", st.Fleet, id, st.State)
	if st.Stopped != nil {
		fmt.Fprintf(w, "  Stopped:  at wave %s, %s: %s\n", st.Stopped.Wave, st.Stopped.At.UTC().Format(time.RFC3339), st.Stopped.Reason)
	}
	for _, g := range st.PendingGates {
		who := "anyone"
		if len(g.Approvers) > 0 {
			who = strings.Join(g.Approvers, ", ")
		}
		fmt.Fprintf(w, "  Waiting:  gate %q for %s, until %s (then %s): cutover approve %s --gate %s --by NAME\n", g.Gate, who, g.Deadline.UTC().Format(time.RFC3339), g.OnTimeout, id, g.Gate)
	}
	for _, ap := range st.Approvals {
		fmt.Fprintf(w, "  Gate:     %s %s by %s at %s (%s)%s\n", ap.Gate, decision(ap.Approved), ap.By, ap.At.UTC().Format(time.RFC3339), ap.Via, suffix(ap.Comment))
	}
	for _, wv := range st.Waves {
		line := fmt.Sprintf("  Wave %s: %s", wv.Name, wv.State)
		if wv.MaxConcurrency > 0 {
			line += fmt.Sprintf(", at most %d at a time", wv.MaxConcurrency)
		}
		if !wv.SoakUntil.IsZero() {
			line += ", soak until " + wv.SoakUntil.UTC().Format(time.RFC3339)
		}
		if wv.Reason != "" {
			line += ": " + wv.Reason
		}
		fmt.Fprintln(w, line)
		for _, m := range wv.Members {
			name := m.Blue
			if m.Logical != "" {
				name = fmt.Sprintf("%s (%s)", m.Logical, m.Blue)
			}
			versions := ""
			if m.From != "" {
				versions = fmt.Sprintf(" %s → %s", m.From, m.To)
			}
			fmt.Fprintf(w, "    %-36s%-16s %s", name, versions, m.Outcome)
			if m.WorkflowID != "" {
				fmt.Fprintf(w, "  %s", m.WorkflowID)
			}
			if m.Phase != "" {
				fmt.Fprintf(w, " [%s]", m.Phase)
			}
			if m.Reason != "" {
				fmt.Fprintf(w, "  %s", m.Reason)
			}
			fmt.Fprintln(w)
		}
	}
	for _, ig := range st.Ignored {
		fmt.Fprintf(w, "  Ignored:  %s\n", ig)
	}
}
