package kube

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Defaults of the retries of transient apiserver errors.
const (
	// DefaultAPIRetryBudget is how long one API call of a smoke step is
	// retried while green's apiserver fails transiently (unreachable,
	// throttling, 5xx, timeouts) before the smoke test gives up with a
	// retryable error.
	DefaultAPIRetryBudget = 2 * time.Minute
	// DefaultAPIRetryWait is the first wait between those retries; waits
	// double up to 10s.
	DefaultAPIRetryWait = time.Second
)

// retryAPI calls fn until it succeeds, fails with an error that is not
// transient, or the API retry budget is spent, heartbeating while it waits;
// it returns fn's last error. A retried create must accept that an earlier
// try was applied (AlreadyExists).
func (a *Activities) retryAPI(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return failures.Retry(ctx, failures.Backoff{
		Initial: a.opts.apiRetryWait,
		Max:     10 * time.Second,
		Budget:  a.opts.apiRetryBudget,
		OnRetry: func(err error, attempt int, wait time.Duration) {
			a.log(ctx).Warn("Kubernetes API call failed transiently, retrying", "what", what, "attempt", attempt, "wait", wait.String(), "error", err)
			activitylog.Heartbeat(ctx, Progress{Step: "retry", Detail: fmt.Sprintf("%s: attempt %d: %v", what, attempt, err)})
		},
	}, fn)
}

// sortAPIError splits the error of a smoke step's API call: a transient one
// that outlasted the retries (green's apiserver down, throttling, 5xx) is
// returned as outage, a retryable error that ends the smoke test, since an
// outage says nothing about green; anything else is the failed check's
// message.
func sortAPIError(err error, format string, args ...any) (msg string, outage error) {
	what := fmt.Sprintf(format, args...)
	if failures.IsTransient(err) {
		return "", kubeError(err, "%s", what)
	}
	return fmt.Sprintf("%s: %v", what, err), nil
}
