package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// registerHandlers wires the status query, the approval signal and update,
// and the abort signal. It runs before validation so that even a run that
// fails fast can be queried.
func (m *migration) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) {
		return m.snapshot(ctx), nil
	}); err != nil {
		return err
	}
	if err := registerApprovals(ctx, m); err != nil {
		return err
	}

	aborts := workflow.GetSignalChannel(ctx, SignalAbort)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var raw converter.RawValue
			aborts.Receive(ctx, &raw)
			a, err := decodeAbort(raw)
			switch {
			case err != nil:
				m.ignore(fmt.Sprintf("abort signal: %v", err))
				continue
			case m.aborted != nil:
				m.ignore(fmt.Sprintf("abort signal by %s: already aborted by %s", quoteShort(a.By), quoteShort(m.aborted.By)))
				continue
			case m.done.BlueRetiring:
				// Blue is being deleted: sending traffic back to it would
				// be an outage. The retire finishes.
				m.ignore(fmt.Sprintf("abort signal by %s: blue %s is being retired; the retire finishes", quoteShort(a.By), m.spec.Blue.ClusterName))
				continue
			}
			m.logger.Warn("Migration aborted", "by", a.By, "reason", a.Reason, "phase", m.status.Phase)
			m.aborted = &a
			m.status.Aborted = &a
			m.cancelWork()
		}
	})
	return nil
}

// decider is what takes gate decisions: a migration or a fleet.
type decider interface {
	// validateDecision refuses a decision; it must not change state.
	validateDecision(Decision) error
	decide(ctx workflow.Context, d Decision, via string) ApprovalRecord
	// ignore lists a signal that could not be taken, with why.
	ignore(what string)
}

// registerApprovals wires the approve update (with its validator) and the
// approval signal to d: the same names and payloads for migrations and
// fleets, so the CLI, the UI and chatops answer both.
func registerApprovals(ctx workflow.Context, d decider) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, raw converter.RawValue) (GateOutcome, error) {
			dec, err := decodeDecision(raw)
			if err == nil {
				err = d.validateDecision(dec)
			}
			if err != nil {
				return GateOutcome{}, err
			}
			r := d.decide(ctx, dec, "update")
			return GateOutcome{Gate: r.Gate, Approved: r.Approved, By: r.By, At: r.At}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw converter.RawValue) error {
			dec, err := decodeDecision(raw)
			if err != nil {
				return err
			}
			return d.validateDecision(dec)
		}},
	); err != nil {
		return err
	}

	// Signals are received raw and decoded into a fresh value each time:
	// a payload that does not decode must not leave fields behind for the
	// next one, and it is listed, never merged or silently dropped.
	approvals := workflow.GetSignalChannel(ctx, SignalApproval)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var raw converter.RawValue
			approvals.Receive(ctx, &raw)
			dec, err := decodeDecision(raw)
			if err == nil {
				err = d.validateDecision(dec)
			}
			if err != nil {
				// A signal cannot be refused to its sender; it is listed in
				// the status. Use the approve update to see the refusal.
				d.ignore(fmt.Sprintf("approval signal %s: %v", describeDecision(dec), err))
				continue
			}
			d.decide(ctx, dec, "signal")
		}
	})
	return nil
}

// maxIgnored bounds the ignored-signal list kept in the status, so a
// flood of bad signals cannot grow it (and every query answer) without end.
const maxIgnored = 50

// ignore records a signal the workflow could not take, with the reason.
func (m *migration) ignore(what string) {
	m.logger.Warn("Signal ignored", "signal", what)
	if len(m.status.IgnoredApprovals) >= maxIgnored {
		m.status.IgnoredApprovals = m.status.IgnoredApprovals[1:]
	}
	m.status.IgnoredApprovals = append(m.status.IgnoredApprovals, what)
	m.status.IgnoredCount++
	m.details()
}

