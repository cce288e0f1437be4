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
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/slacktest"
)

func newSlack(t *testing.T) *slacktest.Server { return slacktest.New(t) }

func slackAPI(s *slacktest.Server) Option { return WithSlackAPIURL(s.APIURL()) }

// blocksText is a call's blocks as JSON without HTML escaping, for
// substring checks.
func blocksText(t *testing.T, c slacktest.Call) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(c.Args.Get("blocks")), &v); err != nil {
		t.Fatalf("blocks %q: %v", c.Args.Get("blocks"), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return buf.String()
}

func posts(s *slacktest.Server) int { return len(s.Calls("chat.postMessage")) }

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
	a := New(slackAPI(s))
	if err := notifyErr(a, gateMessage()); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls: %+v", len(calls), calls)
	}
	r := calls[0]
	if r.Method != "chat.postMessage" || r.Auth != "xoxb-from-env" {
		t.Fatalf("called %s with %q", r.Method, r.Auth)
	}
	if r.Args.Get("channel") != "#platform" || !strings.Contains(r.Args.Get("text"), "waits for approval") {
		t.Fatalf("arguments %v", r.Args)
	}
	blocks := blocksText(t, r)
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
	a := New(WithSlackToken("xoxb-1"), slackAPI(s))
	m := gateMessage()
	m.Kind = KindGateDecided
	if err := notifyErr(a, m); err != nil {
		t.Fatal(err)
	}
	if raw := blocksText(t, s.Calls("chat.postMessage")[0]); strings.Contains(raw, "cutover_approve") {
		t.Fatalf("a decided gate offers buttons: %s", raw)
	}
}

