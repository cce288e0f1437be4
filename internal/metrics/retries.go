package metrics

import (
	"context"
	"errors"
	"slices"

	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// ActivityRetries is the counter of failed activity attempts that
// Temporal will retry, by activity type (the SDK's tag) and error type
// (cutover's failure types: Throttled, Transient, ...; "Unclassified"
// for an error no classifier named). With the Prometheus naming it is
// cutover_activity_retries_total.
const ActivityRetries = "cutover_activity_retries"

// RetryInterceptor counts activity attempts that failed and will be
// retried (ActivityRetries). Register a *RetryInterceptor in
// worker.Options.Interceptors.
type RetryInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*RetryInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &retryCounter{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type retryCounter struct {
	interceptor.ActivityInboundInterceptorBase
}

func (r *retryCounter) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := r.Next.ExecuteActivity(ctx, in)
	if info := activity.GetInfo(ctx); err != nil && willRetry(info, err) {
		// The SDK's handler of a local activity carries no activity or
		// workflow type (they read "none"): both are set here, for either.
		tags := map[string]string{"error_type": errorType(err), "activity_type": info.ActivityType.Name}
		if info.WorkflowType != nil {
			tags["workflow_type"] = info.WorkflowType.Name
		}
		activity.GetMetricsHandler(ctx).WithTags(tags).Counter(ActivityRetries).Inc(1)
	}
	return res, err
}

// willRetry tells whether Temporal will schedule another attempt after
// this one failed with err: not a cancellation, not non-retryable, not a
// type the policy names, and attempts left (local activities too: the
// worker retries those itself). An attempt that fails just
// before the schedule-to-close deadline is counted although the server
// then gives up: the worker does not know the first attempt's time.
func willRetry(info activity.Info, err error) bool {
	if errors.Is(err, context.Canceled) || temporal.IsCanceledError(err) {
		return false
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return false
	}
	if p := info.RetryPolicy; p != nil {
		if p.MaximumAttempts > 0 && info.Attempt >= p.MaximumAttempts {
			return false
		}
		if slices.Contains(p.NonRetryableErrorTypes, failures.TypeOf(err)) {
			return false
		}
	}
	return true
}

func errorType(err error) string {
	if t := failures.TypeOf(err); t != "" {
		return t
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "DeadlineExceeded"
	}
	return "Unclassified"
}
