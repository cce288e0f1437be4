// Package chatops is the HTTP endpoint Slack calls when someone answers a
// gate: the `/cutover approve|reject <workflow-id> <gate> [comment]` slash
// command and the Approve/Reject buttons of the gate messages that
// activities/notify posts. Every request is checked against Slack's signing
// secret and taken once (a replayed copy is refused); the sender's Slack
// user ID must be in the user map, whose approver name the decision is made
// under (never the self-chosen Slack user name, unless AllowUnmappedUsers).
// The decision goes to the migration through the workflow's `approve`
// Update, whose validator refuses unknown or already decided gates and
// approvers not on the gate's list; that refusal is what the person sees.
//
// Slack app setup: a bot token with chat:write (SLACK_BOT_TOKEN, read by the
// worker for activities/notify), a slash command /cutover and Interactivity
// both pointed at this endpoint, and the app's signing secret given to
// NewHandler. `cutover chatops serve --addr` runs NewHandler under Serve.
package chatops

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/workflows"
)

// Updater sends a gate decision to a migration and returns the gate's
// outcome, or the workflow's refusal as an error.
type Updater interface {
	Approve(ctx context.Context, workflowID string, d workflows.Decision) (workflows.GateOutcome, error)
}

// NewTemporalUpdater decides through the Temporal client: the `approve`
// Update, waiting until it completed.
func NewTemporalUpdater(c client.Client) Updater { return temporalUpdater{c: c} }

type temporalUpdater struct{ c client.Client }

func (u temporalUpdater) Approve(ctx context.Context, workflowID string, d workflows.Decision) (workflows.GateOutcome, error) {
	h, err := u.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   workflows.UpdateApprove,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.GateOutcome{}, err
	}
	var out workflows.GateOutcome
	if err := h.Get(ctx, &out); err != nil {
		return workflows.GateOutcome{}, err
	}
	return out, nil
}

// Defaults.
const (
	// MaxClockSkew is how old (or how far in the future) a request's
	// X-Slack-Request-Timestamp may be.
	MaxClockSkew = 5 * time.Minute
	// DefaultAckTimeout is how long a slash command waits for the outcome
	// before answering "working on it" (Slack wants an answer within 3s);
	// the outcome then goes to the command's response_url.
	DefaultAckTimeout = 2500 * time.Millisecond
	// DefaultDecisionTimeout bounds one decision end to end.
	DefaultDecisionTimeout = 30 * time.Second

	maxBody = 1 << 20
)

// Option configures the handler.
type Option func(*handler)

// WithUserMap maps Slack user IDs (U0123ABC) to approver names, the names
// the gates' approver lists use. A Slack user ID is the one identity in a
// signed request that its sender cannot choose, so only mapped users decide
// (unless AllowUnmappedUsers); everyone else is refused with a message that
// tells them their ID and where the map lives (WithUserMapSource).
func WithUserMap(m map[string]string) Option {
	return func(h *handler) {
		for k, v := range m {
			h.users[k] = v
		}
	}
}

// WithUserMapSource says where operators edit the user map ("file
// /etc/cutover/slack-users.json", "chatops.userMap of the cutover Helm
// release"); unmapped users are told it.
func WithUserMapSource(where string) Option {
	return func(h *handler) {
		if where != "" {
			h.userMapSource = where
		}
	}
}

// AllowUnmappedUsers lets Slack users missing from the user map decide under
// their Slack user name. That name is chosen, and can be changed, by its
// owner, so anyone in the workspace can claim to be any approver: use it
// only where the gate lists are not a control (a sandbox, a demo).
func AllowUnmappedUsers() Option {
	return func(h *handler) { h.allowUnmapped = true }
}

// WithLogger sets the logger. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(h *handler) {
		if l != nil {
			h.log = l
		}
	}
}

// WithHTTPClient sets the client that posts outcomes to Slack's response_url.
func WithHTTPClient(c *http.Client) Option {
	return func(h *handler) {
		if c != nil {
			h.client = c
		}
	}
}

