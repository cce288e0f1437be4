package workflows

import (
	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/workflow"
)

// inPlace upgrades blue itself (strategy "inPlace"). Only specs with the
// field (which older runs cannot have) come here.
func (m *migration) inPlace(ctx workflow.Context) error {
	return failures.New(failures.NotImplemented, "strategy %q is not built yet (issue 14): use %q", "inPlace", "blueGreen")
}
