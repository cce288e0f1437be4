package chatops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/workflows"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// team maps the Slack users of these tests to their approver names.
var team = WithUserMap(map[string]string{"U1": "alice", "U2": "bob", "U3": "mallory"})

type call struct {
	workflowID string
	d          workflows.Decision
}

type fakeUpdater struct {
	mu    sync.Mutex
	calls []call
	err   error
	delay time.Duration
}

func (f *fakeUpdater) Approve(ctx context.Context, workflowID string, d workflows.Decision) (workflows.GateOutcome, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{workflowID, d})
	err, delay := f.err, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return workflows.GateOutcome{}, ctx.Err()
		}
	}
	if err != nil {
		return workflows.GateOutcome{}, err
	}
	return workflows.GateOutcome{Gate: d.Gate, Approved: d.Approve, By: d.By, At: time.Now()}, nil
}

func (f *fakeUpdater) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// responseURL records what the handler posts to Slack's response_url.
type responseURL struct {
	*httptest.Server
	got chan map[string]any
}

func newResponseURL(t *testing.T) *responseURL {
	r := &responseURL{got: make(chan map[string]any, 4)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			t.Errorf("response_url body: %v", err)
		}
		r.got <- m
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *responseURL) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing posted to response_url")
		return nil
	}
}

func signed(t *testing.T, body string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ts, sig := Sign(secret, at, []byte(body))
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	return req
}

func slash(text, userID, userName, responseURL string) string {
	return url.Values{
		"command": {"/cutover"}, "text": {text}, "user_id": {userID}, "user_name": {userName},
		"response_url": {responseURL}, "channel_id": {"C1"}, "team_id": {"T1"},
	}.Encode()
}

func serve(t *testing.T, h http.Handler, req *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("reply %q: %v", rec.Body.String(), err)
		}
	}
	return rec.Code, m
}

func TestSlashApprove(t *testing.T) {
	u := &fakeUpdater{}
	h := NewHandler(u, secret, team)
	code, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover looks good to me", "U1", "alice", ""), time.Now()))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	calls := u.recorded()
	want := workflows.Decision{Gate: "cutover", Approve: true, By: "alice", Comment: "looks good to me"}
	if len(calls) != 1 || calls[0].workflowID != "cutover-shop" || calls[0].d != want {
		t.Fatalf("updater calls %+v; want %+v", calls, want)
	}
	if reply["response_type"] != "in_channel" || reply["text"] != `Gate "cutover" of cutover-shop approved by alice.` {
		t.Fatalf("reply %v", reply)
	}
}

func TestSlashRejectWithUserMap(t *testing.T) {
	u := &fakeUpdater{}
	h := NewHandler(u, secret, WithUserMap(map[string]string{"U1": "alice.smith"}))
	_, reply := serve(t, h, signed(t, slash("Reject cutover-shop retire", "U1", "alice", ""), time.Now()))
	calls := u.recorded()
	if len(calls) != 1 || calls[0].d.By != "alice.smith" || calls[0].d.Approve || calls[0].d.Gate != "retire" || calls[0].d.Comment != "" {
		t.Fatalf("calls %+v", calls)
	}
	if reply["text"] != `Gate "retire" of cutover-shop rejected by alice.smith.` {
		t.Fatalf("reply %v", reply)
	}
}

func TestSlashRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"validator", temporal.NewApplicationError(`gate "cutover" was already decided by bob`, "InvalidDecision"), `Refused: gate "cutover" was already decided by bob`},
		{"not an approver", temporal.NewApplicationError(`mallory may not decide gate "cutover" (approvers: alice, bob)`, "InvalidDecision"), `Refused: mallory may not decide gate "cutover" (approvers: alice, bob)`},
		{"no workflow", serviceerror.NewNotFound("workflow not found"), `No running migration with workflow ID "cutover-shop".`},
		{"unreachable", errors.New("connection refused"), "Could not send the decision to cutover-shop: connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHandler(&fakeUpdater{err: c.err}, secret, team)
			_, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U3", "mallory", ""), time.Now()))
			if reply["response_type"] != "ephemeral" || reply["text"] != c.want {
				t.Fatalf("reply %v; want ephemeral %q", reply, c.want)
			}
		})
	}
}

