package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/internal/slacktest"
)

// notifyWorkflow runs Notify with retries, as the migration does.
func notifyWorkflow(ctx workflow.Context, m Message) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		HeartbeatTimeout:    5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 4},
	})
	return workflow.ExecuteActivity(ctx, "Notify", m).Get(ctx, nil)
}

func runNotifyWorkflow(t *testing.T, a *Activities, m Message) error {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(notifyWorkflow)
	env.RegisterActivity(a)
	env.ExecuteWorkflow(notifyWorkflow, m)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return env.GetWorkflowError()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSlackPostIsNotRepeatedAfterALostAnswer: the first attempt's post
// reaches the channel but its answer is lost; the retry finds the message
// by its delivery key and does not post it again.
func TestSlackPostIsNotRepeatedAfterALostAnswer(t *testing.T) {
	slack := slacktest.New(t)
	slack.DropAnswers(1)
	a := New(WithSlackToken("xoxb-1"), slackAPI(slack), WithLogger(quietLogger()))
	m := gateMessage()
	m.SlackChannel = "C0123456789"
	if err := runNotifyWorkflow(t, a, m); err != nil {
		t.Fatal(err)
	}
	msgs := slack.Messages(m.SlackChannel)
	if n := len(msgs); n != 1 {
		t.Fatalf("%d posts in the channel, want 1", n)
	}
	if len(slack.Calls("conversations.history")) == 0 {
		t.Fatal("the retry did not look for the earlier delivery")
	}
	var md map[string]any
	_ = json.Unmarshal([]byte(msgs[0].Metadata), &md)
	payload, _ := md["event_payload"].(map[string]any)
	if md["event_type"] != MetadataEventType || payload["delivery_key"] == "" || payload["workflow_id"] != "cutover-shop" || payload["gate"] != "cutover" {
		t.Fatalf("message metadata %v", md)
	}
}

// TestSlackPostByChannelNamePostsAgain documents the limit: with a channel
// name Slack's history cannot be read, so the retry posts again (at least
// once, never lost).
func TestSlackPostByChannelNamePostsAgain(t *testing.T) {
	slack := slacktest.New(t)
	slack.DropAnswers(1)
	a := New(WithSlackToken("xoxb-1"), slackAPI(slack), WithLogger(quietLogger()))
	if err := runNotifyWorkflow(t, a, gateMessage()); err != nil {
		t.Fatal(err)
	}
	if n := posts(slack); n != 2 {
		t.Fatalf("%d posts, want the documented repeat", n)
	}
}

// TestWebhookIdempotencyKeyIsStableAcrossRetries: every attempt of one
// message sends the same Idempotency-Key (and deliveryKey), so a receiver
// that honours it keeps one.
func TestWebhookIdempotencyKeyIsStableAcrossRetries(t *testing.T) {
	var mu sync.Mutex
	var keys, bodyKeys []string
	seen := map[string]bool{}
	delivered := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m Message
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		defer mu.Unlock()
		k := r.Header.Get("Idempotency-Key")
		keys, bodyKeys = append(keys, k), append(bodyKeys, m.DeliveryKey)
		if !seen[k] {
			seen[k] = true
			delivered++
		}
		if len(keys) == 1 {
			// Accepted, but the answer says otherwise: the sender retries.
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	m := gateMessage()
	m.SlackChannel, m.WebhookURL = "", hook.URL
	if err := runNotifyWorkflow(t, New(WithLogger(quietLogger())), m); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] || bodyKeys[0] != keys[0] || bodyKeys[1] != keys[0] {
		t.Fatalf("keys %v (body %v), want one non-empty key on both attempts", keys, bodyKeys)
	}
	if delivered != 1 {
		t.Fatalf("the receiver kept %d messages, want 1", delivered)
	}
}

func TestDeliveryKeyDiffersPerMessage(t *testing.T) {
	ctx := context.Background()
	m := gateMessage()
	other := m
	other.Kind = KindReminder
	if DeliveryKey(ctx, m) == DeliveryKey(ctx, other) || DeliveryKey(ctx, m) != DeliveryKey(ctx, m) {
		t.Fatal("keys must be stable per message and differ between messages")
	}
	m.DeliveryKey = "given"
	if DeliveryKey(ctx, m) != "given" {
		t.Fatal("a key set by the caller wins")
	}
}
