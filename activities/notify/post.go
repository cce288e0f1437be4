package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/failures"
)

// MetadataEventType is the event_type of the metadata on every Slack
// message cutover posts; its payload carries the delivery key.
const MetadataEventType = "cutover_notification"

func (a *Activities) postSlack(ctx context.Context, m Message) (*SlackMessageRef, error) {
	if a.slackToken == "" {
		return nil, failures.New(failures.InvalidParameter,
			"notify: Slack channel %s is set but the worker has no Slack token (%s)", m.SlackChannel, EnvSlackToken)
	}
	p := slackPayload(m)
	p.ThreadTS = m.ThreadTS
	p.Metadata = &slackMetadata{EventType: MetadataEventType, EventPayload: map[string]string{
		"delivery_key": m.DeliveryKey, "workflow_id": m.WorkflowID, "kind": m.Kind, "gate": m.Gate,
	}}
	var out struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if err := a.slackJSON(ctx, "chat.postMessage", p, &out); err != nil {
		return nil, err
	}
	a.log.Debug("Posted to Slack", "channel", out.Channel, "ts", out.TS, "thread", m.ThreadTS, "deliveryKey", m.DeliveryKey)
	channel := out.Channel
	if channel == "" {
		channel = m.SlackChannel
	}
	return &SlackMessageRef{Channel: channel, TS: out.TS}, nil
}

// slackJSON calls a Slack Web API method with a JSON body.
func (a *Activities) slackJSON(ctx context.Context, method string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.slackURL+"/"+method, bytes.NewReader(raw))
	if err != nil {
		return failures.Wrap(failures.InvalidParameter, err, "notify: Slack API URL %s", a.slackURL)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+a.slackToken)
	return a.slackCall(req, out)
}

// updateSlackGate rewrites a gate's earlier messages (request, reminders)
// to say how it was decided, without buttons (chat.update). A message
// Slack no longer has (deleted) is skipped; anything else that fails is
// the activity's error, so it is retried.
func (a *Activities) updateSlackGate(ctx context.Context, m Message) (int, error) {
	if a.slackToken == "" {
		return 0, failures.New(failures.InvalidParameter, "notify: Slack messages to update but the worker has no Slack token (%s)", EnvSlackToken)
	}
	p := decidedPayload(m)
	n := 0
	for _, ref := range m.Updates {
		p.Channel, p.TS = ref.Channel, ref.TS
		err := a.slackJSON(ctx, "chat.update", p, nil)
		if err != nil && (strings.Contains(err.Error(), "message_not_found") || strings.Contains(err.Error(), "cant_update_message")) {
			a.log.Warn("Slack message of the gate cannot be updated; skipped", "channel", ref.Channel, "ts", ref.TS, "gate", m.Gate, "error", err)
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	a.log.Info("Updated the gate's Slack messages", "gate", m.Gate, "workflowId", m.WorkflowID, "updated", n)
	return n, nil
}

// slackCall sends a Slack Web API request and decodes its answer into out
// (whose ok and error fields it checks through the JSON).
func (a *Activities) slackCall(req *http.Request, out any) error {
	resp, err := a.client.Do(req)
	if err != nil {
		return deliveryError("Slack", 0, "", 0, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return deliveryError("Slack", resp.StatusCode, "", retryAfter, nil)
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &status); err != nil {
		return deliveryError("Slack", resp.StatusCode, "", 0, fmt.Errorf("unreadable answer %q: %w", truncate(string(raw), 200), err))
	}
	if !status.OK {
		return deliveryError("Slack", resp.StatusCode, status.Error, retryAfter, nil)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return deliveryError("Slack", resp.StatusCode, "", 0, fmt.Errorf("unreadable answer %q: %w", truncate(string(raw), 200), err))
		}
	}
	return nil
}

// slackChannelID matches a Slack conversation ID (public, private, DM).
var slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// maxHistoryPages bounds the history read when looking for a delivery.
const maxHistoryPages = 5

// slackHasMessage reports whether the channel holds a message posted since
// with m's delivery key in its metadata (conversations.history with
// include_all_metadata). It needs a channel ID and the history scope.
func (a *Activities) slackHasMessage(ctx context.Context, m Message, since time.Time) (*SlackMessageRef, bool, error) {
	if a.slackToken == "" {
		return nil, false, errors.New("no Slack token")
	}
	if !slackChannelID.MatchString(m.SlackChannel) {
		return nil, false, fmt.Errorf("notify.slackChannel %q is a name, not a channel ID (C...): Slack's history can only be read by ID", m.SlackChannel)
	}
	// A reply lives in its thread, which the channel's history does not list.
	method := "conversations.history"
	if m.ThreadTS != "" {
		method = "conversations.replies"
	}
	cursor := ""
	for page := 0; page < maxHistoryPages; page++ {
		form := url.Values{
			"channel":              {m.SlackChannel},
			"oldest":               {strconv.FormatInt(since.Unix(), 10)},
			"limit":                {"200"},
			"include_all_metadata": {"true"},
		}
		if m.ThreadTS != "" {
			form.Set("ts", m.ThreadTS)
		}
		if cursor != "" {
			form.Set("cursor", cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.slackURL+"/"+method, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, false, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+a.slackToken)
		var out struct {
			Messages []struct {
				TS       string         `json:"ts"`
				Metadata *slackMetadata `json:"metadata"`
			} `json:"messages"`
			HasMore          bool `json:"has_more"`
			ResponseMetadata struct {
				NextCursor string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		if err := a.slackCall(req, &out); err != nil {
			return nil, false, err
		}
		for _, msg := range out.Messages {
			if md := msg.Metadata; md != nil && md.EventType == MetadataEventType && md.EventPayload["delivery_key"] == m.DeliveryKey {
				return &SlackMessageRef{Channel: m.SlackChannel, TS: msg.TS}, true, nil
			}
		}
		cursor = out.ResponseMetadata.NextCursor
		if !out.HasMore || cursor == "" {
			return nil, false, nil
		}
	}
	return nil, false, fmt.Errorf("more than %d pages of history since %s", maxHistoryPages, since.UTC().Format(time.RFC3339))
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
