package histories_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/cutover-dev/cutover/internal/histories"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/spec"
)

// maxEvents bounds a migration's history, far below Temporal's 51,200
// event limit. The short calls (reads and quick idempotent writes) run as
// local activities (change local-short-calls), one marker event each
// instead of three and a workflow task: the happy path went from about
// 400 events to about 290. Retire's load balancers and control-plane log
// group (changes retire-load-balancers, retire-log-group) added about 20
// events: 301 to 310 on the happy path; the bound leaves room for a few more
// steps, not for a history that grows with time.
const maxEvents = 330

// noise is how much two runs of the same scenario may differ: whether the
// retire gate's watch had started before the approval cancelled it.
const noise = 12

// TestHistoryDoesNotGrowWithBakesOrSoak runs the happy path on a real
// Temporal dev server twice, with bakes and soak of 2 s and of 12 s (a
// reading every second), and counts the events. One watch activity per
// period makes the count independent of how long a period is and how often
// it is read (within noise), so a default migration (three 10-minute
// bakes, a 24 h soak, a reading every 5 s) records the same number, at
// most maxEvents. The one-reading-per-interval design added about 11
// events per reading, so there the 12 s run would be far longer.
func TestHistoryDoesNotGrowWithBakesOrSoak(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	happy := histories.Scenarios[0]
	count := func(period time.Duration) int {
		t.Helper()
		h, err := histories.Run(ctx, c, happy, func(s *spec.MigrationSpec) {
			s.Traffic.BakeTime, s.Retire.Soak, s.Traffic.CheckInterval = spec.Duration(period), spec.Duration(period), spec.Duration(time.Second)
		})
		if err != nil {
			t.Fatalf("run with %s periods: %v", period, err)
		}
		return len(h.Events)
	}
	short, long := count(2*time.Second), count(12*time.Second)
	t.Logf("history events of the happy path: %d with 2 s bakes and soak, %d with 12 s (a reading every second); bound %d", short, long, maxEvents)
	if d := long - short; d > noise || d < -noise {
		t.Errorf("the history grew with the bake and soak length: %d events with 2 s, %d with 12 s", short, long)
	}
	if long > maxEvents {
		t.Errorf("%d history events, more than %d", long, maxEvents)
	}
}
