package chatops_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/chatops"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/histories"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestSlashCommandDecidesARealGate drives the real BlueGreenMigration on a
// dev server (activities from the fake world) and answers its cutover gate
// from a signed Slack slash command: a non-approver is refused with the
// workflow's own reason, an approver's decision is recorded as theirs.
func TestSlashCommandDecidesARealGate(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(fakeworld.New().Activities())
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	s := histories.BaseSpec("chatops")
	s.Approvals.Cutover.Approvers = []string{"alice"}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: s.WorkflowID(), TaskQueue: workflows.TaskQueue}, workflows.WorkflowType, s)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.QueryStatus)
		var st workflows.Status
		if err == nil && v.Get(&st) == nil && len(st.PendingGates) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cutover gate never opened")
		}
		time.Sleep(200 * time.Millisecond)
	}

	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	h := chatops.NewHandler(chatops.NewTemporalUpdater(c), secret, chatops.WithUserMap(map[string]string{"U1": "alice", "U2": "mallory"}))
	slash := func(user, text string) (int, string) {
		form := url.Values{"command": {"/cutover"}, "text": {text}, "user_id": {user}, "user_name": {"ignored"}, "response_url": {"http://127.0.0.1:1/unused"}}
		body := form.Encode()
		ts, sig := chatops.Sign(secret, time.Now(), []byte(body))
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &reply)
		return rec.Code, reply.Text
	}
	if code, text := slash("U2", "approve "+run.GetID()+" cutover"); code != http.StatusOK || !strings.Contains(text, `"mallory" may not decide gate "cutover"`) {
		t.Fatalf("mallory: %d %q", code, text)
	}
	if code, text := slash("U1", "approve "+run.GetID()+" cutover ship it"); code != http.StatusOK || !strings.Contains(strings.ToLower(text), "approved") {
		t.Fatalf("alice: %d %q", code, text)
	}
	v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Approvals) != 1 || st.Approvals[0].By != "alice" || st.Approvals[0].Comment != "ship it" || st.Approvals[0].Via != "update" {
		t.Fatalf("approvals %+v", st.Approvals)
	}
}
