package cli

import (
	"context"
	"encoding/json"
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

func (s *session) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status WORKFLOW_ID",
		Short: "Phase, gates, traffic, findings, last error",
		Long: `Print a migration's status (the workflow's status query) and the activities
running now with their last heartbeat: which node groups are still CREATING,
the Route53 change being waited on, the Argo CD applications not yet Synced.`,
		Example: `  cutover status cutover-shop-prod-1-31
  cutover status cutover-shop-prod-1-31 -o json
  cutover status cutover-shop-prod-1-31 -o yaml`,
		Args:              workflowIDArg,
		ValidArgsFunction: noCompletions,
		RunE:              func(cmd *cobra.Command, args []string) error { return s.status(cmd.Context(), args[0]) },
	}
}

func (s *session) status(ctx context.Context, id string) error {
	c, err := s.dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := queryStatus(ctx, c, id)
	if err != nil {
		return err
	}
	acts := pendingActivities(ctx, c, id)
	if s.structured() {
		return s.print(struct {
			workflows.Status
			Activities []Activity `json:"activities,omitempty"`
		}{st, acts})
	}
	printStatus(s.stdout, id, st)
	for _, act := range acts {
		fmt.Fprintf(s.stdout, "  Activity: %s (attempt %d)", act.Type, act.Attempt)
		if act.Heartbeat != nil {
			b, _ := json.Marshal(act.Heartbeat)
			fmt.Fprintf(s.stdout, ", last heartbeat %s: %s", act.HeartbeatAt.UTC().Format(time.RFC3339), b)
		}
		if act.LastFailure != "" {
			fmt.Fprintf(s.stdout, ", last failure: %s", act.LastFailure)
		}
		fmt.Fprintln(s.stdout)
	}
	return nil
}

func queryStatus(ctx context.Context, c client.Client, id string) (workflows.Status, error) {
	return queryWorkflow[workflows.Status](ctx, c, id, "migration")
}

// queryWorkflow asks a workflow's status query; what names the kind of run
// for the error when there is no such workflow.
func queryWorkflow[T any](ctx context.Context, c client.Client, id, what string) (T, error) {
	var st T
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, &exitError{code: ExitFailed, msg: fmt.Sprintf("no %s with workflow ID %q", what, id)}
		}
		return st, fmt.Errorf("query status of %s: %w", id, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}

// Activity is a running activity of a migration with the progress its
// last heartbeat reported (node groups created, Route53 change status, ...).
type Activity struct {
	Type        string    `json:"type"`
	Attempt     int32     `json:"attempt"`
	HeartbeatAt time.Time `json:"heartbeatAt,omitempty"`
	Heartbeat   any       `json:"heartbeat,omitempty"`
	LastFailure string    `json:"lastFailure,omitempty"`
}

// pendingActivities reads the running activities from the server; the
// workflow's status query cannot see heartbeats. Errors leave it empty.
func pendingActivities(ctx context.Context, c client.Client, id string) []Activity {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil
	}
	dc := converter.GetDefaultDataConverter()
	var out []Activity
	for _, p := range desc.GetPendingActivities() {
		act := Activity{Type: p.GetActivityType().GetName(), Attempt: p.GetAttempt(), LastFailure: p.GetLastFailure().GetMessage()}
		if hb := p.GetHeartbeatDetails(); hb != nil && len(hb.GetPayloads()) > 0 {
			var v any
			if dc.FromPayload(hb.GetPayloads()[0], &v) == nil {
				act.Heartbeat = v
				act.HeartbeatAt = p.GetLastHeartbeatTime().AsTime()
			}
		}
		out = append(out, act)
	}
	return out
}

func printStatus(w io.Writer, id string, st workflows.Status) {
	fmt.Fprintf(w, "Migration %s (%s): %s → %s\n", st.Migration, id, st.Blue, st.Green)
	fmt.Fprintf(w, "  Phase:    %s\n", st.Phase)
	if st.Progress != "" {
		fmt.Fprintf(w, "  Progress: %s\n", st.Progress)
	}
	fmt.Fprintf(w, "  Traffic:  blue %d%% / green %d%% (step %d of %d)\n", st.Traffic.Blue, st.Traffic.Green, st.Traffic.Step, st.Traffic.TotalSteps)
	for _, g := range st.PendingGates {
		who := "anyone"
		if len(g.Approvers) > 0 {
			who = strings.Join(g.Approvers, ", ")
		}
		fmt.Fprintf(w, "  Waiting:  gate %q for %s, until %s (then %s)\n", g.Gate, who, g.Deadline.UTC().Format(time.RFC3339), g.OnTimeout)
	}
	for _, ap := range st.Approvals {
		fmt.Fprintf(w, "  Gate:     %s %s by %s at %s (%s)%s\n", ap.Gate, decision(ap.Approved), ap.By, ap.At.UTC().Format(time.RFC3339), ap.Via, suffix(ap.Comment))
	}
	if len(st.Findings) > 0 {
		fmt.Fprintf(w, "  Findings: %d\n", len(st.Findings))
		for _, fd := range st.Findings {
			fmt.Fprintf(w, "    [%s] %s %s: %s\n", fd.Severity, fd.Check, fd.Object, fd.Message)
		}
	}
	for _, ig := range st.IgnoredApprovals {
		fmt.Fprintf(w, "  Ignored:  approval signal %s\n", ig)
	}
	if st.Aborted != nil {
		fmt.Fprintf(w, "  Aborted:  by %s: %s\n", st.Aborted.By, st.Aborted.Reason)
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "  Error:    %s\n", st.LastError)
	}
	fmt.Fprintln(w, "  Phases:")
	for _, p := range st.Phases {
		d := p.Duration
		if d == "" {
			d = "running"
		}
		fmt.Fprintf(w, "    %-22s %-10s %s\n", p.Phase, p.Outcome, d)
	}
}

func suffix(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

func decision(approved bool) string {
	if approved {
		return "approved"
	}
	return "rejected"
}
