package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerExportsSDKMetrics(t *testing.T) {
	h := NewHandler("cutover_")
	tagged := h.WithTags(map[string]string{"namespace": "default", "task_queue": "cutover"})
	tagged.Counter("temporal_workflow_completed").Inc(2)
	tagged.WithTags(map[string]string{"activity_type": "SetTrafficWeights"}).Counter("temporal_workflow_completed").Inc(1) // extra label dropped
	tagged.Gauge("temporal_worker_task_slots_available").Update(7)
	tagged.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)

	rec := httptest.NewRecorder()
	h.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`cutover_temporal_workflow_completed{namespace="default",task_queue="cutover"} 3`,
		`cutover_temporal_worker_task_slots_available{namespace="default",task_queue="cutover"} 7`,
		`cutover_temporal_activity_execution_latency_seconds_sum{namespace="default",task_queue="cutover"} 1.5`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
