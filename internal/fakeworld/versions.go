package fakeworld

import (
	"context"
	"sync"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Per-cluster Kubernetes versions (a fleet whose members are not all at
// blue's version) and the versions EKS offers; by default every version
// spec knows is offered.
var (
	versionsMu      sync.Mutex
	clusterVersions = map[*World]map[string]string{}
	offered         = map[*World][]string{}
)

// SetClusterVersion makes DescribeEKSCluster report version for the named
// cluster (otherwise it reports blue's).
func (w *World) SetClusterVersion(name, version string) {
	versionsMu.Lock()
	defer versionsMu.Unlock()
	if clusterVersions[w] == nil {
		clusterVersions[w] = map[string]string{}
	}
	clusterVersions[w][name] = version
}

// SetOfferedVersions sets what ListOfferedVersions reports, oldest first.
func (w *World) SetOfferedVersions(versions ...string) {
	versionsMu.Lock()
	defer versionsMu.Unlock()
	offered[w] = versions
}

func (w *World) clusterVersion(name string) (string, bool) {
	versionsMu.Lock()
	defer versionsMu.Unlock()
	v, ok := clusterVersions[w][name]
	return v, ok
}

// ListOfferedVersions implements the EKS activity.
func (a *Activities) ListOfferedVersions(_ context.Context, in eks.OfferedVersionsInput) (eks.OfferedVersions, error) {
	if err := a.w.record("ListOfferedVersions", in); err != nil {
		return eks.OfferedVersions{}, err
	}
	versionsMu.Lock()
	names, set := offered[a.w]
	versionsMu.Unlock()
	if !set {
		for _, v := range spec.KnownEKSVersions() {
			names = append(names, v.Version)
		}
	}
	out := eks.OfferedVersions{Region: in.Region, Versions: []eks.OfferedVersion{}}
	for _, v := range names {
		out.Versions = append(out.Versions, eks.OfferedVersion{Version: v, Status: "STANDARD_SUPPORT"})
	}
	return out, nil
}