// WithClock replaces time.Now for the timestamp check (tests).
func WithClock(now func() time.Time) Option {
	return func(h *handler) {
		if now != nil {
			h.now = now
		}
	}
}

// WithAckTimeout sets how long a slash command waits for the outcome before
// answering and posting the outcome to response_url later.
func WithAckTimeout(d time.Duration) Option {
	return func(h *handler) {
		if d > 0 {
			h.ackTimeout = d
		}
	}
}

// WithDecisionTimeout bounds one decision end to end.
func WithDecisionTimeout(d time.Duration) Option {
	return func(h *handler) {
		if d > 0 {
			h.decisionTimeout = d
		}
	}
}

// Serve runs h on addr until ctx is done, then shuts down gracefully:
// in-flight requests and the outcome posts they started are finished.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("chatops: listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h)
}

// ServeListener is Serve on an open listener (tests listen on :0).
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      DefaultDecisionTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("Chatops endpoint listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("Chatops endpoint shutting down", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.Background(), DefaultDecisionTimeout+5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if w, ok := h.(interface{ wait(context.Context) }); ok {
		w.wait(sctx)
	}
	return err
}

// signedRequest is what verifySignature proved about a request.
type signedRequest struct {
	at  time.Time // X-Slack-Request-Timestamp
	sig [32]byte  // the HMAC: one per (timestamp, body), the replay guard's key
}

// verifySignature checks Slack's v0 request signature with slack-go's
// SecretsVerifier (the hex HMAC-SHA256, keyed with the signing secret, of
// "v0:<timestamp>:<body>", and a timestamp within five minutes of the
// worker's clock), and the timestamp against now, the clock the replay
// guard keeps its window by (no replays of old requests; the guard
// refuses copies of recent ones).
func verifySignature(secret string, now time.Time, header http.Header, body []byte) (signedRequest, error) {
	ts, sig := header.Get("X-Slack-Request-Timestamp"), header.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return signedRequest{}, errors.New("missing X-Slack-Request-Timestamp or X-Slack-Signature")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return signedRequest{}, fmt.Errorf("bad X-Slack-Request-Timestamp %q", ts)
	}
	at := time.Unix(n, 0)
	if skew := now.Sub(at); skew > MaxClockSkew || skew < -MaxClockSkew {
		return signedRequest{}, fmt.Errorf("request timestamp is %s away from now", skew.Round(time.Second))
	}
	v, err := slack.NewSecretsVerifier(header, secret)
	if err != nil {
		return signedRequest{}, fmt.Errorf("signature: %w", err)
	}
	_, _ = v.Write(body)
	if err := v.Ensure(); err != nil {
		return signedRequest{}, errors.New("signature does not match")
	}
	raw, _ := hex.DecodeString(strings.TrimPrefix(sig, "v0=")) // checked by the verifier
	req := signedRequest{at: at}
	copy(req.sig[:], raw)
	return req, nil
}

// Sign returns the X-Slack-Signature of body at ts; for tests and tools
// that replay Slack requests.
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// describe turns the outcome of a decision into the text a person reads.
func describe(workflowID string, d workflows.Decision, out workflows.GateOutcome, err error) (text string, ok bool) {
	if err == nil {
		verb := "rejected"
		if out.Approved {
			verb = "approved"
		}
		gate, by := out.Gate, out.By
		if gate == "" {
			gate = d.Gate
		}
		if by == "" {
			by = d.By
		}
		return fmt.Sprintf("Gate %q of %s %s by %s.", gate, workflowID, verb, by), true
	}
	var nf *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &nf):
		return fmt.Sprintf("No running migration with workflow ID %q.", workflowID), false
	case errors.As(err, &appErr):
		return fmt.Sprintf("Refused: %s", appErr.Message()), false
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Timed out sending the decision to %s: is a cutover worker running?", workflowID), false
	}
	return fmt.Sprintf("Could not send the decision to %s: %v", workflowID, err), false
}
