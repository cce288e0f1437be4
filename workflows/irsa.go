package workflows

import (
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"go.temporal.io/sdk/workflow"
)

// changeIRSA versions copying IAM roles for service accounts (IRSA) to
// green: green's OIDC provider, trust statements for green's issuer,
// their revert on rollback and blue's removal at retire.
const changeIRSA = "irsa-trust"

// irsaOptions: trust changes pause briefly after each write (IAM is
// eventually consistent), about a second or two per role.
var irsaOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    15 * time.Minute,
	ScheduleToCloseTimeout: time.Hour,
	HeartbeatTimeout:       30 * time.Second,
	RetryPolicy:            mutateRetry,
}

// irsaState is what the run knows of IRSA: the plan (for the retire of
// blue) and the roles IAM refused to change (for the parity check).
type irsaState struct {
	plan   *eks.IRSAPlan
	failed []eks.IRSARoleFailure
}

func (m *migration) irsaOn(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeIRSA, workflow.DefaultVersion, 1) == 1
}

// dryRunIRSA lists, for the plan, every role whose trust green would join.
func (m *migration) dryRunIRSA(ctx workflow.Context) ([]string, error) {
	if !m.irsaOn(ctx) {
		return nil, nil
	}
	plan, err := short[eks.IRSAPlan](ctx, readOptions, eksA.PlanIRSATrust, eks.PlanIRSAInput{Migration: m.spec.Name, Blue: m.blue()})
	if err != nil {
		return nil, err
	}
	m.addFindings(plan.Findings)
	return plan.RolesToChange(), nil
}

// copyIRSATrust gives green's service accounts the IAM roles blue's have:
// green's OIDC provider, then a statement for green's issuer in every role
// that trusts blue's. What is added is recorded before it is applied, so a
// rollback removes exactly that, even after a failed attempt.
func (m *migration) copyIRSATrust(ctx workflow.Context) error {
	if !m.irsaOn(ctx) {
		return nil
	}
	m.progress("Planning IAM roles for green's service accounts (IRSA)")
	plan, err := short[eks.IRSAPlan](ctx, readOptions, eksA.PlanIRSATrust, eks.PlanIRSAInput{Migration: m.spec.Name, Blue: m.blue(), Green: m.green()})
	if err != nil {
		return err
	}
	m.addFindings(plan.Findings)
	m.irsa.plan = &plan
	if !plan.Blue.Exists {
		return nil // blue has no OIDC provider: nothing uses IRSA
	}
	m.progress("Creating green's IAM OIDC provider")
	prov, err := short[eks.EnsureOIDCProviderResult](ctx, irsaOptions, eksA.EnsureGreenOIDCProvider, eks.EnsureOIDCProviderInput{Plan: plan})
	if err != nil {
		return err
	}
	if prov.Created {
		m.done.GreenOIDCProvider = prov.ARN
	}
	for _, r := range plan.Roles {
		for _, st := range r.Add {
			m.done.IRSAStatements = append(m.done.IRSAStatements, eks.IRSATrustChange{RoleName: r.RoleName, RoleARN: r.RoleARN, Sid: st.Sid})
		}
	}
	if len(m.done.IRSAStatements) == 0 {
		return nil
	}
	m.progress(fmt.Sprintf("Letting green's service accounts assume %d IAM roles", len(plan.RolesToChange())))
	res, err := short[eks.ApplyIRSAResult](ctx, irsaOptions, eksA.ApplyIRSATrust, eks.ApplyIRSAInput{Plan: plan})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	m.irsa.failed = res.Failed
	m.logger.Info("IRSA trust copied to green", "roles", len(plan.RolesToChange()), "statements", len(res.Added), "failed", len(res.Failed))
	return nil
}

// irsaParityRows says, per role blue's service accounts assume, whether
// green's can assume it too.
func (m *migration) irsaParityRows() []ParityRow {
	if m.irsa.plan == nil {
		return nil
	}
	failed := map[string]string{}
	for _, f := range m.irsa.failed {
		failed[f.RoleName] = f.Type + ": " + f.Message
	}
	var rows []ParityRow
	for _, r := range m.irsa.plan.Roles {
		row := ParityRow{Check: "irsa-trust", Object: r.RoleARN, Blue: "trusts blue's issuer", Green: "trusts green's issuer", OK: true, Blocking: true}
		if msg, bad := failed[r.RoleName]; bad {
			row.Green, row.OK, row.Fix = "not trusted: "+msg, false, "let the worker update the role's trust policy (iam:UpdateAssumeRolePolicy), or add green's issuer by hand"
		}
		rows = append(rows, row)
	}
	return rows
}

// revertIRSATrust removes the statements this run added (and green's
// provider if this run created it).
func (m *migration) revertIRSATrust(ctx workflow.Context) error {
	m.progress("Removing green's issuer from the IAM roles' trust")
	res, err := call[eks.RevertIRSAResult](ctx, irsaOptions, eksA.RevertIRSATrust, eks.RevertIRSAInput{
		Migration: m.spec.Name, Region: m.spec.Blue.Region, Added: m.done.IRSAStatements, GreenProviderARN: m.done.GreenOIDCProvider,
	})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	return nil
}

// retireBlueIRSA removes blue's statements and OIDC provider once blue is
// gone. Blue is deleted already, so a failure here is reported, not fatal.
func (m *migration) retireBlueIRSA(ctx workflow.Context) {
	if m.irsa.plan == nil || !m.irsa.plan.Blue.Exists || !m.irsaOn(ctx) {
		return
	}
	m.progress("Removing blue's issuer from the IAM roles' trust")
	res, err := short[eks.RetireBlueIRSAResult](ctx, irsaOptions, eksA.RetireBlueIRSATrust, eks.RetireBlueIRSAInput{Plan: *m.irsa.plan})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "retire blue's IRSA trust: "+err.Error())
		m.logger.Warn("Blue's IRSA trust not removed", "error", err)
		return
	}
	m.retired.irsa = &res
	m.addFindings(res.Findings)
}
