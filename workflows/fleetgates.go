package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// FleetStatus is the answer of a fleet's status query (QueryStatus) and
// what `cutover fleet status` shows.
type FleetStatus struct {
	Fleet string `json:"fleet"`
	// State: Running, WaitingForGate, Soaking, Stopped, Done or Failed.
	State string `json:"state"`
	// Wave is the wave running now.
	Wave    string       `json:"wave,omitempty"`
	Started time.Time    `json:"started"`
	Waves   []WaveStatus `json:"waves"`
	// PendingGates are the fleet's open gates (before-<wave>,
	// after-<wave>, resume); the migrations' own gates are in theirs.
	PendingGates []PendingGate    `json:"pendingGates,omitempty"`
	Approvals    []ApprovalRecord `json:"approvals,omitempty"`
	Stopped      *FleetStop       `json:"stopped,omitempty"`
	Resumes      int              `json:"resumes,omitempty"`
	Ignored      []string         `json:"ignoredSignals,omitempty"`
}

// WaveStatus is one wave in the status.
type WaveStatus struct {
	Name string `json:"name"`
	// State: pending, WaitingForGate, Running, Soaking, Done, Failed, skipped.
	State          string        `json:"state"`
	MaxConcurrency int           `json:"maxConcurrency,omitempty"`
	Started        time.Time     `json:"started,omitempty"`
	SoakUntil      time.Time     `json:"soakUntil,omitempty"`
	Reason         string        `json:"reason,omitempty"`
	Members        []FleetResult `json:"members"`
}

