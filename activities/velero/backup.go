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

// EnsureVeleroBackup creates (or finds) the backup and heartbeats until it completes.
func (a *Activities) EnsureVeleroBackup(ctx context.Context, in BackupInput) (BackupResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	if in.Name == "" {
		return BackupResult{}, failures.New(failures.Validation, "velero.backupName: required")
	}
	if in.Namespace == "" {
		return BackupResult{}, failures.New(failures.Validation, "velero.namespace: required")
	}
	c, err := a.client(ctx, in.Cluster)
	if err != nil {
		return BackupResult{}, err
	}
	key := client.ObjectKey{Namespace: in.Namespace, Name: in.Name}
	res := BackupResult{Name: in.Name}

	var b velerov1.Backup
	err = c.Get(ctx, key, &b)
	switch {
	case err == nil:
		if !in.Existing {
			if diff := a.backupDiff(&b.Spec, in); diff != "" {
				return res, failures.New(failures.Conflict,
					"velero: backup %s/%s already exists on %s with a different %s; delete it or choose another name", in.Namespace, in.Name, in.Cluster.Name, diff)
			}
			log.Info("Adopting existing Velero backup", "cluster", in.Cluster.Name, "backup", in.Name, "phase", b.Status.Phase)
		}
	case apierrors.IsNotFound(err) && in.Existing:
		return res, failures.New(failures.NotFound, "velero: backup %s/%s does not exist on %s", in.Namespace, in.Name, in.Cluster.Name)
	case apierrors.IsNotFound(err):
		b = velerov1.Backup{
			ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Spec: velerov1.BackupSpec{
				IncludedNamespaces:             slices.Clone(in.IncludedNamespaces),
				ExcludedNamespaces:             slices.Clone(in.ExcludedNamespaces),
				IncludedClusterScopedResources: slices.Clone(in.IncludedClusterScopedResources),
				StorageLocation:                a.opts.storageLocation,
			},
		}
		if err := c.Create(ctx, &b); err != nil {
			if apierrors.IsAlreadyExists(err) {
				// Created concurrently: the next attempt adopts or refuses it.
				return res, failures.Wrap(failures.ResourceInUse, err, "create Velero backup %s/%s on %s", in.Namespace, in.Name, in.Cluster.Name)
			}
			return res, apiError(err, "create Velero backup %s/%s on %s", in.Namespace, in.Name, in.Cluster.Name)
		}
		res.Created = true
		log.Info("Created Velero backup", "cluster", in.Cluster.Name, "backup", in.Name, "namespace", in.Namespace,
			"includedNamespaces", in.IncludedNamespaces, "excludedNamespaces", in.ExcludedNamespaces, "storageLocation", a.opts.storageLocation)
	default:
		return res, apiError(err, "get Velero backup %s/%s on %s", in.Namespace, in.Name, in.Cluster.Name)
	}

	p := Progress{Step: "backup", Name: in.Name, Polls: resumePolls(ctx, "backup", in.Name)}
	lastPhase := velerov1.BackupPhase("-")
	failuresInARow := 0
	for {
		p.Polls++
		p.Phase = string(b.Status.Phase)
		if pr := b.Status.Progress; pr != nil {
			p.Items, p.Total = pr.ItemsBackedUp, pr.TotalItems
		}
		activitylog.Heartbeat(ctx, p)
		if b.Status.Phase != lastPhase {
			log.Info("Velero backup phase", "cluster", in.Cluster.Name, "backup", in.Name, "phase", b.Status.Phase, "items", p.Items, "total", p.Total)
			lastPhase = b.Status.Phase
		}
		done, err := backupDone(&b, in.Cluster.Name)
		if err != nil {
			return res, err
		}
		if done {
			res.Phase = string(b.Status.Phase)
			res.Items = p.Items
			res.Warnings = b.Status.Warnings
			log.Info("Velero backup completed", "cluster", in.Cluster.Name, "backup", in.Name, "items", res.Items, "warnings", res.Warnings)
			return res, nil
		}
		if err := a.sleep(ctx); err != nil {
			return res, err
		}
		if err := get(ctx, c, key, &b); err != nil {
			if apierrors.IsNotFound(err) {
				return res, failures.New(failures.NotFound, "velero: backup %s/%s was deleted on %s while waiting for it", in.Namespace, in.Name, in.Cluster.Name)
			}
			mapped := apiError(err, "get Velero backup %s/%s on %s", in.Namespace, in.Name, in.Cluster.Name)
			if failuresInARow++; failures.TypeOf(mapped) != "" || failuresInARow >= maxReadFailures {
				return res, mapped
			}
			log.Warn("Reading the Velero backup failed, will retry", "cluster", in.Cluster.Name, "backup", in.Name, "error", err)
			continue
		}
		failuresInARow = 0
	}
}

