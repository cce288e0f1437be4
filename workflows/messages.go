package workflows

import (
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/temporal"
)

// The workflow contract: names a person types into the Temporal UI, the CLI
// and chatops use. They are stable API.
const (
	// WorkflowType of the migration.
	WorkflowType = "BlueGreenMigration"
	// TaskQueue the worker polls.
	TaskQueue = "cutover"
	// SignalApproval carries a Decision.
	SignalApproval = "approval"
	// UpdateApprove carries a Decision and answers with the gate's outcome
	// or the validator's refusal.
	UpdateApprove = "approve"
	// SignalAbort carries an Abort.
	SignalAbort = "abort"
	// QueryStatus answers with a Status.
	QueryStatus = "status"
)

// PhaseKey is the search attribute upserted at every phase.
var PhaseKey = temporal.NewSearchAttributeKeyKeyword("CutoverPhase")

// Phases, in order.
const (
	PhaseValidate         = "Validate"
	PhasePreflight        = "Preflight"
	PhaseBuildGreen       = "BuildGreen"
	PhaseRestoreWorkloads = "RestoreWorkloads"
	PhaseParity           = "Parity"
	PhaseSmokeTest        = "SmokeTest"
	PhaseAwaitCutover     = "AwaitCutoverApproval"
	PhaseShiftTraffic     = "ShiftTraffic"
	PhaseAwaitRetire      = "AwaitRetireApproval"
	PhaseSoak             = "Soak"
	PhaseRetireBlue       = "RetireBlue"
	PhaseRollingBack      = "RollingBack"
	PhaseDone             = "Done"
	PhaseDryRunDone       = "DryRunDone"
	PhaseFailed           = "Failed"
)

