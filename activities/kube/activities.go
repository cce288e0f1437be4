// Package kube holds the activities that talk to Kubernetes through
// client-go: preflight checks on blue, verification of green after it is
// built, and the smoke tests that prove green before traffic moves.
package kube

import (
	"context"

	"github.com/cutover-dev/cutover/internal/failures"
)

// Activities are the Kubernetes activities. Build them with New.
type Activities struct{}

// New returns the Kubernetes activities.
func New() *Activities { return &Activities{} }

// PreflightBlue checks that blue is safe to move to the target version.
func (a *Activities) PreflightBlue(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	return PreflightResult{}, failures.NotImplementedf("kube.PreflightBlue")
}

// VerifyGreen checks green's nodes and core add-ons after it is built.
func (a *Activities) VerifyGreen(ctx context.Context, in VerifyGreenInput) (VerifyGreenResult, error) {
	return VerifyGreenResult{}, failures.NotImplementedf("kube.VerifyGreen")
}

// SmokeTestGreen runs the smoke tests on green.
func (a *Activities) SmokeTestGreen(ctx context.Context, in SmokeInput) (SmokeResult, error) {
	return SmokeResult{}, failures.NotImplementedf("kube.SmokeTestGreen")
}