// FleetStop is why a fleet stopped and waits at the resume gate.
type FleetStop struct {
	Wave   string    `json:"wave"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// registerHandlers wires the status query and the approve update and
// approval signal for the fleet's gates: the same names and payloads as
// a migration's, so `cutover approve`, the UI and chatops work unchanged.
func (f *fleet) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (FleetStatus, error) {
		return f.snapshot(), nil
	}); err != nil {
		return err
	}
	return registerApprovals(ctx, f)
}

// ignore records a signal the fleet could not take, with the reason.
func (f *fleet) ignore(what string) {
	f.logger.Warn("Signal ignored", "signal", what)
	if len(f.status.Ignored) >= maxIgnored {
		f.status.Ignored = f.status.Ignored[1:]
	}
	f.status.Ignored = append(f.status.Ignored, what)
	f.details()
}

// gateConfig is the configuration of a fleet gate name, if the fleet has it.
func (f *fleet) gateConfig(name string) (spec.GateSpec, bool) {
	if name == GateResume {
		return f.spec.Resume, f.spec.Resume.IsEnabled() && !f.spec.ContinueOnFailure
	}
	for _, w := range f.spec.Waves {
		switch name {
		case WaveGateName("before", w.Name):
			return w.GateBefore, w.GateBefore.IsEnabled()
		case WaveGateName("after", w.Name):
			return w.GateAfter, w.GateAfter.IsEnabled()
		}
	}
	return spec.GateSpec{}, false
}

func (f *fleet) gateNames() []string {
	var names []string
	for _, w := range f.spec.Waves {
		for _, when := range []string{"before", "after"} {
			if _, ok := f.gateConfig(WaveGateName(when, w.Name)); ok {
				names = append(names, WaveGateName(when, w.Name))
			}
		}
	}
	if _, ok := f.gateConfig(GateResume); ok {
		names = append(names, GateResume)
	}
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}

// findGate is the latest gate of that name (resume opens at every stop).
func (f *fleet) findGate(name string) *gate {
	for i := len(f.gates) - 1; i >= 0; i-- {
		if f.gates[i].name == name {
			return f.gates[i]
		}
	}
	return nil
}

// validateDecision is the approve update's validator (and the signal's
// filter); it must not change state.
func (f *fleet) validateDecision(d Decision) error {
	if strings.TrimSpace(d.Gate) == "" {
		return fmt.Errorf("gate is required")
	}
	if strings.TrimSpace(d.By) == "" {
		return fmt.Errorf("by is required: name who decides")
	}
	cfg, known := f.gateConfig(d.Gate)
	if !known {
		return fmt.Errorf("unknown gate %q: this fleet's gates are %s", d.Gate, strings.Join(f.gateNames(), ", "))
	}
	g := f.findGate(d.Gate)
	if g == nil {
		return fmt.Errorf("gate %q is not open (fleet %s, wave %s)", d.Gate, f.status.State, f.status.Wave)
	}
	if g.decided {
		return fmt.Errorf("gate %q was already %s by %s at %s", d.Gate, verb(g.record.Approved), g.record.By, g.record.At.UTC().Format(time.RFC3339))
	}
	if len(cfg.Approvers) > 0 && !slices.Contains(cfg.Approvers, d.By) {
		return fmt.Errorf("%q may not decide gate %q: approvers are %s", d.By, d.Gate, strings.Join(cfg.Approvers, ", "))
	}
	return nil
}

func (f *fleet) decide(ctx workflow.Context, d Decision, via string) ApprovalRecord {
	g := f.findGate(d.Gate)
	g.decided = true
	g.record = ApprovalRecord{Gate: d.Gate, Approved: d.Approve, By: d.By, Comment: d.Comment, At: workflow.Now(ctx), OpenedAt: g.openedAt, Via: via}
	f.logger.Info("Gate decided", "gate", d.Gate, "approved", d.Approve, "by", d.By, "via", via)
	f.details()
	return g.record
}

// gate opens a fleet gate and blocks until it is decided or its timeout
// applies (onTimeout "wait" keeps waiting), reminding every
// reminderInterval. It returns the decision.
func (f *fleet) gate(ctx workflow.Context, name string, cfg spec.GateSpec, text string) (ApprovalRecord, error) {
	prev := f.status.State
	if prev != FleetStopped { // a stopped fleet stays Stopped at its resume gate
		f.status.State = FleetGate
	}
	defer func() {
		if f.status.State == FleetGate {
			f.status.State = prev
		}
		f.details()
	}()
	now := workflow.Now(ctx)
	g := &gate{name: name, cfg: cfg, openedAt: now, deadline: now.Add(cfg.Timeout.D())}
	f.gates = append(f.gates, g)
	f.details()
	f.logger.Info("Gate opened", "gate", name, "deadline", g.deadline, "approvers", cfg.Approvers)
	f.notifyGate(ctx, notify.KindGateOpened, g, text)
	reminder := f.spec.ReminderInterval.D()
	for !g.decided {
		remaining := g.deadline.Sub(workflow.Now(ctx))
		if remaining <= 0 && cfg.OnTimeout != spec.OnTimeoutWait {
			g.decided = true
			g.record = ApprovalRecord{Gate: name, Approved: cfg.OnTimeout == spec.OnTimeoutApprove, By: "timeout", At: workflow.Now(ctx), OpenedAt: g.openedAt, Via: "timeout",
				Comment: fmt.Sprintf("no decision within %s; onTimeout is %q", cfg.Timeout, cfg.OnTimeout)}
			f.logger.Warn("Gate timed out", "gate", name, "onTimeout", cfg.OnTimeout)
			break
		}
		wait := remaining
		if remaining <= 0 {
			g.overdue = true
			wait = cfg.Timeout.D()
		}
		if reminder > 0 && reminder < wait {
			wait = reminder
		}
		decided, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return g.decided })
		if err != nil {
			return ApprovalRecord{}, err
		}
		if !decided && (reminder > 0 || g.overdue) && (g.overdue || workflow.Now(ctx).Before(g.deadline)) {
			f.notifyGate(ctx, notify.KindReminder, g, text)
		}
	}
	f.notify(ctx, notify.KindGateDecided, name, fmt.Sprintf("Gate %q of fleet %s %s by %s. %s", name, f.spec.Name, verb(g.record.Approved), g.record.By, g.record.Comment))
	return g.record, nil
}

func (f *fleet) notifyGate(ctx workflow.Context, kind string, g *gate, text string) {
	msg := fmt.Sprintf("%s Decide before %s (then %s).", text, g.deadline.UTC().Format(time.RFC3339), g.cfg.OnTimeout)
	if kind == notify.KindReminder {
		msg = "Reminder: " + msg
	}
	f.send(ctx, notify.Message{Kind: kind, Gate: g.name, Text: msg, Approvers: g.cfg.Approvers, Deadline: g.deadline.UTC().Format(time.RFC3339)})
}

func (f *fleet) notify(ctx workflow.Context, kind, gateName, text string) {
	if kind == "outcome" {
		kind = notify.KindDone
		if f.status.Stopped != nil || strings.Contains(text, "stopped") {
			kind = notify.KindFailed
		}
	}
	f.send(ctx, notify.Message{Kind: kind, Gate: gateName, Text: text})
}

// send posts a message, as a reply in the fleet's Slack thread (a gate's
// decision rewrites its request and reminders); chat being down never
// stops a fleet.
func (f *fleet) send(ctx workflow.Context, msg notify.Message) {
	msg.WorkflowID, msg.Migration = f.id, f.spec.Name
	msg.SlackChannel, msg.WebhookURL = f.spec.Notify.SlackChannel, f.spec.Notify.WebhookURL
	msg = f.slack.reply(msg)
	var d notify.Delivery
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), notifyA.Notify, msg).Get(ctx, &d); err != nil {
		f.logger.Warn("Notification failed", "kind", msg.Kind, "error", err)
		return
	}
	f.slack.delivered(msg, d)
}

func (f *fleet) approvals() []ApprovalRecord {
	var out []ApprovalRecord
	for _, g := range f.gates {
		if g.decided {
			out = append(out, g.record)
		}
	}
	return out
}

// snapshot is the status query's answer.
func (f *fleet) snapshot() FleetStatus {
	s := f.status
	s.Waves = make([]WaveStatus, len(f.status.Waves))
	for i, w := range f.status.Waves {
		w.Members = slices.Clone(w.Members)
		s.Waves[i] = w
	}
	s.Ignored = slices.Clone(f.status.Ignored)
	s.Approvals = f.approvals()
	s.PendingGates = nil
	for _, g := range f.gates {
		if !g.decided {
			s.PendingGates = append(s.PendingGates, PendingGate{Gate: g.name, OpenedAt: g.openedAt, Deadline: g.deadline, OnTimeout: g.cfg.OnTimeout, Approvers: g.cfg.Approvers})
		}
	}
	return s
}

// details renders Current Details for the UI's small frame: the state
// and what to do now first, then one short line per wave.
func (f *fleet) details() {
	var b strings.Builder
	var open *gate
	for _, g := range f.gates {
		if !g.decided {
			open = g
		}
	}
	switch {
	case open != nil:
		b.WriteString(fmt.Sprintf("**Waiting for gate `%s`** — `cutover approve %s --gate %s --by NAME`"+lineBreak, open.name, f.id, open.name))
	case f.status.State == FleetSoaking:
		b.WriteString(fmt.Sprintf("**Soaking wave %s** until %s"+lineBreak, f.status.Wave, f.status.Waves[f.waveIndex(f.status.Wave)].SoakUntil.UTC().Format(time.RFC3339)))
	case f.status.Wave != "":
		b.WriteString(fmt.Sprintf("**%s** · fleet %s · wave %s"+lineBreak, f.status.State, f.spec.Name, f.status.Wave))
	default:
		b.WriteString(fmt.Sprintf("**%s** · fleet %s · %s"+lineBreak, f.status.State, f.spec.Name, f.summary()))
	}
	if s := f.status.Stopped; s != nil {
		b.WriteString(fmt.Sprintf("Stopped at wave %s: %s"+lineBreak, s.Wave, cut(s.Reason, 200)))
	}
	for _, w := range f.status.Waves {
		counts := map[string]int{}
		var order []string
		for _, m := range w.Members {
			if counts[m.Outcome] == 0 {
				order = append(order, m.Outcome)
			}
			counts[m.Outcome]++
		}
		parts := make([]string, len(order))
		for i, o := range order {
			parts[i] = fmt.Sprintf("%d %s", counts[o], o)
		}
		b.WriteString(fmt.Sprintf("- %s (%s): %s\n", w.Name, w.State, strings.Join(parts, ", ")))
	}
	b.WriteString(fmt.Sprintf("\n`cutover fleet status %s` shows every member and its migration's phase.\n", f.id))
	workflow.SetCurrentDetails(f.root, b.String())
}

func (f *fleet) waveIndex(name string) int {
	for i, w := range f.status.Waves {
		if w.Name == name {
			return i
		}
	}
	return 0
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
