// Package activitylog holds the logging and heartbeat helpers the activity
// packages share: the same code runs inside a Temporal activity (worker) and
// outside one (tests, the CLI, the demo), and must log and heartbeat in both.
package activitylog

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// Logger is what both the Temporal activity logger and *slog.Logger provide.
type Logger interface {
	Debug(msg string, keyvals ...any)
	Info(msg string, keyvals ...any)
	Warn(msg string, keyvals ...any)
	Error(msg string, keyvals ...any)
}

// For returns the activity logger when ctx is an activity context (it
// carries the workflow and activity IDs), fallback otherwise.
func For(ctx context.Context, fallback Logger) Logger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return fallback
}

// Heartbeat records details when ctx is an activity context and does
// nothing otherwise. The SDK throttles heartbeats, so calling it per page or
// per poll is fine. Pass a value, not a pointer the caller keeps changing:
// a throttled heartbeat is sent later. Under KeepAlive the details are
// also the ones its background heartbeats re-send.
func Heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		remember(ctx, details)
		activity.RecordHeartbeat(ctx, details)
	}
}

// Discard is a Logger that drops everything.
var Discard Logger = discard{}

type discard struct{}

func (discard) Debug(string, ...any) {}
func (discard) Info(string, ...any)  {}
func (discard) Warn(string, ...any)  {}
func (discard) Error(string, ...any) {}
