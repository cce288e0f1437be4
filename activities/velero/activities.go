// Package velero holds the activities that back blue up with Velero and
// restore the backup into green.
package velero

import (
	"context"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// BackupInput ensures a completed backup of blue exists.
type BackupInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Namespace string       `json:"namespace"`
	Name      string       `json:"name"`
	// Existing is true when Name is a backup that must already exist.
	Existing           bool     `json:"existing"`
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
}

// BackupResult is the completed backup.
type BackupResult struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	Items int    `json:"items"`
}

// RestoreInput restores a backup into green.
type RestoreInput struct {
	Cluster                clusters.Ref `json:"cluster"`
	Namespace              string       `json:"namespace"`
	BackupName             string       `json:"backupName"`
	RestoreName            string       `json:"restoreName"`
	IncludedNamespaces     []string     `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces     []string     `json:"excludedNamespaces,omitempty"`
	RestorePVs             bool         `json:"restorePVs"`
	ExistingResourcePolicy string       `json:"existingResourcePolicy"`
}

// RestoreResult is the finished restore.
type RestoreResult struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Warnings int    `json:"warnings"`
	Errors   int    `json:"errors"`
}

// Activities are the Velero activities.
type Activities struct{}

// New returns the Velero activities.
func New() *Activities { return &Activities{} }

// EnsureVeleroBackup creates (or finds) the backup and heartbeats until it completes.
func (a *Activities) EnsureVeleroBackup(ctx context.Context, in BackupInput) (BackupResult, error) {
	return BackupResult{}, failures.NotImplementedf("velero.EnsureVeleroBackup")
}

// RestoreVeleroBackup creates the restore in green and heartbeats until it completes.
func (a *Activities) RestoreVeleroBackup(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	return RestoreResult{}, failures.NotImplementedf("velero.RestoreVeleroBackup")
}