// decisionPayload is the wire form of a Decision: Approve is a pointer so a
// payload without it is refused instead of read as a rejection.
type decisionPayload struct {
	Gate    string `json:"gate"`
	Approve *bool  `json:"approve"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

// decodeDecision reads an approval payload strictly. On error the Decision
// holds what could be read, for the ignored-signal record only.
func decodeDecision(raw converter.RawValue) (Decision, error) {
	var p decisionPayload
	err := decodeMessage(raw, &p)
	d := Decision{Gate: p.Gate, By: p.By, Comment: p.Comment}
	if p.Approve != nil {
		d.Approve = *p.Approve
	}
	if err != nil {
		return d, err
	}
	if p.Approve == nil {
		return d, fmt.Errorf("approve is required: true to approve, false to reject")
	}
	return d, nil
}

// decodeAbort reads an abort payload strictly; by is required.
func decodeAbort(raw converter.RawValue) (Abort, error) {
	var a Abort
	if err := decodeMessage(raw, &a); err != nil {
		return Abort{}, err
	}
	if strings.TrimSpace(a.By) == "" {
		return Abort{}, fmt.Errorf("by is required: name who aborts")
	}
	return a, nil
}

// maxMessageBytes bounds a signal or update payload.
const maxMessageBytes = 16 << 10

// decodeMessage decodes a JSON signal or update payload into a fresh v
// with the spec's strict reader: unknown or duplicated keys, wrong types
// and trailing data are refused, with their field.
func decodeMessage(raw converter.RawValue, v any) error {
	data, err := jsonPayload(raw, "send a JSON object")
	if err != nil {
		return fmt.Errorf("the payload %w", err)
	}
	if len(data) > maxMessageBytes {
		return fmt.Errorf("the payload is %d bytes; at most %d", len(data), maxMessageBytes)
	}
	// DecodeStrict is a pure function of the bytes: its reflection and
	// encoding/json only read a value (no map order reaches the result).
	//workflowcheck:ignore
	if _, errs := spec.DecodeStrict(data, v); len(errs) > 0 {
		return fmt.Errorf("the payload does not decode: %s", strings.Join(problemList(errs), "; "))
	}
	return nil
}

func problemList(errs spec.FieldErrors) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func describeDecision(d Decision) string {
	return fmt.Sprintf("on gate %s by %s", quoteShort(d.Gate), quoteShort(d.By))
}

// quoteShort quotes a sender-chosen string for the status, cut to a
// readable length.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// validateDecision is the approve update's validator (and the signal's
// filter). It must not change state.
func (m *migration) validateDecision(d Decision) error {
	if strings.TrimSpace(d.Gate) == "" {
		return fmt.Errorf("gate is required")
	}
	if strings.TrimSpace(d.By) == "" {
		return fmt.Errorf("by is required: name who decides")
	}
	cfg, known := m.spec.Gate(d.Gate)
	if !known {
		return fmt.Errorf("unknown gate %q: this migration's gates are %s", d.Gate, strings.Join(m.gateNames(), ", "))
	}
	g := m.findGate(d.Gate)
	if g == nil {
		return fmt.Errorf("gate %q is not open yet (phase %s)", d.Gate, m.status.Phase)
	}
	if g.decided {
		verb := "rejected"
		if g.record.Approved {
			verb = "approved"
		}
		return fmt.Errorf("gate %q was already %s by %s at %s", d.Gate, verb, g.record.By, g.record.At.UTC().Format(time.RFC3339))
	}
	if len(cfg.Approvers) > 0 && !slices.Contains(cfg.Approvers, d.By) {
		return fmt.Errorf("%q may not decide gate %q: approvers are %s", d.By, d.Gate, strings.Join(cfg.Approvers, ", "))
	}
	return nil
}

func (m *migration) gateNames() []string {
	var names []string
	for _, n := range []string{spec.GateCutover, spec.GateRetire} {
		if _, ok := m.spec.Gate(n); ok {
			names = append(names, n)
		}
	}
	for n := 2; n <= len(m.spec.Traffic.Steps); n++ {
		if _, ok := m.spec.Gate(spec.StepGateName(n)); ok {
			names = append(names, spec.StepGateName(n))
		}
	}
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

func (m *migration) findGate(name string) *gate {
	for _, g := range m.gates {
		if g.name == name {
			return g
		}
	}
	return nil
}

// decide records a valid decision.
func (m *migration) decide(ctx workflow.Context, d Decision, via string) ApprovalRecord {
	g := m.findGate(d.Gate)
	g.decided = true
	g.record = ApprovalRecord{Gate: d.Gate, Approved: d.Approve, By: d.By, Comment: d.Comment, At: workflow.Now(ctx), OpenedAt: g.openedAt, Via: via}
	m.logger.Info("Gate decided", "gate", d.Gate, "approved", d.Approve, "by", d.By, "via", via)
	m.details()
	return g.record
}

// gate opens the named gate (if the spec enables it) and blocks until it is
// decided, its timeout applies, or the migration is aborted. Reminders are
// posted every approvals.reminderInterval.
func (m *migration) gate(ctx workflow.Context, name, phase string) error {
	cfg, ok := m.spec.Gate(name)
	if !ok {
		return nil
	}
	if phase != m.status.Phase {
		m.enter(ctx, phase)
	}
	if cfg.OnTimeout == spec.OnTimeoutWait && workflow.GetVersion(ctx, changeGateWait, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		cfg.OnTimeout = spec.OnTimeoutReject // the default of runs started before "wait"
	}
	now := workflow.Now(ctx)
	g := &gate{name: name, cfg: cfg, openedAt: now, deadline: now.Add(cfg.Timeout.D())}
	m.gates = append(m.gates, g)
	m.progress(fmt.Sprintf("Waiting for approval of gate %q until %s (then %s)", name, g.deadline.UTC().Format(time.RFC3339), cfg.OnTimeout))
	m.logger.Info("Gate opened", "gate", name, "deadline", g.deadline, "approvers", cfg.Approvers)
	m.notifyGate(ctx, notify.KindGateOpened, g)
	m.metrics.gateOpened(ctx, g)
	defer m.metrics.gateClosed(ctx, g) // decided, timed out or aborted

	reminder := time.Duration(0)
	if r := m.spec.Approvals.ReminderInterval; r != nil {
		reminder = r.D()
	}
	// With traffic on green, alarms and probes are watched while it waits:
	// an unhealthy reading ends the wait and rolls back, as during a bake.
	unhealthy, stopWatch := m.gateWatch(ctx, name)
	defer stopWatch()
	closed := func() bool { return g.decided || unhealthy() != nil }
	for !g.decided {
		if err := unhealthy(); err != nil {
			g.decided = true
			g.record = ApprovalRecord{Gate: name, Approved: false, By: "watch", At: workflow.Now(ctx), OpenedAt: g.openedAt, Via: "watch", Comment: failures.Message(err)}
			m.logger.Warn("Unhealthy while a gate waited", "gate", name, "error", err)
			m.metrics.gateDecided(ctx, g, "unhealthy")
			m.notify(ctx, notify.KindGateDecided, name, fmt.Sprintf("Gate %q of %s closed: %s while it waited; rolling back.", name, m.spec.Name, failures.Message(err)))
			return err
		}
		remaining := g.deadline.Sub(workflow.Now(ctx))
		if remaining <= 0 && cfg.OnTimeout == spec.OnTimeoutWait {
			if !g.overdue {
				g.overdue = true
				m.logger.Warn("Gate timed out; it keeps waiting for a decision", "gate", name, "onTimeout", cfg.OnTimeout)
				m.progress(fmt.Sprintf("Gate %q passed its timeout (%s) and keeps waiting for a decision; traffic stays where it is", name, cfg.Timeout))
			}
			// Remind every reminder interval, or every timeout without one.
			wait := cfg.Timeout.D()
			if reminder > 0 {
				wait = reminder
			}
			decided, err := workflow.AwaitWithTimeout(ctx, wait, closed)
			if err != nil {
				return err // canceled by abort
			}
			if !decided && !closed() {
				m.notifyGate(ctx, notify.KindReminder, g)
			}
			continue
		}
		if remaining <= 0 {
			g.decided = true
			g.record = ApprovalRecord{Gate: name, Approved: cfg.OnTimeout == spec.OnTimeoutApprove, By: "timeout", At: workflow.Now(ctx), OpenedAt: g.openedAt, Via: "timeout",
				Comment: fmt.Sprintf("no decision within %s; approvals.%s.onTimeout is %q", cfg.Timeout, gateField(name), cfg.OnTimeout)}
			m.logger.Warn("Gate timed out", "gate", name, "onTimeout", cfg.OnTimeout)
			break
		}
		wait := remaining
		if reminder > 0 && reminder < wait {
			wait = reminder
		}
		decided, err := workflow.AwaitWithTimeout(ctx, wait, closed)
		if err != nil {
			return err // canceled by abort
		}
		if !decided && !closed() && workflow.Now(ctx).Before(g.deadline) {
			m.notifyGate(ctx, notify.KindReminder, g)
		}
	}
	m.metrics.gateDecided(ctx, g, gateDecision(g.record))
	m.notify(ctx, notify.KindGateDecided, name, fmt.Sprintf("Gate %q of %s %s by %s at %s (%s). %s", name, m.spec.Name, verb(g.record.Approved), g.record.By, g.record.At.UTC().Format(time.RFC3339), g.record.Via, g.record.Comment))
	if !g.record.Approved {
		return failures.New(failures.Rejected, "gate %q rejected by %s%s", name, g.record.By, commentSuffix(g.record.Comment))
	}
	return nil
}

// gateDecision is the gate wait metric's decision label.
func gateDecision(r ApprovalRecord) string {
	switch {
	case r.Via == "timeout":
		return "timeout"
	case r.Approved:
		return "approved"
	default:
		return "rejected"
	}
}

func gateField(name string) string {
	if _, ok := spec.StepGateNumber(name); ok {
		return "eachStep"
	}
	return name
}

func verb(approved bool) string {
	if approved {
		return "approved"
	}
	return "rejected"
}

func commentSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

// changeGateWait versions onTimeout "wait" (the retire gate's default
// since): runs started before it reject on timeout, as they did.
const changeGateWait = "gate-timeout-wait"

func (m *migration) notifyGate(ctx workflow.Context, kind string, g *gate) {
	then := "then it is " + g.cfg.OnTimeout + "ed"
	switch {
	case g.overdue:
		then = "its timeout passed at " + g.deadline.UTC().Format(time.RFC3339) + "; it keeps waiting, traffic stays where it is"
	case g.cfg.OnTimeout == spec.OnTimeoutWait:
		then = "after that it keeps waiting, traffic stays where it is"
	}
	text := fmt.Sprintf("Migration %s (%s → %s, Kubernetes %s) waits for approval of gate %q. Approve or reject before %s; %s.",
		m.spec.Name, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, m.spec.Green.KubernetesVersion, g.name, g.deadline.UTC().Format(time.RFC3339), then)
	if kind == notify.KindReminder {
		text = "Reminder: " + text
	}
	m.send(ctx, notify.Message{Kind: kind, Gate: g.name, Text: text, Approvers: g.cfg.Approvers, Deadline: g.deadline.UTC().Format(time.RFC3339)})
}

func (m *migration) notify(ctx workflow.Context, kind, gateName, text string) {
	m.send(ctx, notify.Message{Kind: kind, Gate: gateName, Text: text})
}

// send posts a message; chat being down never stops a migration.
func (m *migration) send(ctx workflow.Context, msg notify.Message) {
	msg.WorkflowID = m.info.WorkflowExecution.ID
	msg.Migration = m.spec.Name
	msg.SlackChannel = m.spec.Notify.SlackChannel
	msg.WebhookURL = m.spec.Notify.WebhookURL
	if m.asyncPosts(ctx) {
		m.enqueuePost(ctx, msg)
		return
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), notifyA.Notify, msg).Get(ctx, nil); err != nil {
		m.logger.Warn("Notification failed", "kind", msg.Kind, "error", err)
		m.report.Errors = append(m.report.Errors, "notify "+msg.Kind+": "+failures.Message(err))
	}
}
