package chatops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/workflows"
)

type handler struct {
	updater         Updater
	secret          string
	users           map[string]string
	requireMapped   bool
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
	if err := verifySignature(h.secret, h.now(), r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature"), body); err != nil {
		h.log.Warn("Slack request refused", "reason", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
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

// approver returns the name a Slack user decides under.
func (h *handler) approver(userID, userName string) (string, bool) {
	if name, ok := h.users[userID]; ok {
		return name, true
	}
	if h.requireMapped || userName == "" {
		return "", false
	}
	return userName, true
}

func (h *handler) unmapped(userID string) string {
	return fmt.Sprintf("Slack user <@%s> is not mapped to a cutover approver; ask an operator to add %s to the chatops user map.", userID, userID)
}

// decide sends the decision with its own deadline, detached from the HTTP
// request so a slow workflow does not lose it when Slack hangs up.
func (h *handler) decide(workflowID string, d workflows.Decision, slackUser string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), h.decisionTimeout)
	defer cancel()
	out, err := h.updater.Approve(ctx, workflowID, d)
	text, ok := describe(workflowID, d, out, err)
	if ok {
		h.log.Info("Gate decided from Slack", "workflowId", workflowID, "gate", d.Gate, "approve", d.Approve, "by", d.By, "slackUser", slackUser)
	} else {
		h.log.Warn("Gate decision from Slack not taken", "workflowId", workflowID, "gate", d.Gate, "approve", d.Approve, "by", d.By, "slackUser", slackUser, "reason", text)
	}
	// Slack reads replies as mrkdwn: &, < and > must be escaped.
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text), ok
}

// slackReply is a message body for the command's answer or a response_url.
type slackReply struct {
	ResponseType    string           `json:"response_type,omitempty"`
	Text            string           `json:"text"`
	ReplaceOriginal bool             `json:"replace_original"`
	Blocks          []map[string]any `json:"blocks,omitempty"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func ephemeral(text string) slackReply { return slackReply{ResponseType: "ephemeral", Text: text} }

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
	userID := form.Get("user_id")
	by, ok := h.approver(userID, form.Get("user_name"))
	if !ok {
		writeJSON(w, ephemeral(h.unmapped(userID)))
		return
	}
	workflowID, gate := args[1], args[2]
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
		text, ok := h.decide(workflowID, d, userID)
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
		return slackReply{ResponseType: "in_channel", Text: text}
	}
	return ephemeral(text)
}

// interactionPayload is the part of a block_actions payload the handler reads.
type interactionPayload struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
	ResponseURL string `json:"response_url"`
	Message     struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	} `json:"message"`
}

// interaction answers an Approve/Reject button: Slack gets its 200 at once,
// the outcome goes to the payload's response_url.
func (h *handler) interaction(w http.ResponseWriter, raw string) {
	var p interactionPayload
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		http.Error(w, "payload is not JSON", http.StatusBadRequest)
		return
	}
	if p.Type != "block_actions" {
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, a := range p.Actions {
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
		by, ok := h.approver(p.User.ID, name)
		if !ok {
			h.bg.Add(1)
			go func() {
				defer h.bg.Done()
				h.respond(p.ResponseURL, ephemeral(h.unmapped(p.User.ID)))
			}()
			break
		}
		d := workflows.Decision{Gate: gate, Approve: a.ActionID == notify.ActionApprove, By: by, Comment: "via Slack button"}
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			text, ok := h.decide(workflowID, d, p.User.ID)
			if !ok {
				h.respond(p.ResponseURL, ephemeral(text))
				return
			}
			// Replace the gate message: same content, buttons gone, outcome added.
			blocks := make([]map[string]any, 0, len(p.Message.Blocks)+1)
			for _, b := range p.Message.Blocks {
				if b["type"] != "actions" {
					blocks = append(blocks, b)
				}
			}
			icon := ":white_check_mark:"
			if !d.Approve {
				icon = ":no_entry:"
			}
			blocks = append(blocks, map[string]any{
				"type": "section",
				"text": map[string]any{"type": "mrkdwn", "text": icon + " " + text},
			})
			msg := strings.TrimSpace(p.Message.Text + "\n" + text)
			h.respond(p.ResponseURL, slackReply{ResponseType: "in_channel", ReplaceOriginal: true, Text: msg, Blocks: blocks})
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
	body, _ := json.Marshal(reply)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		h.log.Warn("Bad Slack response_url", "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		h.log.Warn("Posting the outcome to Slack failed", "error", err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		h.log.Warn("Slack refused the outcome post", "status", resp.StatusCode)
	}
}
