package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// FleetWorkflowType is the scheduled upgrade of a fleet of clusters.
const FleetWorkflowType = "FleetUpgrade"

// FleetSpec is the input of FleetUpgrade, the workflow a Temporal Schedule
// runs every quarter: for each cluster it picks the next EKS version and
// runs a BlueGreenMigration, wave by wave.
type FleetSpec struct {
	// Name of the fleet, used in child workflow IDs.
	Name string `json:"name"`
	// Waves run one after another; the migrations of one wave run in parallel.
	Waves []FleetWave `json:"waves"`
	// TargetVersion, when set, is the version every cluster moves to;
	// otherwise each moves one minor version up from where it is.
	TargetVersion string `json:"targetVersion,omitempty"`
	// ContinueOnFailure starts the next wave even when a migration of this
	// one failed or rolled back. Default false: a failure stops the fleet.
	ContinueOnFailure bool `json:"continueOnFailure"`
	// Resume is the gate a stopped fleet waits at: approving "resume" runs
	// the failed wave's members that did not succeed again and goes on;
	// rejecting it, or its timeout (default 7d, onTimeout "reject"), ends
	// the fleet. Enabled by default; "enabled": false ends the fleet at
	// the first failed wave.
	Resume spec.GateSpec `json:"resume"`
	// ReminderInterval re-posts an open fleet gate. Default "1h"; "0s" turns reminders off.
	ReminderInterval *spec.Duration `json:"reminderInterval,omitempty"`
	// Notify posts the fleet's gates (with approve buttons), stops and outcome.
	Notify spec.NotifySpec `json:"notify"`
}

// Fleet defaults.
const (
	DefaultWaveSoak     = 24 * time.Hour
	DefaultResumeWait   = 7 * 24 * time.Hour
	maxWaveSoak         = 30 * 24 * time.Hour
	maxFleetConcurrency = 100
)

// WithDefaults names unnamed waves "wave-N", gives each wave its soak
// (24h) and its gates their defaults (off; 24h, onTimeout "reject"), and
// the resume gate its own (on; 7d, "reject").
func (f FleetSpec) WithDefaults() FleetSpec {
	f.Waves = slices.Clone(f.Waves)
	for i := range f.Waves {
		w := &f.Waves[i]
		if w.Name == "" {
			w.Name = fmt.Sprintf("wave-%d", i+1)
		}
		if w.Soak == nil {
			d := spec.Duration(DefaultWaveSoak)
			w.Soak = &d
		}
		w.GateBefore = spec.GateWithDefaults(w.GateBefore, false, spec.OnTimeoutReject)
		w.GateAfter = spec.GateWithDefaults(w.GateAfter, false, spec.OnTimeoutReject)
	}
	if f.Resume.Timeout == 0 {
		f.Resume.Timeout = spec.Duration(DefaultResumeWait)
	}
	f.Resume = spec.GateWithDefaults(f.Resume, true, spec.OnTimeoutReject)
	if f.ReminderInterval == nil {
		d := spec.Duration(time.Hour)
		f.ReminderInterval = &d
	}
	return f
}

// validateStages checks what the fleet adds to its members: wave names
// (they name gates), concurrency, soak, gates, notify.
func (f FleetSpec) validateStages() spec.FieldErrors {
	d := f.WithDefaults()
	var errs spec.FieldErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, spec.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i, w := range d.Waves {
		field := fmt.Sprintf("waves[%d]", i)
		if !waveNameRE.MatchString(w.Name) {
			add(field+".name", "must be lowercase letters, digits and '-' (it names the wave's gates, e.g. \"before-%s\"), at most 40 characters, got %q", "canary", w.Name)
		} else if j, dup := seen[w.Name]; dup {
			add(field+".name", "duplicates waves[%d].name %q", j, w.Name)
		}
		seen[w.Name] = i
		if w.MaxConcurrency < 0 || w.MaxConcurrency > maxFleetConcurrency {
			add(field+".maxConcurrency", "must be between 0 (all at once) and %d, got %d", maxFleetConcurrency, w.MaxConcurrency)
		}
		if s := w.Soak.D(); s < 0 || s > maxWaveSoak {
			add(field+".soak", "must be between 0s (none) and %s, got %s", spec.Duration(maxWaveSoak), w.Soak)
		}
		errs = append(errs, spec.ValidateGate(field+".gateBefore", w.GateBefore)...)
		errs = append(errs, spec.ValidateGate(field+".gateAfter", w.GateAfter)...)
	}
	errs = append(errs, spec.ValidateGate("resume", d.Resume)...)
	if r := d.ReminderInterval.D(); r < 0 || r > 7*24*time.Hour {
		add("reminderInterval", "must be between 0s (off) and 168h, got %s", d.ReminderInterval)
	}
	errs = append(errs, spec.ValidateNotify("notify", d.Notify)...)
	return errs
}

var waveNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)

// CheckFleet reads a fleet document into f with the strict reader of
// migration specs (spec.DecodeStrict) and checks the fleet and each member
// spec as a migration would, with the version left to the fleet (the newest
// known EKS version stands in). It returns every problem with its path,
// e.g. "waves[0].migrations[1].traffic.steps[0]".
func CheckFleet(data []byte, f *FleetSpec) spec.FieldErrors {
	zeros, errs := spec.DecodeStrict(data, f)
	for _, e := range errs {
		if e.Field == spec.DocumentField {
			return errs
		}
	}
	// What the run will use, for ReplacedZeros: the fleet's defaults and
	// each member's.
	defaulted := f.WithDefaults()
	var verrs spec.FieldErrors
	if f.Name == "" {
		verrs = append(verrs, spec.FieldError{Field: "name", Reason: "is required"})
	}
	if len(f.Waves) == 0 {
		verrs = append(verrs, spec.FieldError{Field: "waves", Reason: "must list at least one wave"})
	}
	if v := f.TargetVersion; v != "" && !spec.IsKnownEKSVersion(v) {
		verrs = append(verrs, spec.FieldError{Field: "targetVersion", Reason: fmt.Sprintf("%s is not a Kubernetes version EKS offers", v)})
	}
	known := spec.KnownEKSVersions()
	placeholder := known[len(known)-1].Version
	for i, w := range f.Waves {
		defaulted.Waves[i].Migrations = make([]spec.MigrationSpec, len(w.Migrations))
		// An empty wave name is "wave-N", as it always was.
		defaulted.Waves[i].Name = w.Name
		if len(w.Migrations) == 0 {
			verrs = append(verrs, spec.FieldError{Field: fmt.Sprintf("waves[%d].migrations", i), Reason: "must list at least one migration"})
		}
		for j, m := range w.Migrations {
			defaulted.Waves[i].Migrations[j] = m.WithDefaults()
			if m.Blue.ClusterName == "" && m.Blue.LogicalName != "" {
				// The logical cluster's original is named like it.
				m.Blue.ClusterName = m.Blue.LogicalName
			}
			if m.Green.KubernetesVersion == "" {
				m.Green.KubernetesVersion = placeholder
			}
			if m.Name == "" {
				m.Name = "fleet-member"
			}
			var fe spec.FieldErrors
			if errors.As(m.WithDefaults().Validate(), &fe) {
				for _, e := range fe {
					verrs = append(verrs, spec.FieldError{Field: fmt.Sprintf("waves[%d].migrations[%d].%s", i, j, e.Field), Reason: e.Reason})
				}
			}
		}
	}
	verrs = append(verrs, f.validateStages()...)
	errs = append(errs, spec.ReplacedZeros(defaulted, zeros)...)
	return append(errs, spec.NotYetReported(verrs, errs)...)
}

// FleetSchema is the JSON Schema of a fleet file; source is fleet.go, for
// the field descriptions.
func FleetSchema(source string) ([]byte, error) {
	return spec.SchemaOf(FleetSpec{}, "https://cutover.dev/schema/fleet.schema.json", "cutover FleetSpec", spec.SchemaOptions{
		Sources: []string{source},
		// The fleet names each migration and picks its version; a member
		// naming its logical cluster may leave blue's physical name out.
		NotRequired: []string{"MigrationSpec.Name", "GreenSpec.KubernetesVersion", "BlueSpec.ClusterName"},
		Required:    []string{"FleetSpec.Name", "FleetSpec.Waves", "FleetWave.Migrations"},
		Rules: map[string]map[string]any{
			"FleetSpec.TargetVersion": {"enum": spec.KnownVersionNames()},
			"FleetSpec.Waves":         {"minItems": 1},
			"FleetWave.Migrations":    {"minItems": 1},
		},
	})
}

