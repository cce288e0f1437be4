package traffic

import (
	"context"
	"time"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/activity"
)

// WatchInput watches alarms and probes for one period: a bake, a gate
// wait or the soak.
type WatchInput struct {
	Health HealthInput `json:"health"`
	// Until ends the period (wall clock, set by the workflow so that a
	// retried attempt watches the same period, not a new one).
	Until time.Time `json:"until"`
	// Interval between readings. Default 5s.
	Interval duration.Duration `json:"interval,omitempty"`
	// What is watched, for logs and the heartbeat ("step 2/3 (50% green)").
	What string `json:"what"`
}

// WatchResult is how the period ended: Healthy when it ran to Until (or
// was canceled) with every reading healthy, else the first unhealthy
// reading.
type WatchResult struct {
	Healthy bool `json:"healthy"`
	// Reasons of the unhealthy reading.
	Reasons []string `json:"reasons,omitempty"`
	// Last is the last reading taken.
	Last HealthResult `json:"last"`
	// Readings taken by this attempt.
	Readings int `json:"readings"`
	// At is when the unhealthy reading was taken.
	At time.Time `json:"at,omitempty"`
}

// WatchProgress is WatchTrafficHealth's heartbeat.
type WatchProgress struct {
	What     string    `json:"what"`
	Readings int       `json:"readings"`
	Last     time.Time `json:"last"`
	Healthy  bool      `json:"healthy"`
}

// defaultWatchInterval is the reading interval without one.
const defaultWatchInterval = 5 * time.Second

// WatchTrafficHealth reads alarms and probes every in.Interval until
// in.Until, heartbeating after each reading, and returns at the first
// unhealthy one — one activity per watched period, however long, so the
// workflow's history does not grow with the number of readings and an
// alarm is seen within an interval. A reading that cannot be taken is
// retried for in.Health.ReadBudget (checkHealth); a definitive error (access
// denied, invalid input) is returned. Canceled (the gate was decided, the
// period ended early) it returns what it saw, healthy.
func (a *Activities) WatchTrafficHealth(ctx context.Context, in WatchInput) (WatchResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if len(in.Health.Alarms)+len(in.Health.Probes) == 0 {
		return WatchResult{}, failures.New(failures.Validation, "watch %s: no alarms or probes to watch", in.What)
	}
	if in.Until.IsZero() {
		return WatchResult{}, failures.New(failures.Validation, "watch %s: until is required", in.What)
	}
	interval := in.Interval.D()
	if interval <= 0 {
		interval = defaultWatchInterval
	}
	log := logger(ctx)
	var res WatchResult
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var p WatchProgress
		if activity.GetHeartbeatDetails(ctx, &p) == nil {
			log.Info("Resuming a health watch", "what", in.What, "readingsBefore", p.Readings)
		}
	}
	for {
		h, err := a.checkHealth(ctx, in.Health)
		if ctx.Err() != nil {
			res.Healthy = true
			return res, nil // canceled: the period is over for the workflow
		}
		if err != nil {
			return res, err
		}
		res.Readings++
		res.Last = h
		activitylog.Heartbeat(ctx, WatchProgress{What: in.What, Readings: res.Readings, Last: time.Now().UTC(), Healthy: h.Healthy})
		if !h.Healthy {
			res.Reasons, res.At = h.Reasons, time.Now().UTC()
			log.Warn("Unhealthy reading while watching", "what", in.What, "reasons", h.Reasons, "readings", res.Readings)
			return res, nil
		}
		left := time.Until(in.Until)
		if left <= 0 {
			res.Healthy = true
			log.Info("Watched without an unhealthy reading", "what", in.What, "readings", res.Readings)
			return res, nil
		}
		select {
		case <-ctx.Done():
			res.Healthy = true
			return res, nil
		case <-time.After(min(interval, left)):
		}
	}
}
