// Package workflows holds cutover's deterministic workflow code: the
// BlueGreenMigration workflow, its human gates, the traffic steps and the
// rollback. Nothing here does I/O or reads the clock; everything that
// touches the world is an activity (package activities/...).
//
// What the workflow decides from what it observed is pure and lives here
// too: the green cluster to build (planGreen, plan.go) and the rollback
// steps (rollbackPlan). The activities take input types of their own, not
// spec types, so that a recorded history reads the same whatever the spec's
// Go types become; inputs.go is the one place parts of the spec are turned
// into them.
package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities are called through nil struct pointers: only the method names
// matter to the workflow, the worker registers the real structs.
var (
	eksA    *eks.Activities
	kubeA   *kube.Activities
	argoA   *argocd.Activities
	veleroA *velero.Activities
	trafA   *traffic.Activities
	notifyA *notify.Activities
)

// BlueGreenMigration moves a workload estate from the blue EKS cluster to a
// green one at the target Kubernetes version. See DESIGN.md for the
// contract: phases, the approval signal and approve update, the abort
// signal and the status query.
//
// It returns the MigrationReport on success (and on a dry run). A rejected,
// aborted or failed migration fails the workflow with an ApplicationError
// whose type says why (MigrationRolledBack, PreflightBlocked,
// ValidationError, ...) and whose details carry the report.
//
// The input is taken raw and read by spec.Parse, the same strict reader as
// `cutover validate`: what the Temporal UI's Start Workflow form sends is
// checked for unknown, duplicated and case-folded keys, wrong types and
// trailing data before anything runs, instead of being half-read by
// encoding/json.
func BlueGreenMigration(ctx workflow.Context, in converter.RawValue) (*MigrationReport, error) {
	s, specErr := readSpec(ctx, in)
	m := newMigration(ctx, s)
	if err := m.registerHandlers(ctx); err != nil {
		return nil, err
	}
	report, err := m.run(ctx, specErr)
	m.drainPosts(ctx)
	// Let in-flight approve updates answer before the run closes.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); werr != nil && err == nil {
		err = werr
	}
	return report, err
}

type migration struct {
	spec   spec.MigrationSpec
	logger log.Logger
	info   *workflow.Info
	// root is the workflow's own context, for what is not a command
	// (current details).
	root workflow.Context

	status Status
	report MigrationReport
	gates  []*gate

	// work is the context of the forward phases; abort cancels it.
	work       workflow.Context
	cancelWork workflow.CancelFunc
	aborted    *Abort

	// done is what the run has changed in the world; the rollback plan is
	// derived from it.
	done        changes
	irsa        irsaState
	retired     retireState
	podIdentity podIdentityState
	estate      estateState
	runbook     runbookState
	posts       postQueue
	watching    watchState
	plain       plainState
	target      traffic.Target
	staging     stagingState
	// blueVersion, blueEndpoint and blueARN are blue's Kubernetes version,
	// API endpoint and cluster ARN, as preflight read them.
	blueVersion, blueEndpoint, blueARN string
	// ownTemplates are blue's node groups on a launch template of their
	// own (in-place: each hop may need a new version of it).
	ownTemplates map[string]bool
	// metrics are the run's Prometheus metrics (not replayed).
	metrics migrationMetrics
	// unhealthyAt is when the reading that caused a rollback was taken.
	unhealthyAt time.Time
}

type gate struct {
	name     string
	cfg      spec.GateSpec
	openedAt time.Time
	deadline time.Time
	decided  bool
	record   ApprovalRecord
	// overdue: past the deadline of a gate that keeps waiting.
	overdue bool
}

func newMigration(ctx workflow.Context, in spec.MigrationSpec) *migration {
	s := in.WithDefaults()
	// Every log line of the run names the migration and both clusters.
	logger := log.With(workflow.GetLogger(ctx), "migration", s.Name, "blue", s.Blue.ClusterName, "green", s.Green.ClusterName)
	m := &migration{spec: s, logger: logger, info: workflow.GetInfo(ctx), root: ctx}
	m.status = Status{Migration: s.Name, Blue: s.Blue.ClusterName, Green: s.Green.ClusterName, Traffic: TrafficStatus{Blue: 100, TotalSteps: len(s.Traffic.Steps)}}
	m.report = MigrationReport{Migration: s.Name, Blue: s.Blue.ClusterName, Green: s.Green.ClusterName, TargetVersion: s.Green.KubernetesVersion, Spec: s}
	m.work, m.cancelWork = workflow.WithCancel(ctx)
	m.target = trafficTarget(s)
	m.metrics = newMigrationMetrics(m.info.WorkflowExecution.ID, s.IsInPlace())
	return m
}

// requestToken makes a retried create the same create (EKS client request
// tokens); it is stable for the run.
func (m *migration) requestToken() string { return "cutover-" + m.info.WorkflowExecution.RunID }

