package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/failures"
)

// argoCDControllerRole is the IRSA role of the fake Argo CD's application
// controller, the one identity it reaches clusters with.
const argoCDControllerRole = "arn:aws:iam::123456789012:role/argocd-application-controller"

// ArgoCDIdentities implements the Argo CD activity: the application
// controller's ServiceAccount in the namespace carries argoCDControllerRole.
func (a *Activities) ArgoCDIdentities(_ context.Context, in argocd.IdentityInput) (argocd.IdentityResult, error) {
	if err := a.w.record("ArgoCDIdentities", in); err != nil {
		return argocd.IdentityResult{}, err
	}
	if in.Namespace == "" {
		return argocd.IdentityResult{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	return argocd.IdentityResult{Identities: []argocd.Identity{{RoleARN: argoCDControllerRole,
		Source: "ServiceAccount " + in.Namespace + "/argocd-application-controller (" + argocd.AnnotationIRSARole + ")"}}}, nil
}
