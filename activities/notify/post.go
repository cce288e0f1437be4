package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/failures"
)

// MetadataEventType is the event_type of the metadata on every Slack
// message cutover posts; its payload carries the delivery key.
const MetadataEventType = "cutover_notification"

// messageOptions are chat.postMessage's and chat.update's arguments for msg.
func messageOptions(msg slackMessage) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(msg.Text, false),
		slack.MsgOptionBlocks(msg.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
}

func (a *Activities) postSlack(ctx context.Context, m Message) (*SlackMessageRef, error) {
	if a.slackToken == "" {
		return nil, failures.New(failures.InvalidParameter,
			"notify: Slack channel %s is set but the worker has no Slack token (%s)", m.SlackChannel, EnvSlackToken)
	}
	opts := append(messageOptions(slackPayload(m)), slack.MsgOptionMetadata(slack.SlackMetadata{
		EventType: MetadataEventType,
		EventPayload: map[string]any{
			"delivery_key": m.DeliveryKey, "workflow_id": m.WorkflowID, "kind": m.Kind, "gate": m.Gate,
		},
	}))
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	channel, ts, err := a.slack.PostMessageContext(ctx, m.SlackChannel, opts...)
	if err != nil {
		return nil, slackError("chat.postMessage", err)
	}
	a.log.Debug("Posted to Slack", "channel", channel, "ts", ts, "thread", m.ThreadTS, "deliveryKey", m.DeliveryKey)
	if channel == "" {
		channel = m.SlackChannel
	}
	return &SlackMessageRef{Channel: channel, TS: ts}, nil
}

// updateSlackGate rewrites a gate's earlier messages (request, reminders)
// to say how it was decided, without buttons (chat.update). A message
// Slack no longer has (deleted) is skipped; anything else that fails is
// the activity's error, so it is retried.
func (a *Activities) updateSlackGate(ctx context.Context, m Message) (int, error) {
	if a.slackToken == "" {
		return 0, failures.New(failures.InvalidParameter, "notify: Slack messages to update but the worker has no Slack token (%s)", EnvSlackToken)
	}
	opts := messageOptions(decidedPayload(m))
	n := 0
	for _, ref := range m.Updates {
		_, _, _, err := a.slack.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...)
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "cant_update_message") {
			a.log.Warn("Slack message of the gate cannot be updated; skipped", "channel", ref.Channel, "ts", ref.TS, "gate", m.Gate, "error", se.Err)
			continue
		}
		if err != nil {
			return n, slackError("chat.update", err)
		}
		n++
	}
	a.log.Info("Updated the gate's Slack messages", "gate", m.Gate, "workflowId", m.WorkflowID, "updated", n)
	return n, nil
}

// slackChannelID matches a Slack conversation ID (public, private, DM).
var slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// maxHistoryPages bounds the history read when looking for a delivery.
const maxHistoryPages = 5

// slackHasMessage reports whether the channel holds a message posted since
// with m's delivery key in its metadata (conversations.history with
// include_all_metadata; conversations.replies for a reply in a thread). It
// needs a channel ID and the history scope.
func (a *Activities) slackHasMessage(ctx context.Context, m Message, since time.Time) (*SlackMessageRef, bool, error) {
	if a.slackToken == "" {
		return nil, false, errors.New("no Slack token")
	}
	if !slackChannelID.MatchString(m.SlackChannel) {
		return nil, false, fmt.Errorf("notify.slackChannel %q is a name, not a channel ID (C...): Slack's history can only be read by ID", m.SlackChannel)
	}
	oldest := strconv.FormatInt(since.Unix(), 10)
	cursor := ""
	for page := 0; page < maxHistoryPages; page++ {
		var (
			msgs    []slack.Message
			hasMore bool
			err     error
		)
		if m.ThreadTS != "" {
			// A reply lives in its thread, which the channel's history does not list.
			msgs, hasMore, cursor, err = a.slack.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: m.SlackChannel, Timestamp: m.ThreadTS, Oldest: oldest, Limit: 200, Cursor: cursor, IncludeAllMetadata: true,
			})
		} else {
			var h *slack.GetConversationHistoryResponse
			h, err = a.slack.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: m.SlackChannel, Oldest: oldest, Limit: 200, Cursor: cursor, IncludeAllMetadata: true,
			})
			if h != nil {
				msgs, hasMore, cursor = h.Messages, h.HasMore, h.ResponseMetaData.NextCursor
			}
		}
		if err != nil {
			return nil, false, slackError("conversations history", err)
		}
		for _, msg := range msgs {
			if md := msg.Metadata; md.EventType == MetadataEventType && md.EventPayload["delivery_key"] == m.DeliveryKey {
				return &SlackMessageRef{Channel: m.SlackChannel, TS: msg.Timestamp}, true, nil
			}
		}
		if !hasMore || cursor == "" {
			return nil, false, nil
		}
	}
	return nil, false, fmt.Errorf("more than %d pages of history since %s", maxHistoryPages, since.UTC().Format(time.RFC3339))
}

