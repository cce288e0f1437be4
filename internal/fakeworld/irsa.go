package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/eks"
)

// The IRSA activities of the fake world: blue's service-account roles
// (irsaRoles) trust blue's OIDC provider; the plan adds one statement per
// role for green, applying it adds them, reverting removes them.

// irsaRoles are the IAM roles of blue's service accounts.
var irsaRoles = []string{"shop-orders", "vpc-cni"}

// fakeIRSAProvider is the ARN of the fake IAM OIDC provider of cluster.
func fakeIRSAProvider(cluster string) string {
	return "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/" + cluster
}

// PlanIRSATrust implements the EKS activity: every role in irsaRoles
// trusts blue; with a green, each gets one statement for it.
func (a *Activities) PlanIRSATrust(_ context.Context, in eks.PlanIRSAInput) (eks.IRSAPlan, error) {
	w := a.w
	if err := w.record("PlanIRSATrust", in); err != nil {
		return eks.IRSAPlan{}, err
	}
	plan := eks.IRSAPlan{Migration: in.Migration, Region: in.Blue.Region, Roles: []eks.IRSARolePlan{},
		Blue: eks.OIDCProvider{Issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/" + in.Blue.Name, ARN: fakeIRSAProvider(in.Blue.Name), Exists: true}}
	if in.Green.Name != "" {
		plan.Green = eks.OIDCProvider{Issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/" + in.Green.Name, ARN: fakeIRSAProvider(in.Green.Name)}
	}
	for _, role := range irsaRoles {
		r := eks.IRSARolePlan{RoleName: role, RoleARN: "arn:aws:iam::123456789012:role/" + role, BlueStatements: 1}
		if in.Green.Name != "" {
			r.Add = []eks.IRSAStatement{{Sid: "CutoverGreen" + role, Statement: `{"Effect":"Allow"}`}}
		}
		plan.Roles = append(plan.Roles, r)
	}
	return plan, nil
}

// EnsureGreenOIDCProvider implements the EKS activity.
func (a *Activities) EnsureGreenOIDCProvider(_ context.Context, in eks.EnsureOIDCProviderInput) (eks.EnsureOIDCProviderResult, error) {
	if err := a.w.record("EnsureGreenOIDCProvider", in); err != nil {
		return eks.EnsureOIDCProviderResult{}, err
	}
	return eks.EnsureOIDCProviderResult{ARN: in.Plan.Green.ARN, Created: !in.Plan.Green.Exists, Adopted: in.Plan.Green.Exists}, nil
}

// ApplyIRSATrust implements the EKS activity: every planned statement is added.
func (a *Activities) ApplyIRSATrust(_ context.Context, in eks.ApplyIRSAInput) (eks.ApplyIRSAResult, error) {
	if err := a.w.record("ApplyIRSATrust", in); err != nil {
		return eks.ApplyIRSAResult{}, err
	}
	res := eks.ApplyIRSAResult{Added: []eks.IRSATrustChange{}}
	for _, r := range in.Plan.Roles {
		if a.w.IRSARefused[r.RoleName] {
			res.Failed = append(res.Failed, eks.IRSARoleFailure{RoleName: r.RoleName, Type: "AccessDenied", Message: "not authorized to perform iam:UpdateAssumeRolePolicy"})
			continue
		}
		for _, s := range r.Add {
			res.Added = append(res.Added, eks.IRSATrustChange{RoleName: r.RoleName, RoleARN: r.RoleARN, Sid: s.Sid})
		}
	}
	return res, nil
}

// RevertIRSATrust implements the EKS activity: what was added is removed.
func (a *Activities) RevertIRSATrust(_ context.Context, in eks.RevertIRSAInput) (eks.RevertIRSAResult, error) {
	if err := a.w.record("RevertIRSATrust", in); err != nil {
		return eks.RevertIRSAResult{}, err
	}
	return eks.RevertIRSAResult{Removed: append([]eks.IRSATrustChange{}, in.Added...), ProviderDeleted: in.GreenProviderARN != ""}, nil
}

// RetireBlueIRSATrust implements the EKS activity: blue's statements are
// removed from every role of the plan, and blue's provider deleted.
func (a *Activities) RetireBlueIRSATrust(_ context.Context, in eks.RetireBlueIRSAInput) (eks.RetireBlueIRSAResult, error) {
	if err := a.w.record("RetireBlueIRSATrust", in); err != nil {
		return eks.RetireBlueIRSAResult{}, err
	}
	res := eks.RetireBlueIRSAResult{Updated: []eks.IRSABlueRemoval{}, ProviderDeleted: true}
	for _, r := range in.Plan.Roles {
		res.Updated = append(res.Updated, eks.IRSABlueRemoval{RoleName: r.RoleName, RoleARN: r.RoleARN, Statements: r.BlueStatements})
	}
	return res, nil
}
