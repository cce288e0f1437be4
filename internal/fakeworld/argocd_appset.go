package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/argocd"
)

// ReleaseBlueFromApplicationSets implements the Argo CD activity: the
// fake world's Argo CD has no ApplicationSet that retarget changed, so the
// call is recorded and releases nothing.
func (a *Activities) ReleaseBlueFromApplicationSets(_ context.Context, in argocd.ReleaseBlueInput) (argocd.ReleaseBlueResult, error) {
	if err := a.w.record("ReleaseBlueFromApplicationSets", in); err != nil {
		return argocd.ReleaseBlueResult{}, err
	}
	return argocd.ReleaseBlueResult{ApplicationSets: []string{}, Labels: []string{}, BlueApplications: []string{}}, nil
}