// FleetWave is a stage: a set of migrations run together, with optional
// gates around it and a soak before the next wave.
type FleetWave struct {
	// Name of the wave (lowercase letters, digits, '-'); default "wave-N".
	// It names the wave's gates: "before-<name>" and "after-<name>".
	Name string `json:"name"`
	// MaxConcurrency bounds the wave's migrations that run at once; 0 (the default) runs all at once.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
	// Soak is the durable wait after the wave, before the next one starts, while the wave's migrated members are watched (their traffic alarms and probes, then their new clusters' EKS status); an unhealthy member stops the fleet. Default "24h"; "0s" for none. There is no soak after the last wave.
	Soak *spec.Duration `json:"soak,omitempty"`
	// GateBefore is a gate ("before-<name>") a person approves before the wave starts. Off by default.
	GateBefore spec.GateSpec `json:"gateBefore"`
	// GateAfter is a gate ("after-<name>") after the wave's migrations, before its soak. Off by default.
	GateAfter spec.GateSpec `json:"gateAfter"`
	// Migrations are full migration specs whose green.kubernetesVersion
	// (and usually green.clusterName and name) are left empty: the fleet
	// fills them in from blue's current version. A member that names its
	// logical cluster (blue.logicalName, e.g. "shop-prod") is resolved each
	// run to the one ACTIVE cluster tagged with it, or to its untagged
	// original (blue.clusterName, default the logical name); its green is
	// named "<logical>-<version>" (never an existing cluster's name) and
	// takes the logical cluster over when blue is retired.
	Migrations []spec.MigrationSpec `json:"migrations"`
}