// backupDone reports whether b completed, or the error it finished with.
func backupDone(b *velerov1.Backup, cluster string) (bool, error) {
	s := b.Status
	switch s.Phase {
	case velerov1.BackupPhaseCompleted:
		return true, nil
	case velerov1.BackupPhasePartiallyFailed:
		return false, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"velero: backup %s/%s on %s partially failed: %d errors, %d warnings (velero backup describe %s --details)",
			b.Namespace, b.Name, cluster, s.Errors, s.Warnings, b.Name), BackupFailed, nil)
	case velerov1.BackupPhaseFailed:
		reason := s.FailureReason
		if reason == "" {
			reason = "no failure reason"
		}
		return false, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"velero: backup %s/%s on %s failed: %s (%d errors, %d warnings)", b.Namespace, b.Name, cluster, reason, s.Errors, s.Warnings), BackupFailed, nil)
	case velerov1.BackupPhaseFailedValidation:
		return false, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"velero: backup %s/%s on %s failed validation: %s", b.Namespace, b.Name, cluster, strings.Join(s.ValidationErrors, "; ")), BackupFailed, nil)
	case velerov1.BackupPhaseDeleting:
		return false, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"velero: backup %s/%s on %s is being deleted", b.Namespace, b.Name, cluster), BackupFailed, nil)
	}
	return false, nil
}

// backupDiff names what differs between an existing backup's spec and the
// one EnsureVeleroBackup would create ("" when they match).
func (a *Activities) backupDiff(s *velerov1.BackupSpec, in BackupInput) string {
	var diff []string
	if !sameSet(s.IncludedNamespaces, in.IncludedNamespaces, true) {
		diff = append(diff, fmt.Sprintf("includedNamespaces (%v, want %v)", s.IncludedNamespaces, in.IncludedNamespaces))
	}
	if !sameSet(s.ExcludedNamespaces, in.ExcludedNamespaces, false) {
		diff = append(diff, fmt.Sprintf("excludedNamespaces (%v, want %v)", s.ExcludedNamespaces, in.ExcludedNamespaces))
	}
	if !sameSet(s.IncludedClusterScopedResources, in.IncludedClusterScopedResources, false) {
		diff = append(diff, fmt.Sprintf("includedClusterScopedResources (%v, want %v)", s.IncludedClusterScopedResources, in.IncludedClusterScopedResources))
	}
	if loc := s.StorageLocation; loc != "" && loc != a.opts.storageLocation {
		diff = append(diff, fmt.Sprintf("storageLocation (%s, want %s)", loc, a.opts.storageLocation))
	}
	if len(s.IncludedResources) > 0 || len(s.ExcludedResources) > 0 || s.LabelSelector != nil || len(s.OrLabelSelectors) > 0 {
		diff = append(diff, "resource or label filters")
	}
	return strings.Join(diff, ", ")
}

// sameSet compares two name lists as sets; with star, empty means "*".
func sameSet(a, b []string, star bool) bool {
	norm := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		s = slices.Compact(s)
		if star && len(s) == 0 {
			s = []string{"*"}
		}
		return s
	}
	return slices.Equal(norm(a), norm(b))
}
