package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// changeFleetStages versions the fleet run with waves as stages (gates
// before and after a wave, maxConcurrency, the soak with its health
// watch, offered versions checked, a stop that waits for a resume, the
// status query). Fleets started before it run wave after wave as they did.
const changeFleetStages = "fleet-stages"

// Fleet states, in the status and Current Details.
const (
	FleetRunning = "Running"
	FleetGate    = "WaitingForGate"
	FleetSoaking = "Soaking"
	FleetStopped = "Stopped"
	FleetDone    = "Done"
	FleetFailed  = "Failed"
)

// Member outcomes besides a migration's own (OutcomeSucceeded, ...).
const (
	MemberPending        = "pending"
	MemberRunning        = "running"
	MemberUpToDate       = "up-to-date"
	MemberSkipped        = "skipped"
	MemberAlreadyStarted = "already-started"
)

// Gate names of a fleet: before-<wave>, after-<wave>, and resume.
const GateResume = "resume"

// WaveGateName is the gate before ("before") or after ("after") a wave.
func WaveGateName(when, wave string) string { return when + "-" + wave }

// fleetStopError is a wave that failed: the fleet stops with it (and,
// with the resume gate, waits for a person).
type fleetStopError struct {
	wave   string
	reason string
	// final: a person decided (a rejected gate); nothing to resume.
	final bool
}

func (e *fleetStopError) Error() string { return fmt.Sprintf("wave %s: %s", e.wave, e.reason) }

// fleet is one run of FleetUpgrade with stages.
type fleet struct {
	spec   FleetSpec
	root   workflow.Context
	id     string
	logger log.Logger
	status FleetStatus
	gates  []*gate
	// offered caches ListOfferedVersions per region for the run.
	offered map[string]eks.OfferedVersions
	// slack is the fleet's Slack thread.
	slack slackThread
}

func newFleet(ctx workflow.Context, f FleetSpec) *fleet {
	fl := &fleet{spec: f.WithDefaults(), root: ctx, id: workflow.GetInfo(ctx).WorkflowExecution.ID, logger: workflow.GetLogger(ctx),
		offered: map[string]eks.OfferedVersions{}}
	fl.status = FleetStatus{Fleet: f.Name, State: FleetRunning, Started: workflow.Now(ctx)}
	for _, w := range fl.spec.Waves {
		ws := WaveStatus{Name: w.Name, State: MemberPending, MaxConcurrency: w.MaxConcurrency}
		for _, m := range w.Migrations {
			ws.Members = append(ws.Members, FleetResult{Wave: w.Name, Logical: m.Blue.LogicalName, Blue: m.Blue.ClusterName, Outcome: MemberPending})
		}
		fl.status.Waves = append(fl.status.Waves, ws)
	}
	return fl
}

// run is the fleet, wave after wave. A failed wave stops the fleet (unless
// continueOnFailure); with the resume gate, a person decides whether it
// resumes from that wave or ends.
func (f *fleet) run(ctx workflow.Context) (*FleetReport, error) {
	for wi := 0; wi < len(f.spec.Waves); wi++ {
		err := f.runWave(ctx, wi)
		if err == nil {
			f.status.Waves[wi].State = FleetDone
			continue
		}
		var stop *fleetStopError
		if !errors.As(err, &stop) {
			return f.finish(FleetFailed), err // canceled
		}
		f.status.Waves[wi].State = FleetFailed
		f.status.Waves[wi].Reason = stop.reason
		f.logger.Warn("Wave failed", "wave", stop.wave, "reason", stop.reason)
		if f.spec.ContinueOnFailure && !stop.final {
			continue
		}
		if !stop.final && f.spec.Resume.IsEnabled() {
			resume, err := f.awaitResume(ctx, wi, stop)
			if err != nil {
				return f.finish(FleetFailed), err
			}
			if resume {
				wi-- // the same wave again: what did not succeed
				continue
			}
		}
		f.skipAfter(wi)
		f.notify(ctx, "outcome", "", fmt.Sprintf("Fleet %s stopped at wave %s: %s", f.spec.Name, stop.wave, stop.reason))
		return f.finish(FleetStopped), failures.WithDetails("FleetStopped", fmt.Sprintf("wave %s: %s; later waves skipped", stop.wave, stop.reason), f.report())
	}
	failed := 0
	for _, w := range f.status.Waves {
		for _, m := range w.Members {
			if m.Outcome == OutcomeFailed || m.Outcome == OutcomeRolledBack {
				failed++
			}
		}
	}
	f.notify(ctx, "outcome", "", fmt.Sprintf("Fleet %s done: %s", f.spec.Name, f.summary()))
	if failed > 0 {
		// continueOnFailure: every wave ran, some members did not move.
		return f.finish(FleetDone), failures.WithDetails("FleetStopped", fmt.Sprintf("%d migration(s) failed or rolled back (continueOnFailure)", failed), f.report())
	}
	return f.finish(FleetDone), nil
}

