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

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/chatops"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/histories"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestSlashCommandDecidesARealGate drives the real BlueGreenMigration on a
// dev server (activities from the fake world) and answers its gates from
// signed Slack requests: forged, unmapped (even claiming an approver's Slack
// user name) and replayed requests leave the gates open; a non-approver is
// refused with the workflow's own reason; a mapped approver's decision is
// recorded under the mapped name.
func TestSlashCommandDecidesARealGate(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := wiring.NewWorker(c, workflows.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(fakeworld.New().Activities())
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	s := histories.BaseSpec("chatops")
	s.Approvals.Cutover.Approvers = []string{"alice"}
	s.Approvals.Retire.Approvers = []string{"alice"}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: s.WorkflowID(), TaskQueue: workflows.TaskQueue}, workflows.WorkflowType, s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") }()
	status := func() workflows.Status {
		t.Helper()
		v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		var st workflows.Status
		if err := v.Get(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitForGate := func(gate string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.QueryStatus)
			var st workflows.Status
			if err == nil && v.Get(&st) == nil && len(st.PendingGates) == 1 && st.PendingGates[0].Gate == gate {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gate %q never opened", gate)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// stillOpen fails unless gate is the one pending gate and nothing was
	// decided beyond the want approvals.
	stillOpen := func(gate string, approvals int) {
		t.Helper()
		st := status()
		if len(st.PendingGates) != 1 || st.PendingGates[0].Gate != gate || len(st.Approvals) != approvals {
			t.Fatalf("gate %q: pending %+v, approvals %+v; want it open and %d approvals", gate, st.PendingGates, st.Approvals, approvals)
		}
	}
	waitForGate("cutover")

	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	h := chatops.NewHandler(chatops.NewTemporalUpdater(c), secret,
		chatops.WithUserMap(map[string]string{"U1": "alice", "U2": "mallory"}),
		chatops.WithUserMapSource("file /etc/cutover/slack-users.json"))
	// The response_url of buttons: what the handler posts there.
	posted := make(chan string, 4)
	respURL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		posted <- m.Text
	}))
	defer respURL.Close()

	type request struct{ body, ts, sig string }
	sign := func(body string) request {
		ts, sig := chatops.Sign(secret, time.Now(), []byte(body))
		return request{body, ts, sig}
	}
	send := func(r request) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", r.ts)
		req.Header.Set("X-Slack-Signature", r.sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &reply)
		return rec.Code, reply.Text
	}
	slashBody := func(user, userName, text string) string {
		return url.Values{"command": {"/cutover"}, "text": {text}, "user_id": {user}, "user_name": {userName}, "response_url": {"http://127.0.0.1:1/unused"}}.Encode()
	}
	clickBody := func(user, userName, gate string) string {
		p, _ := json.Marshal(map[string]any{
			"type":         "block_actions",
			"user":         map[string]any{"id": user, "username": userName, "name": userName},
			"response_url": respURL.URL,
			"actions":      []map[string]any{{"action_id": notify.ActionApprove, "value": notify.ActionValue(run.GetID(), gate), "block_id": "cutover_gate", "type": "button"}},
		})
		return url.Values{"payload": {string(p)}}.Encode()
	}

	// Unmapped U9 claims alice's Slack user name: refused, the gate stays open.
	if code, text := send(sign(slashBody("U9", "alice", "approve "+run.GetID()+" cutover"))); code != http.StatusOK ||
		!strings.Contains(text, "`U9`") || !strings.Contains(text, "/etc/cutover/slack-users.json") {
		t.Fatalf("unmapped slash command: %d %q", code, text)
	}
	if code, _ := send(sign(clickBody("U9", "alice", "cutover"))); code != http.StatusOK {
		t.Fatalf("unmapped click: %d", code)
	}
	select {
	case text := <-posted:
		if !strings.Contains(text, "`U9`") || !strings.Contains(text, "not mapped") {
			t.Fatalf("unmapped click answered %q", text)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("unmapped click: nothing posted to response_url")
	}
	// Forged: alice's ID, signed with another secret.
	forged := slashBody("U1", "alice", "approve "+run.GetID()+" cutover")
	fts, fsig := chatops.Sign("not-the-signing-secret", time.Now(), []byte(forged))
	if code, _ := send(request{forged, fts, fsig}); code != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", code)
	}
	// Mapped, but not on the gate's list: the workflow's own refusal.
	if code, text := send(sign(slashBody("U2", "alice", "approve "+run.GetID()+" cutover"))); code != http.StatusOK || !strings.Contains(text, `"mallory" may not decide gate "cutover"`) {
		t.Fatalf("mallory: %d %q", code, text)
	}
	stillOpen("cutover", 0)

	// Alice answers the retire gate too early: refused, it is not open. A
	// copy of that signed request is what a replayer would hold.
	early := sign(slashBody("U1", "alice", "approve "+run.GetID()+" retire"))
	if code, text := send(early); code != http.StatusOK || !strings.Contains(text, "not open yet") {
		t.Fatalf("early retire: %d %q", code, text)
	}
	approve := sign(slashBody("U1", "ignored", "approve "+run.GetID()+" cutover ship it"))
	if code, text := send(approve); code != http.StatusOK || !strings.Contains(strings.ToLower(text), "approved by alice") {
		t.Fatalf("alice: %d %q", code, text)
	}
	if code, _ := send(approve); code != http.StatusUnauthorized {
		t.Fatalf("replayed approval: %d, want 401", code)
	}
	st := status()
	if len(st.Approvals) != 1 || st.Approvals[0].By != "alice" || st.Approvals[0].Comment != "ship it" || st.Approvals[0].Via != "update" {
		t.Fatalf("approvals %+v", st.Approvals)
	}

	// Traffic moves, the retire gate opens within the request's 5 minutes:
	// replaying alice's early request must not decide it.
	waitForGate("retire")
	if code, text := send(early); code != http.StatusUnauthorized {
		t.Fatalf("replayed early retire approval: %d %q, want 401", code, text)
	}
	stillOpen("retire", 1)
}
