package workflows

import (
	"fmt"
	"time"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changeRunbook versions the steps of the blue/green runbook beyond the
// build: Velero checked on both clusters and green's backup storage
// location read-only during the restore, jobs held on one cluster at a
// time, and the Argo CD that lives in blue moved to green before blue is
// retired.
const changeRunbook = "runbook-moves"

// Finding check IDs of the runbook steps.
const (
	// CheckArgoCDInBlue: blue hosts the Argo CD that manages green and
	// argocd.moveToGreen is false, so retiring blue would delete it.
	CheckArgoCDInBlue = "argocd-in-blue"
)

// argoMoveOptions: installing Argo CD applies a few dozen objects and
// waits for its CRDs; copying its settings is as many writes.
var argoMoveOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    15 * time.Minute,
	ScheduleToCloseTimeout: time.Hour,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy:            mutateRetry,
}

// runbookState is what the run learned for the runbook steps.
type runbookState struct {
	// argo is where the Argo CD that manages green runs (preflight).
	argo *argocd.Location
	// wherever caches the changeArgoCDWherever version once asked.
	wherever *bool
}

func (m *migration) runbookOn(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeRunbook, workflow.DefaultVersion, 1) == 1
}

// checkVelero runs before the backup, once green exists: Velero runs on
// both clusters, both see the same backup storage location, and green's
// server restores every API group version when the Kubernetes versions
// differ. An error finding stops the migration before anything is restored.
func (m *migration) checkVelero(ctx workflow.Context) error {
	s := m.spec
	if !m.runbookOn(ctx) {
		return nil
	}
	if s.Velero.InstallOnGreen {
		// A field older runs cannot have (the strict reader refused it), so
		// it needs no version of its own.
		if err := m.installVelero(ctx); err != nil {
			return err
		}
	}
	m.progress("Checking Velero on blue and green")
	res, err := call[velero.CheckVeleroResult](ctx, readOptions, veleroA.CheckVelero, velero.CheckVeleroInput{
		Blue: m.blue(), Green: m.green(), Namespace: s.Velero.Namespace, StorageLocation: s.Velero.StorageLocation,
		BlueVersion: m.blueVersion, GreenVersion: s.Green.KubernetesVersion,
	})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	var bad []finding.Finding
	for _, f := range res.Findings {
		if f.Severity == finding.Error {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		return failures.WithDetails(failures.VeleroRestoreFailed, fmt.Sprintf("Velero is not ready to restore blue into %s: %s", s.Green.ClusterName, summarize(bad)), bad)
	}
	return nil
}

// checkArgoCD is preflight's part: where Argo CD runs, and whether
// retiring blue would delete the Argo CD that manages green.
func (m *migration) checkArgoCD(ctx workflow.Context) error {
	s := m.spec
	if !m.runbookOn(ctx) {
		return nil
	}
	if s.ArgoCD.Mode == spec.ArgoCDModeNone {
		return nil
	}
	m.progress("Finding where Argo CD runs")
	// Green is not built yet: only the hub and blue are looked at.
	in := argocd.LocateInput{Blue: m.blue(), Namespace: s.ArgoCD.Namespace}
	wherever := m.argoWhereverOn(ctx)
	if wherever {
		in.Hub = m.hub()
	}
	loc, err := short[argocd.Location](ctx, readOptions, argoA.LocateArgoCD, in)
	if err != nil {
		return err
	}
	m.runbook.argo = &loc
	if wherever {
		m.checkArgoCDHub(loc)
	}
	if m.argoCDMoves() || loc.Where != "blue" || s.ArgoCD.Mode != spec.ArgoCDModeRetarget || s.Retire.Blue != spec.FateDelete {
		return nil
	}
	m.addFindings([]finding.Finding{{Check: CheckArgoCDInBlue, Cluster: s.Blue.ClusterName, Object: "namespace " + s.ArgoCD.Namespace, Severity: finding.Error, Source: "argocd",
		Message: fmt.Sprintf("The Argo CD that will manage green runs in blue (%s); retiring blue would delete it", loc.Version),
		Fix:     "Set argocd.moveToGreen (cutover installs it on green and hands over before blue is retired), run Argo CD outside blue, or set retire.blue to keep."}})
	return nil
}

// argoCDMoves reports whether the Argo CD in blue is moved to green
// before blue is retired.
func (m *migration) argoCDMoves() bool {
	s := m.spec
	l := m.runbook.argo
	return l != nil && l.Where == "blue" && s.ArgoCD.Mode == spec.ArgoCDModeRetarget && spec.On(s.ArgoCD.MoveToGreen) && s.Retire.Blue == spec.FateDelete
}

// argoCDPlan says, for a dry run, where Argo CD runs and what will happen.
func (m *migration) argoCDPlan() string {
	l := m.runbook.argo
	if l == nil {
		return ""
	}
	if p, ok := m.hubPlan(); ok {
		return p
	}
	switch {
	case m.argoCDMoves():
		return fmt.Sprintf("Argo CD %s runs in blue: it manages green from blue until the retire gate, then is installed on green, its settings and applications are carried (re-pointed to in-cluster), and blue's stops before blue is deleted", l.Version)
	case l.Where == "blue" && m.spec.Retire.Blue == spec.FateKeep:
		return fmt.Sprintf("Argo CD %s runs in blue and keeps managing green from there (blue is kept)", l.Version)
	case l.Where == "none":
		return "no Argo CD application controller found in blue or green"
	}
	return fmt.Sprintf("Argo CD %s runs in %s", l.Version, l.Where)
}

// bslReadOnly sets green's backup storage location read-only for the
// restore and returns the mode to put back ("" when nothing changed).
func (m *migration) bslReadOnly(ctx workflow.Context) (string, error) {
	s := m.spec
	if !m.runbookOn(ctx) || !spec.On(s.Velero.ReadOnlyDuringRestore) {
		return "", nil
	}
	m.progress("Setting green's backup storage location " + s.Velero.StorageLocation + " read-only for the restore")
	m.done.BSLReadOnly = true
	res, err := call[velero.SetBSLAccessModeResult](ctx, mutateOptions, veleroA.SetBSLAccessMode, velero.SetBSLAccessModeInput{
		Cluster: m.green(), Namespace: s.Velero.Namespace, Name: s.Velero.StorageLocation, AccessMode: "ReadOnly", Migration: s.Name,
	})
	if err != nil {
		return "", err
	}
	m.done.BSLModeBefore = res.Previous
	return res.Previous, nil
}

// bslRestore puts green's backup storage location back to the mode it had
// before the restore. It runs on a disconnected context: an abort during
// the restore must not leave the location read-only.
func (m *migration) bslRestore(ctx workflow.Context) error {
	if !m.done.BSLReadOnly {
		return nil
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	mode := m.done.BSLModeBefore
	if mode == "" {
		mode = "ReadWrite"
	}
	m.progress("Setting green's backup storage location back to " + mode)
	if _, err := call[velero.SetBSLAccessModeResult](dctx, mutateOptions, veleroA.SetBSLAccessMode, velero.SetBSLAccessModeInput{
		Cluster: m.green(), Namespace: m.spec.Velero.Namespace, Name: m.spec.Velero.StorageLocation, AccessMode: mode, Migration: m.spec.Name,
	}); err != nil {
		return err
	}
	m.done.BSLReadOnly = false
	return nil
}

// holdInput is what HoldJobs holds on a cluster for this migration.
func (m *migration) holdInput(ctx workflow.Context, onGreen bool) kube.HoldJobsInput {
	s := m.spec
	in := kube.HoldJobsInput{Cluster: m.blue(), Namespaces: s.Velero.IncludedNamespaces, CronJobs: spec.On(s.Jobs.CronJobs), Migration: s.Name}
	if onGreen {
		in.Cluster = m.green()
	}
	for _, sg := range s.Jobs.Singletons {
		in.Singletons = append(in.Singletons, kube.SingletonSelector{Namespace: sg.Namespace, Selector: sg.Selector})
	}
	return in
}

// holdJobsOnGreen suspends green's restored CronJobs and scales its
// singletons to zero until the traffic step jobs.moveAtStep: blue runs them
// until then.
func (m *migration) holdJobsOnGreen(ctx workflow.Context) error {
	if !m.runbookOn(ctx) {
		return nil
	}
	in := m.holdInput(ctx, true)
	if !in.CronJobs && len(in.Singletons) == 0 {
		return nil
	}
	m.progress("Holding green's CronJobs and singletons until traffic reaches " + fmt.Sprint(m.spec.Jobs.MoveAtStep) + "%")
	res, err := short[kube.HoldJobsResult](ctx, mutateOptions, kubeA.HoldJobs, in)
	if err != nil {
		return err
	}
	m.done.JobsHeldOnGreen = res.Held
	m.report.Jobs = append(m.report.Jobs, jobEvents("held on green after the restore", m.spec.Green.ClusterName, res.Held)...)
	return nil
}

// moveJobs is the step at which jobs change cluster: blue's are held
// first, then green's released, so for a moment neither runs them rather
// than both.
func (m *migration) moveJobs(ctx workflow.Context, step int) error {
	if step != m.spec.Jobs.MoveAtStep || !m.runbookOn(ctx) {
		return nil
	}
	in := m.holdInput(ctx, false)
	if !in.CronJobs && len(in.Singletons) == 0 {
		return nil
	}
	m.progress(fmt.Sprintf("Moving CronJobs and singletons to green at %d%%", step))
	held, err := short[kube.HoldJobsResult](ctx, mutateOptions, kubeA.HoldJobs, in)
	if err != nil {
		return err
	}
	m.done.JobsHeldOnBlue = held.Held
	m.report.Jobs = append(m.report.Jobs, jobEvents(fmt.Sprintf("held on blue at %d%%", step), m.spec.Blue.ClusterName, held.Held)...)
	rel, err := short[kube.ReleaseJobsResult](ctx, mutateOptions, kubeA.ReleaseJobs, kube.ReleaseJobsInput{Cluster: m.green(), Objects: m.done.JobsHeldOnGreen, Migration: m.spec.Name})
	if err != nil {
		return err
	}
	m.done.JobsReleasedOnGreen = true
	m.report.Jobs = append(m.report.Jobs, jobEvents(fmt.Sprintf("released on green at %d%%", step), m.spec.Green.ClusterName, rel.Released)...)
	m.reportChangedJobs(rel.Changed, m.spec.Green.ClusterName)
	return nil
}

// jobsBack is the rollback of the jobs: green's held again if they were
// released, blue's released if they were held.
func (m *migration) jobsBack(ctx workflow.Context) error {
	if m.done.JobsReleasedOnGreen {
		m.progress("Holding green's CronJobs and singletons again")
		res, err := call[kube.HoldJobsResult](ctx, rollbackSetOptions, kubeA.HoldJobs, m.holdInput(ctx, true))
		if err != nil {
			return err
		}
		m.report.Jobs = append(m.report.Jobs, jobEvents("held on green again (rollback)", m.spec.Green.ClusterName, res.Held)...)
	}
	if len(m.done.JobsHeldOnBlue) > 0 {
		m.progress("Releasing blue's CronJobs and singletons")
		rel, err := call[kube.ReleaseJobsResult](ctx, rollbackSetOptions, kubeA.ReleaseJobs, kube.ReleaseJobsInput{Cluster: m.blue(), Objects: m.done.JobsHeldOnBlue, Migration: m.spec.Name})
		if err != nil {
			return err
		}
		m.report.Jobs = append(m.report.Jobs, jobEvents("released on blue (rollback)", m.spec.Blue.ClusterName, rel.Released)...)
		m.reportChangedJobs(rel.Changed, m.spec.Blue.ClusterName)
	}
	return nil
}

func (m *migration) reportChangedJobs(changed []kube.HeldObject, cluster string) {
	for _, o := range changed {
		m.addFindings([]finding.Finding{{Check: "job-changed-while-held", Cluster: cluster, Object: o.Kind + " " + o.Namespace + "/" + o.Name, Severity: finding.Warning, Source: "kube",
			Message: "Changed by someone else while cutover held it: left as it is",
			Fix:     "Check whether it should run on " + cluster + " and set its suspend or replicas by hand."}})
	}
}

// JobEvent is one object the jobs steps held or released.
type JobEvent struct {
	What    string `json:"what"`
	Cluster string `json:"cluster"`
	Kind    string `json:"kind"`
	Object  string `json:"object"`
}

func jobEvents(what, cluster string, objs []kube.HeldObject) []JobEvent {
	out := make([]JobEvent, 0, len(objs))
	for _, o := range objs {
		out = append(out, JobEvent{What: what, Cluster: cluster, Kind: o.Kind, Object: o.Namespace + "/" + o.Name})
	}
	return out
}

// heldOnGreen reports whether cutover holds the workload on green, so
// parity expects it at zero replicas there.
func (m *migration) heldOnGreen(kind, namespace, name string) bool {
	if m.done.JobsReleasedOnGreen {
		return false
	}
	for _, o := range m.done.JobsHeldOnGreen {
		if o.Kind == kind && o.Namespace == namespace && o.Name == name {
			return true
		}
	}
	return false
}

// moveArgoCD hands green over to an Argo CD of its own before blue is
// retired: the same Argo CD version installed on green, blue's settings,
// projects and applications carried (re-pointed to in-cluster), the
// applications synced there, then blue's Argo CD stopped so that two never
// reconcile green. Each step is recorded for the rollback.
func (m *migration) moveArgoCD(ctx workflow.Context) error {
	if !m.argoCDMoves() {
		return nil
	}
	s := m.spec
	loc := m.runbook.argo
	m.progress("Installing Argo CD " + loc.Version + " on green")
	if _, err := call[argocd.InstallResult](ctx, argoMoveOptions, argoA.InstallArgoCD, argocd.InstallInput{
		Cluster: m.green(), Namespace: s.ArgoCD.Namespace, Version: loc.Version, Migration: s.Name,
	}); err != nil {
		return err
	}
	m.progress("Carrying Argo CD's settings and applications to green")
	m.done.ArgoCopied = true
	copied, err := call[argocd.CopySettingsResult](ctx, argoMoveOptions, argoA.CopyArgoCDSettings, argocd.CopySettingsInput{
		From: m.blue(), To: m.green(), Namespace: s.ArgoCD.Namespace, Selector: s.ArgoCD.Selector, Migration: s.Name,
	})
	if err != nil {
		return err
	}
	if err := m.syncCopies(ctx, copied); err != nil {
		return err
	}
	m.progress("Stopping blue's Argo CD")
	m.done.ArgoHandedOver = true
	if _, err := short[argocd.HandOverResult](ctx, mutateOptions, argoA.HandOverArgoCD, argocd.HandOverInput{From: m.blue(), Namespace: s.ArgoCD.Namespace, Migration: s.Name}); err != nil {
		return err
	}
	m.report.ArgoCD = fmt.Sprintf("Argo CD %s moved to green: %d applications, %d projects, %d application sets; blue's stopped", loc.Version, len(copied.Applications), len(copied.Projects), len(copied.ApplicationSets))
	return nil
}

// argoCDBack is the rollback of moveArgoCD: blue's Argo CD started again,
// then the copies removed from green without deleting what they manage.
func (m *migration) argoCDBack(ctx workflow.Context) error {
	s := m.spec
	if m.done.ArgoHandedOver {
		m.progress("Starting blue's Argo CD again")
		if _, err := call[argocd.HandOverResult](ctx, rollbackSetOptions, argoA.HandOverArgoCD, argocd.HandOverInput{From: m.blue(), Namespace: s.ArgoCD.Namespace, Migration: s.Name, Back: true}); err != nil {
			return err
		}
	}
	if m.done.ArgoCopied {
		m.progress("Removing the Argo CD applications cutover copied to green (their resources stay)")
		if _, err := call[argocd.RemoveCopiesResult](ctx, rollbackSetOptions, argoA.RemoveArgoCDCopies, argocd.RemoveCopiesInput{To: m.green(), Namespace: s.ArgoCD.Namespace, Migration: s.Name}); err != nil {
			return err
		}
	}
	return nil
}

// changeAfterTheMove versions the last step of the runbook: listing what
// on green still points at blue.
const changeAfterTheMove = "after-the-move"

// findBlueReferences lists, once traffic is on green and blue retired (or
// kept), what on green still names blue: CI/CD deploy targets in Argo CD,
// monitoring endpoints and labels, identities. People fix those; a
// failure to look is reported, not fatal.
func (m *migration) findBlueReferences(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeAfterTheMove, workflow.DefaultVersion, 1) != 1 {
		return
	}
	s := m.spec
	m.progress("Looking for what on green still points at blue")
	blue := kube.BlueIdentity{Name: s.Blue.ClusterName, Endpoint: m.blueEndpoint, ARN: m.blueARN}
	if m.irsa.plan != nil {
		blue.OIDCIssuer = m.irsa.plan.Blue.Issuer
	}
	res, err := call[kube.FindBlueReferencesResult](ctx, scanOptions, kubeA.FindBlueReferences, kube.FindBlueReferencesInput{
		Cluster: m.green(), Blue: blue, Namespaces: s.Velero.IncludedNamespaces, ArgoCDNamespace: s.ArgoCD.Namespace,
	})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "look for what still points at blue: "+err.Error())
		m.logger.Warn("Could not look for what still points at blue", "cluster", s.Green.ClusterName, "error", err)
		return
	}
	m.report.StillPointsAtBlue = res.References
	if res.Truncated {
		m.report.Errors = append(m.report.Errors, fmt.Sprintf("more than %d places on green still point at blue; the report lists the first", len(res.References)))
	}
	m.logger.Info("Looked for what still points at blue", "cluster", s.Green.ClusterName, "references", len(res.References), "scanned", res.Scanned)
}