func (m *migration) blue() clusters.Ref {
	return clusters.Ref{Name: m.spec.Blue.ClusterName, Region: m.spec.Blue.Region}
}

func (m *migration) green() clusters.Ref {
	return clusters.Ref{Name: m.spec.Green.ClusterName, Region: m.spec.Blue.Region}
}

// changeStrictInput versions the strict reading of the workflow input.
// Runs started before it read their input with encoding/json (explicit
// zeros and all), so they keep that reading on replay.
const changeStrictInput = "strict-spec-input"

// readSpec decodes the workflow input. It is pure (the payload is in
// history), so it runs inline; the error is the spec's FieldErrors.
func readSpec(ctx workflow.Context, in converter.RawValue) (spec.MigrationSpec, error) {
	p := in.Payload()
	if workflow.GetVersion(ctx, changeStrictInput, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		var s spec.MigrationSpec
		if p != nil {
			if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
				return s, spec.FieldErrors{{Field: spec.DocumentField, Reason: err.Error()}}
			}
		}
		s = s.WithDefaults()
		return s, s.Validate()
	}
	data, err := jsonPayload(in, "the workflow input is the migration spec as one JSON object")
	if err != nil {
		return spec.MigrationSpec{}, spec.FieldErrors{{Field: spec.DocumentField, Reason: err.Error()}}
	}
	// spec.Parse is a pure function of the bytes: its reflection and
	// encoding/json only read a value (no map order reaches the result).
	//workflowcheck:ignore
	return spec.Parse(data)
}

// run executes the phases and turns the outcome into the report or error.
// specErr is what readSpec found wrong with the input.
func (m *migration) run(ctx workflow.Context, specErr error) (*MigrationReport, error) {
	m.metrics.started(ctx)
	m.enter(ctx, PhaseValidate)
	if err := specErr; err != nil {
		m.status.LastError = err.Error()
		m.finishPhase(ctx, "failed")
		m.logger.Error("Migration spec is invalid", "error", err)
		var fields spec.FieldErrors
		if fe, ok := err.(spec.FieldErrors); ok {
			fields = fe
		}
		// The details are the fields, each with its path: what the person
		// has to fix.
		return nil, m.conclude(ctx, OutcomeFailed, failures.Validation, err.Error(), nil, fields, "")
	}
	m.logger.Info("Migration started", "targetVersion", m.spec.Green.KubernetesVersion, "dryRun", m.spec.DryRun)

	err := m.forward(m.work)
	if err == nil {
		m.finishPhase(ctx, "ok")
		m.progress("")
		if m.spec.DryRun {
			m.report.Outcome = OutcomeDryRun
			m.setPhase(ctx, PhaseDryRunDone)
		} else {
			m.report.Outcome = OutcomeSucceeded
			m.setPhase(ctx, PhaseDone)
			done := fmt.Sprintf("Migration %s finished: %s retired, %s serves all traffic.", m.spec.Name, m.spec.Blue.ClusterName, m.spec.Green.ClusterName)
			if m.spec.IsInPlace() {
				done = fmt.Sprintf("In-place upgrade %s finished: %s is at Kubernetes %s.", m.spec.Name, m.spec.Blue.ClusterName, m.spec.Green.KubernetesVersion)
			}
			m.notify(ctx, notify.KindDone, "", done)
		}
		m.status.Outcome = m.report.Outcome
		m.metrics.finished(ctx, m.report.Outcome)
		m.details()
		m.collect()
		r := m.report
		return &r, nil
	}
	return nil, m.handleFailure(ctx, err)
}

// forward runs every phase up to Done, in order. Each phase method enters
// its phase, does its work through activities, and returns what the next
// phases need.
func (m *migration) forward(ctx workflow.Context) error {
	if m.spec.IsInPlace() {
		return m.inPlace(ctx)
	}
	pre, err := m.preflight(ctx)
	if err != nil {
		return err
	}
	if m.spec.DryRun {
		roles, err := m.dryRunIRSA(ctx)
		if err != nil {
			return err
		}
		m.reportDryRun(pre)
		m.report.Plan.IRSARoles = roles
		m.report.Plan.PodIdentity = m.podIdentityPlan(pre.blue.PodIdentityAssociations)
		if err := m.estatePlan(ctx, m.report.Plan); err != nil {
			return err
		}
		m.report.Plan.ArgoCD = m.argoCDPlan()
		return nil
	}
	if err := m.blockOnFindings(pre); err != nil {
		return err
	}
	m.podIdentity.blue = pre.blue.PodIdentityAssociations
	if err := m.buildGreen(ctx, pre.plan); err != nil {
		return err
	}
	if err := m.restoreWorkloads(ctx); err != nil {
		return err
	}
	if err := m.discoverGreenTarget(ctx); err != nil {
		return err
	}
	if err := m.parity(ctx); err != nil {
		return err
	}
	if err := m.smokeTest(ctx); err != nil {
		return err
	}
	if err := m.gate(ctx, spec.GateCutover, PhaseAwaitCutover); err != nil {
		return err
	}
	if err := m.shiftTraffic(ctx); err != nil {
		return err
	}
	return m.retire(ctx)
}

