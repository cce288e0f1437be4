package workflows

import (
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changePlainRecords versions simple Route53 records: converted into the
// weighted pair before the first traffic step, and back to a simple record
// after the move (at green) or on a rollback (at blue, as it was) when
// traffic.route53.afterMigration says "simple".
const changePlainRecords = "plain-records"

func (m *migration) plainRecordsOn(ctx workflow.Context) bool {
	if m.plain.on == nil {
		on := workflow.GetVersion(ctx, changePlainRecords, workflow.DefaultVersion, 1) == 1
		m.plain.on = &on
	}
	return *m.plain.on
}

// plainState caches the version and remembers the conversion.
type plainState struct {
	on *bool
}

// simpleAfter reports whether a converted record becomes simple again.
func (m *migration) simpleAfter() bool {
	r := m.spec.Traffic.Route53
	return m.done.PlainConverted && r != nil && r.AfterMigration == spec.AfterMigrationSimple
}

// convertPlainRecord makes blue's simple record the weighted pair (blue
// 100, green 0) in one atomic change, waited to INSYNC, before the first
// traffic step. A record already weighted is left as it is.
func (m *migration) convertPlainRecord(ctx workflow.Context) error {
	if m.target.Provider != traffic.ProviderRoute53 || !m.plainRecordsOn(ctx) {
		return nil
	}
	res, err := short[traffic.ConvertResult](ctx, trafficSetOptions, trafA.ConvertToWeighted, m.target)
	if err != nil {
		return err
	}
	if res.Swapped {
		// A pair an earlier migration kept weighted: all of it was on
		// green's record, naming the cluster that is blue now.
		m.progress("The pair of " + m.target.Route53.RecordName + " was all on green's record: blue's record now names what served (blue 100, green 0)")
		if res.Change.ID != "" {
			if err := run(ctx, propagateOptions, trafA.WaitTrafficPropagated, res.Change); err != nil {
				return err
			}
		}
		m.report.TrafficHistory = append(m.report.TrafficHistory, TrafficEvent{At: workflow.Now(ctx), Blue: 100, Reason: "pair left on green's record by an earlier migration: blue's record now names what served"})
		return nil
	}
	if !res.Converted {
		return nil
	}
	m.progress("Converted the simple record " + m.target.Route53.RecordName + " into a weighted pair (blue 100, green 0)")
	m.done.PlainConverted = true
	if res.Original != nil {
		m.done.PlainOriginal = res.Original
	}
	if res.Change.ID != "" {
		if err := run(ctx, propagateOptions, trafA.WaitTrafficPropagated, res.Change); err != nil {
			return err
		}
	}
	m.report.TrafficHistory = append(m.report.TrafficHistory, TrafficEvent{At: workflow.Now(ctx), Blue: 100, Reason: "simple record converted into a weighted pair"})
	return nil
}

// simpleRecordAt writes the pair back as one simple record pointing at
// to ("green" after the move, "blue" on a rollback).
func (m *migration) simpleRecordAt(ctx workflow.Context, to string, opts, waitOpts workflow.ActivityOptions) error {
	if !m.simpleAfter() {
		return nil
	}
	m.progress("Making " + m.target.Route53.RecordName + " a simple record again, pointing at " + to)
	ch, err := call[traffic.Change](ctx, opts, trafA.ConvertToSimple, traffic.ToSimpleInput{Target: m.target, To: to, Original: m.done.PlainOriginal})
	if err != nil {
		return err
	}
	if ch.ID != "" && !ch.Noop {
		if err := run(ctx, waitOpts, trafA.WaitTrafficPropagated, ch); err != nil {
			return err
		}
	}
	m.done.PlainConverted = false
	return nil
}
