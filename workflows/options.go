package workflows

import (
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Retry policies, one per kind of call. Each names the non-retryable error
// types from internal/failures; everything else (throttling, NotReadyYet,
// ResourceInUse, network errors) is retried with backoff until the options'
// ScheduleToClose deadline.
var (
	// readRetry: cheap reads (describe, list, get weights).
	readRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		NonRetryableErrorTypes: failures.NonRetryable,
	}
	// mutateRetry: creates and updates; they are idempotent, so retrying is safe.
	mutateRetry = &temporal.RetryPolicy{
		InitialInterval:        5 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        2 * time.Minute,
		NonRetryableErrorTypes: failures.NonRetryable,
	}
	// waitRetry: long waits; they resume from heartbeat details.
	waitRetry = &temporal.RetryPolicy{
		InitialInterval:        10 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        2 * time.Minute,
		NonRetryableErrorTypes: failures.NonRetryable,
	}
	// notifyRetry: chat posts; a few tries, then the workflow goes on without.
	notifyRetry = &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        5,
		NonRetryableErrorTypes: failures.NonRetryable,
	}
	// healthRetry: a bake check. The activity itself retries a reading that
	// cannot be taken for traffic.healthReadBudget; Temporal's retries are
	// for a worker that died or timed out mid-reading.
	healthRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Second,
		MaximumAttempts:        3,
		NonRetryableErrorTypes: failures.NonRetryable,
	}
)

// Activity options, one per kind of call. ScheduleToClose is the hard
// deadline across all attempts. Every activity that changes the world
// (creates, updates, traffic weights, deletes, chat posts) and every long
// wait has a HeartbeatTimeout far shorter than its StartToClose and
// heartbeats while it works (activitylog.KeepAlive), so a worker that dies
// mid-call is noticed within the heartbeat timeout and the call retried,
// instead of after the whole StartToClose.
var (
	readOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 15 * time.Minute,
		RetryPolicy:            readRetry,
	}
	// guardReadOptions: the weight read before blue is retired. A read that
	// cannot be taken is retried for as long as the retire itself may
	// take: an AWS outage at that point must not roll a finished cutover
	// back.
	guardReadOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy:            readRetry,
	}
	// scanOptions: preflight scans of a whole cluster.
	scanOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    20 * time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		HeartbeatTimeout:       2 * time.Minute,
		RetryPolicy:            readRetry,
	}
	// mutateOptions: creates and updates (EKS cluster and access entries,
	// Argo CD applications).
	mutateOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		ScheduleToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy:            mutateRetry,
	}
	// trafficSetOptions: a traffic weight change. A crash right after it
	// leaves traffic moved and unwatched until the retry, so it is noticed
	// within seconds; the retry finds the split in place and returns.
	trafficSetOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		ScheduleToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:       15 * time.Second,
		RetryPolicy:            mutateRetry,
	}
	// clusterWaitOptions: EKS control plane create/delete (10-20 minutes).
	clusterWaitOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    45 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            waitRetry,
	}
	// nodeWaitOptions: node groups and add-ons.
	nodeWaitOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    45 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            waitRetry,
	}
	// restoreOptions: Velero backup/restore and Argo CD sync; StartToClose
	// is overridden from the spec's timeouts.
	restoreOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Hour,
		ScheduleToCloseTimeout: 3 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            waitRetry,
	}
	// entryPointOptions: waiting for green's load balancer hostname;
	// StartToClose is overridden from greenTargetFrom.timeout (plus
	// entryPointSlack, so the activity's own timeout, with its precise
	// message, comes first).
	entryPointOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    20 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            waitRetry,
	}
	// smokeOptions: StartToClose is overridden from smoke.timeout.
	smokeOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            readRetry,
	}
	// propagateOptions: Route53 INSYNC (about a minute), CloudFront Deployed (up to ~15 minutes).
	propagateOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy:            waitRetry,
	}
	// healthOptions: one bake reading; StartToClose grows with the read
	// budget (healthOptionsFor).
	healthOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:       20 * time.Second,
		RetryPolicy:            healthRetry,
	}
	// notifyOptions: a chat post; the delivery key keeps a retry after a
	// crash from posting twice.
	notifyOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:       10 * time.Second,
		RetryPolicy:            notifyRetry,
	}
)

// entryPointSlack is what WaitLoadBalancer may take past its own timeout.
const entryPointSlack = 2 * time.Minute

// healthReadSlack is what a reading takes beyond its read budget: the
// probes' own attempts and timeouts.
const healthReadSlack = 2 * time.Minute

// healthOptionsFor is healthOptions for a reading that may retry what it
// cannot read for budget.
func healthOptionsFor(budget time.Duration) workflow.ActivityOptions {
	return withTimeout(healthOptions, max(budget, 0)+healthReadSlack)
}

// withTimeout returns o with StartToClose (and ScheduleToClose, if shorter)
// set to d.
func withTimeout(o workflow.ActivityOptions, d time.Duration) workflow.ActivityOptions {
	if d <= 0 {
		return o
	}
	o.StartToCloseTimeout = d
	if o.ScheduleToCloseTimeout < 2*d {
		o.ScheduleToCloseTimeout = 2 * d
	}
	return o
}
