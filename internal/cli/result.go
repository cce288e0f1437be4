package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func (s *session) resultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "result WORKFLOW_ID",
		Short: "The final MigrationReport (waits for the migration to end)",
		Long: `Wait for a migration to end and print its MigrationReport: outcome, phases,
approvals, traffic history, the plan of a dry run, findings. Exits 0 when it
succeeded (or was a dry run), 1 otherwise.`,
		Example: `  cutover result cutover-shop-prod-1-31
  cutover result cutover-shop-prod-1-31 -o json
  cutover result cutover-shop-prod-1-31-dry-run   # the plan`,
		Args:              workflowIDArg,
		ValidArgsFunction: noCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.dial(nil)
			if err != nil {
				return err
			}
			defer c.Close()
			return s.printResult(cmd.Context(), c, args[0])
		},
	}
}

// Report waits for a migration to close and returns its report: the result
// when it succeeded, or the details of its failure, together with the run's
// error (nil on success). The report is nil when the run failed without one
// (e.g. an invalid spec).
func Report(ctx context.Context, c client.Client, id string) (*workflows.MigrationReport, error) {
	var r workflows.MigrationReport
	err := c.GetWorkflow(ctx, id, "").Get(ctx, &r)
	if err == nil {
		return &r, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		if derr := appErr.Details(&r); derr == nil && r.Migration != "" {
			return &r, err
		}
	}
	return nil, err
}

func (s *session) printResult(ctx context.Context, c client.Client, id string) error {
	r, runErr := Report(ctx, c, id)
	if r == nil {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("%s failed without a report: %v", id, runErr)}
	}
	if s.structured() {
		if err := s.print(r); err != nil {
			return err
		}
	} else {
		w := s.stdout
		fmt.Fprintf(w, "Outcome: %s\n", r.Outcome)
		if r.Reason != "" {
			fmt.Fprintf(w, "Reason:  %s\n", r.Reason)
		}
		for _, p := range r.Phases {
			fmt.Fprintf(w, "  %-22s %-8s %s\n", p.Phase, p.Outcome, p.Duration)
		}
		for _, ap := range r.Approvals {
			fmt.Fprintf(w, "  gate %s: %s by %s at %s%s\n", ap.Gate, decision(ap.Approved), ap.By, ap.At.UTC().Format(time.RFC3339), suffix(ap.Comment))
		}
		for _, t := range r.TrafficHistory {
			fmt.Fprintf(w, "  traffic %s: blue %d%% green %d%% (%s)\n", t.At.UTC().Format(time.RFC3339), t.Blue, t.Green, t.Reason)
		}
		if p := r.Plan; p != nil {
			printPlan(w, p)
		}
		for _, fd := range r.Findings {
			fmt.Fprintf(w, "  [%s] %s %s: %s\n", fd.Severity, fd.Check, fd.Object, fd.Message)
		}
		for _, b := range r.StillPointsAtBlue {
			fmt.Fprintf(w, "  still points at blue (%s): %s %s names blue's %s; %s\n", b.Category, b.Object, b.Field, b.Match, b.Fix)
		}
		for _, j := range r.Jobs {
			fmt.Fprintf(w, "  jobs: %s %s %s\n", j.Kind, j.Object, j.What)
		}
		if r.ArgoCD != "" {
			fmt.Fprintf(w, "  argocd: %s\n", r.ArgoCD)
		}
	}
	if r.Outcome == workflows.OutcomeSucceeded || r.Outcome == workflows.OutcomeDryRun {
		return nil
	}
	return &exitError{code: ExitFailed}
}

func printPlan(w io.Writer, p *workflows.Plan) {
	fmt.Fprintln(w, "Plan:")
	for _, l := range p.Lines() {
		fmt.Fprintln(w, "  "+l)
	}
}