func TestSlashUsage(t *testing.T) {
	u := &fakeUpdater{}
	h := NewHandler(u, secret, WithUserMap(map[string]string{"U1": "alice"}))
	for _, text := range []string{"", "help", "approve cutover-shop", "promote cutover-shop cutover"} {
		_, reply := serve(t, h, signed(t, slash(text, "U1", "alice", ""), time.Now()))
		if reply["response_type"] != "ephemeral" || !strings.Contains(reply["text"].(string), "Usage: `/cutover approve") {
			t.Errorf("%q: reply %v", text, reply)
		}
	}
	if n := len(u.recorded()); n != 0 {
		t.Fatalf("updater called %d times", n)
	}
}

func TestSignatureRejected(t *testing.T) {
	u := &fakeUpdater{}
	h := NewHandler(u, secret, team)
	body := slash("approve cutover-shop cutover", "U1", "alice", "")
	now := time.Now()

	missing := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	stale := signed(t, body, now.Add(-6*time.Minute))
	future := signed(t, body, now.Add(6*time.Minute))
	tampered := signed(t, body, now)
	tampered.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "alice", "admin", 1)))
	wrongSecret := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	ts, sig := Sign("not-the-secret", now, []byte(body))
	wrongSecret.Header.Set("X-Slack-Request-Timestamp", ts)
	wrongSecret.Header.Set("X-Slack-Signature", sig)
	badTS := signed(t, body, now)
	badTS.Header.Set("X-Slack-Request-Timestamp", "yesterday")

	for name, req := range map[string]*http.Request{
		"missing headers": missing, "older than 5 minutes": stale, "from the future": future,
		"tampered body": tampered, "wrong secret": wrongSecret, "unparsable timestamp": badTS,
	} {
		if code, _ := serve(t, h, req); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	// Within the window is fine.
	if code, _ := serve(t, h, signed(t, body, now.Add(-4*time.Minute))); code != 200 {
		t.Errorf("4 minutes old: status %d", code)
	}
	if n := len(u.recorded()); n != 1 {
		t.Fatalf("updater called %d times, want once (for the valid request)", n)
	}
	// No secret configured: nothing is accepted.
	h = NewHandler(u, "")
	ts, sig = Sign("", now, []byte(body))
	req := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	if code, _ := serve(t, h, req); code != http.StatusServiceUnavailable {
		t.Errorf("empty secret: status %d, want 503", code)
	}
	if n := len(u.recorded()); n != 1 {
		t.Fatalf("updater called %d times", n)
	}
}

func TestSlowDecisionGoesToResponseURL(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{delay: 300 * time.Millisecond}
	h := NewHandler(u, secret, team, WithAckTimeout(20*time.Millisecond))
	start := time.Now()
	_, reply := serve(t, h, signed(t, slash("approve cutover-shop cutover", "U1", "alice", r.URL), time.Now()))
	if time.Since(start) > 250*time.Millisecond {
		t.Fatalf("the command waited %s for a slow workflow", time.Since(start))
	}
	if reply["response_type"] != "ephemeral" || !strings.Contains(reply["text"].(string), "Sending your decision") {
		t.Fatalf("ack %v", reply)
	}
	got := r.next(t)
	if got["response_type"] != "in_channel" || got["text"] != `Gate "cutover" of cutover-shop approved by alice.` {
		t.Fatalf("response_url got %v", got)
	}
}

func buttonPayload(t *testing.T, action, value, responseURL string) string {
	t.Helper()
	return buttonPayloadFrom(t, "U2", "bob", action, value, responseURL)
}

