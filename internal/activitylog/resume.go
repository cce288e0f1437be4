package activitylog

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// Resume returns the heartbeat details the previous attempt of the activity
// of ctx recorded, decoded as T, and true. It returns the zero T and false
// outside an activity, on a first attempt (no details), and when the
// details do not decode as T (recorded by another version of the activity).
// Every activity that resumes from its heartbeat reads it with Resume and
// then decides whether the details are about the same work (same cluster,
// change or step) before it carries on from them.
func Resume[T any](ctx context.Context) (T, bool) {
	var v T
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return v, false
	}
	if err := activity.GetHeartbeatDetails(ctx, &v); err != nil {
		var zero T
		return zero, false
	}
	return v, true
}
