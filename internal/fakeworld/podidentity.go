package fakeworld

import (
	"context"
	"fmt"

	"github.com/cutover-dev/cutover/activities/eks"
)

// The Pod Identity activities of the fake world: what is ensured on green
// appears in green's DescribeEKSCluster (with an ID), what is deleted goes.

// EnsurePodIdentityAssociations implements the EKS activity: each
// association green lacks is created; one green has with the same role is
// adopted.
func (a *Activities) EnsurePodIdentityAssociations(_ context.Context, in eks.EnsurePodIdentityInput) (eks.EnsurePodIdentityResult, error) {
	w := a.w
	if err := w.record("EnsurePodIdentityAssociations", in); err != nil {
		return eks.EnsurePodIdentityResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var res eks.EnsurePodIdentityResult
	if w.greenDesc == nil || in.Cluster.Name != w.greenDesc.Name {
		// Another run's green (the fleet's migrations share a world):
		// created, not remembered.
		for i, want := range in.Associations {
			want.AssociationID = fmt.Sprintf("a-%s%04d", in.Cluster.Name, i+1)
			res.Created = append(res.Created, want)
		}
		return res, nil
	}
	for _, want := range in.Associations {
		found := false
		for _, have := range w.greenDesc.PodIdentityAssociations {
			if have.Namespace == want.Namespace && have.ServiceAccount == want.ServiceAccount {
				res.Adopted, found = append(res.Adopted, have), true
			}
		}
		if found {
			continue
		}
		want.AssociationID = fmt.Sprintf("a-green%010d", len(w.greenDesc.PodIdentityAssociations)+1)
		w.greenDesc.PodIdentityAssociations = append(w.greenDesc.PodIdentityAssociations, want)
		res.Created = append(res.Created, want)
	}
	return res, nil
}

// DeletePodIdentityAssociations implements the EKS activity: the named
// associations are removed from green.
func (a *Activities) DeletePodIdentityAssociations(_ context.Context, in eks.DeletePodIdentityInput) (eks.DeletePodIdentityResult, error) {
	w := a.w
	if err := w.record("DeletePodIdentityAssociations", in); err != nil {
		return eks.DeletePodIdentityResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var res eks.DeletePodIdentityResult
	for _, d := range in.Associations {
		gone := true
		if w.greenDesc != nil && in.Cluster.Name == w.greenDesc.Name {
			kept := w.greenDesc.PodIdentityAssociations[:0]
			for _, have := range w.greenDesc.PodIdentityAssociations {
				if have.Namespace == d.Namespace && have.ServiceAccount == d.ServiceAccount {
					res.Deleted, gone = append(res.Deleted, have), false
					continue
				}
				kept = append(kept, have)
			}
			w.greenDesc.PodIdentityAssociations = kept
		}
		if gone {
			res.Gone = append(res.Gone, d)
		}
	}
	return res, nil
}
