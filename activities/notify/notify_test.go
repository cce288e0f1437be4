package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/failures"
)

// slackServer fakes chat.postMessage: it records the requests and answers
// with status and body.
type slackServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	status   int
	body     string
	header   http.Header
}

type recorded struct {
	path, auth string
	body       map[string]any
}

func newSlack(t *testing.T) *slackServer {
	s := &slackServer{status: 200, body: `{"ok":true,"ts":"1.2"}`, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var b map[string]any
		_ = json.Unmarshal(raw, &b)
		s.mu.Lock()
		s.requests = append(s.requests, recorded{path: r.URL.Path, auth: r.Header.Get("Authorization"), body: b})
		status, body := s.status, s.body
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *slackServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func gateMessage() Message {
	return Message{
		WorkflowID: "cutover-shop", Migration: "shop", Kind: KindGateOpened, Gate: "cutover",
		Text: "Migration shop waits for approval of gate \"cutover\" <now> & then", Approvers: []string{"alice", "bob"},
		Deadline: "2026-05-01T10:00:00Z", SlackChannel: "#platform",
	}
}

func TestSlackGateMessageHasButtons(t *testing.T) {
	t.Setenv(EnvSlackToken, "xoxb-from-env")
	s := newSlack(t)
	a := New(WithSlackAPIURL(s.URL))
	if err := notifyErr(a, gateMessage()); err != nil {
		t.Fatal(err)
	}
	if s.count() != 1 {
		t.Fatalf("%d posts", s.count())
	}
	r := s.requests[0]
	if r.path != "/chat.postMessage" || r.auth != "Bearer xoxb-from-env" {
		t.Fatalf("posted to %s with %q", r.path, r.auth)
	}
	if r.body["channel"] != "#platform" || !strings.Contains(r.body["text"].(string), "waits for approval") {
		t.Fatalf("body %v", r.body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r.body["blocks"])
	blocks := buf.String()
	for _, want := range []string{
		`"action_id":"cutover_approve"`, `"action_id":"cutover_reject"`, `"value":"cutover-shop|cutover"`,
		`"style":"primary"`, `"style":"danger"`, "Approvers: alice, bob", "&lt;now&gt; &amp; then",
	} {
		if !strings.Contains(blocks, want) {
			t.Errorf("blocks lack %s: %s", want, blocks)
		}
	}
	wf, gate, ok := ParseActionValue("cutover-shop|cutover")
	if !ok || wf != "cutover-shop" || gate != "cutover" {
		t.Fatalf("ParseActionValue: %q %q %v", wf, gate, ok)
	}
}

func TestSlackOutcomeMessageHasNoButtons(t *testing.T) {
	s := newSlack(t)
	a := New(WithSlackToken("xoxb-1"), WithSlackAPIURL(s.URL))
	m := gateMessage()
	m.Kind = KindGateDecided
	if err := notifyErr(a, m); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(s.requests[0].body["blocks"])
	if strings.Contains(string(raw), "cutover_approve") {
		t.Fatalf("a decided gate offers buttons: %s", raw)
	}
}

func TestSlackFailures(t *testing.T) {
	for _, c := range []struct {
		name         string
		status       int
		body         string
		retryAfter   string
		typ          string
		nonRetryable bool
		delay        time.Duration
	}{
		{"bad token", 200, `{"ok":false,"error":"invalid_auth"}`, "", failures.AccessDenied, true, 0},
		{"revoked", 200, `{"ok":false,"error":"token_revoked"}`, "", failures.AccessDenied, true, 0},
		{"no channel", 200, `{"ok":false,"error":"channel_not_found"}`, "", failures.InvalidParameter, true, 0},
		{"slack hiccup", 200, `{"ok":false,"error":"internal_error"}`, "", failures.Transient, false, 0},
		{"unknown slack error", 200, `{"ok":false,"error":"something_new"}`, "", DeliveryFailed, false, 0},
		{"server error", 503, `oops`, "", failures.Transient, false, 0},
		{"http 401", 401, `{}`, "", failures.AccessDenied, true, 0},
		{"rate limited", 429, `{"ok":false,"error":"ratelimited"}`, "7", failures.Throttled, false, 7 * time.Second},
		{"garbage", 200, `<html>`, "", DeliveryFailed, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSlack(t)
			s.status, s.body = c.status, c.body
			if c.retryAfter != "" {
				s.header.Set("Retry-After", c.retryAfter)
			}
			err := notifyErr(New(WithSlackToken("xoxb-1"), WithSlackAPIURL(s.URL)), gateMessage())
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != c.typ || appErr.NonRetryable() != c.nonRetryable {
				t.Fatalf("%v; want type %s non-retryable %v", err, c.typ, c.nonRetryable)
			}
			if appErr.NextRetryDelay() != c.delay {
				t.Fatalf("next retry delay %s, want %s", appErr.NextRetryDelay(), c.delay)
			}
			if strings.Contains(err.Error(), "xoxb-1") {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
	// Unreachable Slack is transient.
	s := newSlack(t)
	url := s.URL
	s.Close()
	err := notifyErr(New(WithSlackToken("xoxb-1"), WithSlackAPIURL(url)), gateMessage())
	if failures.TypeOf(err) != failures.Transient || failures.IsDefinitive(err) {
		t.Fatalf("Slack down: %v", err)
	}
}

func TestChannelWithoutToken(t *testing.T) {
	t.Setenv(EnvSlackToken, "")
	err := notifyErr(New(), gateMessage())
	if !failures.Is(err, failures.InvalidParameter) || !strings.Contains(err.Error(), EnvSlackToken) {
		t.Fatalf("%v; want InvalidParameter naming %s", err, EnvSlackToken)
	}
}

func TestWebhook(t *testing.T) {
	var got []Message
	status := 204
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m Message
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Error(err)
		}
		got = append(got, m)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	m := gateMessage()
	m.SlackChannel = ""
	m.WebhookURL = srv.URL + "/hook"
	a := New(WithSlackToken("xoxb-secret"))
	if err := notifyErr(a, m); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Gate != "cutover" || got[0].WorkflowID != "cutover-shop" || got[0].Text != m.Text {
		t.Fatalf("webhook got %+v", got)
	}
	status = 403
	if err := notifyErr(a, m); !failures.Is(err, failures.AccessDenied) {
		t.Fatalf("403: %v", err)
	}
	status = 502
	if err := notifyErr(a, m); failures.TypeOf(err) != failures.Transient || failures.IsDefinitive(err) {
		t.Fatalf("502: %v", err)
	}
	status = 404 // the receiver refuses what we send: sending it again does not help
	if err := notifyErr(a, m); !failures.Is(err, failures.InvalidParameter) || !failures.IsDefinitive(err) {
		t.Fatalf("404: %v", err)
	}
	m.WebhookURL = "file:///etc/passwd"
	if err := notifyErr(a, m); !failures.Is(err, failures.InvalidParameter) {
		t.Fatalf("file URL: %v", err)
	}
}

func TestNowhereToPostLogs(t *testing.T) {
	var buf bytes.Buffer
	a := New(WithSlackToken(""), WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	m := gateMessage()
	m.SlackChannel = ""
	if err := notifyErr(a, m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "msg=Notification") || !strings.Contains(out, "kind=gate-opened") || !strings.Contains(out, "workflowId=cutover-shop") {
		t.Fatalf("log %q", out)
	}
}

// A retry after Slack succeeded and the webhook failed posts only to the
// webhook.
func TestRetryDoesNotRepostSlack(t *testing.T) {
	s := newSlack(t)
	hookStatus := 500
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(hookStatus) }))
	defer hook.Close()
	a := New(WithSlackToken("xoxb-1"), WithSlackAPIURL(s.URL))
	m := gateMessage()
	m.WebhookURL = hook.URL
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.Notify, m); err == nil {
		t.Fatal("webhook failure not reported")
	}
	if s.count() != 1 {
		t.Fatalf("%d Slack posts", s.count())
	}
	// The retry starts from the heartbeat recorded after the Slack post.
	env.SetHeartbeatDetails([]string{destSlack})
	hookStatus = 200
	if _, err := env.ExecuteActivity(a.Notify, m); err != nil {
		t.Fatal(err)
	}
	if s.count() != 1 {
		t.Fatalf("Slack posted again on retry: %d posts", s.count())
	}
}

func notifyErr(a *Activities, m Message) error {
	_, err := a.Notify(context.Background(), m)
	return err
}

// TestSlackThreadAndGateUpdate: a message names the Slack message it was
// (channel ID and ts, for the workflow to thread the next ones under);
// the gate's decision is a reply in the thread and rewrites the gate's
// request and reminder to say who decided, without buttons.
func TestSlackThreadAndGateUpdate(t *testing.T) {
	s := newSlack(t)
	s.body = `{"ok":true,"channel":"C0123ABCD","ts":"1700000000.000100"}`
	a := New(WithSlackToken("xoxb-1"), WithSlackAPIURL(s.URL))
	d, err := a.Notify(context.Background(), gateMessage())
	if err != nil || d.Slack == nil || d.Slack.Channel != "C0123ABCD" || d.Slack.TS != "1700000000.000100" {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	decided := Message{WorkflowID: "cutover-shop", Migration: "shop", Kind: KindGateDecided, Gate: "cutover", SlackChannel: d.Slack.Channel, ThreadTS: d.Slack.TS,
		Text:    `Gate "cutover" of shop approved by alice at 2026-05-01T09:12:00Z.`,
		Updates: []SlackMessageRef{*d.Slack, {Channel: "C0123ABCD", TS: "1700000360.000200"}}}
	d2, err := a.Notify(context.Background(), decided)
	if err != nil || d2.Updated != 2 {
		t.Fatalf("decided: %+v, %v", d2, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) != 4 {
		t.Fatalf("%d requests, want post, reply, two updates: %+v", len(s.requests), s.requests)
	}
	reply := s.requests[1]
	if reply.path != "/chat.postMessage" || reply.body["thread_ts"] != "1700000000.000100" || reply.body["channel"] != "C0123ABCD" {
		t.Errorf("reply %s %v", reply.path, reply.body)
	}
	for i, want := range []string{"1700000000.000100", "1700000360.000200"} {
		u := s.requests[2+i]
		blocks, _ := json.Marshal(u.body["blocks"])
		if u.path != "/chat.update" || u.body["ts"] != want || u.body["channel"] != "C0123ABCD" ||
			strings.Contains(string(blocks), "cutover_approve") || !strings.Contains(string(blocks), "approved by alice at 2026-05-01T09:12:00Z") {
			t.Errorf("update %d: %s %v", i, u.path, u.body)
		}
	}
}
