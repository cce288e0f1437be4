package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// changeContinuousWatch versions the watch that never sleeps: one
// heartbeating WatchTrafficHealth activity per watched period (a bake, the
// soak, a gate wait while traffic is on green), reading every few seconds,
// instead of one activity per reading with timers between. Runs started
// before it keep their readings.
const changeContinuousWatch = "continuous-watch"

const (
	// maxReadingInterval caps the interval between readings of a watch
	// (traffic.checkInterval when shorter): an alarm is seen within it.
	maxReadingInterval = 5 * time.Second
	// gateWatchChunk is the longest single watch while a gate waits; a
	// gate that waits longer is watched chunk after chunk.
	gateWatchChunk = 6 * time.Hour
)

// watchRetry: a watch is retried (resuming its period) whenever its
// worker dies or its heartbeat stops, bounded by its ScheduleToClose; an
// error that is definitive is not.
var watchRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        30 * time.Second,
	NonRetryableErrorTypes: failures.NonRetryable,
}

// watchOptionsFor is the options of a watch of d: it runs d (plus a
// reading's budget and slack), heartbeats every reading, and may be
// retried for ten more minutes.
func watchOptionsFor(d, budget time.Duration) workflow.ActivityOptions {
	run := d + max(budget, 0) + healthReadSlack
	return workflow.ActivityOptions{
		StartToCloseTimeout:    run,
		ScheduleToCloseTimeout: run + 10*time.Minute,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy:            watchRetry,
	}
}

// watchState caches the changeContinuousWatch version once asked.
type watchState struct {
	on *bool
}

func (m *migration) continuousWatch(ctx workflow.Context) bool {
	if m.watching.on == nil {
		on := workflow.GetVersion(ctx, changeContinuousWatch, workflow.DefaultVersion, 1) == 1
		m.watching.on = &on
	}
	return *m.watching.on
}

// readingInterval is the interval of a continuous watch.
func (m *migration) readingInterval() time.Duration {
	i := m.spec.Traffic.CheckInterval.D()
	if i <= 0 || i > maxReadingInterval {
		i = maxReadingInterval
	}
	return i
}

// watchPeriod watches alarms and probes for d with one activity and ends
// with an Unhealthy error at the first unhealthy reading (or when they
// cannot be read). Without anything to watch it only waits. quiet leaves
// the progress line alone (a gate's wait owns it).
func (m *migration) watchPeriod(ctx workflow.Context, d time.Duration, what string, quiet bool) error {
	in := healthInput(m.spec)
	if len(in.Alarms)+len(in.Probes) == 0 {
		return workflow.Sleep(ctx, d)
	}
	until := workflow.Now(ctx).Add(d)
	if !quiet {
		m.progress(fmt.Sprintf("Watching %s until %s (a reading every %s)", what, until.UTC().Format(time.RFC3339), m.readingInterval()))
	}
	var res traffic.WatchResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, watchOptionsFor(d, in.ReadBudget.D())), trafA.WatchTrafficHealth, traffic.WatchInput{
		Health: in, Until: until, Interval: duration.Duration(m.readingInterval()), What: what,
	}).Get(ctx, &res)
	if err != nil {
		if temporal.IsCanceledError(err) {
			return err
		}
		// Alarms and probes that cannot be read are not a healthy reading.
		m.recordReading(ctx, what, traffic.WatchResult{Reasons: []string{"could not read alarms and probes: " + failures.Message(err)}})
		return failures.New(failures.Unhealthy, "%s: could not read alarms and probes: %s", what, failures.Message(err))
	}
	m.recordReading(ctx, what, res)
	if !res.Healthy {
		return failures.New(failures.Unhealthy, "%s: %s", what, strings.Join(res.Reasons, "; "))
	}
	// The watch ends at until by the worker's clock; sleep out any skew.
	if rem := until.Sub(workflow.Now(ctx)); rem > 0 {
		return workflow.Sleep(ctx, rem)
	}
	return nil
}

// gateWatch watches alarms and probes while the gate waits, when traffic
// is (partly) on green: it returns a func that reports the Unhealthy
// error that ends the wait (nil while healthy), and stops when ctx or the
// returned stop is canceled.
func (m *migration) gateWatch(ctx workflow.Context, name string) (failed func() error, stop func()) {
	none := func() error { return nil }
	if m.status.Traffic.Green == 0 || m.done.BlueRetiring || !m.continuousWatch(ctx) {
		return none, func() {}
	}
	wctx, cancel := workflow.WithCancel(ctx)
	var werr error
	workflow.Go(wctx, func(gctx workflow.Context) {
		for {
			err := m.watchPeriod(gctx, gateWatchChunk, fmt.Sprintf("while gate %q waits (%d%% green)", name, m.status.Traffic.Green), true)
			if err != nil {
				if gctx.Err() == nil && !temporal.IsCanceledError(err) {
					werr = err
				}
				return
			}
		}
	})
	return func() error { return werr }, cancel
}

// maxReadings bounds the health readings the report keeps (the newest).
const maxReadings = 200

// recordReading keeps what a watched period read, for the report's
// timeline: when, at which split, healthy or why not, and the alarms'
// states.
func (m *migration) recordReading(ctx workflow.Context, what string, res traffic.WatchResult) {
	at := res.At
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	r := HealthReading{At: at, What: what, Green: m.status.Traffic.Green, Healthy: res.Healthy, Readings: res.Readings, Reasons: res.Reasons}
	for _, a := range res.Last.Alarms {
		r.Alarms = append(r.Alarms, a.Name+" "+a.State)
	}
	if len(m.report.HealthReadings) >= maxReadings {
		m.report.HealthReadings = m.report.HealthReadings[1:]
	}
	m.report.HealthReadings = append(m.report.HealthReadings, r)
}
