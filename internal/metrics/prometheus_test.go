package metrics

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// TestExporterUsesPrometheusNaming: through the SDK's handler interface,
// counters get _total and timers _seconds histograms, as Temporal's
// dashboards expect, and the runtime collectors are served beside them.
func TestExporterUsesPrometheusNaming(t *testing.T) {
	e, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tagged := e.Handler.WithTags(map[string]string{"namespace": "default", "task_queue": "cutover"})
	e.Handler.WithTags(map[string]string{"migration": "cutover-shop-prod.v2"}).Gauge("cutover_traffic_green_weight_percent").Update(25)
	tagged.Counter("temporal_workflow_completed").Inc(2)
	tagged.Counter("temporal_workflow_completed").Inc(1)
	tagged.Gauge("temporal_worker_task_slots_available").Update(7)
	tagged.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	if err := e.Close(); err != nil { // reports what is pending
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`temporal_workflow_completed_total{namespace="default",task_queue="cutover"} 3`,
		`temporal_worker_task_slots_available{namespace="default",task_queue="cutover"} 7`,
		`temporal_activity_execution_latency_seconds_bucket{namespace="default",task_queue="cutover",le="2.5"} 1`,
		`cutover_traffic_green_weight_percent{migration="cutover-shop-prod.v2"} 25`, // the ID as written
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%.3000s", want, body)
		}
	}
	if strings.Contains(string(body), "cutover_temporal_") {
		t.Error("SDK metrics still carry the old cutover_ prefix")
	}
}

func TestWillRetry(t *testing.T) {
	policy := &temporal.RetryPolicy{MaximumAttempts: 3, NonRetryableErrorTypes: []string{failures.Validation}}
	for _, tc := range []struct {
		name string
		info activity.Info
		err  error
		want bool
	}{
		{"throttled, attempts left", activity.Info{Attempt: 1, RetryPolicy: policy}, failures.New(failures.Throttled, "slow down"), true},
		{"last attempt", activity.Info{Attempt: 3, RetryPolicy: policy}, failures.New(failures.Throttled, "slow down"), false},
		{"type the policy names", activity.Info{Attempt: 1, RetryPolicy: policy}, failures.New(failures.Validation, "bad"), false},
		{"non-retryable error", activity.Info{Attempt: 1, RetryPolicy: policy}, temporal.NewNonRetryableApplicationError("gone", "NotFound", nil), false},
		{"unlimited attempts", activity.Info{Attempt: 40, RetryPolicy: &temporal.RetryPolicy{}}, errors.New("connection reset"), true},
		{"no policy from the server", activity.Info{Attempt: 2}, errors.New("EOF"), true},
		{"canceled", activity.Info{Attempt: 1, RetryPolicy: policy}, temporal.NewCanceledError(), false},
		{"local activity", activity.Info{Attempt: 1, IsLocalActivity: true, RetryPolicy: policy}, errors.New("EOF"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := willRetry(tc.info, tc.err); got != tc.want {
				t.Errorf("willRetry = %v, want %v", got, tc.want)
			}
		})
	}
	if got := errorType(errors.New("x")); got != "Unclassified" {
		t.Errorf("errorType of a plain error = %q", got)
	}
	if got := errorType(failures.New(failures.Throttled, "x")); got != failures.Throttled {
		t.Errorf("errorType = %q", got)
	}
}