func (f *fleet) finish(state string) *FleetReport {
	f.status.State = state
	f.status.Wave = ""
	f.details()
	return f.report()
}

func (f *fleet) report() *FleetReport {
	r := &FleetReport{Fleet: f.spec.Name, Results: []FleetResult{}}
	for _, w := range f.status.Waves {
		r.Results = append(r.Results, w.Members...)
	}
	r.Approvals = f.approvals()
	return r
}

// runWave is one stage: gate before, the migrations (at most
// maxConcurrency at a time), gate after, then the soak when another wave
// follows.
func (f *fleet) runWave(ctx workflow.Context, wi int) error {
	wave := f.spec.Waves[wi]
	ws := &f.status.Waves[wi]
	f.status.Wave = wave.Name
	ws.Reason = ""
	f.offered = map[string]eks.OfferedVersions{} // read again for every wave
	ws.Started = workflow.Now(ctx)
	f.logger.Info("Wave started", "wave", wave.Name, "members", len(wave.Migrations), "maxConcurrency", wave.MaxConcurrency)

	if err := f.waveGate(ctx, wi, "before", wave.GateBefore); err != nil {
		return err
	}
	ws.State = FleetRunning
	f.details()
	if err := f.migrate(ctx, wi); err != nil {
		return err
	}
	if err := f.waveGate(ctx, wi, "after", wave.GateAfter); err != nil {
		return err
	}
	if wi < len(f.spec.Waves)-1 {
		return f.soak(ctx, wi)
	}
	return nil
}

func (f *fleet) waveGate(ctx workflow.Context, wi int, when string, cfg spec.GateSpec) error {
	if !cfg.IsEnabled() {
		return nil
	}
	wave := f.spec.Waves[wi].Name
	f.status.Waves[wi].State = FleetGate
	name := WaveGateName(when, wave)
	rec, err := f.gate(ctx, name, cfg, fmt.Sprintf("Fleet %s waits for approval of gate %q %s wave %s.", f.spec.Name, name, map[string]string{"before": "before", "after": "after"}[when], wave))
	if err != nil {
		return err
	}
	if !rec.Approved {
		return &fleetStopError{wave: wave, reason: fmt.Sprintf("gate %q rejected by %s%s", name, rec.By, commentSuffix(rec.Comment)), final: true}
	}
	return nil
}