// preflightResult is what Preflight learned about blue.
type preflightResult struct {
	blue     eks.ClusterDescription
	plan     eks.GreenPlan
	blocking []finding.Finding
}

// preflight observes blue and asks EKS and Kubernetes whether it can move
// to the target; findings go into the report as they arrive.
func (m *migration) preflight(ctx workflow.Context) (preflightResult, error) {
	s := m.spec
	m.enter(ctx, PhasePreflight)
	m.progress("Describing blue")
	blue, err := short[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: m.blue()})
	if err != nil {
		return preflightResult{}, err
	}
	if blue.Status != "" && blue.Status != "ACTIVE" {
		m.addFindings([]finding.Finding{{Check: "blue-not-active", Cluster: blue.Name, Severity: finding.Error, Source: "eks",
			Message: fmt.Sprintf("blue is %s, not ACTIVE", blue.Status), Fix: "wait for the update in progress on blue to finish, then start again"}})
	}
	if err := m.checkTargetVersion(ctx, blue.Version); err != nil {
		return preflightResult{}, err
	}
	m.progress("Reading EKS upgrade insights")
	var addons []string
	if spec.On(s.Green.Copy.Addons) {
		addons = addonNames(blue)
	}
	insights, err := short[eks.InsightsResult](ctx, readOptions, eksA.EKSUpgradeInsights, eks.InsightsInput{Cluster: m.blue(), TargetVersion: s.Green.KubernetesVersion, Addons: addons,
		VPCCNIVersions: !hasAddon(blue, eks.VPCCNIAddon)})
	if err != nil {
		return preflightResult{}, err
	}
	m.addFindings(settleAMITypeInsights(insights.Findings, s))
	m.progress("Scanning blue's Kubernetes objects")
	pf, err := call[kube.PreflightResult](ctx, scanOptions, kubeA.PreflightBlue, kube.PreflightInput{
		Cluster: m.blue(), CurrentVersion: blue.Version, TargetVersion: s.Green.KubernetesVersion, ArgoCDNamespace: s.ArgoCD.Namespace,
	})
	if err != nil {
		return preflightResult{}, err
	}
	m.addFindings(pf.Findings)
	m.addFindings(cniFindings(blue, pf.CNI, insights, s.Green.KubernetesVersion, false))
	m.addFindings(amiTypeFindings(blue, s))
	m.addFindings(uncopiedFindings(blue))
	m.addFindings(healthFindings(blue))
	if err := m.checkLaunchTemplates(ctx, blue); err != nil {
		return preflightResult{}, err
	}
	if workflow.GetVersion(ctx, changeSubnetCapacity, workflow.DefaultVersion, 1) == 1 {
		if err := m.checkSubnets(ctx, blue, greenNodes, "green's node groups"); err != nil {
			return preflightResult{}, err
		}
	}
	m.blueVersion, m.blueEndpoint, m.blueARN = blue.Version, blue.Endpoint, blue.ARN
	if err := m.checkArgoCD(ctx); err != nil {
		return preflightResult{}, err
	}
	if err := m.checkTraffic(ctx); err != nil {
		return preflightResult{}, err
	}
	policy := finding.Policy{BlockOn: s.Preflight.BlockOn, IgnoreChecks: s.Preflight.IgnoreChecks}
	return preflightResult{blue: blue, plan: planGreen(blue, s), blocking: policy.Blocking(m.report.Findings)}, nil
}

// checkTargetVersion refuses a target older than blue (EKS cannot go back)
// or equal to it without green.allowSameVersion.
func (m *migration) checkTargetVersion(ctx workflow.Context, blueVersion string) error {
	s := m.spec
	cur, ok := spec.MinorVersion(blueVersion)
	if !ok {
		return nil
	}
	target, _ := spec.MinorVersion(s.Green.KubernetesVersion)
	if target < cur {
		return failures.New(failures.Validation, "green.kubernetesVersion: %s is older than blue's %s; cutover only moves forward", s.Green.KubernetesVersion, blueVersion)
	}
	if target == cur && !s.Green.AllowSameVersion && workflow.GetVersion(ctx, changeStrictInput, workflow.DefaultVersion, 1) == 1 {
		return failures.New(failures.Validation, "green.kubernetesVersion: %s is blue's own version; set green.allowSameVersion to rebuild blue at the same version", s.Green.KubernetesVersion)
	}
	return nil
}

