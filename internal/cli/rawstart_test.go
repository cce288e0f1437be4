package cli_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// rawPayload is an input exactly as the Temporal UI's Start Workflow form
// (or any SDK client with a hand-written JSON string) sends it.
func rawPayload(s string) converter.RawValue {
	return converter.NewRawValue(&commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(s),
	})
}

// TestRawStartRejectsMalformedSpecs starts BlueGreenMigration on a real dev
// server with malformed inputs, the way the UI does, and checks each run
// fails as a non-retryable ValidationError naming the field, with no
// activity scheduled (from the recorded history, not the fake world).
func TestRawStartRejectsMalformedSpecs(t *testing.T) {
	d := startDevServer(t)
	const ok = `{"name":"raw-%d","blue":{"clusterName":"blue","region":"eu-west-1"},"green":{"kubernetesVersion":"1.31"},"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}}`
	cases := []struct{ name, doc, field string }{
		{"unknown nested key", ok + `,"traffic2":1}`, "traffic2"},
		{"typo in traffic", strings.Replace(ok, `"provider"`, `"bakeTim":"5m","provider"`, 1) + `}`, "traffic.bakeTim"},
		{"unknown gate", ok + `,"approvals":{"deploy":{}}}`, "approvals.deploy"},
		{"duplicated gate hides onTimeout approve", ok + `,"approvals":{"cutover":{"approvers":["alice"]},"cutover":{"onTimeout":"approve"}}}`, "approvals.cutover"},
		{"case-folded name", ok + `,"Name":"other"}`, "Name"},
		{"trailing data", ok + `}{"name":"x"}`, spec.DocumentField},
		{"invalid UTF-8", strings.Replace(ok, "shop.example.com", "shop\xff.example.com", 1) + `}`, "traffic.route53.recordName"},
		{"wrong type", ok + `,"dryRun":"yes"}`, "dryRun"},
		{"explicit zero soak", ok + `,"retire":{"soak":"0s"}}`, "retire.soak"},
		{"ten-year gate", ok + `,"approvals":{"retire":{"timeout":"87600h"}}}`, "approvals.retire.timeout"},
		{"unknown version", strings.Replace(ok, `"1.31"`, `"1.99"`, 1) + `}`, "green.kubernetesVersion"},
		{"probe host injection", ok + `,"smoke":{"http":[{"name":"p","url":"https://x.example.com","host":"a.example.com\r\nX-Evil: 1"}]}}`, "smoke.http[0].host"},
		{"not an object", `[1]`, spec.DocumentField},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			doc := tc.doc
			if strings.Contains(doc, "%d") {
				doc = fmt.Sprintf(doc, i)
			}
			run, err := d.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("raw-start-%d-%d", i, time.Now().UnixNano()), TaskQueue: workflows.TaskQueue},
				workflows.WorkflowType, rawPayload(doc))
			if err != nil {
				t.Fatal(err)
			}
			err = run.Get(ctx, nil)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != failures.Validation || !appErr.NonRetryable() {
				t.Fatalf("want a non-retryable ValidationError, got %v", err)
			}
			var fields spec.FieldErrors
			if err := appErr.Details(&fields); err != nil || len(fields) == 0 || fields[0].Field != tc.field {
				t.Fatalf("details %v (%v), want the first on %s", fields, err, tc.field)
			}
			iter := d.client.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				ev, err := iter.Next()
				if err != nil {
					t.Fatal(err)
				}
				if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
					t.Fatalf("an activity was scheduled for a rejected spec: %s", ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
				}
			}
		})
	}
}

// TestRawSignalsOnARealServer: a dropped approval payload leaves nothing
// behind for the next one, on a real server with real payload encoding.
func TestRawSignalsOnARealServer(t *testing.T) {
	d := startDevServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	doc := fmt.Sprintf(`{"name":"raw-signals-%d","blue":{"clusterName":"blue","region":"eu-west-1"},"green":{"kubernetesVersion":"1.31"},
"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}},
"approvals":{"cutover":{"timeout":"10m"},"reminderInterval":"0s"}}`, time.Now().UnixNano()%100000)
	run, err := d.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.WorkflowType, rawPayload(doc))
	if err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, d, run.GetID(), func(s workflows.Status) bool { return len(s.PendingGates) == 1 })
	_ = st
	for _, p := range []string{`{"gate":"cutover","by":"alice","approve":"yes"}`, `{"approve":true}`} {
		if err := d.client.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalApproval, rawPayload(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.client.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalAbort, rawPayload(`{"by":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, d, run.GetID(), func(s workflows.Status) bool { return s.IgnoredCount == 3 })
	if len(st.Approvals) != 0 || len(st.PendingGates) != 1 || st.Aborted != nil {
		t.Fatalf("malformed signals changed the run: %+v", st)
	}
	if err := d.client.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalAbort, workflows.Abort{By: "alice", Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	var appErr *temporal.ApplicationError
	if err := run.Get(ctx, nil); !errors.As(err, &appErr) {
		t.Fatalf("want the run to end aborted, got %v", err)
	}
}

func waitStatus(t *testing.T, d *devServer, id string, ok func(workflows.Status) bool) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var st workflows.Status
	for time.Now().Before(deadline) {
		v, err := d.client.QueryWorkflow(context.Background(), id, "", workflows.QueryStatus)
		if err == nil && v.Get(&st) == nil && ok(st) {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("status never matched; last %+v", st)
	return st
}
