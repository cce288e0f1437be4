package workflows

import (
	"fmt"
	"github.com/cutover-dev/cutover/activities/traffic"
	"time"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// changeRevertArgoCD versions the rollback step that points Argo CD
// applications back at blue (added after histories were recorded).
const changeRevertArgoCD = "revert-argocd-on-rollback"

// rollbackTrafficOptions: returning traffic to blue must not give up early.
var (
	rollbackSetOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       15 * time.Second,
		RetryPolicy:            mutateRetry,
	}
	rollbackWaitOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy:            waitRetry,
	}
)

// changeAbortFails versions closing an aborted run as failed (with its
// report) instead of canceled.
const changeAbortFails = "abort-fails-with-report"

// changes records what a run has changed in the world, as it happens.
// rollbackPlan derives the rollback from it; nothing else decides.
type changes struct {
	// GreenCreated: EnsureGreenCluster was called, so green may exist and
	// is this migration's.
	GreenCreated bool
	// ArgoRetargeted: blue's Argo CD applications were (being) pointed at green.
	ArgoRetargeted bool
	// TrafficMoved: a SetTrafficWeights was issued.
	TrafficMoved bool
	// BlueRetiring: blue's deletion started; there is nothing to go back to.
	BlueRetiring bool
	// IRSAStatements are the trust statements for green's issuer this run
	// adds to IAM roles (recorded before they are applied).
	IRSAStatements []eks.IRSATrustChange
	// GreenOIDCProvider is green's IAM OIDC provider, when this run created it.
	GreenOIDCProvider string
	// PodIdentity are the Pod Identity associations this run creates on
	// green: before the call what it asks for, after it what it created.
	PodIdentity []eks.PodIdentityAssociation
	// KarpenterTags are the subnets and security groups this run tags with
	// green's Karpenter discovery value KarpenterValue: before the call
	// every one it may tag, after it those it tagged.
	KarpenterTags  []eks.TaggedResource
	KarpenterValue string
	// LaunchTemplateVersions are the launch-template versions this run
	// created for green's node groups.
	LaunchTemplateVersions []eks.LaunchTemplateVersion
	// BSLReadOnly: green's backup storage location is (being) set
	// read-only for the restore; BSLModeBefore is the mode to put back.
	BSLReadOnly   bool
	BSLModeBefore string
	// JobsHeldOnGreen are green's CronJobs and singletons held after the
	// restore, JobsReleasedOnGreen whether they were released at the move
	// step, JobsHeldOnBlue blue's held then.
	JobsHeldOnGreen     []kube.HeldObject
	JobsReleasedOnGreen bool
	JobsHeldOnBlue      []kube.HeldObject
	// PlainConverted: blue's simple record was made a weighted pair;
	// PlainOriginal is the simple record as it was.
	PlainConverted bool
	PlainOriginal  *traffic.PlainRecord
	// ArgoCopied: blue's Argo CD settings and applications are (being)
	// copied to green; ArgoHandedOver: blue's Argo CD is (being) stopped.
	ArgoCopied     bool
	ArgoHandedOver bool
}

// rollbackStep is one thing a rollback does, in order.
type rollbackStep string

const (
	stepTrafficToBlue     rollbackStep = "traffic-to-blue"
	stepJobsBack          rollbackStep = "jobs-back"
	stepArgoCDBack        rollbackStep = "argocd-back"
	stepSimpleRecordBack  rollbackStep = "simple-record-back"
	stepBSLBack           rollbackStep = "bsl-access-mode"
	stepRevertArgoCD      rollbackStep = "revert-argocd"
	stepDeletePodIdentity rollbackStep = "delete-pod-identity"
	stepRevertIRSA        rollbackStep = "revert-irsa"
	stepRemoveKarpenter   rollbackStep = "remove-karpenter-tags"
	stepDeleteGreen       rollbackStep = "delete-green"
	stepDeleteLTVersions  rollbackStep = "delete-launch-template-versions"
)

