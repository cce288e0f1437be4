package velero

import (
	"context"
	"encoding/json"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// AnnotationBSLModeBefore is set on a BackupStorageLocation whose access
// mode a migration changed: the JSON of bslModeBefore, the migration and
// the mode the location had before that migration first changed it. It is
// removed when the migration sets the location back to that mode.
const AnnotationBSLModeBefore = "cutover.dev/bsl-mode-before"

// Access modes of a BackupStorageLocation.
const (
	AccessModeReadOnly  = string(velerov1.BackupStorageLocationAccessModeReadOnly)
	AccessModeReadWrite = string(velerov1.BackupStorageLocationAccessModeReadWrite)
)

// SetBSLAccessModeInput sets the access mode of one BackupStorageLocation.
type SetBSLAccessModeInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Namespace string       `json:"namespace"`
	// Name is the location's name (default: WithStorageLocation, "default").
	Name string `json:"name"`
	// AccessMode is "ReadOnly" or "ReadWrite".
	AccessMode string `json:"accessMode"`
	// Migration names the migration in AnnotationBSLModeBefore.
	Migration string `json:"migration"`
}

// SetBSLAccessModeResult is the location's mode before the migration
// changed it and now.
type SetBSLAccessModeResult struct {
	// Previous is the mode the location had before this migration first
	// changed it (the same on every retry and after setting it back): the
	// mode to set it back to.
	Previous string `json:"previous"`
	Now      string `json:"now"`
	// Changed is true when this call wrote the location.
	Changed bool `json:"changed,omitempty"`
}

// bslModeBefore is the value of AnnotationBSLModeBefore.
type bslModeBefore struct {
	Migration  string `json:"migration"`
	AccessMode string `json:"accessMode"`
}

// bslConflictBackoff paces the re-reads after an optimistic-concurrency
// conflict (Velero's server updates the location's status while we patch).
var bslConflictBackoff = wait.Backoff{Steps: 8, Duration: 50 * time.Millisecond, Factor: 2, Jitter: 0.2}

// SetBSLAccessMode sets spec.accessMode of a BackupStorageLocation, e.g.
// green's ReadOnly while blue's backup is restored into it, so green's
// Velero neither writes into blue's storage nor deletes blue's backups
// from it. The mode found before the migration's first change is kept in
// AnnotationBSLModeBefore, so a retry (the location already changed)
// still returns the true Previous, and setting the location back to that
// mode removes the annotation. Setting the mode it already has writes
// nothing. A location that does not exist is NotFound.
func (a *Activities) SetBSLAccessMode(ctx context.Context, in SetBSLAccessModeInput) (SetBSLAccessModeResult, error) {
	var res SetBSLAccessModeResult
	switch {
	case in.Namespace == "":
		return res, failures.New(failures.Validation, "velero.namespace: required")
	case in.Migration == "":
		return res, failures.New(failures.Validation, "migration: required")
	case in.Cluster.Name == "":
		return res, failures.New(failures.Validation, "velero: cluster required")
	case in.AccessMode != AccessModeReadOnly && in.AccessMode != AccessModeReadWrite:
		return res, failures.New(failures.Validation, "velero: access mode %q is not %s or %s", in.AccessMode, AccessModeReadOnly, AccessModeReadWrite)
	}
	if in.Name == "" {
		in.Name = a.opts.storageLocation
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	activitylog.Heartbeat(ctx, Progress{Step: "storage-location", Name: in.Name, Phase: in.AccessMode})
	c, err := a.client(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	err = retry.OnError(bslConflictBackoff, apierrors.IsConflict, func() error {
		var err error
		res, err = a.setBSLMode(ctx, c, in)
		if apierrors.IsConflict(err) {
			activitylog.Heartbeat(ctx, Progress{Step: "storage-location", Name: in.Name, Phase: "conflict"})
		}
		return err
	})
	if err != nil {
		return res, apiError(err, "set access mode of BackupStorageLocation %s/%s on %s", in.Namespace, in.Name, in.Cluster.Name)
	}
	a.log(ctx).Info("Set the access mode of the Velero storage location", "cluster", in.Cluster.Name, "storageLocation", in.Name,
		"migration", in.Migration, "previous", res.Previous, "now", res.Now, "changed", res.Changed)
	return res, nil
}

// setBSLMode reads the location and patches it when the mode or the
// annotation must change; an apiserver Conflict is returned as is.
func (a *Activities) setBSLMode(ctx context.Context, c client.Client, in SetBSLAccessModeInput) (SetBSLAccessModeResult, error) {
	var res SetBSLAccessModeResult
	var b velerov1.BackupStorageLocation
	if err := get(ctx, c, client.ObjectKey{Namespace: in.Namespace, Name: in.Name}, &b); err != nil {
		if apierrors.IsNotFound(err) {
			return res, failures.New(failures.NotFound, "velero: BackupStorageLocation %s/%s does not exist on %s", in.Namespace, in.Name, in.Cluster.Name)
		}
		return res, err
	}
	current := accessModeOf(b.Spec.AccessMode)
	raw, annotated := b.Annotations[AnnotationBSLModeBefore]
	var before bslModeBefore
	if annotated {
		if err := json.Unmarshal([]byte(raw), &before); err != nil || before.AccessMode == "" {
			a.log(ctx).Warn("Unreadable annotation on the Velero storage location, replacing it", "cluster", in.Cluster.Name, "storageLocation", in.Name,
				"annotation", AnnotationBSLModeBefore, "value", raw)
			before = bslModeBefore{}
		}
	}
	ours := annotated && before.Migration == in.Migration && before.AccessMode != ""
	res.Previous = current
	if ours {
		res.Previous = before.AccessMode
	} else if annotated && before.Migration != "" {
		a.log(ctx).Warn("The Velero storage location's mode was changed by another migration", "cluster", in.Cluster.Name, "storageLocation", in.Name,
			"otherMigration", before.Migration, "itsPrevious", before.AccessMode, "current", current)
	}
	res.Now = in.AccessMode

	patched := b.DeepCopy()
	if current != in.AccessMode {
		patched.Spec.AccessMode = velerov1.BackupStorageLocationAccessMode(in.AccessMode)
	}
	switch {
	case in.AccessMode == res.Previous && ours:
		// Back at the mode from before the migration.
		delete(patched.Annotations, AnnotationBSLModeBefore)
	case in.AccessMode != res.Previous && !ours:
		record, err := json.Marshal(bslModeBefore{Migration: in.Migration, AccessMode: res.Previous})
		if err != nil {
			return res, err
		}
		if patched.Annotations == nil {
			patched.Annotations = map[string]string{}
		}
		patched.Annotations[AnnotationBSLModeBefore] = string(record)
	}
	if current == in.AccessMode && len(patched.Annotations) == len(b.Annotations) && patched.Annotations[AnnotationBSLModeBefore] == raw {
		return res, nil
	}
	pctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	if err := c.Patch(pctx, patched, client.MergeFromWithOptions(&b, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return res, failures.New(failures.NotFound, "velero: BackupStorageLocation %s/%s was deleted on %s", in.Namespace, in.Name, in.Cluster.Name)
		}
		return res, err
	}
	res.Changed = true
	return res, nil
}
