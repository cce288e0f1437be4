package fakeworld

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
)

var (
	unhealthyWhileMu sync.Mutex
	unhealthyWhile   = map[*World]string{}
)

// SetUnhealthyWhile makes every watch whose What contains what unhealthy
// (e.g. "while gate \"retire\"": an alarm raised while the retire gate waits).
func (w *World) SetUnhealthyWhile(what string) {
	unhealthyWhileMu.Lock()
	defer unhealthyWhileMu.Unlock()
	unhealthyWhile[w] = what
}

// WatchTrafficHealth implements the traffic activity as if it had watched
// the whole period at once: unhealthy when green carries UnhealthyAtGreen
// (the alarm UnhealthyAlarm in ALARM) or the watch is of what
// SetUnhealthyWhile named, else healthy.
func (a *Activities) WatchTrafficHealth(_ context.Context, in traffic.WatchInput) (traffic.WatchResult, error) {
	w := a.w
	if err := w.record("WatchTrafficHealth", in); err != nil {
		return traffic.WatchResult{}, err
	}
	if len(in.Health.Alarms)+len(in.Health.Probes) == 0 || in.Until.IsZero() {
		return traffic.WatchResult{}, failures.New(failures.Validation, "watch %s: alarms or probes and until are required", in.What)
	}
	unhealthyWhileMu.Lock()
	while := unhealthyWhile[w]
	unhealthyWhileMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.UnhealthyAtGreen != 0 && w.weights.Green == w.UnhealthyAtGreen || while != "" && strings.Contains(in.What, while) {
		h := traffic.HealthResult{Healthy: false, Reasons: []string{fmt.Sprintf("alarm %s is in ALARM", w.UnhealthyAlarm)},
			Alarms: []traffic.AlarmState{{Name: w.UnhealthyAlarm, State: "ALARM", Reason: "Threshold Crossed"}}}
		return traffic.WatchResult{Healthy: false, Reasons: h.Reasons, Last: h, Readings: 1, At: time.Unix(0, 0).UTC()}, nil
	}
	return traffic.WatchResult{Healthy: true, Last: traffic.HealthResult{Healthy: true}, Readings: 1}, nil
}