// buttonPayloadFrom is a click by Slack user id whose Slack user name is name.
func buttonPayloadFrom(t *testing.T, id, name, action, value, responseURL string) string {
	t.Helper()
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": id, "username": name, "name": name},
		"response_url": responseURL,
		"actions":      []map[string]any{{"action_id": action, "value": value, "block_id": "cutover_gate", "type": "button"}},
		"message": map[string]any{
			"text": "Approval needed (shop): gate cutover",
			"blocks": []map[string]any{
				{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*Approval needed*"}},
				{"type": "actions", "elements": []any{}},
			},
		},
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(raw)}}.Encode()
}

func TestButtonDecides(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{}
	h := NewHandler(u, secret, team)
	code, _ := serve(t, h, signed(t, buttonPayload(t, notify.ActionReject, notify.ActionValue("cutover-shop", "retire"), r.URL), time.Now()))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	got := r.next(t)
	calls := u.recorded()
	if len(calls) != 1 || calls[0].workflowID != "cutover-shop" || calls[0].d.Gate != "retire" || calls[0].d.Approve || calls[0].d.By != "bob" {
		t.Fatalf("calls %+v", calls)
	}
	if got["replace_original"] != true || !strings.Contains(got["text"].(string), `Gate "retire" of cutover-shop rejected by bob.`) {
		t.Fatalf("response_url got %v", got)
	}
	raw, _ := json.Marshal(got["blocks"])
	if strings.Contains(string(raw), `"actions"`) || !strings.Contains(string(raw), "Approval needed") || !strings.Contains(string(raw), "rejected by bob") {
		t.Fatalf("replaced message blocks %s: want the original section, no buttons, the outcome", raw)
	}
}

func TestButtonRefused(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{err: temporal.NewApplicationError(`bob may not decide gate "cutover"`, "InvalidDecision")}
	h := NewHandler(u, secret, team)
	serve(t, h, signed(t, buttonPayload(t, notify.ActionApprove, notify.ActionValue("cutover-shop", "cutover"), r.URL), time.Now()))
	got := r.next(t)
	if got["response_type"] != "ephemeral" || got["replace_original"] != false || got["text"] != `Refused: bob may not decide gate "cutover"` {
		t.Fatalf("response_url got %v", got)
	}
	// Other buttons and malformed values are ignored.
	serve(t, h, signed(t, buttonPayload(t, "something_else", "x|y", r.URL), time.Now()))
	serve(t, h, signed(t, buttonPayload(t, notify.ActionApprove, "no-separator", r.URL), time.Now()))
	if n := len(u.recorded()); n != 1 {
		t.Fatalf("updater called %d times", n)
	}
}

func TestHealthzAndMethods(t *testing.T) {
	h := NewHandler(&fakeUpdater{}, secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/slack", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT %d", rec.Code)
	}
	if code, _ := serve(t, h, signed(t, "foo=bar", time.Now())); code != http.StatusBadRequest {
		t.Fatalf("unknown signed body: %d", code)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	r := newResponseURL(t)
	u := &fakeUpdater{delay: 200 * time.Millisecond}
	h := NewHandler(u, secret, team)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeListener(ctx, ln, h) }()
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz over TCP: %v %v", resp, err)
	}
	resp.Body.Close()
	// A button click whose decision is still running when shutdown starts.
	req := signed(t, buttonPayload(t, notify.ActionApprove, notify.ActionValue("cutover-shop", "cutover"), r.URL), time.Now())
	req.RequestURI = ""
	req.URL, _ = url.Parse(base + "/slack")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("button over TCP: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	// Shutdown waited for the outcome post.
	select {
	case got := <-r.got:
		if !strings.Contains(got["text"].(string), "approved by bob") {
			t.Fatalf("outcome %v", got)
		}
	default:
		t.Fatal("Serve returned before the in-flight decision was posted")
	}
	if err := Serve(context.Background(), "256.0.0.1:bad", h); err == nil {
		t.Fatal("Serve on a bad address returned nil")
	}
}
