package velero

import (
	"context"
	"fmt"
	"slices"
	"strings"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// RestoreVeleroBackup creates the restore in green and heartbeats until it completes.
//
// Green's Velero sees blue's backup only after it syncs it from the shared
// storage location, so the restore is created once the Backup object exists
// on green (a retryable NotReadyYet after WithBackupSyncWait). A restore
// that finishes PartiallyFailed is returned with its warning and error
// counts, not as an error; Failed and FailedValidation are errors. The
// per-resource errors and warnings of a restore that finished with any
// (PartiallyFailed, or Completed with warnings) are read from the storage
// location through a DownloadRequest, as velero restore describe --details
// does, into Failures and WarningsDetail; when they cannot be read within
// WithResultsWait, one entry says so and the restore is returned all the
// same.
func (a *Activities) RestoreVeleroBackup(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	switch {
	case in.BackupName == "":
		return RestoreResult{}, failures.New(failures.Validation, "velero.backupName: required")
	case in.RestoreName == "":
		return RestoreResult{}, failures.New(failures.Validation, "velero: restore name required")
	case in.Namespace == "":
		return RestoreResult{}, failures.New(failures.Validation, "velero.namespace: required")
	}
	switch velerov1.PolicyType(in.ExistingResourcePolicy) {
	case "", velerov1.PolicyTypeNone, velerov1.PolicyTypeUpdate:
	default:
		return RestoreResult{}, failures.New(failures.Validation, "velero.existingResourcePolicy: %q is not none or update", in.ExistingResourcePolicy)
	}
	c, err := a.client(ctx, in.Cluster)
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Name: in.RestoreName}
	key := client.ObjectKey{Namespace: in.Namespace, Name: in.RestoreName}

	var r velerov1.Restore
	err = c.Get(ctx, key, &r)
	switch {
	case err == nil:
		if diff := restoreDiff(&r.Spec, in); diff != "" {
			return res, failures.New(failures.Conflict,
				"velero: restore %s/%s already exists on %s with a different %s; delete it or choose another name", in.Namespace, in.RestoreName, in.Cluster.Name, diff)
		}
		log.Info("Adopting existing Velero restore", "cluster", in.Cluster.Name, "restore", in.RestoreName, "phase", r.Status.Phase)
	case apierrors.IsNotFound(err):
		if err := a.waitBackupSynced(ctx, c, in); err != nil {
			return res, err
		}
		r = velerov1.Restore{
			ObjectMeta: metav1.ObjectMeta{Name: in.RestoreName, Namespace: in.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Spec:       restoreSpec(in),
		}
		if err := c.Create(ctx, &r); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return res, failures.Wrap(failures.ResourceInUse, err, "create Velero restore %s/%s on %s", in.Namespace, in.RestoreName, in.Cluster.Name)
			}
			return res, apiError(err, "create Velero restore %s/%s on %s", in.Namespace, in.RestoreName, in.Cluster.Name)
		}
		res.Created = true
		log.Info("Created Velero restore", "cluster", in.Cluster.Name, "restore", in.RestoreName, "backup", in.BackupName,
			"restorePVs", in.RestorePVs, "existingResourcePolicy", in.ExistingResourcePolicy)
	default:
		return res, apiError(err, "get Velero restore %s/%s on %s", in.Namespace, in.RestoreName, in.Cluster.Name)
	}

	p := Progress{Step: "restore", Name: in.RestoreName, Polls: resumePolls(ctx, "restore", in.RestoreName)}
	lastPhase := velerov1.RestorePhase("-")
	failuresInARow := 0
	for {
		s := r.Status
		p.Polls++
		p.Phase = string(s.Phase)
		if s.Progress != nil {
			p.Items, p.Total = s.Progress.ItemsRestored, s.Progress.TotalItems
		}
		activitylog.Heartbeat(ctx, p)
		if s.Phase != lastPhase {
			log.Info("Velero restore phase", "cluster", in.Cluster.Name, "restore", in.RestoreName, "phase", s.Phase, "items", p.Items, "total", p.Total)
			lastPhase = s.Phase
		}
		res.Phase, res.Warnings, res.Errors, res.Items = string(s.Phase), s.Warnings, s.Errors, p.Items
		switch s.Phase {
		case velerov1.RestorePhaseCompleted:
			log.Info("Velero restore completed", "cluster", in.Cluster.Name, "restore", in.RestoreName, "items", res.Items, "warnings", res.Warnings)
			if res.Warnings > 0 || res.Errors > 0 {
				d := a.restoreDetails(ctx, c, &r, in.Cluster.Name)
				res.Failures, res.WarningsDetail = d.failures, d.warnings
			}
			return res, nil
		case velerov1.RestorePhasePartiallyFailed:
			log.Warn("Velero restore partially failed", "cluster", in.Cluster.Name, "restore", in.RestoreName,
				"errors", res.Errors, "warnings", res.Warnings, "details", describeCommand(in.RestoreName))
			d := a.restoreDetails(ctx, c, &r, in.Cluster.Name)
			res.Failures, res.WarningsDetail = d.failures, d.warnings
			return res, nil
		case velerov1.RestorePhaseFailed:
			reason := s.FailureReason
			if reason == "" {
				reason = "no failure reason"
			}
			return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"velero: restore %s/%s on %s failed: %s (%d errors, %d warnings)", in.Namespace, in.RestoreName, in.Cluster.Name, reason, s.Errors, s.Warnings), RestoreFailed, nil, res)
		case velerov1.RestorePhaseFailedValidation:
			return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"velero: restore %s/%s on %s failed validation: %s", in.Namespace, in.RestoreName, in.Cluster.Name, strings.Join(s.ValidationErrors, "; ")), RestoreFailed, nil, res)
		}
		if err := a.sleep(ctx); err != nil {
			return res, err
		}
		if err := get(ctx, c, key, &r); err != nil {
			if apierrors.IsNotFound(err) {
				return res, failures.New(failures.NotFound, "velero: restore %s/%s was deleted on %s while waiting for it", in.Namespace, in.RestoreName, in.Cluster.Name)
			}
			mapped := apiError(err, "get Velero restore %s/%s on %s", in.Namespace, in.RestoreName, in.Cluster.Name)
			if failuresInARow++; failures.TypeOf(mapped) != "" || failuresInARow >= maxReadFailures {
				return res, mapped
			}
			log.Warn("Reading the Velero restore failed, will retry", "cluster", in.Cluster.Name, "restore", in.RestoreName, "error", err)
			continue
		}
		failuresInARow = 0
	}
}