// rollbackPlan is what undoing the run's changes takes: nothing (ok false)
// when blue is being retired or nothing was changed; otherwise traffic back
// to blue first, then the jobs (green's held again, blue's released), then
// blue's Argo CD started again and its copies removed from green, green's
// backup storage location put back, then Argo CD back at blue, then the Pod Identity
// associations cutover made on green deleted, then green's IRSA trust and
// OIDC provider removed, then green's Karpenter discovery tags removed,
// then green deleted if the spec says so and with it the launch-template
// versions made for its node groups (in use while green lives). It is
// pure: the workflow executes it, tests table it.
func rollbackPlan(done changes, s spec.MigrationSpec) (steps []rollbackStep, ok bool) {
	if done.BlueRetiring || (!done.GreenCreated && !done.TrafficMoved) {
		return nil, false
	}
	if done.TrafficMoved {
		steps = append(steps, stepTrafficToBlue)
	}
	if done.PlainConverted && s.Traffic.Route53 != nil && s.Traffic.Route53.AfterMigration == spec.AfterMigrationSimple {
		steps = append(steps, stepSimpleRecordBack)
	}
	if done.JobsReleasedOnGreen || len(done.JobsHeldOnBlue) > 0 {
		steps = append(steps, stepJobsBack)
	}
	if done.ArgoCopied || done.ArgoHandedOver {
		steps = append(steps, stepArgoCDBack)
	}
	if done.BSLReadOnly {
		steps = append(steps, stepBSLBack)
	}
	if done.ArgoRetargeted {
		steps = append(steps, stepRevertArgoCD)
	}
	if len(done.PodIdentity) > 0 {
		steps = append(steps, stepDeletePodIdentity)
	}
	if len(done.IRSAStatements) > 0 || done.GreenOIDCProvider != "" {
		steps = append(steps, stepRevertIRSA)
	}
	if len(done.KarpenterTags) > 0 {
		steps = append(steps, stepRemoveKarpenter)
	}
	if done.GreenCreated && s.Rollback.Green == spec.FateDelete {
		steps = append(steps, stepDeleteGreen)
		if len(done.LaunchTemplateVersions) > 0 {
			steps = append(steps, stepDeleteLTVersions)
		}
	}
	return steps, true
}

// handleFailure decides, from the error type and what has been done, whether
// to roll back, and returns the workflow's error with the report attached.
func (m *migration) handleFailure(ctx workflow.Context, cause error) error {
	reason := failures.Message(cause)
	typ := failures.TypeOf(cause)
	if m.aborted != nil {
		reason = fmt.Sprintf("aborted by %s: %s", m.aborted.By, m.aborted.Reason)
		typ = failures.Aborted
		if temporal.IsCanceledError(cause) && workflow.GetVersion(ctx, changeAbortFails, workflow.DefaultVersion, 1) == 1 {
			// The cancellation is how abort stopped the forward phases;
			// kept as the cause, it would close the run as Canceled and
			// drop the report. The run fails with the abort's reason.
			cause = nil
		}
	}
	m.status.LastError = reason
	m.report.Reason = reason
	m.report.Errors = append(m.report.Errors, reason)
	m.finishPhase(ctx, "failed")
	m.logger.Error("Migration stopped", "type", typ, "reason", reason, "phase", m.status.Phase)

	if m.spec.IsInPlace() {
		// A control plane cannot go back: the run stops forward and says
		// what is at which version.
		return m.stopInPlace(ctx, typ, reason, cause)
	}
	steps, ok := rollbackPlan(m.done, m.spec)
	if !ok {
		if typ == "" {
			typ = "MigrationFailed"
		}
		return m.conclude(ctx, OutcomeFailed, typ, reason, cause, nil, fmt.Sprintf("Migration %s failed: %s", m.spec.Name, reason))
	}
	m.metrics.rollback(ctx, typ)
	if typ == failures.Unhealthy {
		m.unhealthyAt = workflow.Now(ctx)
		if n := len(m.report.HealthReadings); n > 0 && !m.report.HealthReadings[n-1].Healthy {
			m.unhealthyAt = m.report.HealthReadings[n-1].At
		}
	}
	if err := m.rollback(ctx, reason, steps); err != nil {
		m.report.Errors = append(m.report.Errors, "rollback: "+failures.Message(err))
		return m.conclude(ctx, OutcomeFailed, failures.RollbackFailed,
			fmt.Sprintf("rollback failed after %q: %s; check traffic by hand", reason, failures.Message(err)), err, nil, "")
	}
	return m.conclude(ctx, OutcomeRolledBack, failures.RolledBack, "migration rolled back: "+reason, cause, nil, "")
}

