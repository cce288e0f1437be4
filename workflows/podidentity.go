package workflows

import (
	"fmt"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changePodIdentity versions copying blue's Pod Identity associations to
// green, their parity rows and their removal on rollback.
const changePodIdentity = "pod-identity"

// podIdentityState is what the run knows of Pod Identity: blue's
// associations (from preflight) and whether this run copied them, so
// parity expects them on green only then.
type podIdentityState struct {
	blue   []eks.PodIdentityAssociation
	copied bool
}

// copyPodIdentity gives green's service accounts the Pod Identity
// associations blue's have (namespace, service account, role), unless
// green.copy.podIdentity is false. What is
// about to be created is recorded before the call, so a rollback after a
// failed attempt deletes what that attempt made (only associations tagged
// with this migration); once the call answers, the record is exactly what
// it created.
func (m *migration) copyPodIdentity(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changePodIdentity, workflow.DefaultVersion, 1) != 1 || !spec.On(m.spec.Green.Copy.PodIdentity) {
		return nil
	}
	m.podIdentity.copied = true
	var want []eks.PodIdentityAssociation
	for _, a := range m.podIdentity.blue {
		want = append(want, eks.PodIdentityAssociation{Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN})
	}
	if len(want) == 0 {
		return nil
	}
	m.progress(fmt.Sprintf("Copying %d Pod Identity associations", len(want)))
	m.done.PodIdentity = want
	res, err := short[eks.EnsurePodIdentityResult](ctx, mutateOptions, eksA.EnsurePodIdentityAssociations, eks.EnsurePodIdentityInput{
		Cluster: m.green(), Associations: want, Migration: m.spec.Name, RequestToken: m.requestToken(),
	})
	if err != nil {
		return err
	}
	m.done.PodIdentity = res.Created
	m.logger.Info("Pod Identity associations copied to green", "created", len(res.Created), "adopted", len(res.Adopted))
	return nil
}

// deletePodIdentity removes from green the associations this run created.
func (m *migration) deletePodIdentity(ctx workflow.Context) error {
	m.progress("Deleting the Pod Identity associations cutover made on green")
	res, err := call[eks.DeletePodIdentityResult](ctx, rollbackSetOptions, eksA.DeletePodIdentityAssociations, eks.DeletePodIdentityInput{
		Cluster: m.green(), Associations: m.done.PodIdentity, Migration: m.spec.Name,
	})
	if err != nil {
		return err
	}
	m.logger.Info("Pod Identity associations deleted from green", "deleted", len(res.Deleted), "gone", len(res.Gone), "kept", len(res.Kept))
	return nil
}

// podIdentityPlan is what a dry run says would be copied.
func (m *migration) podIdentityPlan(blue []eks.PodIdentityAssociation) []eks.PodIdentityAssociation {
	if !spec.On(m.spec.Green.Copy.PodIdentity) {
		return nil
	}
	out := make([]eks.PodIdentityAssociation, 0, len(blue))
	for _, a := range blue {
		out = append(out, eks.PodIdentityAssociation{Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN})
	}
	return out
}