// slackError classifies what slack-go returned for a Web API call: Slack's
// own error (an ok:false answer), its rate limit, an HTTP status, or a
// transport error.
func slackError(method string, err error) error {
	var (
		se     slack.SlackErrorResponse
		rl     *slack.RateLimitedError
		status slack.StatusCodeError
	)
	switch {
	case errors.As(err, &rl):
		return throttled("notify: Slack "+method+" rate limited", rl.RetryAfter)
	case errors.As(err, &se):
		return deliveryError("Slack "+method, http.StatusOK, se.Err, 0, nil)
	case errors.As(err, &status):
		return deliveryError("Slack "+method, status.Code, "", 0, nil)
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || strings.Contains(err.Error(), "invalid character") {
		return deliveryError("Slack "+method, http.StatusOK, "", 0, fmt.Errorf("unreadable answer: %w", err))
	}
	return deliveryError("Slack "+method, 0, "", 0, err)
}

func (a *Activities) postWebhook(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return failures.Wrap(failures.InvalidParameter, err, "notify: webhook URL")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return failures.New(failures.InvalidParameter, "notify: webhook URL scheme %q: must be http or https", req.URL.Scheme)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cutover-notify")
	if m.DeliveryKey != "" {
		// The same on every retry of this message: a receiver that
		// remembers keys drops a repeat.
		req.Header.Set("Idempotency-Key", m.DeliveryKey)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return deliveryError("webhook", 0, "", 0, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return deliveryError("webhook", resp.StatusCode, "", parseRetryAfter(resp.Header.Get("Retry-After")), nil)
	}
	return nil
}

// deliveryError maps a failed post into a typed error; it is the one place
// that decides what is retried. status is the HTTP status (0 when the
// request did not complete), slackErr Slack's "error" of an ok:false answer.
// HTTP statuses and transport errors are classified by internal/failures
// (FromHTTP, Classify): 429 Throttled, 5xx and dropped connections
// Transient, 401/403 AccessDenied, other 4xx InvalidParameter.
func deliveryError(dest string, status int, slackErr string, retryAfter time.Duration, cause error) error {
	what := "notify: " + dest
	if status != 0 && slackErr != "" {
		what += fmt.Sprintf(" answered %q", slackErr)
	}
	switch slackErr {
	case "":
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied",
		"org_login_required", "team_access_not_granted", "access_denied":
		return failures.New(failures.AccessDenied, "%s: check the worker's %s and the app's chat:write scope", what, EnvSlackToken)
	case "channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "invalid_blocks_format",
		"invalid_arguments", "msg_too_long", "no_text", "restricted_action", "invalid_channel",
		"invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large":
		return failures.New(failures.InvalidParameter, "%s", what)
	case "ratelimited", "rate_limited":
		return throttled(what, retryAfter)
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return temporal.NewApplicationError(what, failures.Transient)
	default:
		return temporal.NewApplicationError(what, DeliveryFailed)
	}
	if cause != nil {
		if status == 0 && failures.IsTransient(cause) {
			return failures.Classify(cause, "%s", what)
		}
		return temporal.NewApplicationErrorWithCause(what+": "+cause.Error(), DeliveryFailed, cause)
	}
	if err := failures.FromHTTP(status, retryAfter, "%s", what); err != nil {
		return err
	}
	return temporal.NewApplicationError(what, DeliveryFailed)
}

func throttled(what string, retryAfter time.Duration) error {
	return temporal.NewApplicationErrorWithOptions(what, failures.Throttled, temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter})
}

func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, 10*time.Minute)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
