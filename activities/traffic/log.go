package traffic

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/log"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// logger is the activity logger inside an activity (it carries the workflow
// and activity IDs), slog's default logger outside one (WeightReader, tests).
func logger(ctx context.Context) activitylog.Logger {
	return activitylog.For(ctx, log.NewStructuredLogger(slog.Default()))
}
