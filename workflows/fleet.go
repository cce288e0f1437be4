package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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
}

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
	defaulted := *f
	defaulted.Waves = make([]FleetWave, len(f.Waves))
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
		defaulted.Waves[i] = FleetWave{Name: w.Name, Migrations: make([]spec.MigrationSpec, len(w.Migrations))}
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

// FleetWave is a set of migrations run together.
type FleetWave struct {
	Name string `json:"name"`
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
	Logical    string `json:"logical,omitempty"`
	Blue       string `json:"blue"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	WorkflowID string `json:"workflowId,omitempty"`
	Outcome    string `json:"outcome"` // succeeded, rolled-back, failed, up-to-date, skipped
	Reason     string `json:"reason,omitempty"`
}

// FleetReport is FleetUpgrade's result.
type FleetReport struct {
	Fleet   string        `json:"fleet"`
	Results []FleetResult `json:"results"`
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
	logger := workflow.GetLogger(ctx)
	f, err := readFleet(ctx, in)
	if err != nil {
		return nil, failures.WithDetails(failures.Validation, err.Error(), err)
	}
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
			m.Green.KubernetesVersion = to
			if l := m.Blue.LogicalName; l != "" {
				// Named after the logical cluster and the version: the
				// migration (and its workflow ID) is the same for a
				// re-triggered run of the quarter; green never takes an
				// existing cluster's name.
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
