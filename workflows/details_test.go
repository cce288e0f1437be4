package workflows_test

import (
	"strings"
	"testing"

	sdkpb "go.temporal.io/api/sdk/v1"
)

func currentDetails(t *testing.T, h *harness) string {
	t.Helper()
	v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
	if err != nil {
		t.Fatalf("metadata query: %v", err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	return meta.GetCurrentDetails()
}

// TestCurrentDetailsOnTerminalStates: a finished run's Current Details
// name how it ended (not the phase it was in last), in at most four lines.
func TestCurrentDetailsOnTerminalStates(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(h *harness) func()
		want  []string
	}{
		{"validation error", func(h *harness) func() {
			s := testSpec()
			s.Traffic.Steps = []int{50, 20}
			return func() { h.env.ExecuteWorkflow("BlueGreenMigration", s) }
		}, []string{"**Failed** — invalid migration spec", "traffic.steps[1]"}},
		{"rolled back", func(h *harness) func() {
			h.world.SmokeFails = "GET /healthz: 503"
			return func() { h.env.ExecuteWorkflow("BlueGreenMigration", testSpec()) }
		}, []string{"**Rolled back** — traffic is on", "Why: ", "503"}},
		{"dry run", func(h *harness) func() {
			s := testSpec()
			s.DryRun = true
			return func() { h.env.ExecuteWorkflow("BlueGreenMigration", s) }
		}, []string{"**Dry run done** — nothing was created"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.setup(h)()
			got := currentDetails(t, h)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("current details %q lack %q", got, w)
				}
			}
			if n := strings.Count(strings.TrimSpace(got), "\n"); n > 3 {
				t.Errorf("current details have %d lines: %q", n+1, got)
			}
		})
	}
}
