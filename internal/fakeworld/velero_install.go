package fakeworld

import (
	"context"
	"sync"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The Velero install of the fake world. Every cluster runs Velero of its
// own (as CheckVelero reports), so InstallVelero leaves it and returns
// Installed false, unless the cluster was marked WithoutVelero: then the
// first InstallVelero of it creates blue's install there and later ones
// create nothing.

// fakeVeleroInstallObjects are the objects InstallVelero creates in
// namespace ns of a cluster without Velero, the CRDs aside (storage
// location "default").
func fakeVeleroInstallObjects(ns string) []string {
	return []string{
		"Namespace " + ns,
		"ServiceAccount " + ns + "/velero",
		"ClusterRoleBinding velero-" + ns,
		"Secret " + ns + "/cloud-credentials",
		"BackupStorageLocation " + ns + "/default",
		"Deployment " + ns + "/velero",
		"DaemonSet " + ns + "/node-agent",
	}
}

// veleroInstallWorld is the install state of one World.
type veleroInstallWorld struct {
	without     map[string]bool   // clusters with no Velero of their own
	installedBy map[string]string // cluster -> migration that installed Velero there
}

var (
	veleroInstallMu     sync.Mutex
	veleroInstallWorlds = map[*World]*veleroInstallWorld{}
)

// veleroInstall returns w's state, creating it; the caller holds veleroInstallMu.
func veleroInstall(w *World) *veleroInstallWorld {
	s := veleroInstallWorlds[w]
	if s == nil {
		s = &veleroInstallWorld{without: map[string]bool{}, installedBy: map[string]string{}}
		veleroInstallWorlds[w] = s
	}
	return s
}

// WithoutVelero marks clusters as running no Velero of their own:
// InstallVelero installs blue's there.
func (w *World) WithoutVelero(clusters ...string) *World {
	veleroInstallMu.Lock()
	defer veleroInstallMu.Unlock()
	s := veleroInstall(w)
	for _, c := range clusters {
		s.without[c] = true
	}
	return w
}

// VeleroInstalledBy returns the migration whose InstallVelero installed
// Velero on cluster ("" when none did).
func (w *World) VeleroInstalledBy(cluster string) string {
	veleroInstallMu.Lock()
	defer veleroInstallMu.Unlock()
	return veleroInstall(w).installedBy[cluster]
}

// InstallVelero implements the Velero activity: a cluster with Velero of
// its own is left as it is (Installed false); one marked WithoutVelero
// gets blue's install once (Created), and later calls create nothing.
func (a *Activities) InstallVelero(_ context.Context, in velero.InstallVeleroInput) (velero.InstallVeleroResult, error) {
	w := a.w
	if err := w.record("InstallVelero", in); err != nil {
		return velero.InstallVeleroResult{}, err
	}
	switch {
	case in.Namespace == "":
		return velero.InstallVeleroResult{}, failures.New(failures.Validation, "velero.namespace: required")
	case in.Migration == "":
		return velero.InstallVeleroResult{}, failures.New(failures.Validation, "migration: required")
	case in.From.Name == "" || in.To.Name == "" || in.From == in.To:
		return velero.InstallVeleroResult{}, failures.New(failures.Validation, "velero install: two different clusters are required")
	}
	veleroInstallMu.Lock()
	defer veleroInstallMu.Unlock()
	s := veleroInstall(w)
	res := velero.InstallVeleroResult{Version: fakeVeleroVersion}
	switch {
	case !s.without[in.To.Name]:
		res.Existing = []string{"Deployment " + in.Namespace + "/" + velero.ServerDeployment}
	case s.installedBy[in.To.Name] == "":
		s.installedBy[in.To.Name] = in.Migration
		res.Installed = true
		res.Created = fakeVeleroInstallObjects(in.Namespace)
	default:
		res.Installed = true
	}
	return res, nil
}