// reportDryRun ends a dry run with the plan and what would block.
func (m *migration) reportDryRun(pre preflightResult) {
	m.report.Plan = m.dryRunPlan(pre.plan)
	if len(pre.blocking) > 0 {
		m.report.Reason = fmt.Sprintf("preflight would block: %s", summarize(pre.blocking))
	}
}

// blockOnFindings stops the migration on findings the spec's policy blocks on.
func (m *migration) blockOnFindings(pre preflightResult) error {
	if len(pre.blocking) == 0 {
		return nil
	}
	return failures.WithDetails(failures.PreflightBlocked, fmt.Sprintf("preflight found %d blocking findings on %s: %s", len(pre.blocking), m.spec.Blue.ClusterName, summarize(pre.blocking)), pre.blocking)
}

// buildGreen creates green as a copy of blue at the target version and
// checks that its nodes and core add-ons came up.
func (m *migration) buildGreen(ctx workflow.Context, plan eks.GreenPlan) error {
	s := m.spec
	m.enter(ctx, PhaseBuildGreen)
	m.progress("Creating green control plane")
	if _, err := short[eks.EnsureClusterResult](ctx, mutateOptions, eksA.EnsureGreenCluster, eks.EnsureClusterInput{Plan: plan, RequestToken: m.requestToken()}); err != nil {
		// Nothing of ours exists for certain (a Conflict means the name is
		// someone else's cluster): there is nothing to roll back or delete.
		return err
	}
	m.done.GreenCreated = true
	m.progress("Waiting for green control plane to be ACTIVE")
	if err := run(ctx, clusterWaitOptions, eksA.WaitEKSClusterActive, eks.WaitClusterInput{Cluster: m.green()}); err != nil {
		return err
	}
	// Before add-ons: an add-on with a service account role only comes up
	// once the role trusts green.
	if err := m.copyIRSATrust(ctx); err != nil {
		return err
	}
	if len(plan.Cluster.AccessEntries) > 0 {
		m.progress("Copying access entries")
		if err := shortRun(ctx, mutateOptions, eksA.EnsureAccessEntries, eks.EnsureAccessEntriesInput{Cluster: m.green(), Entries: plan.Cluster.AccessEntries, RequestToken: m.requestToken()}); err != nil {
			return err
		}
	}
	if err := m.grantArgoCDAccess(ctx, plan); err != nil {
		return err
	}
	if err := m.copyAWSAuth(ctx, plan); err != nil {
		return err
	}
	if err := m.copyPodIdentity(ctx); err != nil {
		return err
	}
	if err := m.tagKarpenterDiscovery(ctx, plan); err != nil {
		return err
	}
	if len(plan.Cluster.NodeGroups) > 0 {
		m.progress(fmt.Sprintf("Creating %d node groups", len(plan.Cluster.NodeGroups)))
		ngs, err := call[eks.EnsureNodeGroupsResult](ctx, nodeWaitOptions, eksA.EnsureNodeGroups, eks.EnsureNodeGroupsInput{
			Cluster: m.green(), TargetVersion: s.Green.KubernetesVersion, NodeGroups: plan.Cluster.NodeGroups, RequestToken: m.requestToken(),
			AMITypeUpgrade: s.Green.NodeGroups.AMITypeUpgrade,
		})
		if err != nil {
			return err
		}
		m.recordLaunchTemplateVersions(ctx, ngs)
	}
	if len(plan.Cluster.Addons) > 0 {
		m.progress(fmt.Sprintf("Installing %d add-ons", len(plan.Cluster.Addons)))
		addons, err := call[eks.EnsureAddonsResult](ctx, nodeWaitOptions, eksA.EnsureAddons, eks.EnsureAddonsInput{
			Cluster: m.green(), TargetVersion: s.Green.KubernetesVersion, Addons: plan.Cluster.Addons, RequestToken: m.requestToken(),
		})
		if err != nil {
			return err
		}
		m.report.Addons = addons.Choices
	}
	m.progress("Verifying green's nodes and core add-ons")
	verify, err := call[kube.VerifyGreenResult](ctx, smokeOptions, kubeA.VerifyGreen, kube.VerifyGreenInput{Cluster: m.green(), TargetVersion: s.Green.KubernetesVersion, CoreFrom: ptr(m.blue())})
	if err != nil {
		return err
	}
	m.addFindings(verify.Findings)
	if !verify.Ready {
		return failures.WithDetails(failures.GreenNotReady, fmt.Sprintf("green %s is not ready: %s", s.Green.ClusterName, summarize(verify.Findings)), verify.Findings)
	}
	return nil
}

// restoreWorkloads brings blue's workloads to green: a Velero backup of
// blue restored into green, then the Argo CD applications.
func (m *migration) restoreWorkloads(ctx workflow.Context) error {
	m.enter(ctx, PhaseRestoreWorkloads)
	if err := m.restore(ctx); err != nil {
		return err
	}
	if err := m.retargetKarpenterNodeClasses(ctx); err != nil {
		return err
	}
	return m.holdJobsOnGreen(ctx)
}

