package workflows_test

import (
	"path/filepath"
	"testing"

	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayHistories replays every recorded history (see
// scripts/record-histories.sh) against the current workflow code. A failure
// means a change is not backward compatible with running migrations: guard
// it with workflow.GetVersion. Files named v<N>-* were recorded by earlier
// workflow versions (v0: before Argo CD was reverted on rollback; v1: before
// chat heard of each traffic step; v2: before inputs were read strictly and
// an aborted run failed with its report; v3: before the Parity phase; v4:
// before IRSA trust was copied to green; v5: before Pod Identity
// associations were copied to green; v6: before launch templates were
// checked in preflight and aws-auth, Argo CD's access and Karpenter
// discovery were carried to green; v7: before Velero was checked and its
// storage location read-only during the restore, jobs held on one cluster
// at a time, and the Argo CD in blue moved to green; v8: before what still
// points at blue was listed; v9: before the traffic prerequisites were
// checked in preflight; v10: before Argo CD on a hub and copy mode by
// install, the retire gate's "wait" on timeout, chat posts that never
// block, and one watch activity per watched period; v11: before simple
// Route53 records were converted; v12: before the short calls ran as
// local activities; v13: before what the applications track on blue was
// compared with green; v14: before fleets ran waves as stages; v15: before
// the subnets' free addresses were checked in preflight; v16: before
// blue's load-balanced Services and Ingresses were deleted, and their
// load balancers waited for, before blue; v17: before blue's
// control-plane log group was deleted after it) and
// stay to prove those runs still replay.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("found %d histories in testdata/histories, want at least the 7 recorded scenarios; run scripts/record-histories.sh", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.BlueGreenMigration, workflow.RegisterOptions{Name: workflows.WorkflowType})
			r.RegisterWorkflowWithOptions(workflows.FleetUpgrade, workflow.RegisterOptions{Name: workflows.FleetWorkflowType})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