// installVelero gives green, when Velero does not run there, the Velero
// blue runs (velero.installOnGreen): same version, ServiceAccount and IAM
// role, credentials and storage location. CheckVelero then checks both.
func (m *migration) installVelero(ctx workflow.Context) error {
	s := m.spec
	m.progress("Installing blue's Velero on green")
	res, err := call[velero.InstallVeleroResult](ctx, argoMoveOptions, veleroA.InstallVelero, velero.InstallVeleroInput{
		From: m.blue(), To: m.green(), Namespace: s.Velero.Namespace, StorageLocation: s.Velero.StorageLocation, Migration: s.Name,
	})
	if err != nil {
		return err
	}
	what := fmt.Sprintf("Velero %s installed on green from blue's: %d objects created, %d updated", res.Version, len(res.Created), len(res.Updated))
	if !res.Installed {
		what = fmt.Sprintf("Velero %s already runs on green: nothing installed", res.Version)
	}
	m.addFindings([]finding.Finding{{Check: "velero-installed", Cluster: s.Green.ClusterName, Object: "namespace " + s.Velero.Namespace, Severity: finding.Info, Source: "velero",
		Message: what, Fix: "Nothing to do; remove it with green if green is deleted."}})
	for _, e := range res.Existing {
		m.addFindings([]finding.Finding{{Check: "velero-install-existing", Cluster: s.Green.ClusterName, Object: e, Severity: finding.Warning, Source: "velero",
			Message: "Green already has it, not made by cutover: left as it is", Fix: "Compare it with blue's."}})
	}
	return nil
}
