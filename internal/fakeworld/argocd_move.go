package fakeworld

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The Argo CD move of the fake world. Argo CD ArgoCDVersion runs on blue
// (the cluster named by World.Blue) with an application controller of 1
// replica and an ApplicationSet controller of 1; it manages green once
// RestoreArgoApplications ran in retarget mode. InstallArgoCD installs a
// version on a cluster, CopyArgoCDSettings records the copies of a
// migration there (argoMoveCopied), HandOverArgoCD scales blue's
// controllers, RemoveArgoCDCopies forgets the copies.

// ArgoCDVersion is the version of the fake world's Argo CD.
const ArgoCDVersion = "v2.14.21"

// argoCDInstallObjects is how many objects the install manifest of
// ArgoCDVersion has.
const argoCDInstallObjects = 59

// The objects the fake Argo CD on blue has and a copy carries.
var (
	argoMoveConfigMaps   = []string{"argocd-cm", "argocd-rbac-cm"}
	argoMoveSecrets      = []string{"repo-shop-deploy"}
	argoMoveProjects     = []string{"shop"}
	argoMoveApplications = []string{"payments", "shop"}
)

// argoMoveWorld is the Argo CD move state of one World.
type argoMoveWorld struct {
	installed map[string]string // cluster -> Argo CD version installed by InstallArgoCD
	copied    map[string]string // cluster -> migration whose copies are there
	// replicas of blue's controllers, by component name.
	replicas map[string]int
	before   map[string]int // recorded by HandOverArgoCD
	// hub is the cluster Argo CD runs on instead of blue ("" = blue).
	hub string
}

var (
	argoMoveMu     sync.Mutex
	argoMoveWorlds = map[*World]*argoMoveWorld{}
)

// argoMove returns w's state, creating it. The caller holds argoMoveMu.
func argoMove(w *World) *argoMoveWorld {
	m := argoMoveWorlds[w]
	if m == nil {
		m = &argoMoveWorld{installed: map[string]string{}, copied: map[string]string{},
			replicas: map[string]int{argocd.ApplicationController: 1, argocd.ApplicationSetController: 1}, before: map[string]int{}}
		argoMoveWorlds[w] = m
	}
	return m
}

// SetArgoCDOnHub makes the fake world's Argo CD run on the cluster hub
// instead of blue: LocateArgoCD finds it there when asked about that hub.
func (w *World) SetArgoCDOnHub(hub string) {
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	argoMove(w).hub = hub
}

// ArgoCDInstalled returns the Argo CD version InstallArgoCD installed on
// cluster ("" when none).
func (w *World) ArgoCDInstalled(cluster string) string {
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	return argoMove(w).installed[cluster]
}

// ArgoCDCopiedBy returns the migration whose CopyArgoCDSettings copies are
// on cluster ("" when none).
func (w *World) ArgoCDCopiedBy(cluster string) string {
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	return argoMove(w).copied[cluster]
}

// ArgoCDStopped reports whether blue's Argo CD controllers are scaled to 0.
func (w *World) ArgoCDStopped() bool {
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	m := argoMove(w)
	return m.replicas[argocd.ApplicationController] == 0 && m.replicas[argocd.ApplicationSetController] == 0
}

func (w *World) retargeted() bool {
	for _, in := range w.Inputs("RestoreArgoApplications") {
		if r, ok := in.(argocd.RestoreInput); ok && r.Mode == argocd.ModeRetarget {
			return true
		}
	}
	return false
}

