package workflows

import (
	"fmt"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changeArgoCDWherever versions Argo CD wherever it lives: on a hub named
// by argocd.hub (retarget there, ApplicationSets included, blue's
// generator entries released at retire), and copy mode done as the move
// without the hand-over (Argo CD installed on green when absent, blue's
// settings and what targets blue carried, re-pointed to in-cluster).
const changeArgoCDWherever = "argocd-wherever"

// CheckArgoCDNotOnHub: argocd.hub names a cluster where no Argo CD runs.
const CheckArgoCDNotOnHub = "argocd-not-on-hub"

func (m *migration) argoWhereverOn(ctx workflow.Context) bool {
	if m.runbook.wherever == nil {
		on := workflow.GetVersion(ctx, changeArgoCDWherever, workflow.DefaultVersion, 1) == 1
		m.runbook.wherever = &on
	}
	return *m.runbook.wherever
}

// hub is the cluster argocd.hub names (nil without one).
func (m *migration) hub() *clusters.Ref {
	h := m.spec.ArgoCD.Hub
	if h == nil {
		return nil
	}
	return &clusters.Ref{Name: h.ClusterName, Region: h.Region}
}

// argoCluster is where the Argo CD that manages blue runs and its
// Applications live: the hub when it was located there, else blue.
func (m *migration) argoCluster() clusters.Ref {
	if l := m.runbook.argo; l != nil && l.Where == argocd.WhereHub && m.hub() != nil {
		return *m.hub()
	}
	return m.blue()
}

// checkArgoCDHub is preflight's finding when the spec names a hub and no
// Argo CD runs there: retargeting on blue instead would be the wrong
// Argo CD.
func (m *migration) checkArgoCDHub(loc argocd.Location) {
	h := m.spec.ArgoCD.Hub
	if h == nil || loc.Where == argocd.WhereHub {
		return
	}
	m.addFindings([]finding.Finding{{Check: CheckArgoCDNotOnHub, Cluster: h.ClusterName, Object: "namespace " + m.spec.ArgoCD.Namespace, Severity: finding.Error, Source: "argocd",
		Message: fmt.Sprintf("argocd.hub names %s but no Argo CD application controller runs there (located: %s)", h.ClusterName, loc.Where),
		Fix:     "Name the cluster Argo CD runs on in argocd.hub, or leave argocd.hub out when Argo CD runs in blue."}})
}

// hubPlan is argoCDPlan's sentence for a hub and for copy mode.
func (m *migration) hubPlan() (string, bool) {
	l := m.runbook.argo
	if l == nil {
		return "", false
	}
	s := m.spec
	switch {
	case s.ArgoCD.Mode == spec.ArgoCDModeCopy:
		return fmt.Sprintf("copy mode: Argo CD %s (on %s) keeps managing blue; green gets an Argo CD of its own (installed at %s when none runs there) with the settings, projects, Applications and ApplicationSets that target blue, re-pointed to in-cluster", l.Version, l.Where, l.Version), true
	case l.Where == argocd.WhereHub:
		return fmt.Sprintf("Argo CD %s runs on hub %s: its Applications and ApplicationSets that target blue are retargeted to green there (list elements and cluster-generator labels added for green); blue's entries are removed when blue is retired", l.Version, s.ArgoCD.Hub.ClusterName), true
	}
	return "", false
}

// copyArgoCD is copy mode: green's own Argo CD (installed at the located
// version when none runs there) gets the settings and what targets blue,
// re-pointed to in-cluster, and syncs it; the Argo CD that manages blue is
// left as it is. RemoveArgoCDCopies is its rollback (argoCDBack).
func (m *migration) copyArgoCD(ctx workflow.Context) error {
	s := m.spec
	loc, err := short[argocd.Location](ctx, readOptions, argoA.LocateArgoCD, argocd.LocateInput{Blue: m.blue(), Green: m.green(), Hub: m.hub(), Namespace: s.ArgoCD.Namespace})
	if err != nil {
		return err
	}
	installed := ""
	if !loc.OnGreen {
		version := ""
		if m.runbook.argo != nil {
			version = m.runbook.argo.Version
		}
		if version == "" {
			return failures.New(failures.NotFound, "argocd.mode copy: no Argo CD runs on green %s and none was found on blue or the hub to take its version from", s.Green.ClusterName)
		}
		m.progress("Installing Argo CD " + version + " on green")
		if _, err := call[argocd.InstallResult](ctx, argoMoveOptions, argoA.InstallArgoCD, argocd.InstallInput{
			Cluster: m.green(), Namespace: s.ArgoCD.Namespace, Version: version, Migration: s.Name,
		}); err != nil {
			return err
		}
		installed = " (installed " + version + " there)"
	}
	m.progress("Copying Argo CD's settings and what targets blue to green's Argo CD")
	m.done.ArgoCopied = true
	blue := m.blue()
	copied, err := call[argocd.CopySettingsResult](ctx, argoMoveOptions, argoA.CopyArgoCDSettings, argocd.CopySettingsInput{
		From: m.argoCluster(), To: m.green(), Namespace: s.ArgoCD.Namespace, Selector: s.ArgoCD.Selector, Migration: s.Name, Retarget: &blue,
	})
	if err != nil {
		return err
	}
	if err := m.syncCopies(ctx, copied); err != nil {
		return err
	}
	m.report.ArgoCD = fmt.Sprintf("copy mode: green's Argo CD%s has %d applications, %d projects, %d application sets copied from %s; the Argo CD that manages blue is unchanged",
		installed, len(copied.Applications), len(copied.Projects), len(copied.ApplicationSets), m.argoCluster().Name)
	return nil
}

// syncCopies reports what green's Argo CD already had (not copied) and
// waits for the copied applications to be Synced and Healthy there: the
// end of the move and of copy mode alike.
func (m *migration) syncCopies(ctx workflow.Context, copied argocd.CopySettingsResult) error {
	s := m.spec
	for _, c := range copied.Conflicts {
		m.addFindings([]finding.Finding{{Check: "argocd-copy-conflict", Cluster: s.Green.ClusterName, Object: c, Severity: finding.Warning, Source: "argocd",
			Message: "Green's Argo CD already has it, not made by cutover: left as it is", Fix: "Compare it with the original before blue is retired."}})
	}
	if len(copied.Applications) == 0 {
		return nil
	}
	m.progress(fmt.Sprintf("Waiting for green's Argo CD to sync %d applications", len(copied.Applications)))
	return run(ctx, withTimeout(restoreOptions, s.ArgoCD.SyncTimeout.D()), argoA.WaitArgoSynced, argocd.WaitSyncedInput{
		ArgoCluster: m.green(), Namespace: s.ArgoCD.Namespace, Applications: copied.Applications,
	})
}

// releaseBlueFromApplicationSets is the hub's part of retiring blue: once
// blue carries no traffic and its deletion is decided (no rollback from
// here), the list elements and cluster-generator labels that make the
// hub's ApplicationSets generate applications for blue are removed, so
// they generate for green alone and nothing on the hub targets a deleted
// cluster. Only spec.argocd.hub runs reach it (a field older runs cannot
// have), so it needs no version of its own. A failure is reported, not
// fatal: blue's deletion goes on and the entries can be removed by hand.
func (m *migration) releaseBlueFromApplicationSets(ctx workflow.Context) {
	l := m.runbook.argo
	if l == nil || l.Where != argocd.WhereHub || m.hub() == nil || !m.done.ArgoRetargeted {
		return
	}
	s := m.spec
	m.progress("Removing blue from the hub's ApplicationSet generators")
	res, err := call[argocd.ReleaseBlueResult](ctx, mutateOptions, argoA.ReleaseBlueFromApplicationSets, argocd.ReleaseBlueInput{
		ArgoCluster: m.argoCluster(), Blue: m.blue(), Green: m.green(), Namespace: s.ArgoCD.Namespace, Selector: s.ArgoCD.Selector, Migration: s.Name,
	})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "remove blue from the hub's ApplicationSet generators: "+err.Error())
		m.logger.Warn("Could not remove blue from the hub's ApplicationSet generators", "hub", s.ArgoCD.Hub.ClusterName, "error", err)
		return
	}
	m.report.ArgoCD = fmt.Sprintf("Argo CD %s on hub %s manages green; blue removed from %d ApplicationSets and %d cluster labels (%d generated applications of blue go with it)",
		l.Version, s.ArgoCD.Hub.ClusterName, len(res.ApplicationSets), len(res.Labels), len(res.BlueApplications))
}
