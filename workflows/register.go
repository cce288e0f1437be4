package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers cutover's workflows under their contract names.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(BlueGreenMigration, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(FleetUpgrade, workflow.RegisterOptions{Name: FleetWorkflowType})
}
