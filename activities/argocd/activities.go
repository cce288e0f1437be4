// Package argocd holds the activities that restore Argo CD applications
// into green and wait for them to be Synced and Healthy.
package argocd

import (
	"context"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// RestoreInput restores blue's Applications into green.
type RestoreInput struct {
	// ArgoCluster is where Argo CD runs (and its Applications live).
	ArgoCluster clusters.Ref `json:"argoCluster"`
	Blue        clusters.Ref `json:"blue"`
	Green       clusters.Ref `json:"green"`
	// Mode is "retarget" or "copy".
	Mode      string `json:"mode"`
	Namespace string `json:"namespace"`
	Selector  string `json:"selector,omitempty"`
	Prune     bool   `json:"prune"`
}

// RestoreResult lists the applications now targeting green.
type RestoreResult struct {
	Applications []string `json:"applications"`
}

// WaitSyncedInput waits for applications to be Synced and Healthy.
type WaitSyncedInput struct {
	ArgoCluster  clusters.Ref `json:"argoCluster"`
	Namespace    string       `json:"namespace"`
	Applications []string     `json:"applications"`
}

// AppStatus is one application's state.
type AppStatus struct {
	Name   string `json:"name"`
	Sync   string `json:"sync"`
	Health string `json:"health"`
}

// WaitSyncedResult is the final state of every application.
type WaitSyncedResult struct {
	Applications []AppStatus `json:"applications"`
}

// Activities are the Argo CD activities.
type Activities struct{}

// New returns the Argo CD activities.
func New() *Activities { return &Activities{} }

// RestoreArgoApplications points blue's Applications (or copies of them) at green.
func (a *Activities) RestoreArgoApplications(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	return RestoreResult{}, failures.NotImplementedf("argocd.RestoreArgoApplications")
}

// WaitArgoSynced heartbeats until every application is Synced and Healthy.
func (a *Activities) WaitArgoSynced(ctx context.Context, in WaitSyncedInput) (WaitSyncedResult, error) {
	return WaitSyncedResult{}, failures.NotImplementedf("argocd.WaitArgoSynced")
}