// FleetResult is one cluster's outcome.
type FleetResult struct {
	Wave string `json:"wave"`
	// Logical is the member's logical cluster (blue.logicalName), Blue
	// the physical cluster it resolved to.
	Logical string `json:"logical,omitempty"`
	Blue    string `json:"blue"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	// Green is the cluster the migration builds.
	Green      string `json:"green,omitempty"`
	WorkflowID string `json:"workflowId,omitempty"`
	// Outcome: pending, running, succeeded, rolled-back, failed,
	// up-to-date, skipped, already-started.
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	Started time.Time `json:"started,omitempty"`
	Ended   time.Time `json:"ended,omitempty"`
	// Phase is the child migration's phase (its CutoverPhase search
	// attribute); `cutover fleet status` fills it in.
	Phase string `json:"phase,omitempty"`
}

// FleetReport is FleetUpgrade's result.
type FleetReport struct {
	Fleet     string           `json:"fleet"`
	Results   []FleetResult    `json:"results"`
	Approvals []ApprovalRecord `json:"approvals,omitempty"`
}

// NextVersion is the version a cluster at current moves to: target when
// set, else one minor up. ok is false when the cluster is already there.
func NextVersion(current, target string) (string, bool) {
	cur, okc := spec.MinorVersion(current)
	if target != "" {
		t, okt := spec.MinorVersion(target)
		if okc && okt && t <= cur {
			return target, false
		}
		return target, true
	}
	if !okc {
		return "", false
	}
	return "1." + strconv.Itoa(cur+1), true
}

// GreenName names green after blue: a trailing version suffix of blue's
// name ("shop-1-30") is replaced, so quarter after quarter names stay short.
func GreenName(blue, version string) string {
	base := blue
	if i := strings.LastIndex(base, "-1-"); i > 0 {
		if _, err := strconv.Atoi(base[i+3:]); err == nil {
			base = base[:i]
		}
	}
	return base + "-" + strings.ReplaceAll(version, ".", "-")
}

// readFleet decodes FleetUpgrade's input; the error is spec.FieldErrors.
func readFleet(ctx workflow.Context, in converter.RawValue) (FleetSpec, error) {
	var f FleetSpec
	p := in.Payload()
	if workflow.GetVersion(ctx, changeStrictInput, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		if p != nil {
			if err := converter.GetDefaultDataConverter().FromPayload(p, &f); err != nil {
				return f, spec.FieldErrors{{Field: spec.DocumentField, Reason: err.Error()}}
			}
		}
		return f, validateFleet(f)
	}
	data, err := jsonPayload(in, "the workflow input is the fleet as one JSON object")
	if err != nil {
		return f, spec.FieldErrors{{Field: spec.DocumentField, Reason: err.Error()}}
	}
	// CheckFleet is a pure function of the bytes: its reflection and
	// encoding/json only read a value (no map order reaches the result).
	//workflowcheck:ignore
	if problems := CheckFleet(data, &f); len(problems) > 0 {
		return f, problems
	}
	return f, nil
}

// validateFleet is the check of fleets started before changeStrictInput.
func validateFleet(f FleetSpec) error {
	var errs spec.FieldErrors
	if f.Name == "" {
		errs = append(errs, spec.FieldError{Field: "name", Reason: "is required"})
	}
	if len(f.Waves) == 0 {
		errs = append(errs, spec.FieldError{Field: "waves", Reason: "must list at least one wave"})
	}
	if f.TargetVersion != "" {
		if _, ok := spec.MinorVersion(f.TargetVersion); !ok {
			errs = append(errs, spec.FieldError{Field: "targetVersion", Reason: fmt.Sprintf("must be \"1.<minor>\", got %q", f.TargetVersion)})
		}
	}
	for i, w := range f.Waves {
		if len(w.Migrations) == 0 {
			errs = append(errs, spec.FieldError{Field: fmt.Sprintf("waves[%d].migrations", i), Reason: "must list at least one migration"})
		}
		for j, m := range w.Migrations {
			if m.Blue.ClusterName == "" || m.Blue.Region == "" {
				errs = append(errs, spec.FieldError{Field: fmt.Sprintf("waves[%d].migrations[%d].blue", i, j), Reason: "clusterName and region are required"})
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// FleetUpgrade runs the migrations of a fleet wave by wave as child
// workflows. Children are abandoned, not cancelled, if the fleet run is
// terminated: a migration waiting at a gate belongs to its approvers.
//
// Like BlueGreenMigration it takes its input raw and reads it with the
// strict reader (CheckFleet), so a fleet started by hand from the UI is
// held to what `cutover schedule create` checks.
func FleetUpgrade(ctx workflow.Context, in converter.RawValue) (*FleetReport, error) {
	f, err := readFleet(ctx, in)
	if err != nil {
		return nil, failures.WithDetails(failures.Validation, err.Error(), err)
	}
	if workflow.GetVersion(ctx, changeFleetStages, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return fleetWaves(ctx, f)
	}
	fl := newFleet(ctx, f)
	if err := fl.registerHandlers(ctx); err != nil {
		return nil, err
	}
	fl.details()
	report, err := fl.run(ctx)
	// Decisions that arrived as updates finish before the run returns.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return report, err
}

// fleetWaves is FleetUpgrade as it ran before changeFleetStages: waves
// one after another, all members at once, no soak or gates.
func fleetWaves(ctx workflow.Context, f FleetSpec) (*FleetReport, error) {
	logger := workflow.GetLogger(ctx)
	report := &FleetReport{Fleet: f.Name}
	for wi, wave := range f.Waves {
		waveName := wave.Name
		if waveName == "" {
			waveName = fmt.Sprintf("wave-%d", wi+1)
		}
		type started struct {
			idx    int
			future workflow.ChildWorkflowFuture
		}
		var running []started
		for _, m := range wave.Migrations {
			res := FleetResult{Wave: waveName, Blue: m.Blue.ClusterName, Logical: m.Blue.LogicalName}
			// A logical cluster is whichever physical cluster took it over
			// last (a green of an earlier quarter), or its original.
			var names []string
			if l := m.Blue.LogicalName; l != "" {
				lc, err := call[eks.LogicalCluster](ctx, readOptions, eksA.ResolveLogicalCluster, eks.ResolveLogicalInput{Region: m.Blue.Region, Logical: l, Original: m.Blue.ClusterName})
				if err != nil {
					res.Outcome, res.Reason = OutcomeFailed, failures.Message(err)
					report.Results = append(report.Results, res)
					continue
				}
				m.Blue.ClusterName, res.Blue, names = lc.Cluster, lc.Cluster, lc.Names
				logger.Info("Resolved logical cluster", "logical", l, "cluster", lc.Cluster, "generation", lc.Generation)
			}
			var blue eks.ClusterDescription
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, readOptions), eksA.DescribeEKSCluster,
				eks.DescribeInput{Cluster: clustersRef(m.Blue)}).Get(ctx, &blue); err != nil {
				res.Outcome, res.Reason = OutcomeFailed, failures.Message(err)
				report.Results = append(report.Results, res)
				continue
			}
			res.From = blue.Version
			to, move := NextVersion(blue.Version, f.TargetVersion)
			res.To = to
			if !move {
				res.Outcome = "up-to-date"
				report.Results = append(report.Results, res)
				continue
			}
			nameMember(&m, to, names)
			res.WorkflowID = m.WorkflowID()
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        res.WorkflowID,
				TaskQueue:         TaskQueue,
				ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			})
			logger.Info("Starting migration", "wave", waveName, "blue", m.Blue.ClusterName, "green", m.Green.ClusterName, "from", blue.Version, "to", to)
			report.Results = append(report.Results, res)
			running = append(running, started{idx: len(report.Results) - 1, future: workflow.ExecuteChildWorkflow(cctx, WorkflowType, m)})
		}
		failed := false
		for _, r := range running {
			var mr MigrationReport
			err := r.future.Get(ctx, &mr)
			res := &report.Results[r.idx]
			switch {
			case err == nil:
				res.Outcome = mr.Outcome
			case failures.Is(err, failures.RolledBack):
				res.Outcome, res.Reason = OutcomeRolledBack, failures.Message(err)
				failed = true
			default:
				res.Outcome, res.Reason = OutcomeFailed, failures.Message(err)
				failed = true
			}
		}
		for _, r := range report.Results {
			if r.Wave == waveName && r.Outcome == OutcomeFailed {
				failed = true
			}
		}
		if failed && !f.ContinueOnFailure && wi < len(f.Waves)-1 {
			for _, later := range f.Waves[wi+1:] {
				for _, m := range later.Migrations {
					report.Results = append(report.Results, FleetResult{Wave: later.Name, Blue: m.Blue.ClusterName, Outcome: "skipped", Reason: "an earlier wave failed"})
				}
			}
			return report, failures.WithDetails("FleetStopped", fmt.Sprintf("wave %s had a failed migration; later waves skipped", waveName), report)
		}
	}
	return report, nil
}

func clustersRef(b spec.BlueSpec) clusters.Ref {
	return clusters.Ref{Name: b.ClusterName, Region: b.Region}
}

// nameMember sets a member's target version and names its green and its
// migration. Named after the logical cluster and the version, the
// migration (and its workflow ID) is the same for a re-triggered run of
// the quarter; green never takes an existing cluster's name (names).
func nameMember(m *spec.MigrationSpec, to string, names []string) {
	m.Green.KubernetesVersion = to
	if m.IsInPlace() {
		// The member's cluster itself goes up: no green to name, and the
		// logical cluster stays where it is.
		if m.Name == "" {
			base := m.Blue.LogicalName
			if base == "" {
				base = m.Blue.ClusterName
			}
			m.Name = GreenName(base, to)
		}
		return
	}
	if l := m.Blue.LogicalName; l != "" {
		if m.Name == "" {
			m.Name = GreenName(l, to)
		}
		if m.Green.ClusterName == "" {
			m.Green.ClusterName = eks.FreeClusterName(GreenName(l, to), names)
		}
	}
	if m.Green.ClusterName == "" {
		m.Green.ClusterName = GreenName(m.Blue.ClusterName, to)
	}
	if m.Name == "" {
		m.Name = m.Green.ClusterName
	}
}