// conclude is the one way a run ends in failure: the phase becomes Failed,
// an optional chat post says why, the report is completed, and the error
// carries typ, msg and details: the report when details is nil, else
// details (a bad spec's fields).
func (m *migration) conclude(ctx workflow.Context, outcome, typ, msg string, cause error, details any, post string) error {
	m.report.Outcome = outcome
	m.setPhase(ctx, PhaseFailed)
	m.status.Outcome = outcome
	m.metrics.finished(ctx, outcome)
	if m.status.LastError == "" || typ == failures.Validation {
		m.status.LastError = msg
	}
	m.details()
	if post != "" {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		m.notify(dctx, notify.KindFailed, "", post)
	}
	m.collect()
	if details == nil {
		details = m.report
	}
	return temporal.NewNonRetryableApplicationError(msg, typ, cause, details)
}

// rollback executes the plan's steps. It runs on a disconnected context so
// an abort cannot cancel it.
func (m *migration) rollback(ctx workflow.Context, reason string, steps []rollbackStep) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	m.enter(dctx, PhaseRollingBack)
	fate := "kept for inspection"
	for _, step := range steps {
		if err := m.rollbackStep(dctx, step, reason); err != nil {
			return err
		}
		if step == stepDeleteGreen {
			fate = "deleted"
		}
	}
	m.finishPhase(dctx, "ok")
	m.notify(dctx, notify.KindRolledBack, "", fmt.Sprintf("Migration %s rolled back: %s. Traffic is on %s; green %s is %s.",
		m.spec.Name, reason, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, fate))
	return nil
}

func (m *migration) rollbackStep(ctx workflow.Context, step rollbackStep, reason string) error {
	switch step {
	case stepTrafficToBlue:
		m.progress("Returning all traffic to blue")
		if err := m.setWeights(ctx, ctx, rollbackSetOptions, rollbackWaitOptions, 0, 0, "rollback: "+reason); err != nil {
			return err
		}
		if !m.unhealthyAt.IsZero() {
			m.metrics.alarmToRollback(ctx, m.unhealthyAt)
		}
		return nil
	case stepRevertArgoCD:
		// Runs recorded before this step existed replay without it.
		if workflow.GetVersion(ctx, changeRevertArgoCD, workflow.DefaultVersion, 1) != 1 {
			return nil
		}
		m.progress("Pointing Argo CD applications back at blue")
		in := argocd.RevertInput{ArgoCluster: m.argoCluster(), Namespace: m.spec.ArgoCD.Namespace, Selector: m.spec.ArgoCD.Selector, Prune: m.spec.ArgoCD.Prune}
		if m.spec.ArgoCD.Hub != nil {
			// The labels retarget gave green's cluster Secret on the hub go
			// (only hub runs: older payloads stay as they were).
			green := m.green()
			in.Green = &green
		}
		rev, err := call[argocd.RevertResult](ctx, rollbackSetOptions, argoA.RevertArgoApplications, in)
		if err != nil {
			return err
		}
		m.logger.Info("Argo CD applications point at blue again", "applications", len(rev.Reverted))
		return nil
	case stepDeletePodIdentity:
		return m.deletePodIdentity(ctx)
	case stepRevertIRSA:
		return m.revertIRSATrust(ctx)
	case stepJobsBack:
		return m.jobsBack(ctx)
	case stepArgoCDBack:
		return m.argoCDBack(ctx)
	case stepSimpleRecordBack:
		return m.simpleRecordAt(ctx, "blue", rollbackSetOptions, rollbackWaitOptions)
	case stepBSLBack:
		return m.bslRestore(ctx)
	case stepRemoveKarpenter:
		return m.removeKarpenterTags(ctx)
	case stepDeleteLTVersions:
		return m.deleteLaunchTemplateVersions(ctx)
	case stepDeleteGreen:
		m.progress("Deleting green as rollback.green = delete")
		return run(ctx, clusterWaitOptions, eksA.RetireEKSCluster, eks.RetireInput{
			Cluster: m.green(), Role: "green", Guard: trafficGuard(m.spec.Traffic, "green"), OwnedBy: m.spec.Name,
		})
	}
	return fmt.Errorf("unknown rollback step %q", step)
}
