// Package eks holds the activities that read, build and retire EKS clusters
// through aws-sdk-go-v2: describe blue, upgrade insights, create green as a
// copy of blue at the target version, and delete a cluster once nothing
// points at it.
package eks

import (
	"context"

	"github.com/cutover-dev/cutover/internal/failures"
)

// Activities are the EKS activities. Build them with New.
type Activities struct{}

// New returns the EKS activities.
func New() *Activities { return &Activities{} }

// DescribeEKSCluster reads everything green needs to copy from a cluster.
func (a *Activities) DescribeEKSCluster(ctx context.Context, in DescribeInput) (ClusterDescription, error) {
	return ClusterDescription{}, failures.NotImplementedf("eks.DescribeEKSCluster")
}

// EKSUpgradeInsights turns EKS upgrade insights and the target version's support status into findings.
func (a *Activities) EKSUpgradeInsights(ctx context.Context, in InsightsInput) (InsightsResult, error) {
	return InsightsResult{}, failures.NotImplementedf("eks.EKSUpgradeInsights")
}

// EnsureGreenCluster creates green, or adopts a matching existing one.
func (a *Activities) EnsureGreenCluster(ctx context.Context, in EnsureClusterInput) (EnsureClusterResult, error) {
	return EnsureClusterResult{}, failures.NotImplementedf("eks.EnsureGreenCluster")
}

// WaitEKSClusterActive heartbeats until the cluster is ACTIVE.
func (a *Activities) WaitEKSClusterActive(ctx context.Context, in WaitClusterInput) (ClusterDescription, error) {
	return ClusterDescription{}, failures.NotImplementedf("eks.WaitEKSClusterActive")
}

// EnsureNodeGroups creates green's node groups and waits for them to be ACTIVE.
func (a *Activities) EnsureNodeGroups(ctx context.Context, in EnsureNodeGroupsInput) (EnsureNodeGroupsResult, error) {
	return EnsureNodeGroupsResult{}, failures.NotImplementedf("eks.EnsureNodeGroups")
}

// EnsureAddons installs green's add-ons at versions for the target Kubernetes version.
func (a *Activities) EnsureAddons(ctx context.Context, in EnsureAddonsInput) (EnsureAddonsResult, error) {
	return EnsureAddonsResult{}, failures.NotImplementedf("eks.EnsureAddons")
}

// EnsureAccessEntries copies access entries and their policy associations to green.
func (a *Activities) EnsureAccessEntries(ctx context.Context, in EnsureAccessEntriesInput) (EnsureAccessEntriesResult, error) {
	return EnsureAccessEntriesResult{}, failures.NotImplementedf("eks.EnsureAccessEntries")
}

// RetireEKSCluster deletes add-ons, node groups and then the cluster.
func (a *Activities) RetireEKSCluster(ctx context.Context, in RetireInput) (RetireResult, error) {
	return RetireResult{}, failures.NotImplementedf("eks.RetireEKSCluster")
}
