package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
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
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, d Decision) (GateOutcome, error) {
			if err := m.validateDecision(d); err != nil {
				return GateOutcome{}, err
			}
			r := m.decide(ctx, d, "update")
			return GateOutcome{Gate: r.Gate, Approved: r.Approved, By: r.By, At: r.At}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d Decision) error {
			return m.validateDecision(d)
		}},
	); err != nil {
		return err
	}

	approvals := workflow.GetSignalChannel(ctx, SignalApproval)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d Decision
			approvals.Receive(ctx, &d)
			if err := m.validateDecision(d); err != nil {
				// A signal cannot be refused to its sender; it is logged and
				// counted. Use the approve update to see the refusal.
				m.status.IgnoredApprovals = append(m.status.IgnoredApprovals, fmt.Sprintf("%s on gate %q by %q: %v", verb(d.Approve), d.Gate, d.By, err))
				m.details()
				m.logger.Warn("Approval signal ignored", "gate", d.Gate, "by", d.By, "reason", err.Error())
				continue
			}
			m.decide(ctx, d, "signal")
		}
	})

	aborts := workflow.GetSignalChannel(ctx, SignalAbort)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var a Abort
			aborts.Receive(ctx, &a)
			if m.aborted != nil {
				continue
			}
			if m.blueRetiring {
				// Blue is being deleted: sending traffic back to it would
				// be an outage. The retire finishes.
				m.logger.Warn("Abort ignored: blue is being retired", "blue", m.spec.Blue.ClusterName, "by", a.By)
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
	now := workflow.Now(ctx)
	g := &gate{name: name, cfg: cfg, openedAt: now, deadline: now.Add(cfg.Timeout.D())}
	m.gates = append(m.gates, g)
	m.progress(fmt.Sprintf("Waiting for approval of gate %q until %s (then %s)", name, g.deadline.UTC().Format(time.RFC3339), cfg.OnTimeout))
	m.logger.Info("Gate opened", "gate", name, "deadline", g.deadline, "approvers", cfg.Approvers)
	m.notifyGate(ctx, notify.KindGateOpened, g)

	reminder := time.Duration(0)
	if r := m.spec.Approvals.ReminderInterval; r != nil {
		reminder = r.D()
	}
	for !g.decided {
		remaining := g.deadline.Sub(workflow.Now(ctx))
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
		decided, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return g.decided })
		if err != nil {
			return err // canceled by abort
		}
		if !decided && workflow.Now(ctx).Before(g.deadline) {
			m.notifyGate(ctx, notify.KindReminder, g)
		}
	}
	m.notify(ctx, notify.KindGateDecided, name, fmt.Sprintf("Gate %q of %s %s by %s. %s", name, m.spec.Name, verb(g.record.Approved), g.record.By, g.record.Comment))
	if !g.record.Approved {
		return failures.New(failures.Rejected, "gate %q rejected by %s%s", name, g.record.By, commentSuffix(g.record.Comment))
	}
	return nil
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

func (m *migration) notifyGate(ctx workflow.Context, kind string, g *gate) {
	text := fmt.Sprintf("Migration %s (%s → %s, Kubernetes %s) waits for approval of gate %q. Approve or reject before %s; then it is %s.",
		m.spec.Name, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, m.spec.Green.KubernetesVersion, g.name, g.deadline.UTC().Format(time.RFC3339), g.cfg.OnTimeout+"ed")
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
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), notifyA.Notify, msg).Get(ctx, nil); err != nil {
		m.logger.Warn("Notification failed", "kind", msg.Kind, "error", err)
		m.report.Errors = append(m.report.Errors, "notify "+msg.Kind+": "+failures.Message(err))
	}
}