// migrate plans and runs the wave's members that have not succeeded yet
// (all of them, unless the wave is resumed), at most maxConcurrency child
// migrations at a time.
func (f *fleet) migrate(ctx workflow.Context, wi int) error {
	wave := f.spec.Waves[wi]
	ws := &f.status.Waves[wi]
	type child struct {
		idx    int
		spec   spec.MigrationSpec
		future workflow.ChildWorkflowFuture
	}
	var queue []child
	for i, m := range wave.Migrations {
		switch ws.Members[i].Outcome {
		case OutcomeSucceeded, MemberUpToDate, MemberAlreadyStarted:
			continue // done in an earlier attempt of this wave
		}
		res, ms, ok := f.plan(ctx, wave.Name, m)
		ws.Members[i] = res
		if ok {
			queue = append(queue, child{idx: i, spec: ms})
		}
	}
	f.details()
	limit := wave.MaxConcurrency
	if limit <= 0 || limit > len(queue) {
		limit = len(queue)
	}
	sel := workflow.NewSelector(ctx)
	running := 0
	start := func(c child) {
		res := &ws.Members[c.idx]
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: res.WorkflowID,
			TaskQueue:  TaskQueue,
			// Children are abandoned, not cancelled, with the fleet: a
			// migration waiting at a gate belongs to its approvers.
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			// A migration that succeeded under this ID is never run
			// again; a failed one may be (a resumed wave).
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		})
		f.logger.Info("Starting migration", "wave", wave.Name, "blue", c.spec.Blue.ClusterName, "green", c.spec.Green.ClusterName, "from", res.From, "to", res.To)
		res.Outcome, res.Started = MemberRunning, workflow.Now(ctx)
		running++
		fut := workflow.ExecuteChildWorkflow(cctx, WorkflowType, c.spec)
		sel.AddFuture(fut, func(fu workflow.Future) {
			running--
			var mr MigrationReport
			err := fu.Get(ctx, &mr)
			res.Ended = workflow.Now(ctx)
			switch {
			case err == nil:
				res.Outcome = mr.Outcome
			case temporal.IsWorkflowExecutionAlreadyStartedError(err):
				// Another run of this fleet (a re-triggered schedule)
				// started this very migration: it is not started twice.
				res.Outcome, res.Reason = MemberAlreadyStarted, fmt.Sprintf("migration %s was already started by another run; this run does not start it again", res.WorkflowID)
			case failures.Is(err, failures.RolledBack):
				res.Outcome, res.Reason = OutcomeRolledBack, failures.Message(err)
			default:
				res.Outcome, res.Reason = OutcomeFailed, failures.Message(err)
			}
			f.logger.Info("Migration ended", "wave", wave.Name, "blue", res.Blue, "outcome", res.Outcome)
			f.details()
		})
		f.details()
	}
	next := 0
	for ; next < limit; next++ {
		start(queue[next])
	}
	for running > 0 {
		sel.Select(ctx)
		if next < len(queue) && running < limit {
			start(queue[next])
			next++
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var bad []string
	for _, m := range ws.Members {
		if m.Outcome == OutcomeFailed || m.Outcome == OutcomeRolledBack {
			bad = append(bad, fmt.Sprintf("%s %s (%s)", memberName(m), m.Outcome, m.Reason))
		}
	}
	if len(bad) > 0 {
		return &fleetStopError{wave: wave.Name, reason: strings.Join(bad, "; ")}
	}
	return nil
}

func memberName(m FleetResult) string {
	if m.Logical != "" {
		return m.Logical
	}
	return m.Blue
}

// plan resolves a member (its logical cluster, its version), picks its
// target and checks EKS offers it. ok is false for a member that does
// not move (up to date, or a failure recorded in res).
func (f *fleet) plan(ctx workflow.Context, waveName string, m spec.MigrationSpec) (res FleetResult, _ spec.MigrationSpec, ok bool) {
	res = FleetResult{Wave: waveName, Blue: m.Blue.ClusterName, Logical: m.Blue.LogicalName}
	fail := func(err error) (FleetResult, spec.MigrationSpec, bool) {
		res.Outcome, res.Reason = OutcomeFailed, failures.Message(err)
		return res, m, false
	}
	// A logical cluster is whichever physical cluster took it over last
	// (a green of an earlier quarter), or its original.
	var names []string
	if l := m.Blue.LogicalName; l != "" {
		lc, err := call[eks.LogicalCluster](ctx, readOptions, eksA.ResolveLogicalCluster, eks.ResolveLogicalInput{Region: m.Blue.Region, Logical: l, Original: m.Blue.ClusterName})
		if err != nil {
			return fail(err)
		}
		m.Blue.ClusterName, res.Blue, names = lc.Cluster, lc.Cluster, lc.Names
		f.logger.Info("Resolved logical cluster", "logical", l, "cluster", lc.Cluster, "generation", lc.Generation)
	}
	blue, err := call[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: clustersRef(m.Blue)})
	if err != nil {
		return fail(err)
	}
	res.From = blue.Version
	to, move := NextVersion(blue.Version, f.spec.TargetVersion)
	res.To = to
	if !move {
		res.Outcome, res.Reason = MemberUpToDate, fmt.Sprintf("at %s, the fleet's target is %s", blue.Version, to)
		if to == "" {
			res.Reason = fmt.Sprintf("version %q is not a Kubernetes minor version", blue.Version)
		}
		return res, m, false
	}
	offered, err := f.offeredIn(ctx, m.Blue.Region)
	if err != nil {
		return fail(err)
	}
	if !offered.Offers(to) {
		if f.spec.TargetVersion == "" {
			// The next minor is not out yet: this member is as new as EKS allows.
			res.Outcome, res.Reason = MemberUpToDate, fmt.Sprintf("at %s; EKS in %s offers no %s yet (newest %s)", blue.Version, m.Blue.Region, to, offered.Newest())
			return res, m, false
		}
		return fail(failures.New(failures.Validation, "EKS in %s does not offer Kubernetes %s (offered: %s)", m.Blue.Region, to, strings.Join(offered.Names(), ", ")))
	}
	nameMember(&m, to, names)
	res.Green, res.WorkflowID, res.Outcome = m.Green.ClusterName, m.WorkflowID(), MemberPending
	return res, m, true
}

