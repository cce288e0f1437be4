package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// DefaultQuarterlyCron is 09:00 UTC on the first Tuesday-ish working day of
// each quarter: the 1st of January, April, July and October.
const DefaultQuarterlyCron = "0 9 1 1,4,7,10 *"

// readFleet reads a fleet file with the strict reader of specs and checks
// every member now, not when the schedule fires months later.
func readFleet(path string) (workflows.FleetSpec, error) {
	var f workflows.FleetSpec
	b, err := readDocument(path, "fleet")
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

// schedule manages the Temporal Schedule that runs FleetUpgrade.
func (a *App) schedule(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("usage: cutover schedule create|describe|trigger|pause|unpause|delete ...")
	}
	sub, rest := args[0], args[1:]
	f := newFlags("schedule "+sub, a.Stderr)
	id := f.String("id", "", "schedule ID (default cutover-fleet-<fleet name> for create)")
	file := f.String("f", "", "fleet spec (JSON) for create")
	cron := f.String("cron", DefaultQuarterlyCron, "when to run (cron, UTC)")
	note := f.String("note", "", "why (pause/unpause)")
	if _, err := f.parse(rest); err != nil {
		return err
	}
	var fleet workflows.FleetSpec
	if sub == "create" {
		var err error
		if fleet, err = readFleet(*file); err != nil {
			return err
		}
	}
	c, err := a.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	sc := c.ScheduleClient()
	switch sub {
	case "create":
		if *id == "" {
			*id = "cutover-fleet-" + fleet.Name
		}
		_, err = sc.Create(ctx, client.ScheduleOptions{
			ID:   *id,
			Spec: client.ScheduleSpec{CronExpressions: []string{*cron}, TimeZoneName: "UTC"},
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
				return &exitError{code: ExitFailed, msg: fmt.Sprintf("schedule %q already exists; delete it first or use another --id", *id)}
			}
			return fmt.Errorf("create schedule: %w", err)
		}
		if f.json() {
			return a.printJSON(map[string]string{"scheduleId": *id, "cron": *cron})
		}
		fmt.Fprintf(a.Stdout, "Created schedule %s: FleetUpgrade of %s at %q (UTC), overlapping runs skipped.\n", *id, fleet.Name, *cron)
		return nil
	}
	if *id == "" {
		return usageErr("--id is required")
	}
	h := sc.GetHandle(ctx, *id)
	switch sub {
	case "describe":
		d, err := h.Describe(ctx)
		if err != nil {
			return notFoundOr(err, *id)
		}
		out := map[string]any{"scheduleId": *id, "paused": d.Schedule.State.Paused, "note": d.Schedule.State.Note,
			"nextRuns": d.Info.NextActionTimes, "recentRuns": len(d.Info.RecentActions)}
		if f.json() {
			return a.printJSON(out)
		}
		fmt.Fprintf(a.Stdout, "Schedule %s (paused: %v)\n", *id, d.Schedule.State.Paused)
		for _, t := range d.Info.NextActionTimes {
			fmt.Fprintf(a.Stdout, "  next run %s\n", t.UTC().Format(time.RFC3339))
		}
		return nil
	case "trigger":
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			return notFoundOr(err, *id)
		}
		fmt.Fprintf(a.Stdout, "Triggered schedule %s now.\n", *id)
		return nil
	case "pause":
		if err := h.Pause(ctx, client.SchedulePauseOptions{Note: *note}); err != nil {
			return notFoundOr(err, *id)
		}
		fmt.Fprintf(a.Stdout, "Paused schedule %s.\n", *id)
		return nil
	case "unpause":
		if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: *note}); err != nil {
			return notFoundOr(err, *id)
		}
		fmt.Fprintf(a.Stdout, "Unpaused schedule %s.\n", *id)
		return nil
	case "delete":
		if err := h.Delete(ctx); err != nil {
			return notFoundOr(err, *id)
		}
		fmt.Fprintf(a.Stdout, "Deleted schedule %s (running upgrades continue).\n", *id)
		return nil
	}
	return usageErr("unknown schedule command %q: create, describe, trigger, pause, unpause or delete", sub)
}

func notFoundOr(err error, id string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("no schedule %q", id)}
	}
	return err
}
