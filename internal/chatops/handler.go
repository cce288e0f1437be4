package chatops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/workflows"
)

type handler struct {
	updater         Updater
	secret          string
	users           map[string]string
	userMapSource   string
	allowUnmapped   bool
	replay          *replayGuard
	log             *slog.Logger
	client          *http.Client
	now             func() time.Time
	ackTimeout      time.Duration
	decisionTimeout time.Duration

	bg sync.WaitGroup // outcome posts still running
}

// NewHandler returns the Slack endpoint. Point both the slash command's
// Request URL and the app's Interactivity Request URL at it (any path);
// GET /healthz answers 200 for probes. signingSecret is the Slack app's
// signing secret; with an empty one every request is refused.
func NewHandler(updater Updater, signingSecret string, opts ...Option) http.Handler {
	h := &handler{
		updater:         updater,
		secret:          signingSecret,
		users:           map[string]string{},
		userMapSource:   "the chatops user map (`cutover chatops serve --user-map FILE`)",
		replay:          newReplayGuard(DefaultMaxRemembered),
		log:             slog.Default(),
		client:          &http.Client{Timeout: 10 * time.Second},
		now:             time.Now,
		ackTimeout:      DefaultAckTimeout,
		decisionTimeout: DefaultDecisionTimeout,
	}
	for _, o := range opts {
		o(h)
	}
	if h.secret == "" {
		h.log.Error("Chatops has no Slack signing secret: every request will be refused")
	}
	if h.allowUnmapped {
		h.log.Warn("Chatops lets unmapped Slack users decide under their self-chosen Slack user name", "mappedUsers", len(h.users))
	}
	return h
}

