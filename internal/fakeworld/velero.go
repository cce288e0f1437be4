package fakeworld

import (
	"context"
	"fmt"
	"sync"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// The Velero preflight and storage-location activities of the fake world.
// Blue and green both run Velero v1.16.2 with EnableAPIGroupVersions and
// share one storage location, so CheckVelero finds nothing. Every storage
// location starts ReadWrite; SetBSLAccessMode changes it and remembers,
// per migration, the mode from before that migration's first change, as
// the real activity's annotation does.

// Velero install of the fake clusters.
const (
	fakeVeleroVersion = "v1.16.2"
	fakeVeleroBucket  = "cutover-velero-backups"
	fakeVeleroPrefix  = "cutover"
)

// fakeBSL is one storage location of one cluster.
type fakeBSL struct {
	mode string
	// before is the mode before migration's first change ("" when no
	// migration changed it).
	before, migration string
}

type bslKey struct{ cluster, name string }

var (
	bslMu     sync.Mutex
	bslWorlds = map[*World]map[bslKey]*fakeBSL{}
)

// BSLMode returns the access mode of the cluster's storage location: the
// one SetBSLAccessMode changed on it (the "default" one when it changed
// several), ReadWrite when none was changed.
func (w *World) BSLMode(cluster string) string {
	bslMu.Lock()
	defer bslMu.Unlock()
	var found []*fakeBSL
	for k, b := range bslWorlds[w] {
		if k.cluster == cluster {
			found = append(found, b)
		}
	}
	switch {
	case len(found) == 1:
		return found[0].mode
	case len(found) > 1:
		if b := bslWorlds[w][bslKey{cluster, "default"}]; b != nil {
			return b.mode
		}
	}
	return velero.AccessModeReadWrite
}

// bsl returns the location (cluster, name) of w, ReadWrite when new; the
// caller holds bslMu.
func (w *World) bsl(cluster, name string) *fakeBSL {
	m := bslWorlds[w]
	if m == nil {
		m = map[bslKey]*fakeBSL{}
		bslWorlds[w] = m
	}
	b := m[bslKey{cluster, name}]
	if b == nil {
		b = &fakeBSL{mode: velero.AccessModeReadWrite}
		m[bslKey{cluster, name}] = b
	}
	return b
}

// CheckVelero implements the Velero activity: both clusters have Velero
// and the same storage location; no findings unless
// GreenVeleroWithoutAPIGroupVersions and the Kubernetes versions differ.
func (a *Activities) CheckVelero(_ context.Context, in velero.CheckVeleroInput) (velero.CheckVeleroResult, error) {
	w := a.w
	if err := w.record("CheckVelero", in); err != nil {
		return velero.CheckVeleroResult{}, err
	}
	if in.Namespace == "" {
		return velero.CheckVeleroResult{}, failures.New(failures.Validation, "velero.namespace: required")
	}
	name := in.StorageLocation
	if name == "" {
		name = "default"
	}
	bslMu.Lock()
	defer bslMu.Unlock()
	install := func(cluster string) velero.VeleroInstall {
		return velero.VeleroInstall{
			Installed: true, Version: fakeVeleroVersion, Image: "velero/velero:" + fakeVeleroVersion,
			Features: []string{velero.FeatureEnableAPIGroupVersions},
			BSL: &velero.BSLInfo{Name: name, Provider: "aws", Bucket: fakeVeleroBucket, Prefix: fakeVeleroPrefix,
				AccessMode: w.bsl(cluster, name).mode, Phase: "Available"},
		}
	}
	res := velero.CheckVeleroResult{Blue: install(in.Blue.Name), Green: install(in.Green.Name)}
	if w.GreenVeleroWithoutAPIGroupVersions {
		res.Green.Features = nil
		if in.BlueVersion != in.GreenVersion {
			res.Findings = append(res.Findings, finding.Finding{Check: velero.CheckAPIGroupVersions, Cluster: in.Green.Name, Object: "Deployment " + in.Namespace + "/velero",
				Severity: finding.Error, Source: "velero", Message: fmt.Sprintf("blue runs Kubernetes %s and green %s, and green's Velero server lacks %s", in.BlueVersion, in.GreenVersion, velero.FeatureEnableAPIGroupVersions),
				Fix: "add --features=" + velero.FeatureEnableAPIGroupVersions + " to green's Velero server"})
		}
	}
	return res, nil
}

// SetBSLAccessMode implements the Velero activity: the location of
// (cluster, name) gets the mode; Previous is its mode before the
// migration's first change, forgotten once it is set back to it.
func (a *Activities) SetBSLAccessMode(_ context.Context, in velero.SetBSLAccessModeInput) (velero.SetBSLAccessModeResult, error) {
	w := a.w
	if err := w.record("SetBSLAccessMode", in); err != nil {
		return velero.SetBSLAccessModeResult{}, err
	}
	switch {
	case in.Namespace == "" || in.Migration == "" || in.Cluster.Name == "":
		return velero.SetBSLAccessModeResult{}, failures.New(failures.Validation, "velero: namespace, migration and cluster are required")
	case in.AccessMode != velero.AccessModeReadOnly && in.AccessMode != velero.AccessModeReadWrite:
		return velero.SetBSLAccessModeResult{}, failures.New(failures.Validation, "velero: access mode %q is not ReadOnly or ReadWrite", in.AccessMode)
	}
	name := in.Name
	if name == "" {
		name = "default"
	}
	bslMu.Lock()
	defer bslMu.Unlock()
	b := w.bsl(in.Cluster.Name, name)
	res := velero.SetBSLAccessModeResult{Previous: b.mode, Now: in.AccessMode, Changed: b.mode != in.AccessMode}
	ours := b.migration == in.Migration && b.before != ""
	if ours {
		res.Previous = b.before
	}
	switch {
	case in.AccessMode == res.Previous && ours:
		b.before, b.migration = "", ""
		res.Changed = true
	case in.AccessMode != res.Previous && !ours:
		b.before, b.migration = res.Previous, in.Migration
		res.Changed = true
	}
	b.mode = in.AccessMode
	return res, nil
}
