package fakeworld

import (
	"context"
	"sync"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The fake world's logical clusters: which physical cluster each is, and
// its generation (TakeOverLogicalCluster moves it to green); an unknown
// logical cluster is its original (Original, else its own name).
var (
	logicalMu sync.Mutex
	logical   = map[*World]map[string]eks.LogicalCluster{}
)

// LogicalCluster is what the logical cluster resolves to now ("" cluster
// when nothing took it over yet).
func (w *World) LogicalCluster(name string) eks.LogicalCluster {
	logicalMu.Lock()
	defer logicalMu.Unlock()
	return logical[w][name]
}

// ResolveLogicalCluster implements the eks activity.
func (a *Activities) ResolveLogicalCluster(_ context.Context, in eks.ResolveLogicalInput) (eks.LogicalCluster, error) {
	if err := a.w.record("ResolveLogicalCluster", in); err != nil {
		return eks.LogicalCluster{}, err
	}
	if in.Logical == "" {
		return eks.LogicalCluster{}, failures.New(failures.InvalidParameter, "resolve logical cluster: name is empty")
	}
	logicalMu.Lock()
	defer logicalMu.Unlock()
	if lc, ok := logical[a.w][in.Logical]; ok {
		return lc, nil
	}
	name := in.Original
	if name == "" {
		name = in.Logical
	}
	a.w.mu.Lock()
	version := a.w.Blue.Version
	a.w.mu.Unlock()
	return eks.LogicalCluster{Cluster: name, Version: version, Names: []string{name}}, nil
}

// TakeOverLogicalCluster implements the eks activity.
func (a *Activities) TakeOverLogicalCluster(_ context.Context, in eks.TakeOverInput) (eks.TakeOverResult, error) {
	if err := a.w.record("TakeOverLogicalCluster", in); err != nil {
		return eks.TakeOverResult{}, err
	}
	logicalMu.Lock()
	defer logicalMu.Unlock()
	m := logical[a.w]
	if m == nil {
		m = map[string]eks.LogicalCluster{}
		logical[a.w] = m
	}
	cur := m[in.Logical]
	if cur.Cluster == in.Green {
		return eks.TakeOverResult{Generation: cur.Generation}, nil
	}
	next := eks.LogicalCluster{Cluster: in.Green, Generation: cur.Generation + 1, Names: []string{in.Green}}
	m[in.Logical] = next
	return eks.TakeOverResult{Generation: next.Generation}, nil
}