// waitBackupSynced waits until green's Velero has the backup, finished.
func (a *Activities) waitBackupSynced(ctx context.Context, c client.Client, in RestoreInput) error {
	log := a.log(ctx)
	key := client.ObjectKey{Namespace: in.Namespace, Name: in.BackupName}
	p := Progress{Step: "backup-sync", Name: in.BackupName, Polls: resumePolls(ctx, "backup-sync", in.BackupName)}
	start := a.opts.Now()
	logged := false
	failuresInARow := 0
	for {
		p.Polls++
		var b velerov1.Backup
		err := get(ctx, c, key, &b)
		switch {
		case err == nil:
			failuresInARow = 0
			p.Phase = string(b.Status.Phase)
			switch b.Status.Phase {
			case velerov1.BackupPhaseCompleted, velerov1.BackupPhasePartiallyFailed:
				// Velero restores from a PartiallyFailed backup too;
				// EnsureVeleroBackup already refused one on blue.
				log.Info("Velero backup is available on the cluster", "cluster", in.Cluster.Name, "backup", in.BackupName, "phase", b.Status.Phase)
				return nil
			case velerov1.BackupPhaseFailed, velerov1.BackupPhaseFailedValidation, velerov1.BackupPhaseDeleting:
				return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
					"velero: backup %s/%s on %s is %s; it cannot be restored", in.Namespace, in.BackupName, in.Cluster.Name, b.Status.Phase), BackupFailed, nil)
			}
		case apierrors.IsNotFound(err):
			failuresInARow = 0
			p.Phase = "NotSynced"
			if !logged {
				log.Info("Waiting for Velero to sync the backup from the storage location", "cluster", in.Cluster.Name, "backup", in.BackupName, "namespace", in.Namespace)
				logged = true
			}
		default:
			mapped := apiError(err, "get Velero backup %s/%s on %s", in.Namespace, in.BackupName, in.Cluster.Name)
			if failuresInARow++; failures.TypeOf(mapped) != "" || failuresInARow >= maxReadFailures {
				return mapped
			}
			log.Warn("Reading the Velero backup failed, will retry", "cluster", in.Cluster.Name, "backup", in.BackupName, "error", err)
		}
		activitylog.Heartbeat(ctx, p)
		if a.opts.Now().Sub(start) >= a.opts.syncWait {
			return failures.New(failures.NotReadyYet,
				"velero: backup %s/%s is not on %s yet (phase %s after %s): is green's Velero using the same backup storage location as blue's?",
				in.Namespace, in.BackupName, in.Cluster.Name, p.Phase, a.opts.syncWait)
		}
		if err := a.sleep(ctx); err != nil {
			return err
		}
	}
}