// smokeTest proves green before any traffic moves.
func (m *migration) smokeTest(ctx workflow.Context) error {
	s := m.spec
	m.enter(ctx, PhaseSmokeTest)
	m.progress("Running smoke tests on green")
	smoke, err := call[kube.SmokeResult](ctx, withTimeout(smokeOptions, s.Smoke.Timeout.D()), kubeA.SmokeTestGreen, kube.SmokeInput{
		Cluster: m.green(), Smoke: smokeTests(s.Smoke), RunID: m.info.WorkflowExecution.RunID,
	})
	if err != nil {
		return err
	}
	m.report.Smoke = &smoke
	if smoke.Passed {
		return nil
	}
	var failed []string
	for _, c := range smoke.Checks {
		if !c.Passed {
			failed = append(failed, c.Name+": "+c.Message)
		}
	}
	return failures.New(failures.SmokeFailed, "smoke tests failed on %s: %s", s.Green.ClusterName, strings.Join(failed, "; "))
}

// retire waits for the retire gate, soaks with all traffic on green while
// watching alarms and probes, and retires blue.
func (m *migration) retire(ctx workflow.Context) error {
	if err := m.gate(ctx, spec.GateRetire, PhaseAwaitRetire); err != nil {
		return err
	}
	m.enter(ctx, PhaseSoak)
	if err := m.watch(ctx, m.spec.Retire.Soak.D(), soakInterval(m.spec), "soak"); err != nil {
		return err
	}
	m.enter(ctx, PhaseRetireBlue)
	if err := m.retireBlue(ctx); err != nil {
		return err
	}
	m.findBlueReferences(ctx)
	return nil
}

func (m *migration) restore(ctx workflow.Context) error {
	s := m.spec
	if s.Velero.Enabled {
		backup := s.Velero.BackupName
		existing := backup != ""
		if !existing {
			backup = "cutover-" + s.Name
		}
		if err := m.checkVelero(ctx); err != nil {
			return err
		}
		m.progress("Backing up blue with Velero")
		var b velero.BackupResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, withTimeout(restoreOptions, s.Velero.Timeout.D())), veleroA.EnsureVeleroBackup, velero.BackupInput{
			Cluster: m.blue(), Namespace: s.Velero.Namespace, Name: backup, Existing: existing,
			IncludedNamespaces: s.Velero.IncludedNamespaces, ExcludedNamespaces: s.Velero.ExcludedNamespaces,
			IncludedClusterScopedResources: m.veleroClusterResources(),
		}).Get(ctx, &b); err != nil {
			return err
		}
		if _, err := m.bslReadOnly(ctx); err != nil {
			return err
		}
		m.progress("Restoring the Velero backup into green")
		var r velero.RestoreResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, withTimeout(restoreOptions, s.Velero.Timeout.D())), veleroA.RestoreVeleroBackup, velero.RestoreInput{
			Cluster: m.green(), Namespace: s.Velero.Namespace, BackupName: backup, RestoreName: backup + "-to-" + s.Green.ClusterName,
			IncludedNamespaces: s.Velero.IncludedNamespaces, ExcludedNamespaces: s.Velero.ExcludedNamespaces,
			RestorePVs: *s.Velero.RestorePVs, ExistingResourcePolicy: s.Velero.ExistingResourcePolicy,
			IncludeClusterResources: len(m.veleroClusterResources()) > 0,
		}).Get(ctx, &r)
		if berr := m.bslRestore(ctx); err == nil {
			err = berr
		}
		if err != nil {
			return err
		}
		m.report.VeleroFailures = append(m.report.VeleroFailures, r.Failures...)
		m.report.VeleroWarnings = append(m.report.VeleroWarnings, r.WarningsDetail...)
		if r.Errors > 0 {
			detail := ""
			if len(r.Failures) > 0 {
				detail = ": " + strings.Join(r.Failures[:min(3, len(r.Failures))], "; ")
			}
			return failures.New(failures.VeleroRestoreFailed, "velero restore %s into %s finished with %d errors and %d warnings%s; see `velero restore describe %s --details`", r.Name, s.Green.ClusterName, r.Errors, r.Warnings, detail, r.Name)
		}
		if r.Warnings > 0 {
			m.addFindings([]finding.Finding{{Check: "velero-restore", Cluster: s.Green.ClusterName, Object: r.Name, Severity: finding.Warning, Message: fmt.Sprintf("restore finished with %d warnings", r.Warnings), Fix: "velero restore describe " + r.Name + " --details", Source: "velero"}})
		}
	}
	if s.ArgoCD.Mode == spec.ArgoCDModeNone {
		return nil
	}
	wherever := m.runbookOn(ctx) && m.argoWhereverOn(ctx)
	if wherever && s.ArgoCD.Mode == spec.ArgoCDModeCopy {
		return m.copyArgoCD(ctx)
	}
	m.progress("Restoring Argo CD applications into green")
	m.done.ArgoRetargeted = s.ArgoCD.Mode == spec.ArgoCDModeRetarget
	argoCluster := m.blue()
	if wherever {
		argoCluster = m.argoCluster()
	}
	apps, err := short[argocd.RestoreResult](ctx, mutateOptions, argoA.RestoreArgoApplications, argocd.RestoreInput{
		ArgoCluster: argoCluster, Blue: m.blue(), Green: m.green(), Mode: s.ArgoCD.Mode, Namespace: s.ArgoCD.Namespace, Selector: s.ArgoCD.Selector, Prune: s.ArgoCD.Prune,
	})
	if err != nil {
		return err
	}
	if l := m.runbook.argo; wherever && l != nil && l.Where == argocd.WhereHub {
		m.report.ArgoCD = fmt.Sprintf("Argo CD %s on hub %s: %d applications target green (%d through ApplicationSets: %s)",
			l.Version, argoCluster.Name, len(apps.Applications), len(apps.ApplicationSets), strings.Join(apps.ApplicationSets, ", "))
	}
	if len(apps.Applications) == 0 {
		return nil
	}
	if s.ArgoCD.Mode == spec.ArgoCDModeCopy {
		argoCluster = m.green()
	}
	m.progress(fmt.Sprintf("Waiting for %d Argo CD applications to be Synced and Healthy", len(apps.Applications)))
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, withTimeout(restoreOptions, s.ArgoCD.SyncTimeout.D())), argoA.WaitArgoSynced, argocd.WaitSyncedInput{
		ArgoCluster: argoCluster, Namespace: s.ArgoCD.Namespace, Applications: apps.Applications,
	}).Get(ctx, nil); err != nil {
		return err
	}
	m.findOnlyOnBlue(ctx, apps.Applications)
	return nil
}