func (h *handler) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { h.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

const usage = "Usage: `/cutover approve <workflow-id> <gate> [comment]` or `/cutover reject <workflow-id> <gate> [comment]`"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/healthz" {
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if h.secret == "" {
		h.log.Error("Slack request refused: no signing secret configured", "remote", r.RemoteAddr)
		http.Error(w, "chatops endpoint has no signing secret", http.StatusServiceUnavailable)
		return
	}
	now := h.now()
	signed, err := verifySignature(h.secret, now, r.Header, body)
	if err != nil {
		h.log.Warn("Slack request refused", "reason", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return
	}
	if err := h.replay.admit(signed.sig, signed.at, now); err != nil {
		if errors.Is(err, ErrReplayMemoryFull) {
			// Fail closed: forgetting a live signature would let its replay in.
			h.log.Error("Slack request refused", "reason", err.Error(), "remote", r.RemoteAddr, "remembered", h.replay.size())
			http.Error(w, "too many recent requests", http.StatusServiceUnavailable)
			return
		}
		// A replay gets the same 401 as any request that fails
		// verification (Slack's guidance for requests it did not send): no
		// Slack user is waiting for this answer, since Slack never re-sends
		// a slash command or an interaction, and the replayer learns
		// nothing beyond "refused". Nothing of the body is acted on.
		h.log.Warn("Slack request refused", "reason", err.Error(), "remote", r.RemoteAddr,
			"timestamp", signed.at.Unix(), "age", now.Sub(signed.at).Round(time.Second).String())
		http.Error(w, "replayed Slack request", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "body is not form-encoded", http.StatusBadRequest)
		return
	}
	switch {
	case form.Get("ssl_check") == "1":
		w.WriteHeader(http.StatusOK)
	case form.Get("payload") != "":
		h.interaction(w, form.Get("payload"))
	case form.Get("command") != "":
		h.command(w, form)
	default:
		http.Error(w, "neither a slash command nor an interaction payload", http.StatusBadRequest)
	}
}

// UnmappedUserError is a Slack user who may not decide: not in the user
// map (or, with AllowUnmappedUsers, without a Slack user name either).
type UnmappedUserError struct {
	UserID string // Slack user ID, e.g. U0123ABC
	Source string // where the user map lives
}

// Error is the text the Slack user reads: who they are to cutover, and how
// to be mapped.
func (e *UnmappedUserError) Error() string {
	id := e.UserID
	if id == "" {
		return "Refused: this Slack request carries no user ID, so it cannot be mapped to a cutover approver."
	}
	return fmt.Sprintf("Refused: Slack user <@%s> (ID `%s`) is not mapped to a cutover approver, so nothing was decided. "+
		"Ask a cutover operator to add `%s=<your approver name>` to %s (the name the gates' approver lists use), then try again.",
		id, id, id, e.Source)
}

// approver returns the name a Slack user decides under and whether that
// name is authenticated (mapped from the Slack user ID, which Slack sets and
// its owner cannot) rather than claimed (the Slack user name, which its
// owner picks).
func (h *handler) approver(userID, userName string) (name string, mapped bool, err error) {
	if name, ok := h.users[userID]; ok && userID != "" {
		return name, true, nil
	}
	if h.allowUnmapped && userID != "" && userName != "" {
		return userName, false, nil
	}
	return "", false, &UnmappedUserError{UserID: userID, Source: h.userMapSource}
}

// refuseUnmapped logs the refusal and returns the text to show its author.
func (h *handler) refuseUnmapped(err error, userID, userName, workflowID, gate string) string {
	h.log.Warn("Slack user refused: not mapped to an approver", "slackUser", userID, "slackUserName", userName, "workflowId", workflowID, "gate", gate)
	return mrkdwnEscapeKeepMention(err.Error())
}

// decide sends the decision with its own deadline, detached from the HTTP
// request so a slow workflow does not lose it when Slack hangs up.
func (h *handler) decide(workflowID string, d workflows.Decision, slackUser string, mapped bool) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), h.decisionTimeout)
	defer cancel()
	out, err := h.updater.Approve(ctx, workflowID, d)
	text, ok := describe(workflowID, d, out, err)
	if ok {
		h.log.Info("Gate decided from Slack", "workflowId", workflowID, "gate", d.Gate, "approve", d.Approve, "by", d.By, "slackUser", slackUser, "mapped", mapped)
	} else {
		h.log.Warn("Gate decision from Slack not taken", "workflowId", workflowID, "gate", d.Gate, "approve", d.Approve, "by", d.By, "slackUser", slackUser, "mapped", mapped, "reason", text)
	}
	return mrkdwnEscape(text), ok
}

// Slack reads replies as mrkdwn: &, < and > must be escaped.
var mentionEscaped = regexp.MustCompile(`&lt;@([UW][A-Z0-9]+)&gt;`)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func mrkdwnEscape(s string) string { return mrkdwnEscaper.Replace(s) }

// mrkdwnEscapeKeepMention escapes s but for the <@U…> mention the handler
// itself put at a known place (user IDs are checked to be [A-Z0-9]).
func mrkdwnEscapeKeepMention(s string) string {
	s = mrkdwnEscape(s)
	return mentionEscaped.ReplaceAllString(s, "<@$1>")
}

