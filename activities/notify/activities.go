// Package notify holds the chatops activity: gate requests, reminders and
// outcomes posted to Slack or a webhook. Tokens come from the worker's
// environment, never from workflow input.
//
// Slack messages for an open gate carry Approve and Reject buttons whose
// action value is "<workflowId>|<gate>" (ActionValue); internal/chatops
// answers the clicks through the workflow's `approve` Update.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Kinds of message.
const (
	KindGateOpened  = "gate-opened"
	KindReminder    = "gate-reminder"
	KindGateDecided = "gate-decided"
	KindPhase       = "phase"
	KindRolledBack  = "rolled-back"
	KindFailed      = "failed"
	KindDone        = "done"
)

// Message is one post.
type Message struct {
	WorkflowID   string   `json:"workflowId"`
	Migration    string   `json:"migration"`
	Kind         string   `json:"kind"`
	Gate         string   `json:"gate,omitempty"`
	Text         string   `json:"text"`
	Approvers    []string `json:"approvers,omitempty"`
	Deadline     string   `json:"deadline,omitempty"`
	SlackChannel string   `json:"slackChannel,omitempty"`
	WebhookURL   string   `json:"webhookUrl,omitempty"`
}

// Slack button action IDs; internal/chatops reads them back.
const (
	ActionApprove = "cutover_approve"
	ActionReject  = "cutover_reject"
)

// ActionValue is the value of a gate's buttons.
func ActionValue(workflowID, gate string) string { return workflowID + "|" + gate }

// ParseActionValue splits a button value made by ActionValue.
func ParseActionValue(v string) (workflowID, gate string, ok bool) {
	workflowID, gate, ok = strings.Cut(v, "|")
	return workflowID, gate, ok && workflowID != "" && gate != ""
}

// Defaults and environment.
const (
	// EnvSlackToken names the environment variable with the Slack bot token
	// (xoxb-...), read once by New.
	EnvSlackToken = "SLACK_BOT_TOKEN"
	// DefaultSlackAPIURL is Slack's Web API base URL.
	DefaultSlackAPIURL = "https://slack.com/api"
	// DeliveryFailed is the (retryable) error type of a post that did not
	// go through for a reason that may pass: network, 5xx, rate limit.
	DeliveryFailed = "NotifyDeliveryFailed"
)

// Activities are the notification activities. Build them with New.
type Activities struct {
	slackToken string
	slackURL   string
	client     *http.Client
	log        *slog.Logger
}

// Option configures Activities.
type Option func(*Activities)

// WithSlackToken replaces the token read from SLACK_BOT_TOKEN.
func WithSlackToken(token string) Option {
	return func(a *Activities) { a.slackToken = token }
}

// WithSlackAPIURL replaces https://slack.com/api (tests point it at httptest).
func WithSlackAPIURL(u string) Option {
	return func(a *Activities) {
		if u != "" {
			a.slackURL = strings.TrimSuffix(u, "/")
		}
	}
}

// WithHTTPClient sets the client for Slack and webhook posts.
func WithHTTPClient(c *http.Client) Option {
	return func(a *Activities) {
		if c != nil {
			a.client = c
		}
	}
}

// WithLogger sets the logger of messages that have nowhere to go and of
// delivery problems. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(a *Activities) {
		if l != nil {
			a.log = l
		}
	}
}

// New returns the notification activities. The Slack bot token is read from
// SLACK_BOT_TOKEN now, once; messages never carry it.
func New(opts ...Option) *Activities {
	a := &Activities{
		slackToken: strings.TrimSpace(os.Getenv(EnvSlackToken)),
		slackURL:   DefaultSlackAPIURL,
		client:     &http.Client{Timeout: 20 * time.Second},
		log:        slog.Default(),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Destinations a message went to, recorded in the heartbeat details so a
// retry after a partial failure does not post twice.
const (
	destSlack   = "slack"
	destWebhook = "webhook"
)

// Notify posts a message to the spec's Slack channel (chat.postMessage with
// the worker's bot token) and/or webhook (the Message as JSON). With
// neither configured it logs the message and succeeds. A failed post is an
// error: AccessDenied (not retried) when the token or webhook refuses us,
// InvalidParameter (not retried) when Slack says the channel or message is
// wrong, DeliveryFailed or Throttled (retried) otherwise.
func (a *Activities) Notify(ctx context.Context, m Message) error {
	if m.SlackChannel == "" && m.WebhookURL == "" {
		a.log.Info("Notification", "kind", m.Kind, "workflowId", m.WorkflowID, "migration", m.Migration,
			"gate", m.Gate, "text", m.Text, "approvers", m.Approvers, "deadline", m.Deadline)
		return nil
	}
	done := delivered(ctx)
	var errs []error
	if m.SlackChannel != "" && !done[destSlack] {
		if err := a.postSlack(ctx, m); err != nil {
			errs = append(errs, err)
		} else {
			done[destSlack] = true
			record(ctx, done)
		}
	}
	if m.WebhookURL != "" && !done[destWebhook] {
		if err := a.postWebhook(ctx, m); err != nil {
			errs = append(errs, err)
		} else {
			done[destWebhook] = true
			record(ctx, done)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs {
		a.log.Warn("Notification not delivered", "kind", m.Kind, "workflowId", m.WorkflowID, "error", err)
	}
	// A retryable failure wins, so the other destination gets its retries;
	// the heartbeat keeps what was delivered from being posted twice.
	for _, err := range errs {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() {
			return err
		}
	}
	return errs[0]
}

func delivered(ctx context.Context) map[string]bool {
	done := map[string]bool{}
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return done
	}
	var list []string
	if err := activity.GetHeartbeatDetails(ctx, &list); err == nil {
		for _, d := range list {
			done[d] = true
		}
	}
	return done
}

func record(ctx context.Context, done map[string]bool) {
	if !activity.IsActivity(ctx) {
		return
	}
	var list []string
	for _, d := range []string{destSlack, destWebhook} {
		if done[d] {
			list = append(list, d)
		}
	}
	activity.RecordHeartbeat(ctx, list)
}