// takeOverLogical makes green the logical cluster blue was
// (blue.logicalName), once traffic is all on green and blue is retired or
// kept, so the next quarter's fleet run moves green. Only specs with the
// field reach the activity, so it needs no version of its own.
func (m *migration) takeOverLogical(ctx workflow.Context) error {
	l := m.spec.Blue.LogicalName
	if l == "" {
		return nil
	}
	res, err := short[eks.TakeOverResult](ctx, mutateOptions, eksA.TakeOverLogicalCluster, eks.TakeOverInput{Region: m.spec.Blue.Region, Logical: l, Blue: m.spec.Blue.ClusterName, Green: m.spec.Green.ClusterName})
	if err != nil {
		return err
	}
	m.report.LogicalCluster = fmt.Sprintf("%s is now %s (generation %d)", l, m.spec.Green.ClusterName, res.Generation)
	m.logger.Info("Green took over the logical cluster", "logical", l, "generation", res.Generation)
	return nil
}

// changeOnlyOnBlue versions the comparison of what the applications track
// on blue with green after their sync.
const changeOnlyOnBlue = "argocd-only-on-blue"

// CheckArgoCDOnlyOnBlue is the finding of resources an application tracks
// on blue that green lacks after its sync (they go with blue).
const CheckArgoCDOnlyOnBlue = "argocd-only-on-blue"

// findOnlyOnBlue reports what the synced applications track on blue and
// green lacks: gone with blue's deletion unless a person acts. A failure to
// look is reported, not fatal.
func (m *migration) findOnlyOnBlue(ctx workflow.Context, apps []string) {
	if workflow.GetVersion(ctx, changeOnlyOnBlue, workflow.DefaultVersion, 1) != 1 {
		return
	}
	res, err := short[kube.OnlyOnBlueResult](ctx, scanOptions, kubeA.FindOnlyOnBlue, kube.OnlyOnBlueInput{Blue: m.blue(), Green: m.green(), Applications: apps})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "could not compare what Argo CD tracks on blue with green: "+failures.Message(err))
		return
	}
	m.report.OnlyOnBlue = res.Objects
	byApp := map[string][]string{}
	var order []string
	for _, o := range res.Objects {
		if byApp[o.Application] == nil {
			order = append(order, o.Application)
		}
		byApp[o.Application] = append(byApp[o.Application], o.Object)
	}
	for _, app := range order {
		objs := byApp[app]
		m.addFindings([]finding.Finding{{Check: CheckArgoCDOnlyOnBlue, Cluster: m.spec.Blue.ClusterName, Object: "application " + app, Severity: finding.Warning, Source: "argocd",
			Message: fmt.Sprintf("%d resources the application tracks on blue are not on green after its sync and go with blue: %s", len(objs), summarizeNames(objs)),
			Fix:     "add them to the application's source (or copy them to green) before approving the retire gate; the report's onlyOnBlue lists each"}})
	}
}

