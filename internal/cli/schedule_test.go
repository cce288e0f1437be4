package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/cli"
	enumspb "go.temporal.io/api/enums/v1"
)

const fleetJSON = `{
  "name": "sched",
  "waves": [{"name": "one", "migrations": [{
    "blue": {"clusterName": "blue", "region": "eu-west-1"},
    "traffic": {"provider": "route53", "route53": {"hostedZoneId": "Z0123456789ABC", "recordName": "a.example.com", "greenTarget": "g.example.com"},
                "steps": [100], "bakeTime": "1s", "checkInterval": "1s"},
    "approvals": {"cutover": {"enabled": false}, "retire": {"enabled": false}},
    "retire": {"soak": "1s"}
  }]}]
}`

// TestScheduleRunsFleetUpgrade creates the quarterly schedule through the
// CLI on a real dev server, triggers it, and sees the fleet upgrade migrate
// the cluster to the next version.
func TestScheduleRunsFleetUpgrade(t *testing.T) {
	d := startDevServer(t)
	srv, c, world, dial := d.srv, d.client, d.world, d.dial

	file := filepath.Join(t.TempDir(), "fleet.json")
	if err := os.WriteFile(file, []byte(fleetJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		app := &cli.App{Stdout: &out, Stderr: &errb, Namespace: srv.Namespace, Dial: dial}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return app.Run(ctx, args), out.String(), errb.String()
	}
	if code, out, errs := run("schedule", "create", "-f", file); code != 0 || !strings.Contains(out, "cutover-fleet-sched") {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	if code, _, errs := run("schedule", "create", "-f", file); code != cli.ExitFailed || !strings.Contains(errs, "already exists") {
		t.Errorf("second create: %d %q", code, errs)
	}
	code, out, _ := run("schedule", "describe", "--id", "cutover-fleet-sched", "-o", "json")
	var desc struct {
		NextRuns []time.Time `json:"nextRuns"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &desc) != nil || len(desc.NextRuns) == 0 || desc.NextRuns[0].Month()%3 != 1 || desc.NextRuns[0].Day() != 1 {
		t.Fatalf("describe: %d %q", code, out)
	}
	if code, _, errs := run("schedule", "trigger", "--id", "cutover-fleet-sched"); code != 0 {
		t.Fatalf("trigger: %d %q", code, errs)
	}
	// The fleet run and its child migration finish.
	deadline := time.Now().Add(time.Minute)
	for {
		desc, err := c.DescribeWorkflowExecution(context.Background(), "cutover-blue-1-30", "")
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child migration cutover-blue-1-30 did not complete: %v %v", err, desc)
		}
		time.Sleep(300 * time.Millisecond)
	}
	ens := world.Inputs("EnsureGreenCluster")
	if len(ens) != 1 {
		t.Fatalf("greens built: %d", len(ens))
	}
	// `fleet status --schedule` finds the run and shows the member with
	// its migration's phase.
	fleetRun := func(want string) workflowsFleetStatus {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			code, out, errs := run("fleet", "status", "--schedule", "cutover-fleet-sched", "-o", "json")
			var st workflowsFleetStatus
			if code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.State == want {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("fleet status: %d %q %q; want state %s", code, out, errs, want)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	first := fleetRun("Done")
	m := first.Waves[0].Members[0]
	if m.Outcome != "succeeded" || m.WorkflowID != "cutover-blue-1-30" || m.Phase != "Done" || m.From != "1.29" || m.To != "1.30" {
		t.Errorf("first run's member %+v", m)
	}
	if code, out, _ := run("fleet", "status", "--schedule", "cutover-fleet-sched"); code != 0 || !strings.Contains(out, "Wave one: Done") || !strings.Contains(out, "cutover-blue-1-30 [Done]") {
		t.Errorf("fleet status text: %d %q", code, out)
	}
	// The fleet run's report is its waves × members.
	page := filepath.Join(t.TempDir(), "fleet.html")
	if code, _, errs := run("report", first.ID, "-o", "html", "--out", page); code != 0 {
		t.Fatalf("fleet report: %d %s", code, errs)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<h2>Waves and members</h2>") || !strings.Contains(string(b), "<td>cutover-blue-1-30</td>") || !strings.Contains(string(b), `aria-label="Timeline of fleet`) {
		t.Errorf("fleet report (%v):\n%s", err, b)
	}
	if code, out, _ := run("report", first.ID, "-o", "md"); code != 0 || !strings.Contains(out, "| one | blue | blue | 1.29 → 1.30 |") {
		t.Errorf("fleet report -o md: %d\n%s", code, out)
	}
	// Triggered again while blue still reads 1.29 (the fake does not
	// move it): the same migration ID, which succeeded, is not run twice.
	if code, _, errs := run("schedule", "trigger", "--id", "cutover-fleet-sched"); code != 0 {
		t.Fatalf("second trigger: %d %q", code, errs)
	}
	var second workflowsFleetStatus
	for deadline := time.Now().Add(time.Minute); ; {
		second = fleetRun("Done")
		if second.ID != first.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second trigger started no new fleet run")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if m := second.Waves[0].Members[0]; m.Outcome != "already-started" || !strings.Contains(m.Reason, "cutover-blue-1-30") {
		t.Errorf("second run's member %+v: want already-started", m)
	}
	if n := len(world.Inputs("EnsureGreenCluster")); n != 1 {
		t.Errorf("greens built after the re-trigger: %d, want 1", n)
	}
	if code, _, errs := run("fleet", "status"); code != cli.ExitUsage || !strings.Contains(errs, "--schedule") {
		t.Errorf("fleet status without a run: %d %q", code, errs)
	}
	// Deleting needs --yes without a terminal to ask; refused, it is kept.
	if code, _, errs := run("schedule", "delete", "--id", "cutover-fleet-sched"); code != cli.ExitUsage || !strings.Contains(errs, "--yes") {
		t.Errorf("delete without --yes: %d %q", code, errs)
	}
	if code, _, errs := run("schedule", "describe", "--id", "cutover-fleet-sched"); code != 0 {
		t.Errorf("describe after a refused delete: %d %q", code, errs)
	}
	if code, _, errs := run("schedule", "delete", "--id", "cutover-fleet-sched", "--yes"); code != 0 {
		t.Errorf("delete: %d %q", code, errs)
	}
	if code, _, errs := run("schedule", "describe", "--id", "cutover-fleet-sched"); code != cli.ExitFailed || !strings.Contains(errs, "no schedule") {
		t.Errorf("describe deleted: %d %q", code, errs)
	}
}

// workflowsFleetStatus is the JSON of `cutover fleet status -o json`.
type workflowsFleetStatus struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Waves []struct {
		Name    string `json:"name"`
		Members []struct {
			WorkflowID string `json:"workflowId"`
			Outcome    string `json:"outcome"`
			Phase      string `json:"phase"`
			From       string `json:"from"`
			To         string `json:"to"`
			Reason     string `json:"reason"`
		} `json:"members"`
	} `json:"waves"`
}