func TestSlackFailures(t *testing.T) {
	for _, c := range []struct {
		name         string
		answer       slacktest.Failure
		typ          string
		nonRetryable bool
		delay        time.Duration
	}{
		{"bad token", slacktest.Failure{Error: "invalid_auth"}, failures.AccessDenied, true, 0},
		{"revoked", slacktest.Failure{Error: "token_revoked"}, failures.AccessDenied, true, 0},
		{"no channel", slacktest.Failure{Error: "channel_not_found"}, failures.InvalidParameter, true, 0},
		{"slack hiccup", slacktest.Failure{Error: "internal_error"}, failures.Transient, false, 0},
		{"unknown slack error", slacktest.Failure{Error: "something_new"}, DeliveryFailed, false, 0},
		{"server error", slacktest.Failure{Status: 503, Body: "oops"}, failures.Transient, false, 0},
		{"http 401", slacktest.Failure{Status: 401, Body: "{}"}, failures.AccessDenied, true, 0},
		{"rate limited", slacktest.Failure{Status: 429, Error: "ratelimited", RetryAfter: 7}, failures.Throttled, false, 7 * time.Second},
		{"rate limited, no Retry-After", slacktest.Failure{Status: 429, Body: "{}"}, failures.Throttled, false, 0},
		{"garbage", slacktest.Failure{Body: "<html>"}, DeliveryFailed, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSlack(t)
			s.Fail("chat.postMessage", c.answer)
			err := notifyErr(New(WithSlackToken("xoxb-1"), slackAPI(s)), gateMessage())
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
	s.Close()
	err := notifyErr(New(WithSlackToken("xoxb-1"), slackAPI(s)), gateMessage())
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
	a := New(WithSlackToken("xoxb-1"), slackAPI(s))
	m := gateMessage()
	m.WebhookURL = hook.URL
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.Notify, m); err == nil {
		t.Fatal("webhook failure not reported")
	}
	if posts(s) != 1 {
		t.Fatalf("%d Slack posts", posts(s))
	}
	// The retry starts from the heartbeat recorded after the Slack post.
	env.SetHeartbeatDetails([]string{destSlack})
	hookStatus = 200
	if _, err := env.ExecuteActivity(a.Notify, m); err != nil {
		t.Fatal(err)
	}
	if posts(s) != 1 {
		t.Fatalf("Slack posted again on retry: %d posts", posts(s))
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
	a := New(WithSlackToken("xoxb-1"), slackAPI(s))
	m := gateMessage()
	m.SlackChannel = "C0123ABCD"
	d, err := a.Notify(context.Background(), m)
	if err != nil || d.Slack == nil || d.Slack.Channel != "C0123ABCD" || d.Slack.TS == "" {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	m.Kind, m.ThreadTS = KindReminder, d.Slack.TS
	r, err := a.Notify(context.Background(), m)
	if err != nil || r.Slack == nil {
		t.Fatalf("reminder %+v, %v", r, err)
	}
	decided := Message{WorkflowID: "cutover-shop", Migration: "shop", Kind: KindGateDecided, Gate: "cutover", SlackChannel: d.Slack.Channel, ThreadTS: d.Slack.TS,
		Text:    `Gate "cutover" of shop approved by alice at 2026-05-01T09:12:00Z.`,
		Updates: []SlackMessageRef{*d.Slack, *r.Slack, {Channel: "C0123ABCD", TS: "1.000001"}}}
	d2, err := a.Notify(context.Background(), decided)
	if err != nil || d2.Updated != 2 {
		t.Fatalf("decided: %+v, %v (a deleted message is skipped)", d2, err)
	}
	msgs := s.Messages("C0123ABCD")
	if len(msgs) != 3 || msgs[1].ThreadTS != d.Slack.TS || msgs[2].ThreadTS != d.Slack.TS {
		t.Fatalf("messages %+v: want the request, and reminder and decision in its thread", msgs)
	}
	for i, m := range msgs[:2] {
		if m.Updates != 1 || strings.Contains(m.Blocks, "cutover_approve") || !strings.Contains(m.Blocks, "approved by alice at 2026-05-01T09:12:00Z") {
			t.Errorf("message %d after the decision: %+v", i, m)
		}
	}
}

// fakeRenderer renders any report as a small page.
type fakeRenderer struct{}

func (fakeRenderer) RenderReport(raw json.RawMessage) (string, []byte, error) {
	return "cutover-report-shop.html", append([]byte("<html>"), raw...), nil
}

func doneMessage() Message {
	return Message{WorkflowID: "cutover-shop", Migration: "shop", Kind: KindDone, Text: "Migration shop finished.",
		SlackChannel: "C0123ABCD", ThreadTS: "", Report: json.RawMessage(`{"migration":"shop"}`)}
}

// TestReportSharedInTheThread: an outcome message with a report uploads
// it (files.getUploadURLExternal, upload, files.completeUploadExternal)
// into the message's thread and returns its permalink.
func TestReportSharedInTheThread(t *testing.T) {
	s := newSlack(t)
	a := New(WithSlackToken("xoxb-1"), slackAPI(s), WithReportRenderer(fakeRenderer{}))
	first, err := a.Notify(context.Background(), gateMessage())
	if err != nil {
		t.Fatal(err)
	}
	m := doneMessage()
	m.SlackChannel, m.ThreadTS = first.Slack.Channel, first.Slack.TS
	d, err := a.Notify(context.Background(), m)
	if err != nil || d.Report == nil || d.Report.ID == "" || !strings.Contains(d.Report.Permalink, d.Report.ID) || d.ReportError != "" {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	files := s.Files()
	if len(files) != 1 || !files[0].Completed || files[0].ThreadTS != first.Slack.TS || files[0].Channel != first.Slack.Channel ||
		string(files[0].Content) != `<html>{"migration":"shop"}` || files[0].Title != "Migration report: shop" {
		t.Fatalf("files %+v", files)
	}
	// Without a renderer, or without a report, nothing is uploaded.
	if d, err := New(WithSlackToken("xoxb-1"), slackAPI(s)).Notify(context.Background(), m); err != nil || d.Report != nil {
		t.Fatalf("no renderer: %+v %v", d, err)
	}
	if len(s.Files()) != 1 {
		t.Fatal("uploaded without a renderer")
	}
}

// TestReportUploadFailures: a refusal for good (no files:write scope)
// leaves the posted message as the delivery and says why in ReportError;
// a throttled upload is retried without posting the message again.
func TestReportUploadFailures(t *testing.T) {
	s := newSlack(t)
	s.Fail("files.getUploadURLExternal", slacktest.Failure{Error: "missing_scope"})
	a := New(WithSlackToken("xoxb-1"), slackAPI(s), WithReportRenderer(fakeRenderer{}), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	d, err := a.Notify(context.Background(), doneMessage())
	if err != nil || d.Slack == nil || d.Report != nil || !strings.Contains(d.ReportError, "files:write") {
		t.Fatalf("missing scope: %+v, %v", d, err)
	}

	s.Fail("files.completeUploadExternal", slacktest.Failure{Status: 429, Body: "{}", RetryAfter: 3})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(a.Notify, doneMessage())
	if failures.TypeOf(err) != failures.Throttled {
		t.Fatalf("throttled upload: %v", err)
	}
	before := posts(s)
	env.SetHeartbeatDetails(deliveryState{Started: []string{destSlack, destReport}, Delivered: []string{destSlack},
		Slack: &SlackMessageRef{Channel: "C0123ABCD", TS: s.Messages("C0123ABCD")[1].TS}})
	v, err := env.ExecuteActivity(a.Notify, doneMessage())
	if err != nil {
		t.Fatal(err)
	}
	var d2 Delivery
	if err := v.Get(&d2); err != nil || d2.Report == nil {
		t.Fatalf("retry: %+v %v", d2, err)
	}
	if posts(s) != before {
		t.Fatalf("the retry posted the message again (%d posts, %d before)", posts(s), before)
	}
}