// offeredIn reads (once per wave and region) the versions EKS offers.
func (f *fleet) offeredIn(ctx workflow.Context, region string) (eks.OfferedVersions, error) {
	if o, ok := f.offered[region]; ok {
		return o, nil
	}
	o, err := call[eks.OfferedVersions](ctx, readOptions, eksA.ListOfferedVersions, eks.OfferedVersionsInput{Region: region})
	if err == nil {
		f.offered[region] = o
	}
	return o, err
}

// soak waits (a durable timer) before the next wave while the wave's
// migrated members are watched: each member's traffic alarms and probes
// for the whole soak, then each new cluster's EKS status. An unhealthy
// member stops the fleet.
func (f *fleet) soak(ctx workflow.Context, wi int) error {
	wave := f.spec.Waves[wi]
	d := wave.Soak.D()
	if d <= 0 {
		return nil
	}
	ws := &f.status.Waves[wi]
	until := workflow.Now(ctx).Add(d)
	ws.State, ws.SoakUntil = FleetSoaking, until
	f.status.State = FleetSoaking
	f.details()
	f.logger.Info("Soak started", "wave", wave.Name, "until", until)
	defer func() {
		f.status.State = FleetRunning
		f.details()
	}()

	var problems []string
	pending := 0
	wctx, stopWatches := workflow.WithCancel(ctx)
	defer stopWatches()
	for i, m := range wave.Migrations {
		res := ws.Members[i]
		if res.Outcome != OutcomeSucceeded {
			continue
		}
		in := healthInput(m)
		if len(in.Alarms)+len(in.Probes) == 0 {
			continue
		}
		pending++
		workflow.Go(wctx, func(gctx workflow.Context) {
			defer func() { pending-- }()
			if problem := f.watchMember(gctx, wave.Name, res, in, until); problem != "" {
				problems = append(problems, problem)
			}
		})
	}
	if err := workflow.Await(ctx, func() bool { return len(problems) > 0 || pending == 0 }); err != nil {
		return err
	}
	stopWatches()
	if len(problems) == 0 {
		if rem := until.Sub(workflow.Now(ctx)); rem > 0 {
			if err := workflow.Sleep(ctx, rem); err != nil {
				return err
			}
		}
		// The soak ends with each new cluster's own health as EKS sees it.
		for i, m := range wave.Migrations {
			res := ws.Members[i]
			if res.Outcome != OutcomeSucceeded || res.Green == "" {
				continue
			}
			d, err := call[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: clustersRef(spec.BlueSpec{ClusterName: res.Green, Region: m.Blue.Region})})
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: cluster %s could not be read: %s", memberName(res), res.Green, failures.Message(err)))
			case d.Status != "ACTIVE":
				problems = append(problems, fmt.Sprintf("%s: cluster %s is %s", memberName(res), res.Green, d.Status))
			}
		}
	}
	if len(problems) > 0 {
		return &fleetStopError{wave: wave.Name, reason: "unhealthy during the soak: " + strings.Join(problems, "; ")}
	}
	f.logger.Info("Soak ended", "wave", wave.Name)
	return nil
}

