package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// enter closes the current phase and opens the next, upserting CutoverPhase.
func (m *migration) enter(ctx workflow.Context, phase string) {
	m.finishPhase(ctx, "ok")
	m.status.Phases = append(m.status.Phases, PhaseTiming{Phase: phase, Started: workflow.Now(ctx)})
	m.setPhase(ctx, phase)
	m.progress("")
	m.logger.Info("Phase started", "phase", phase)
}

func (m *migration) setPhase(ctx workflow.Context, phase string) {
	m.status.Phase = phase
	m.metrics.phaseEntered(ctx, phase)
	if err := workflow.UpsertTypedSearchAttributes(ctx, PhaseKey.ValueSet(phase)); err != nil {
		m.logger.Warn("Search attribute not updated", "attribute", PhaseKey.GetName(), "error", err)
	}
}

func (m *migration) finishPhase(ctx workflow.Context, outcome string) {
	n := len(m.status.Phases)
	if n == 0 || !m.status.Phases[n-1].Ended.IsZero() {
		return
	}
	p := &m.status.Phases[n-1]
	p.Ended = workflow.Now(ctx)
	p.Duration = p.Ended.Sub(p.Started).String()
	p.Outcome = outcome
}

// progress records what the run is doing now, for the status query and
// the Temporal UI's "Current Details".
func (m *migration) progress(msg string) {
	m.status.Progress = msg
	m.details()
}

// details renders the UI's Current Details for its small frame (the UI
// shows about three lines): first the state and what to do now, then at
// most three short lines. The whole story stays in the status query and
// `cutover status`.
func (m *migration) details() {
	id := m.info.WorkflowExecution.ID
	// The UI renders Markdown: lines end in a hard break ("  \n"), or
	// they would run together as one paragraph.
	var b strings.Builder
	var open *gate
	for _, g := range m.gates {
		if !g.decided {
			open = g
		}
	}
	lines := 0
	line := func(format string, args ...any) {
		if lines < 3 {
			b.WriteString(fmt.Sprintf(format, args...) + lineBreak)
			lines++
		}
	}
	switch m.status.Outcome {
	case OutcomeSucceeded:
		if m.spec.IsInPlace() {
			b.WriteString(fmt.Sprintf("**Done** — %s is at Kubernetes %s, upgraded in place. Report: `cutover report %s -o html`"+lineBreak, m.spec.Blue.ClusterName, m.spec.Green.KubernetesVersion, id))
			break
		}
		b.WriteString(fmt.Sprintf("**Done** — %s serves all traffic on Kubernetes %s; %s retired. Report: `cutover report %s -o html`"+lineBreak, m.spec.Green.ClusterName, m.spec.Green.KubernetesVersion, m.spec.Blue.ClusterName, id))
	case OutcomeDryRun:
		b.WriteString(fmt.Sprintf("**Dry run done** — nothing was created. The plan: `cutover result %s`"+lineBreak, id))
	case OutcomeRolledBack:
		b.WriteString(fmt.Sprintf("**Rolled back** — traffic is on %s. `cutover result %s`"+lineBreak, m.spec.Blue.ClusterName, id))
		line("Why: %s", cut(m.status.LastError, 160))
	case OutcomeFailed:
		b.WriteString(fmt.Sprintf("**Failed** — %s. `cutover result %s`"+lineBreak, cut(m.status.LastError, 200), id))
	default:
		if open != nil {
			b.WriteString(fmt.Sprintf("**Waiting for gate %q** — `cutover approve %s --gate %s --by NAME` (or reject)"+lineBreak, open.name, id, open.name))
			line("Open until %s, then %s.", open.deadline.UTC().Format(time.RFC3339), open.cfg.OnTimeout)
		} else {
			if m.spec.IsInPlace() {
				b.WriteString(fmt.Sprintf("**%s** · %s in place to Kubernetes %s"+lineBreak, m.status.Phase, m.spec.Blue.ClusterName, m.spec.Green.KubernetesVersion))
			} else {
				b.WriteString(fmt.Sprintf("**%s** · %s → %s (Kubernetes %s)"+lineBreak, m.status.Phase, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, m.spec.Green.KubernetesVersion))
			}
		}
		// The gate's own wait is the first line already.
		if p := m.status.Progress; p != "" && (open == nil || !strings.HasPrefix(p, "Waiting for approval of gate")) {
			line("%s", cut(p, 160))
		}
		if t := m.status.Traffic; t.Green > 0 {
			line("Traffic: blue %d%% / green %d%%", t.Blue, t.Green)
		}
		if m.status.LastError != "" {
			line("Last error: %s", cut(m.status.LastError, 160))
		}
	}
	if u := m.status.ReportURL; u != "" && m.status.Outcome != "" {
		line("Report in Slack: %s", u)
	}
	if n := m.status.IgnoredCount; n > 0 {
		line("%d signal(s) ignored; see `cutover status %s`", n, id)
	}
	workflow.SetCurrentDetails(m.root, b.String())
}

// lineBreak ends a line of Current Details: a Markdown hard break.
const lineBreak = "  \n"

// snapshot is the status query's answer.
func (m *migration) snapshot(ctx workflow.Context) Status {
	s := m.status
	s.Phases = append([]PhaseTiming(nil), m.status.Phases...)
	s.PendingGates = nil
	s.Approvals = nil
	for _, g := range m.gates {
		if g.decided {
			s.Approvals = append(s.Approvals, g.record)
			continue
		}
		s.PendingGates = append(s.PendingGates, PendingGate{Gate: g.name, OpenedAt: g.openedAt, Deadline: g.deadline, OnTimeout: g.cfg.OnTimeout, Approvers: g.cfg.Approvers})
	}
	return s
}

// collect copies the status into the report at the end.
func (m *migration) collect() {
	m.report.Phases = append([]PhaseTiming(nil), m.status.Phases...)
	m.report.Approvals = nil
	for _, g := range m.gates {
		if g.decided {
			m.report.Approvals = append(m.report.Approvals, g.record)
		}
	}
}