func restoreSpec(in RestoreInput) velerov1.RestoreSpec {
	pvs := in.RestorePVs
	s := velerov1.RestoreSpec{
		BackupName:             in.BackupName,
		IncludedNamespaces:     slices.Clone(in.IncludedNamespaces),
		ExcludedNamespaces:     slices.Clone(in.ExcludedNamespaces),
		RestorePVs:             &pvs,
		ExistingResourcePolicy: velerov1.PolicyType(in.ExistingResourcePolicy),
	}
	if in.IncludeClusterResources {
		yes := true
		s.IncludeClusterResources = &yes
	}
	return s
}

// restoreDiff names what differs between an existing restore's spec and
// the one RestoreVeleroBackup would create ("" when they match).
func restoreDiff(s *velerov1.RestoreSpec, in RestoreInput) string {
	var diff []string
	if s.BackupName != in.BackupName {
		diff = append(diff, fmt.Sprintf("backupName (%s, want %s)", s.BackupName, in.BackupName))
	}
	if !sameSet(s.IncludedNamespaces, in.IncludedNamespaces, true) {
		diff = append(diff, fmt.Sprintf("includedNamespaces (%v, want %v)", s.IncludedNamespaces, in.IncludedNamespaces))
	}
	if !sameSet(s.ExcludedNamespaces, in.ExcludedNamespaces, false) {
		diff = append(diff, fmt.Sprintf("excludedNamespaces (%v, want %v)", s.ExcludedNamespaces, in.ExcludedNamespaces))
	}
	if have := s.IncludeClusterResources != nil && *s.IncludeClusterResources; have != in.IncludeClusterResources {
		diff = append(diff, fmt.Sprintf("includeClusterResources (%v, want %v)", have, in.IncludeClusterResources))
	}
	if s.RestorePVs == nil || *s.RestorePVs != in.RestorePVs {
		got := "unset"
		if s.RestorePVs != nil {
			got = fmt.Sprint(*s.RestorePVs)
		}
		diff = append(diff, fmt.Sprintf("restorePVs (%s, want %v)", got, in.RestorePVs))
	}
	norm := func(p velerov1.PolicyType) velerov1.PolicyType {
		if p == "" {
			return velerov1.PolicyTypeNone
		}
		return p
	}
	if norm(s.ExistingResourcePolicy) != norm(velerov1.PolicyType(in.ExistingResourcePolicy)) {
		diff = append(diff, fmt.Sprintf("existingResourcePolicy (%s, want %s)", s.ExistingResourcePolicy, in.ExistingResourcePolicy))
	}
	return strings.Join(diff, ", ")
}
