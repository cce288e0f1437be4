package workflows

import (
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
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
	m.logger.Error("Migration stopped", "migration", m.spec.Name, "type", typ, "reason", reason, "phase", m.status.Phase)

	// Once blue is being deleted there is nothing to roll back to.
	if m.blueRetiring || (!m.greenTouched && !m.trafficTouched) {
		m.report.Outcome = OutcomeFailed
		m.setPhase(ctx, PhaseFailed)
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		m.notify(dctx, notify.KindFailed, "", fmt.Sprintf("Migration %s failed: %s", m.spec.Name, reason))
		m.collect()
		if typ == "" {
			typ = "MigrationFailed"
		}
		return temporal.NewNonRetryableApplicationError(reason, typ, cause, m.report)
	}

	if err := m.rollback(ctx, reason); err != nil {
		m.report.Outcome = OutcomeFailed
		m.report.Errors = append(m.report.Errors, "rollback: "+failures.Message(err))
		m.setPhase(ctx, PhaseFailed)
		m.collect()
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("rollback failed after %q: %s; check traffic by hand", reason, failures.Message(err)), failures.RollbackFailed, err, m.report)
	}
	m.report.Outcome = OutcomeRolledBack
	m.setPhase(ctx, PhaseFailed)
	m.collect()
	return temporal.NewNonRetryableApplicationError("migration rolled back: "+reason, failures.RolledBack, cause, m.report)
}

// rollback returns traffic to blue first, then deals with green as the spec
// says. It runs on a disconnected context so an abort cannot cancel it.
func (m *migration) rollback(ctx workflow.Context, reason string) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	m.enter(dctx, PhaseRollingBack)
	if m.trafficTouched {
		m.progress("Returning all traffic to blue")
		if err := m.setWeights(dctx, dctx, rollbackSetOptions, rollbackWaitOptions, 0, 0, "rollback: "+reason); err != nil {
			return err
		}
	}
	// Runs recorded before this step existed replay without it.
	if m.argoTouched && workflow.GetVersion(dctx, changeRevertArgoCD, workflow.DefaultVersion, 1) == 1 {
		m.progress("Pointing Argo CD applications back at blue")
		var rev argocd.RevertResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, rollbackSetOptions), argoA.RevertArgoApplications, argocd.RevertInput{
			ArgoCluster: m.blue(), Namespace: m.spec.ArgoCD.Namespace, Selector: m.spec.ArgoCD.Selector, Prune: m.spec.ArgoCD.Prune,
		}).Get(dctx, &rev); err != nil {
			return err
		}
		m.logger.Info("Argo CD applications point at blue again", "blue", m.spec.Blue.ClusterName, "applications", len(rev.Reverted))
	}
	if m.greenTouched && m.spec.Rollback.Green == spec.FateDelete {
		m.progress("Deleting green as rollback.green = delete")
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, clusterWaitOptions), eksA.RetireEKSCluster, eks.RetireInput{
			Cluster: m.green(), Role: "green", Guard: m.guard("green"), OwnedBy: m.spec.Name,
		}).Get(dctx, nil); err != nil {
			return err
		}
	}
	m.finishPhase(dctx, "ok")
	fate := "kept for inspection"
	if m.greenTouched && m.spec.Rollback.Green == spec.FateDelete {
		fate = "deleted"
	}
	m.notify(dctx, notify.KindRolledBack, "", fmt.Sprintf("Migration %s rolled back: %s. Traffic is on %s; green %s is %s.",
		m.spec.Name, reason, m.spec.Blue.ClusterName, m.spec.Green.ClusterName, fate))
	return nil
}
