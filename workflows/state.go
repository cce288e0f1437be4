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

// details renders the UI's Current Details: phase, progress, traffic and
// how to answer an open gate.
func (m *migration) details() {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**%s** · blue `%s` → green `%s` (Kubernetes %s)\n\n", m.status.Phase, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, m.spec.Green.KubernetesVersion))
	if m.status.Progress != "" {
		b.WriteString(fmt.Sprintf("%s\n\n", m.status.Progress))
	}
	b.WriteString(fmt.Sprintf("Traffic: blue %d%% / green %d%%\n", m.status.Traffic.Blue, m.status.Traffic.Green))
	for _, g := range m.gates {
		if g.decided {
			continue
		}
		b.WriteString(fmt.Sprintf("\nGate `%s` is open until %s. Approve with `cutover approve %s --gate %s --by NAME`, or signal `approval` with `{\"gate\": %q, \"approve\": true, \"by\": \"NAME\"}`.\n",
			g.name, g.deadline.UTC().Format(time.RFC3339), m.info.WorkflowExecution.ID, g.name, g.name))
	}
	if n := len(m.status.IgnoredApprovals); n > 0 {
		b.WriteString(fmt.Sprintf("\nIgnored signal (%d in all, see the status query): %s\n", m.status.IgnoredCount, m.status.IgnoredApprovals[n-1]))
	}
	if m.status.LastError != "" {
		b.WriteString(fmt.Sprintf("\nLast error: %s\n", m.status.LastError))
	}
	workflow.SetCurrentDetails(m.root, b.String())
}

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