// slackReply is a message body for the command's answer or a response_url.
type slackReply = slack.WebhookMessage

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func ephemeral(text string) slackReply {
	return slackReply{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

// command answers `/cutover approve|reject <workflow-id> <gate> [comment]`.
func (h *handler) command(w http.ResponseWriter, form url.Values) {
	args := strings.Fields(form.Get("text"))
	if len(args) == 0 || args[0] == "help" {
		writeJSON(w, ephemeral(usage))
		return
	}
	verb := strings.ToLower(args[0])
	if (verb != "approve" && verb != "reject") || len(args) < 3 {
		writeJSON(w, ephemeral(fmt.Sprintf("I did not understand %q. %s", form.Get("text"), usage)))
		return
	}
	userID, workflowID, gate := form.Get("user_id"), args[1], args[2]
	by, mapped, err := h.approver(userID, form.Get("user_name"))
	if err != nil {
		writeJSON(w, ephemeral(h.refuseUnmapped(err, userID, form.Get("user_name"), workflowID, gate)))
		return
	}
	d := workflows.Decision{Gate: gate, Approve: verb == "approve", By: by, Comment: strings.Join(args[3:], " ")}
	responseURL := form.Get("response_url")

	type result struct {
		text string
		ok   bool
	}
	done := make(chan result, 1)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		text, ok := h.decide(workflowID, d, userID, mapped)
		done <- result{text, ok}
	}()
	timer := time.NewTimer(h.ackTimeout)
	defer timer.Stop()
	select {
	case res := <-done:
		writeJSON(w, commandReply(res.text, res.ok))
	case <-timer.C:
		// Slack gives up after 3s: answer now, post the outcome later.
		writeJSON(w, ephemeral(fmt.Sprintf("Sending your decision on gate %q to %s…", gate, workflowID)))
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			res := <-done
			h.respond(responseURL, commandReply(res.text, res.ok))
		}()
	}
}

// commandReply shows a decision to the channel and a refusal to its author.
func commandReply(text string, ok bool) slackReply {
	if ok {
		return slackReply{ResponseType: slack.ResponseTypeInChannel, Text: text}
	}
	return ephemeral(text)
}

// interaction answers an Approve/Reject button: Slack gets its 200 at once,
// the outcome goes to the payload's response_url.
func (h *handler) interaction(w http.ResponseWriter, raw string) {
	var p slack.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		http.Error(w, "payload is not JSON", http.StatusBadRequest)
		return
	}
	if p.Type != slack.InteractionTypeBlockActions {
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, a := range p.ActionCallback.BlockActions {
		if a.ActionID != notify.ActionApprove && a.ActionID != notify.ActionReject {
			continue
		}
		workflowID, gate, ok := notify.ParseActionValue(a.Value)
		if !ok {
			h.log.Warn("Slack button with a malformed value", "value", a.Value)
			continue
		}
		name := p.User.Username
		if name == "" {
			name = p.User.Name
		}
		by, mapped, err := h.approver(p.User.ID, name)
		if err != nil {
			text := h.refuseUnmapped(err, p.User.ID, name, workflowID, gate)
			h.bg.Add(1)
			go func() {
				defer h.bg.Done()
				h.respond(p.ResponseURL, ephemeral(text))
			}()
			break
		}
		d := workflows.Decision{Gate: gate, Approve: a.ActionID == notify.ActionApprove, By: by, Comment: "via Slack button"}
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			text, ok := h.decide(workflowID, d, p.User.ID, mapped)
			if !ok {
				h.respond(p.ResponseURL, ephemeral(text))
				return
			}
			// Replace the gate message: same content, buttons gone, outcome added.
			blocks := make([]slack.Block, 0, len(p.Message.Blocks.BlockSet)+1)
			for _, b := range p.Message.Blocks.BlockSet {
				if b.BlockType() != slack.MBTAction {
					blocks = append(blocks, b)
				}
			}
			icon := ":white_check_mark:"
			if !d.Approve {
				icon = ":no_entry:"
			}
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, icon+" "+text, false, false), nil, nil))
			msg := strings.TrimSpace(p.Message.Text + "\n" + text)
			h.respond(p.ResponseURL, slackReply{ResponseType: slack.ResponseTypeInChannel, ReplaceOriginal: true, Text: msg, Blocks: &slack.Blocks{BlockSet: blocks}})
		}()
		break // one decision per click
	}
	w.WriteHeader(http.StatusOK)
}

// respond posts to a Slack response_url.
func (h *handler) respond(responseURL string, reply slackReply) {
	if responseURL == "" {
		h.log.Warn("No response_url to post the outcome to", "text", reply.Text)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, h.client, &reply); err != nil {
		h.log.Warn("Posting the outcome to Slack failed", "error", err)
	}
}