// LocateArgoCD implements the Argo CD activity: Argo CD runs on blue.
func (a *Activities) LocateArgoCD(_ context.Context, in argocd.LocateInput) (argocd.Location, error) {
	if err := a.w.record("LocateArgoCD", in); err != nil {
		return argocd.Location{}, err
	}
	if in.Namespace == "" {
		return argocd.Location{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	argoMoveMu.Lock()
	green := argoMove(a.w).installed[in.Green.Name]
	hub := argoMove(a.w).hub
	argoMoveMu.Unlock()
	loc := argocd.Location{Where: argocd.WhereBlue, Version: ArgoCDVersion}
	onHub := hub != "" && in.Hub != nil && in.Hub.Name == hub
	switch {
	case onHub:
		loc.Where = argocd.WhereHub
		loc.Evidence = append(loc.Evidence,
			fmt.Sprintf("hub: StatefulSet %s/%s (quay.io/argoproj/argocd:%s)", in.Namespace, argocd.ApplicationController, ArgoCDVersion),
			fmt.Sprintf("hub: %d Applications", len(argoMoveApplications)), "blue: no namespace "+in.Namespace)
	case in.Hub != nil:
		loc.Evidence = append(loc.Evidence, "hub: no namespace "+in.Namespace)
	}
	if !onHub {
		loc.Evidence = append(loc.Evidence,
			fmt.Sprintf("blue: StatefulSet %s/%s (quay.io/argoproj/argocd:%s)", in.Namespace, argocd.ApplicationController, ArgoCDVersion),
			fmt.Sprintf("blue: %d Applications", len(argoMoveApplications)))
	}
	if green != "" && in.Green.Name != "" {
		loc.OnGreen, loc.GreenVersion = true, green
		loc.Evidence = append(loc.Evidence, fmt.Sprintf("green: StatefulSet %s/%s (quay.io/argoproj/argocd:%s)", in.Namespace, argocd.ApplicationController, green),
			"green: Argo CD also runs here; the one on "+loc.Where+" is the one located")
	} else {
		loc.Evidence = append(loc.Evidence, "green: no namespace "+in.Namespace)
	}
	if a.w.retargeted() {
		loc.ManagesGreen = true
		loc.GreenApplications = slices.Clone(argoMoveApplications)
	}
	return loc, nil
}

// InstallArgoCD implements the Argo CD activity.
func (a *Activities) InstallArgoCD(_ context.Context, in argocd.InstallInput) (argocd.InstallResult, error) {
	if err := a.w.record("InstallArgoCD", in); err != nil {
		return argocd.InstallResult{}, err
	}
	if in.Namespace == "" || in.Version == "" {
		return argocd.InstallResult{}, failures.New(failures.Validation, "argocd: namespace and version are required")
	}
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	m := argoMove(a.w)
	switch v := m.installed[in.Cluster.Name]; v {
	case in.Version:
		return argocd.InstallResult{Version: v, AlreadyInstalled: true}, nil
	case "":
		m.installed[in.Cluster.Name] = in.Version
		return argocd.InstallResult{Applied: argoCDInstallObjects, Version: in.Version}, nil
	default:
		return argocd.InstallResult{Version: in.Version}, failures.New(failures.Conflict, "argocd: %s runs Argo CD %s, not %s", in.Cluster.Name, v, in.Version)
	}
}

// CopyArgoCDSettings implements the Argo CD activity: blue's settings,
// repository Secret, project and Applications are copied to To, which
// must have Argo CD installed.
func (a *Activities) CopyArgoCDSettings(_ context.Context, in argocd.CopySettingsInput) (argocd.CopySettingsResult, error) {
	if err := a.w.record("CopyArgoCDSettings", in); err != nil {
		return argocd.CopySettingsResult{}, err
	}
	if in.Namespace == "" || in.Migration == "" {
		return argocd.CopySettingsResult{}, failures.New(failures.Validation, "argocd: namespace and migration are required")
	}
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	m := argoMove(a.w)
	if m.installed[in.To.Name] == "" {
		return argocd.CopySettingsResult{}, failures.New(failures.NotFound, "argocd: namespace %s does not exist on %s: install Argo CD there first (InstallArgoCD)", in.Namespace, in.To.Name)
	}
	res := argocd.CopySettingsResult{
		ConfigMaps: slices.Clone(argoMoveConfigMaps), Secrets: slices.Clone(argoMoveSecrets), Projects: slices.Clone(argoMoveProjects),
		Applications: slices.Clone(argoMoveApplications), ApplicationSets: []string{},
	}
	switch m.copied[in.To.Name] {
	case in.Migration:
	case "":
		m.copied[in.To.Name] = in.Migration
		for _, n := range argoMoveConfigMaps {
			res.Changed = append(res.Changed, "ConfigMap "+n)
		}
		for _, n := range argoMoveSecrets {
			res.Changed = append(res.Changed, "Secret "+n)
		}
		for _, n := range argoMoveProjects {
			res.Changed = append(res.Changed, "AppProject "+n)
		}
		for _, n := range argoMoveApplications {
			res.Changed = append(res.Changed, "Application "+n)
		}
	default:
		// Another migration's copies: only the ConfigMaps are taken over.
		res.Secrets, res.Projects, res.Applications = []string{}, []string{}, []string{}
		for _, n := range argoMoveSecrets {
			res.Conflicts = append(res.Conflicts, "Secret "+n+": exists on "+in.To.Name+" and was not copied by migration "+in.Migration)
		}
		for _, n := range argoMoveProjects {
			res.Conflicts = append(res.Conflicts, "AppProject "+n+": exists on "+in.To.Name+" and was not copied by migration "+in.Migration)
		}
		for _, n := range argoMoveApplications {
			res.Conflicts = append(res.Conflicts, "Application "+n+": exists on "+in.To.Name+" and was not copied by migration "+in.Migration)
		}
	}
	return res, nil
}

// HandOverArgoCD implements the Argo CD activity on blue's controllers.
func (a *Activities) HandOverArgoCD(_ context.Context, in argocd.HandOverInput) (argocd.HandOverResult, error) {
	if err := a.w.record("HandOverArgoCD", in); err != nil {
		return argocd.HandOverResult{}, err
	}
	if in.Namespace == "" || in.Migration == "" {
		return argocd.HandOverResult{}, failures.New(failures.Validation, "argocd: namespace and migration are required")
	}
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	m := argoMove(a.w)
	res := argocd.HandOverResult{Scaled: []string{}}
	for _, c := range []struct{ kind, name string }{{"StatefulSet", argocd.ApplicationController}, {"Deployment", argocd.ApplicationSetController}} {
		cur := m.replicas[c.name]
		before, recorded := m.before[c.name]
		switch {
		case in.Back && recorded:
			m.replicas[c.name] = before
			delete(m.before, c.name)
			res.Scaled = append(res.Scaled, fmt.Sprintf("%s %s/%s %d->%d", c.kind, in.Namespace, c.name, cur, before))
		case !in.Back && cur > 0:
			m.before[c.name] = cur
			m.replicas[c.name] = 0
			res.Scaled = append(res.Scaled, fmt.Sprintf("%s %s/%s %d->0", c.kind, in.Namespace, c.name, cur))
		}
	}
	return res, nil
}

// RemoveArgoCDCopies implements the Argo CD activity: the copies of the
// migration on To are removed (its ConfigMaps stay).
func (a *Activities) RemoveArgoCDCopies(_ context.Context, in argocd.RemoveCopiesInput) (argocd.RemoveCopiesResult, error) {
	if err := a.w.record("RemoveArgoCDCopies", in); err != nil {
		return argocd.RemoveCopiesResult{}, err
	}
	if in.Namespace == "" || in.Migration == "" {
		return argocd.RemoveCopiesResult{}, failures.New(failures.Validation, "argocd: namespace and migration are required")
	}
	argoMoveMu.Lock()
	defer argoMoveMu.Unlock()
	m := argoMove(a.w)
	res := argocd.RemoveCopiesResult{Applications: []string{}, ApplicationSets: []string{}, Projects: []string{}, Secrets: []string{}}
	if m.copied[in.To.Name] != in.Migration {
		return res, nil
	}
	delete(m.copied, in.To.Name)
	res.Applications = slices.Clone(argoMoveApplications)
	res.Projects = slices.Clone(argoMoveProjects)
	res.Secrets = slices.Clone(argoMoveSecrets)
	return res, nil
}
