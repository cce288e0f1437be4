package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/workflows"
)

// TestChatOutageNeverDelaysTheWatch: with every chat post failing (503,
// retried for up to five minutes each), each traffic step's first health
// reading still starts right after its weights are set, the alarm's
// rollback is as fast as without chat, and the failed posts are reported.
func TestChatOutageNeverDelaysTheWatch(t *testing.T) {
	h := newHarness(t)
	h.world.UnhealthyAtGreen = 50
	h.world.FailWhen = func(name string, _ any) error {
		if name == "Notify" {
			return failures.New(failures.Transient, "slack: 503 Service Unavailable")
		}
		return nil
	}
	type started struct {
		name string
		at   time.Time
	}
	var mu sync.Mutex
	var calls []started
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, started{info.ActivityType.Name, h.env.Now()})
	})
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q (%v): want the alarm's rollback", typ, err)
	}
	steps := 0
	for i, c := range calls {
		if c.name != "SetTrafficWeights" {
			continue
		}
		for _, next := range calls[i+1:] {
			if next.name == "WatchTrafficHealth" {
				if gap := next.at.Sub(c.at); gap > 5*time.Second {
					t.Errorf("a health reading started %s after the weights were set (chat is down)", gap)
				}
				steps++
				break
			}
		}
	}
	if steps == 0 {
		t.Fatalf("no health reading after a weight change: %v", calls)
	}
	failed := 0
	for _, e := range r.Errors {
		if strings.Contains(e, "notify") && strings.Contains(e, "503") {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("report errors %v: want the failed posts", r.Errors)
	}
	t.Logf("%d weight changes each read within 5 s; %d failed posts reported", steps, failed)
}