// Decision answers a gate. It is the payload of the `approval` signal and
// the `approve` update.
type Decision struct {
	Gate    string `json:"gate"`
	Approve bool   `json:"approve"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

// Abort is the payload of the `abort` signal.
type Abort struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// GateOutcome is what the `approve` update returns.
type GateOutcome struct {
	Gate     string    `json:"gate"`
	Approved bool      `json:"approved"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// ApprovalRecord is one decided gate in the report.
type ApprovalRecord struct {
	Gate     string    `json:"gate"`
	Approved bool      `json:"approved"`
	By       string    `json:"by"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	OpenedAt time.Time `json:"openedAt"`
	// Via is "signal", "update" or "timeout".
	Via string `json:"via"`
}

// PendingGate is an open gate in the status.
type PendingGate struct {
	Gate      string    `json:"gate"`
	OpenedAt  time.Time `json:"openedAt"`
	Deadline  time.Time `json:"deadline"`
	OnTimeout string    `json:"onTimeout"`
	Approvers []string  `json:"approvers,omitempty"`
}

// PhaseTiming records one phase.
type PhaseTiming struct {
	Phase    string    `json:"phase"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitempty"`
	Duration string    `json:"duration,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
}

// TrafficEvent is one change of the split.
type TrafficEvent struct {
	At     time.Time `json:"at"`
	Step   int       `json:"step"` // 1-based; 0 for rollback
	Blue   int       `json:"blue"`
	Green  int       `json:"green"`
	Reason string    `json:"reason"`
}

// HealthReading is what one watched period (a bake, a gate's wait, the
// soak) read of the alarms and probes: the last reading's time (the
// unhealthy one's, when there was one), the split then, and why it was
// not healthy.
type HealthReading struct {
	At       time.Time `json:"at"`
	What     string    `json:"what"`
	Green    int       `json:"green"`
	Healthy  bool      `json:"healthy"`
	Readings int       `json:"readings,omitempty"`
	Reasons  []string  `json:"reasons,omitempty"`
	// Alarms are the alarms' states at the last reading ("shop-5xx OK").
	Alarms []string `json:"alarms,omitempty"`
}

// TrafficStatus is the split now.
type TrafficStatus struct {
	Blue       int `json:"blue"`
	Green      int `json:"green"`
	Step       int `json:"step"`
	TotalSteps int `json:"totalSteps"`
}

// Status is the answer to the `status` query.
type Status struct {
	Migration    string            `json:"migration"`
	Blue         string            `json:"blue"`
	Green        string            `json:"green"`
	Phase        string            `json:"phase"`
	Progress     string            `json:"progress,omitempty"`
	Phases       []PhaseTiming     `json:"phases"`
	PendingGates []PendingGate     `json:"pendingGates,omitempty"`
	Approvals    []ApprovalRecord  `json:"approvals,omitempty"`
	Traffic      TrafficStatus     `json:"traffic"`
	Findings     []finding.Finding `json:"findings,omitempty"`
	LastError    string            `json:"lastError,omitempty"`
	Aborted      *Abort            `json:"aborted,omitempty"`
	// IgnoredApprovals are the approval and abort signals the workflow
	// could not take (undecodable, missing fields, wrong gate or approver,
	// too late), each with the reason: a signal cannot answer its sender,
	// the approve update can. The newest 50 are kept.
	IgnoredApprovals []string `json:"ignoredApprovals,omitempty"`
	// Parity is the before/after table of blue and green, once compared.
	Parity *ParityReport `json:"parity,omitempty"`
	// IgnoredCount is how many signals were ignored in all.
	IgnoredCount int `json:"ignoredCount,omitempty"`
	// Outcome is set when the run has ended: succeeded, dry-run,
	// rolled-back or failed (LastError says why).
	Outcome string `json:"outcome,omitempty"`
	// ReportURL is the report file shared in the run's Slack thread, once
	// the outcome was posted there.
	ReportURL string `json:"reportUrl,omitempty"`
}

// Outcomes of a migration.
const (
	OutcomeSucceeded  = "succeeded"
	OutcomeDryRun     = "dry-run"
	OutcomeRolledBack = "rolled-back"
	OutcomeFailed     = "failed"
)

// Plan is what a dry run returns: what would be built and done.
type Plan struct {
	Green        eks.GreenPlan `json:"green"`
	TrafficSteps []int         `json:"trafficSteps"`
	Gates        []string      `json:"gates"`
	RetireBlue   string        `json:"retireBlue"`
	Restore      []string      `json:"restore"`
	// IRSARoles are the IAM roles whose trust green's issuer would join.
	IRSARoles []string `json:"irsaRoles,omitempty"`
	// PodIdentity are the Pod Identity associations green would get.
	PodIdentity []eks.PodIdentityAssociation `json:"podIdentity,omitempty"`
	// LaunchTemplates say, per node group on a launch template, whether
	// green keeps blue's version, gets a new one (with which AMI) or is refused.
	LaunchTemplates []eks.LaunchTemplatePlan `json:"launchTemplates,omitempty"`
	// ArgoCDAccess are the IAM roles Argo CD reaches green with, which
	// would get an access entry on green.
	ArgoCDAccess []string `json:"argoCDAccess,omitempty"`
	// AWSAuth are blue's aws-auth mappings (node roles aside) that would
	// be carried into green's.
	AWSAuth []kube.AWSAuthMapping `json:"awsAuth,omitempty"`
	// ArgoCD says where Argo CD runs and what will happen to it.
	ArgoCD string `json:"argocd,omitempty"`
	// GreenTarget says where green's traffic target comes from.
	GreenTarget string `json:"greenTarget,omitempty"`
}

// MigrationReport is the workflow's result. A rolled-back or failed
// migration fails the workflow with an ApplicationError whose details carry
// this report.
type MigrationReport struct {
	Migration      string            `json:"migration"`
	Outcome        string            `json:"outcome"`
	Reason         string            `json:"reason,omitempty"`
	Blue           string            `json:"blue"`
	Green          string            `json:"green"`
	TargetVersion  string            `json:"targetVersion"`
	Phases         []PhaseTiming     `json:"phases"`
	Findings       []finding.Finding `json:"findings,omitempty"`
	Approvals      []ApprovalRecord  `json:"approvals,omitempty"`
	TrafficHistory []TrafficEvent    `json:"trafficHistory,omitempty"`
	// HealthReadings are the watched periods' alarm and probe readings.
	HealthReadings []HealthReading   `json:"healthReadings,omitempty"`
	Smoke          *kube.SmokeResult `json:"smoke,omitempty"`
	// Parity is the before/after table of blue and green.
	Parity *ParityReport `json:"parity,omitempty"`
	// Addons are green's add-ons: the version each got, and why.
	Addons []eks.AddonChoice `json:"addons,omitempty"`
	// Jobs are the CronJobs and singletons held and released, and where.
	Jobs []JobEvent `json:"jobs,omitempty"`
	// ArgoCD says what became of the Argo CD that managed green.
	ArgoCD string `json:"argocd,omitempty"`
	// GreenTarget is green's load balancer, when cutover discovered it.
	GreenTarget *DiscoveredTarget `json:"greenTarget,omitempty"`
	// CloudFrontStaging is the staging distribution and policy of a
	// CloudFront continuous deployment.
	CloudFrontStaging *traffic.StagingState `json:"cloudFrontStaging,omitempty"`
	// VeleroFailures and VeleroWarnings are the restore's per-resource
	// errors and warnings, as Velero recorded them (capped).
	VeleroFailures []string `json:"veleroFailures,omitempty"`
	VeleroWarnings []string `json:"veleroWarnings,omitempty"`
	// StillPointsAtBlue is what on green still names blue after the move
	// (CI/CD targets, monitoring endpoints, identities): the runbook's
	// last steps, for a person.
	StillPointsAtBlue []kube.BlueReference `json:"stillPointsAtBlue,omitempty"`
	// LogicalCluster says which cluster the logical cluster
	// (blue.logicalName) is after the migration.
	LogicalCluster string `json:"logicalCluster,omitempty"`
	// OnlyOnBlue is what the Argo CD applications track on blue that
	// green lacks after their sync: it goes with blue's deletion.
	OnlyOnBlue []kube.OnlyOnBlueObject `json:"onlyOnBlue,omitempty"`
	// Retire is what the retire of blue deleted and what it kept.
	Retire *RetireReport `json:"retire,omitempty"`
	// InPlace is what an in-place upgrade planned and did (strategy "inPlace").
	InPlace *InPlaceReport     `json:"inPlace,omitempty"`
	Errors  []string           `json:"errors,omitempty"`
	Plan    *Plan              `json:"plan,omitempty"`
	Spec    spec.MigrationSpec `json:"spec"`
}
