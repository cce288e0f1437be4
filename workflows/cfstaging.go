package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// CloudFront continuous deployment (traffic.cloudfront.mode
// "continuousDeployment"): the steps below 100 send that share of requests
// to a staging distribution serving green's origin, through a
// continuous-deployment policy on the primary; step 100 promotes the
// staging configuration onto the primary and removes the staging
// distribution and the policy. A rollback before the promotion detaches
// the policy (the primary never stopped serving blue); after it, the
// primary's origin is switched back like any CloudFront rollback. Only a
// spec with the mode reaches this code, and older runs cannot have the
// field, so it needs no version of its own.

// CheckCloudFrontStagingLeft is the finding of a staging distribution or
// policy cutover could not remove.
const CheckCloudFrontStagingLeft = "cloudfront-staging-left"

// stagingState is the run's continuous deployment.
type stagingState struct {
	// active: EnsureStaging was called and neither a promotion nor a
	// detach has ended it, so requests may reach the staging distribution.
	active bool
	// st is what EnsureStaging made (nil until it returned).
	st *traffic.StagingState
}

// stagingWeights moves green's share through the staging distribution:
// opts are the step's (or the rollback's) wait options, since every
// staging activity waits for CloudFront to deploy what it changed.
func (m *migration) stagingWeights(ctx workflow.Context, opts workflow.ActivityOptions, green int) error {
	switch {
	case green == 0:
		return m.detachStaging(ctx, opts)
	case green == 100:
		return m.promoteStaging(ctx, opts)
	case m.staging.st == nil:
		m.staging.active = true
		m.progress(fmt.Sprintf("Creating CloudFront staging distribution (green's origin %s) with %d%% of requests", m.target.CloudFront.GreenOriginID, green))
		st, err := call[traffic.StagingState](ctx, opts, trafA.EnsureStaging, traffic.StartStagingInput{Target: m.target, MigrationID: m.info.WorkflowExecution.RunID, Weight: green})
		if err != nil {
			return err
		}
		m.staging.st = &st
		m.report.CloudFrontStaging = &st
		m.logger.Info("CloudFront staging distribution serving", "primary", st.PrimaryID, "staging", st.StagingID, "policy", st.PolicyID, "weight", green)
	default:
		st, err := call[traffic.StagingState](ctx, opts, trafA.SetStagingWeight, traffic.StagingWeightInput{Staging: *m.staging.st, Weight: green})
		if err != nil {
			return err
		}
		m.staging.st = &st
		m.report.CloudFrontStaging = &st
	}
	return nil
}

// promoteStaging copies the staging configuration (green's origin) onto
// the primary, then removes the staging distribution and the policy.
func (m *migration) promoteStaging(ctx workflow.Context, opts workflow.ActivityOptions) error {
	if m.staging.st == nil {
		return failures.New(failures.Conflict, "cloudfront continuous deployment: nothing to promote (no staging distribution was made; traffic.steps needs a staging step before 100)")
	}
	st := *m.staging.st
	m.progress("Promoting CloudFront staging distribution " + st.StagingID + " onto " + st.PrimaryID)
	if _, err := call[traffic.Weights](ctx, opts, trafA.PromoteStaging, st); err != nil {
		return err
	}
	m.staging.active = false
	m.cleanupStaging(ctx, opts, st)
	return nil
}

// detachStaging is the rollback's traffic step while staging is active.
func (m *migration) detachStaging(ctx workflow.Context, opts workflow.ActivityOptions) error {
	if m.staging.st == nil {
		// EnsureStaging never answered: without its policy ID there is
		// nothing to detach; the primary's own origin is blue.
		m.report.Errors = append(m.report.Errors, "cloudfront continuous deployment: the staging distribution was not confirmed before the rollback; check distribution "+m.target.CloudFront.DistributionID+" for a continuous-deployment policy")
		m.staging.active = false
		return m.switchWeights(ctx, ctx, opts, opts, 0)
	}
	st := *m.staging.st
	m.progress("Detaching CloudFront continuous-deployment policy " + st.PolicyID + " from " + st.PrimaryID)
	w, err := call[traffic.Weights](ctx, opts, trafA.DetachStaging, st)
	if err != nil {
		return err
	}
	m.staging.active = false
	if w.Green > 0 {
		// Promoted already (its answer lost): switch the primary back.
		if err := m.switchWeights(ctx, ctx, opts, opts, 0); err != nil {
			return err
		}
	}
	m.cleanupStaging(ctx, opts, st)
	return nil
}

// cleanupStaging removes the staging distribution and the policy. What it
// cannot remove is reported, not fatal: traffic no longer depends on it.
func (m *migration) cleanupStaging(ctx workflow.Context, opts workflow.ActivityOptions, st traffic.StagingState) {
	m.progress("Deleting CloudFront staging distribution " + st.StagingID + " and policy " + st.PolicyID)
	if err := run(ctx, opts, trafA.CleanupStaging, st); err != nil {
		m.logger.Warn("CloudFront staging left behind", "staging", st.StagingID, "policy", st.PolicyID, "error", err)
		m.addFindings([]finding.Finding{{Check: CheckCloudFrontStagingLeft, Object: "distribution " + st.StagingID + ", policy " + st.PolicyID, Severity: finding.Warning, Source: "traffic",
			Message: "cutover could not delete the staging distribution or its continuous-deployment policy: " + failures.Message(err),
			Fix:     "disable and delete staging distribution " + st.StagingID + " and delete policy " + st.PolicyID + " (traffic no longer uses them)"}})
	}
}