// summarizeNames is the first few names and how many more.
func summarizeNames(names []string) string {
	const max = 5
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
}

// changeNotifySteps versions the chat post after each traffic step.
const changeNotifySteps = "notify-traffic-steps"

// shiftTraffic moves green's share through the spec's steps, baking each.
func (m *migration) shiftTraffic(ctx workflow.Context) error {
	m.enter(ctx, PhaseShiftTraffic)
	if err := m.convertPlainRecord(ctx); err != nil {
		return err
	}
	steps := m.spec.Traffic.Steps
	for i, w := range steps {
		n := i + 1
		if n >= 2 {
			if _, ok := m.spec.Gate(spec.StepGateName(n)); ok {
				if err := m.gate(ctx, spec.StepGateName(n), PhaseShiftTraffic); err != nil {
					return err
				}
			}
		}
		m.progress(fmt.Sprintf("Step %d/%d: moving %d%% of traffic to green", n, len(steps), w))
		if err := m.setWeights(ctx, ctx, trafficSetOptions, propagateOptions, w, n, fmt.Sprintf("step %d/%d", n, len(steps))); err != nil {
			return err
		}
		if err := m.moveJobs(ctx, w); err != nil {
			return err
		}
		// Runs recorded before chat heard of each step replay without it.
		if workflow.GetVersion(ctx, changeNotifySteps, workflow.DefaultVersion, 1) == 1 {
			m.notify(ctx, notify.KindPhase, "", fmt.Sprintf("Migration %s: traffic step %d/%d, %d%% on green %s, baking for %s while watching %d alarms.",
				m.spec.Name, n, len(steps), w, m.spec.Green.ClusterName, m.spec.Traffic.BakeTime, len(m.spec.Traffic.Alarms)))
		}
		if err := m.watch(ctx, m.spec.Traffic.BakeTime.D(), m.spec.Traffic.CheckInterval.D(), fmt.Sprintf("step %d/%d (%d%% green)", n, len(steps), w)); err != nil {
			return err
		}
	}
	return nil
}

func (m *migration) setWeights(ctx, waitCtx workflow.Context, setOpts, waitOpts workflow.ActivityOptions, green, step int, reason string) error {
	m.done.TrafficMoved = true
	if m.spec.Traffic.ContinuousDeployment() && (green > 0 || m.staging.active) {
		if err := m.stagingWeights(ctx, waitOpts, green); err != nil {
			return err
		}
	} else if err := m.switchWeights(ctx, waitCtx, setOpts, waitOpts, green); err != nil {
		return err
	}
	m.recordWeights(ctx, green, step, reason)
	return nil
}

// switchWeights sets the weights on the records or the origin and waits
// for the change to propagate.
func (m *migration) switchWeights(ctx, waitCtx workflow.Context, setOpts, waitOpts workflow.ActivityOptions, green int) error {
	var change traffic.Change
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, setOpts), trafA.SetTrafficWeights, traffic.SetWeightsInput{Target: m.target, Green: green}).Get(ctx, &change); err != nil {
		return err
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(waitCtx, waitOpts), trafA.WaitTrafficPropagated, change).Get(waitCtx, nil)
}

// recordWeights is the split now, in the status and the report.
func (m *migration) recordWeights(ctx workflow.Context, green, step int, reason string) {
	m.status.Traffic.Blue, m.status.Traffic.Green, m.status.Traffic.Step = 100-green, green, step
	m.report.TrafficHistory = append(m.report.TrafficHistory, TrafficEvent{At: workflow.Now(ctx), Step: step, Blue: 100 - green, Green: green, Reason: reason})
	m.metrics.greenWeight(ctx, green)
	m.logger.Info("Traffic shifted", "greenWeight", green, "step", step)
}

// watch waits d while reading alarms and probes every interval (and once at
// the start). The first unhealthy reading ends it with an Unhealthy error.
// A reading that cannot be taken (throttled, 5xx, timeouts) is retried by
// the activity for traffic.healthReadBudget before it counts as unhealthy.
func (m *migration) watch(ctx workflow.Context, d, interval time.Duration, what string) error {
	if m.continuousWatch(ctx) {
		return m.watchPeriod(ctx, d, what, false)
	}
	deadline := workflow.Now(ctx).Add(d)
	in := healthInput(m.spec)
	opts := healthOptionsFor(in.ReadBudget.D())
	checks := len(in.Alarms) + len(in.Probes)
	for {
		if checks > 0 {
			var h traffic.HealthResult
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), trafA.CheckTrafficHealth, in).Get(ctx, &h)
			if err != nil {
				if temporal.IsCanceledError(err) {
					return err
				}
				// A health reading that cannot be taken is not a healthy reading.
				return failures.New(failures.Unhealthy, "%s: could not read alarms and probes: %s", what, failures.Message(err))
			}
			if !h.Healthy {
				return failures.New(failures.Unhealthy, "%s: %s", what, strings.Join(h.Reasons, "; "))
			}
		}
		remaining := deadline.Sub(workflow.Now(ctx))
		if remaining <= 0 {
			return nil
		}
		wait := remaining
		if checks > 0 && interval > 0 && interval < wait {
			wait = interval
		}
		m.progress(fmt.Sprintf("Watching %s until %s", what, deadline.UTC().Format(time.RFC3339)))
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// soakInterval keeps a day-long soak to a few hundred checks in history.
func soakInterval(s spec.MigrationSpec) time.Duration {
	i := s.Traffic.CheckInterval.D()
	if i < 5*time.Minute {
		i = 5 * time.Minute
	}
	return i
}

