package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// cutover's migration metrics. They are emitted through the workflow's
// metrics handler, which drops them while a worker replays history, so
// each is counted once however often a run is replayed. The worker's
// Prometheus naming adds _total to counters and _seconds to timers.
const (
	// metricPhaseStarted (gauge, migration, phase): when the migration
	// entered the phase it is in, Unix seconds; 0 once it left it.
	// Migrations by phase: count by (phase) (... > 0).
	metricPhaseStarted = "cutover_migration_phase_started_timestamp_seconds"
	// metricStarted (counter, kind): runs started, blue_green or in_place.
	metricStarted = "cutover_migrations_started"
	// metricFinished (counter, kind, outcome): runs ended, by outcome.
	metricFinished = "cutover_migrations_finished"
	// metricGateWait (timer, gate, decision): how long a gate waited
	// for its decision (approved, rejected, timeout, unhealthy).
	metricGateWait = "cutover_gate_wait"
	// metricGateDeadline (gauge, migration, gate): when an open gate
	// times out, Unix seconds; 0 once decided.
	metricGateDeadline = "cutover_gate_deadline_timestamp_seconds"
	// metricGreenWeight (gauge, migration): green's share of traffic, %.
	metricGreenWeight = "cutover_traffic_green_weight_percent"
	// metricRollbacks (counter, cause): rollbacks by the failure type
	// that caused them (Unhealthy, Rejected, Aborted, SmokeTestFailed...).
	metricRollbacks = "cutover_rollbacks"
	// metricAlarmToRollback (timer): from the unhealthy reading to all
	// traffic back on blue.
	metricAlarmToRollback = "cutover_alarm_to_rollback"
)

// terminalPhases are where a run ends; the phase gauge does not count them.
var terminalPhases = map[string]bool{PhaseDone: true, PhaseDryRunDone: true, PhaseFailed: true}

// migrationMetrics emits one run's metrics.
type migrationMetrics struct {
	id    string
	kind  string
	phase string // the phase whose gauge is set
}

func newMigrationMetrics(id string, inPlace bool) migrationMetrics {
	kind := "blue_green"
	if inPlace {
		kind = "in_place"
	}
	return migrationMetrics{id: id, kind: kind}
}

func (mm *migrationMetrics) started(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": mm.kind}).Counter(metricStarted).Inc(1)
}

// phaseEntered moves the phase gauge from the phase left to the one
// entered (none for a terminal phase).
func (mm *migrationMetrics) phaseEntered(ctx workflow.Context, phase string) {
	h := workflow.GetMetricsHandler(ctx)
	if mm.phase != "" && mm.phase != phase {
		h.WithTags(map[string]string{"migration": mm.id, "phase": mm.phase}).Gauge(metricPhaseStarted).Update(0)
	}
	mm.phase = ""
	if terminalPhases[phase] {
		return
	}
	mm.phase = phase
	h.WithTags(map[string]string{"migration": mm.id, "phase": phase}).Gauge(metricPhaseStarted).Update(float64(workflow.Now(ctx).Unix()))
}

func (mm *migrationMetrics) finished(ctx workflow.Context, outcome string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"kind": mm.kind, "outcome": outcome}).Counter(metricFinished).Inc(1)
}

func (mm *migrationMetrics) gateOpened(ctx workflow.Context, g *gate) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"migration": mm.id, "gate": g.name}).Gauge(metricGateDeadline).Update(float64(g.deadline.Unix()))
}

// gateClosed clears the gate's deadline, however its wait ended.
func (mm *migrationMetrics) gateClosed(ctx workflow.Context, g *gate) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"migration": mm.id, "gate": g.name}).Gauge(metricGateDeadline).Update(0)
}

// gateDecided records the wait; decision is approved, rejected, timeout
// or unhealthy.
func (mm *migrationMetrics) gateDecided(ctx workflow.Context, g *gate, decision string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"gate": g.name, "decision": decision}).Timer(metricGateWait).Record(workflow.Now(ctx).Sub(g.openedAt))
}

func (mm *migrationMetrics) greenWeight(ctx workflow.Context, green int) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"migration": mm.id}).Gauge(metricGreenWeight).Update(float64(green))
}

func (mm *migrationMetrics) rollback(ctx workflow.Context, cause string) {
	if cause == "" {
		cause = "MigrationFailed"
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"cause": cause}).Counter(metricRollbacks).Inc(1)
}

// alarmToRollback records the time from the unhealthy reading at since
// to traffic back on blue (now).
func (mm *migrationMetrics) alarmToRollback(ctx workflow.Context, since time.Time) {
	workflow.GetMetricsHandler(ctx).Timer(metricAlarmToRollback).Record(workflow.Now(ctx).Sub(since))
}
