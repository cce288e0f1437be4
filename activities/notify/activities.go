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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/activitylog"
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
	// ThreadTS makes the message a reply in the migration's thread (the
	// ts of its first Slack message); SlackChannel is then the channel ID
	// Slack answered with.
	ThreadTS string `json:"threadTs,omitempty"`
	// Updates are earlier Slack messages (a gate's request and reminders)
	// this message supersedes: each is rewritten to say how the gate was
	// decided, with its buttons removed (chat.update).
	Updates []SlackMessageRef `json:"updates,omitempty"`
	// Report is the run's report (MigrationReport JSON) on an outcome
	// message: shared in the Slack thread as a file when the worker has a
	// ReportRenderer, and part of the webhook's body.
	Report json.RawMessage `json:"report,omitempty"`
	// DeliveryKey identifies the message across retries (see DeliveryKey);
	// Notify derives it when empty. Webhooks receive it in the body and
	// as the Idempotency-Key header.
	DeliveryKey string `json:"deliveryKey,omitempty"`
}

// SlackMessageRef names one Slack message.
type SlackMessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Delivery is what Notify delivered: the Slack message (nil when the
// message had no Slack channel), so the workflow can thread later
// messages under its first and rewrite a gate's messages once decided.
type Delivery struct {
	Slack *SlackMessageRef `json:"slack,omitempty"`
	// Updated counts the earlier messages rewritten (Message.Updates).
	Updated int `json:"updated,omitempty"`
	// Report is the report file shared in the thread (Message.Report);
	// ReportError says why it was not, when Slack refused it.
	Report      *SlackFile `json:"report,omitempty"`
	ReportError string     `json:"reportError,omitempty"`
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
	// slack is the Web API client (slack-go), built by New from the
	// token, URL and HTTP client.
	slack *slack.Client
	// reports renders outcome messages' reports for upload (optional).
	reports ReportRenderer
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
	// slack-go retries nothing by default: Temporal's retry policy does,
	// from the classification in slackError.
	a.slack = slack.New(a.slackToken, slack.OptionAPIURL(a.slackURL+"/"), slack.OptionHTTPClient(a.client))
	return a
}

// Destinations a message went to, recorded in the heartbeat details so a
// retry after a partial failure does not post twice.
const (
	destSlack   = "slack"
	destWebhook = "webhook"
	// destUpdates: the gate's earlier Slack messages were rewritten.
	destUpdates = "slack-updates"
)

// Notify posts a message to the spec's Slack channel (chat.postMessage with
// the worker's bot token) and/or webhook (the Message as JSON). With
// neither configured it logs the message and succeeds. A failed post is an
// error: AccessDenied (not retried) when the token or webhook refuses us,
// InvalidParameter (not retried) when Slack says the channel or message is
// wrong or the webhook refuses what we sent, Throttled or Transient
// (retried) when the receiver is rate limiting, down or unreachable,
// DeliveryFailed (retried) otherwise.
//
// Each message carries a delivery key (DeliveryKey) that is the same on
// every attempt, so a worker that dies after delivering and before
// completing does not make a retry post a second message:
//   - webhooks get it as the Idempotency-Key header and the deliveryKey
//     field: a receiver that remembers keys drops the retry;
//   - Slack does not deduplicate chat.postMessage (it takes no idempotency
//     key; client_msg_id is not one of its arguments), so the key goes into
//     the message's metadata, and an attempt that may follow a delivered one
//     (a retry, or one whose heartbeat says a post was started) first looks
//     for a message with that key in the channel's history
//     (conversations.history, include_all_metadata). That needs a channel ID
//     (C..., not #name) and the channels:history or groups:history scope;
//     without either the retry posts again (at least once, never lost).
//
// What was delivered is also recorded in the heartbeat details, so a retry
// after one destination failed only posts to the other.
func (a *Activities) Notify(ctx context.Context, m Message) (Delivery, error) {
	var out Delivery
	if m.SlackChannel == "" && m.WebhookURL == "" {
		a.log.Info("Notification", "kind", m.Kind, "workflowId", m.WorkflowID, "migration", m.Migration,
			"gate", m.Gate, "text", m.Text, "approvers", m.Approvers, "deadline", m.Deadline)
		return out, nil
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	m.DeliveryKey = DeliveryKey(ctx, m)
	st := resumeDelivery(ctx, m.DeliveryKey)
	retry := activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
	var errs []error
	if m.SlackChannel != "" && !st.has(st.Delivered, destSlack) {
		maybePosted := retry || st.has(st.Started, destSlack)
		st.mark(&st.Started, destSlack)
		activitylog.Heartbeat(ctx, st.copy())
		posted := false
		if maybePosted {
			ref, found, err := a.slackHasMessage(ctx, m, since(ctx))
			if found {
				out.Slack = ref
			}
			switch {
			case err != nil:
				a.log.Warn("Could not look for an earlier delivery of this notification in Slack; posting it (it may show twice)",
					"kind", m.Kind, "workflowId", m.WorkflowID, "channel", m.SlackChannel, "deliveryKey", m.DeliveryKey, "error", err)
			case found:
				posted = true
				a.log.Info("Notification was already delivered to Slack", "kind", m.Kind, "workflowId", m.WorkflowID, "deliveryKey", m.DeliveryKey)
			}
		}
		if !posted {
			if ref, err := a.postSlack(ctx, m); err != nil {
				errs = append(errs, err)
			} else {
				posted, out.Slack = true, ref
			}
		}
		if posted {
			st.mark(&st.Delivered, destSlack)
			if out.Slack != nil {
				st.Slack = out.Slack
			}
			activitylog.Heartbeat(ctx, st.copy())
		}
	} else if st.Slack != nil {
		out.Slack = st.Slack
	}
	if st.Report != nil {
		out.Report = st.Report
	}
	if len(m.Report) > 0 && a.reports != nil && out.Slack != nil && len(errs) == 0 && !st.has(st.Delivered, destReport) {
		if err := a.uploadReport(ctx, m, out.Slack, st, &out); err != nil {
			errs = append(errs, err)
		}
	}
	if len(m.Updates) > 0 && len(errs) == 0 && !st.has(st.Delivered, destUpdates) {
		// Rewriting is idempotent: a retry rewrites them again.
		n, err := a.updateSlackGate(ctx, m)
		out.Updated = n
		if err != nil {
			errs = append(errs, err)
		} else {
			st.mark(&st.Delivered, destUpdates)
			activitylog.Heartbeat(ctx, st.copy())
		}
	}
	if m.WebhookURL != "" && !st.has(st.Delivered, destWebhook) {
		st.mark(&st.Started, destWebhook)
		activitylog.Heartbeat(ctx, st.copy())
		if err := a.postWebhook(ctx, m); err != nil {
			errs = append(errs, err)
		} else {
			st.mark(&st.Delivered, destWebhook)
			activitylog.Heartbeat(ctx, st.copy())
		}
	}
	if len(errs) == 0 {
		return out, nil
	}
	for _, err := range errs {
		a.log.Warn("Notification not delivered", "kind", m.Kind, "workflowId", m.WorkflowID, "error", err)
	}
	// A retryable failure wins, so the other destination gets its retries;
	// the heartbeat keeps what was delivered from being posted twice.
	for _, err := range errs {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() {
			return out, err
		}
	}
	return out, errs[0]
}

// DeliveryKey is the key of one message: m.DeliveryKey when the caller set
// one, else derived from the workflow ID, run ID and activity ID (the
// activity ID is the message's sequence number in the run: every attempt
// of one Notify has the same) with the kind and gate. Outside an activity
// it is derived from the message itself.
func DeliveryKey(ctx context.Context, m Message) string {
	if m.DeliveryKey != "" {
		return m.DeliveryKey
	}
	var raw string
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		raw = strings.Join([]string{info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, m.Kind, m.Gate}, "\x00")
	} else {
		raw = strings.Join([]string{m.WorkflowID, m.Kind, m.Gate, m.Text}, "\x00")
	}
	sum := sha256.Sum256([]byte(raw))
	return "cutover-" + hex.EncodeToString(sum[:16])
}

// since is when the first attempt of this activity was scheduled, less a
// minute of clock skew: no earlier message can be one of ours.
func since(ctx context.Context) time.Time {
	if activity.IsActivity(ctx) {
		if t := activity.GetInfo(ctx).ScheduledTime; !t.IsZero() {
			return t.Add(-time.Minute)
		}
	}
	return time.Now().Add(-time.Hour)
}

// deliveryState is the heartbeat of Notify: which destinations a post was
// started to and which it was delivered to.
type deliveryState struct {
	Key       string   `json:"key"`
	Started   []string `json:"started,omitempty"`
	Delivered []string `json:"delivered,omitempty"`
	// Slack is the message posted, so a retry returns it again.
	Slack *SlackMessageRef `json:"slack,omitempty"`
	// Report is the report file shared, likewise.
	Report *SlackFile `json:"report,omitempty"`
}

func (s *deliveryState) has(list []string, d string) bool { return slices.Contains(list, d) }

func (s *deliveryState) mark(list *[]string, d string) {
	if !slices.Contains(*list, d) {
		*list = append(*list, d)
	}
}

func (s *deliveryState) copy() deliveryState {
	return deliveryState{Key: s.Key, Started: slices.Clone(s.Started), Delivered: slices.Clone(s.Delivered), Slack: s.Slack, Report: s.Report}
}

// resumeDelivery reads the previous attempt's heartbeat (a deliveryState,
// or the list of delivered destinations older workers recorded).
func resumeDelivery(ctx context.Context, key string) *deliveryState {
	st := &deliveryState{Key: key}
	if prev, ok := activitylog.Resume[deliveryState](ctx); ok && (prev.Key == key || prev.Key == "") {
		st.Started, st.Delivered, st.Slack, st.Report = prev.Started, prev.Delivered, prev.Slack, prev.Report
		return st
	}
	if list, ok := activitylog.Resume[[]string](ctx); ok {
		st.Delivered = list
	}
	return st
}
