package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/failures"
)

func (a *Activities) postSlack(ctx context.Context, m Message) error {
	if a.slackToken == "" {
		return failures.New(failures.InvalidParameter,
			"notify: Slack channel %s is set but the worker has no Slack token (%s)", m.SlackChannel, EnvSlackToken)
	}
	body, err := json.Marshal(slackPayload(m))
	if err != nil {
		return err
	}
	url := a.slackURL + "/chat.postMessage"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return failures.Wrap(failures.InvalidParameter, err, "notify: Slack API URL %s", a.slackURL)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+a.slackToken)
	resp, err := a.client.Do(req)
	if err != nil {
		return deliveryError("Slack", 0, "", 0, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return deliveryError("Slack", resp.StatusCode, "", retryAfter, nil)
	}
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return deliveryError("Slack", resp.StatusCode, "", 0, fmt.Errorf("unreadable answer %q: %w", truncate(string(raw), 200), err))
	}
	if !out.OK {
		return deliveryError("Slack", resp.StatusCode, out.Error, retryAfter, nil)
	}
	return nil
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
func deliveryError(dest string, status int, slackErr string, retryAfter time.Duration, cause error) error {
	what := "notify: " + dest
	switch {
	case status != 0 && slackErr != "":
		what += fmt.Sprintf(" answered %q", slackErr)
	case status != 0:
		what += fmt.Sprintf(" answered HTTP %d %s", status, http.StatusText(status))
	}
	switch slackErr {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied",
		"org_login_required", "team_access_not_granted", "access_denied":
		return failures.New(failures.AccessDenied, "%s: check the worker's %s and the app's chat:write scope", what, EnvSlackToken)
	case "channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "invalid_blocks_format",
		"invalid_arguments", "msg_too_long", "no_text", "restricted_action", "invalid_channel":
		return failures.New(failures.InvalidParameter, "%s", what)
	case "ratelimited", "rate_limited":
		return throttled(what, retryAfter)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return failures.New(failures.AccessDenied, "%s", what)
	case status == http.StatusTooManyRequests:
		return throttled(what, retryAfter)
	}
	if cause != nil {
		return temporal.NewApplicationErrorWithCause(what+": "+cause.Error(), DeliveryFailed, cause)
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