func (m *migration) retireBlue(ctx workflow.Context) error {
	s := m.spec
	if s.Retire.Blue == spec.FateKeep {
		if err := m.takeOverLogical(ctx); err != nil {
			return err
		}
		m.progress("Keeping blue as the spec asks (retire.blue = keep)")
		m.report.Retire = &RetireReport{Kept: []string{"EKS cluster " + s.Blue.ClusterName + " and everything it owns (retire.blue = keep)"}}
		return nil
	}
	if err := m.moveArgoCD(ctx); err != nil {
		return err
	}
	w, err := short[traffic.Weights](ctx, guardReadOptions, trafA.GetTrafficWeights, m.target)
	if err != nil {
		return err
	}
	if w.Blue > 0 {
		return failures.New(failures.StillServingTraffic, "refusing to retire %s: it still receives %d%% of traffic", s.Blue.ClusterName, w.Blue)
	}
	m.done.BlueRetiring = true
	if err := m.takeOverLogical(ctx); err != nil {
		return err
	}
	m.releaseBlueFromApplicationSets(ctx)
	m.retireBlueLoadBalancers(ctx)
	m.listRetainedVolumes(ctx)
	m.progress("Deleting blue's add-ons, node groups and cluster")
	retired, err := call[eks.RetireResult](ctx, clusterWaitOptions, eksA.RetireEKSCluster, eks.RetireInput{
		Cluster: m.blue(), Role: "blue", Guard: trafficGuard(m.spec.Traffic, "blue"),
	})
	if err != nil {
		return err
	}
	m.retireBlueLogGroup(ctx)
	m.retireBlueVolumes(ctx)
	m.retireBlueIRSA(ctx)
	m.retireBlueKarpenter(ctx)
	simple := m.simpleAfter()
	err = m.simpleRecordAt(ctx, "green", trafficSetOptions, propagateOptions)
	m.retired.recordSimple = simple && err == nil
	m.recordRetire(&retired)
	return err
}

func (m *migration) dryRunPlan(g eks.GreenPlan) *Plan {
	p := &Plan{Green: g, TrafficSteps: m.spec.Traffic.Steps, RetireBlue: m.spec.Retire.Blue, GreenTarget: greenTargetPlan(m.spec.Traffic.Route53)}
	for _, name := range []string{spec.GateCutover, spec.GateRetire} {
		if _, ok := m.spec.Gate(name); ok {
			p.Gates = append(p.Gates, name)
		}
	}
	for n := 2; n <= len(m.spec.Traffic.Steps); n++ {
		if _, ok := m.spec.Gate(spec.StepGateName(n)); ok {
			p.Gates = append(p.Gates, spec.StepGateName(n))
		}
	}
	if m.spec.Velero.Enabled {
		name := m.spec.Velero.BackupName
		if name == "" {
			name = "cutover-" + m.spec.Name + " (new backup of " + m.spec.Blue.ClusterName + ")"
		}
		p.Restore = append(p.Restore, "velero: restore "+name+" into "+m.spec.Green.ClusterName)
	}
	if m.spec.ArgoCD.Mode != spec.ArgoCDModeNone {
		p.Restore = append(p.Restore, "argocd: "+m.spec.ArgoCD.Mode+" applications in namespace "+m.spec.ArgoCD.Namespace)
	}
	return p
}

func (m *migration) addFindings(fs []finding.Finding) {
	m.report.Findings = append(m.report.Findings, fs...)
	m.status.Findings = m.report.Findings
}

func summarize(fs []finding.Finding) string {
	const max = 5
	parts := make([]string, 0, max)
	for i, f := range fs {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(fs)-max))
			break
		}
		obj := f.Object
		if obj != "" {
			obj = " " + obj
		}
		parts = append(parts, fmt.Sprintf("[%s] %s%s: %s", f.Severity, f.Check, obj, f.Message))
	}
	return strings.Join(parts, "; ")
}

func ptr[T any](v T) *T { return &v }
