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