// watchMember watches one member's alarms and probes until the soak
// ends, chunk after chunk; it returns what was unhealthy ("" when
// healthy or canceled).
func (f *fleet) watchMember(ctx workflow.Context, wave string, res FleetResult, in traffic.HealthInput, until time.Time) string {
	for workflow.Now(ctx).Before(until) && ctx.Err() == nil {
		chunk := min(until.Sub(workflow.Now(ctx)), gateWatchChunk)
		end := workflow.Now(ctx).Add(chunk)
		var w traffic.WatchResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, watchOptionsFor(chunk, in.ReadBudget.D())), trafA.WatchTrafficHealth, traffic.WatchInput{
			Health: in, Until: end, Interval: duration.Duration(maxReadingInterval), What: fmt.Sprintf("fleet %s soak of wave %s: %s", f.spec.Name, wave, memberName(res)),
		}).Get(ctx, &w)
		switch {
		case err != nil && (temporal.IsCanceledError(err) || ctx.Err() != nil):
			return ""
		case err != nil:
			return fmt.Sprintf("%s: alarms and probes could not be read: %s", memberName(res), failures.Message(err))
		case !w.Healthy:
			return fmt.Sprintf("%s: %s", memberName(res), strings.Join(w.Reasons, "; "))
		}
		// The watch ends at end by the worker's clock; sleep out any skew.
		if rem := end.Sub(workflow.Now(ctx)); rem > 0 {
			if workflow.Sleep(ctx, rem) != nil {
				return ""
			}
		}
	}
	return ""
}

// awaitResume opens the resume gate of a stopped fleet: approving re-runs
// the wave's members that did not succeed; rejecting or the timeout ends
// the fleet.
func (f *fleet) awaitResume(ctx workflow.Context, wi int, stop *fleetStopError) (bool, error) {
	f.status.State = FleetStopped
	f.status.Stopped = &FleetStop{Wave: stop.wave, Reason: stop.reason, At: workflow.Now(ctx)}
	f.details()
	rec, err := f.gate(ctx, GateResume, f.spec.Resume, fmt.Sprintf("Fleet %s stopped at wave %s: %s. Approve gate %q to run the wave's failed members again and go on, or reject it to end the fleet.", f.spec.Name, stop.wave, stop.reason, GateResume))
	if err != nil {
		return false, err
	}
	if !rec.Approved {
		return false, nil
	}
	f.logger.Info("Fleet resumed", "wave", stop.wave, "by", rec.By)
	f.status.State, f.status.Stopped = FleetRunning, nil
	f.status.Resumes++
	f.details()
	return true, nil
}

// skipAfter marks the members of the waves after wi skipped.
func (f *fleet) skipAfter(wi int) {
	for w := wi + 1; w < len(f.status.Waves); w++ {
		ws := &f.status.Waves[w]
		ws.State = MemberSkipped
		for i := range ws.Members {
			ws.Members[i].Outcome, ws.Members[i].Reason = MemberSkipped, "an earlier wave failed"
		}
	}
}

// summary counts members by outcome, e.g. "3 succeeded, 1 up-to-date".
func (f *fleet) summary() string {
	counts := map[string]int{}
	var order []string
	for _, w := range f.status.Waves {
		for _, m := range w.Members {
			if counts[m.Outcome] == 0 {
				order = append(order, m.Outcome)
			}
			counts[m.Outcome]++
		}
	}
	parts := make([]string, len(order))
	for i, o := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[o], o)
	}
	return strings.Join(parts, ", ")
}
