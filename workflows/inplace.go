package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The in-place path (strategy "inPlace"): blue itself goes up one minor
// version at a time. Only specs with the field (which older runs cannot
// have) come here, so it needs no version of its own.

// Phases of an in-place upgrade (Validate and Preflight are shared).
const (
	PhaseAwaitControlPlane = "AwaitControlPlaneApproval"
	PhaseControlPlane      = "UpgradeControlPlane"
	PhaseAddons            = "UpgradeAddons"
	PhaseNodeGroups        = "UpgradeNodeGroups"
	PhaseVerifyCluster     = "VerifyCluster"
)

// CheckAMITypeInPlace is the finding of a node group whose AMI type has
// no release at the target: EKS cannot change a node group's AMI type in
// place.
const CheckAMITypeInPlace = "ami-type-unavailable-in-place"

// InPlaceReport is what an in-place upgrade did and where it stands.
type InPlaceReport struct {
	From   string       `json:"from"`
	Target string       `json:"target"`
	Plan   []InPlaceHop `json:"plan"`
	// Steps ran, in order.
	Steps []InPlaceStep `json:"steps,omitempty"`
	// Now is the cluster as last observed: on a failure, what is at which
	// version (a control plane is never rolled back).
	Now *InPlaceObserved `json:"now,omitempty"`
}

// InPlaceStep is one update.
type InPlaceStep struct {
	Kind     string    `json:"kind"` // control-plane, addon, nodegroup, verify
	Name     string    `json:"name"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to"`
	UpdateID string    `json:"updateId,omitempty"`
	Status   string    `json:"status"`
	Detail   string    `json:"detail,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitempty"`
}

// inPlace upgrades blue in place: preflight for the target, then for each
// hop the gate before the control plane, the control plane, the add-ons,
// the node groups, and a check of the nodes and the smoke tests.
func (m *migration) inPlace(ctx workflow.Context) error {
	s := m.spec
	blue, err := m.inPlacePreflight(ctx)
	if err != nil {
		return err
	}
	hops, err := PlanInPlace(observedInPlace(blue), s.Green.KubernetesVersion)
	if err != nil {
		return failures.New(failures.Validation, "in-place plan: %v", err)
	}
	m.report.InPlace = &InPlaceReport{From: blue.Version, Target: s.Green.KubernetesVersion, Plan: hops}
	if s.DryRun {
		return nil
	}
	for _, hop := range hops {
		if err := m.inPlaceHop(ctx, hop); err != nil {
			return err
		}
	}
	return nil
}

// inPlacePreflight is Preflight for an in-place upgrade: blue described,
// the target checked, EKS's upgrade insights, the scan of blue's objects
// for the target (removed APIs, PodDisruptionBudgets that never allow an
// eviction, unhealthy nodes and pods), and node groups whose AMI type has
// no release at the target refused.
func (m *migration) inPlacePreflight(ctx workflow.Context) (eks.ClusterDescription, error) {
	s := m.spec
	m.enter(ctx, PhasePreflight)
	m.progress("Describing " + s.Blue.ClusterName)
	blue, err := short[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: m.blue()})
	if err != nil {
		return blue, err
	}
	if blue.Status != "" && blue.Status != "ACTIVE" {
		m.addFindings([]finding.Finding{{Check: "blue-not-active", Cluster: blue.Name, Severity: finding.Error, Source: "eks",
			Message: fmt.Sprintf("%s is %s, not ACTIVE", blue.Name, blue.Status), Fix: "wait for the update in progress to finish, then start again"}})
	}
	if err := m.checkTargetVersion(ctx, blue.Version); err != nil {
		return blue, err
	}
	m.progress("Reading EKS upgrade insights")
	insights, err := short[eks.InsightsResult](ctx, readOptions, eksA.EKSUpgradeInsights, eks.InsightsInput{Cluster: m.blue(), TargetVersion: s.Green.KubernetesVersion, Addons: addonNames(blue),
		Installed: addonVersions(blue), InPlace: true, FirstHop: firstHop(blue.Version, s.Green.KubernetesVersion), VPCCNIVersions: !hasAddon(blue, eks.VPCCNIAddon)})
	if err != nil {
		return blue, err
	}
	m.addFindings(insights.Findings)
	m.progress("Scanning " + s.Blue.ClusterName + "'s Kubernetes objects")
	pf, err := call[kube.PreflightResult](ctx, scanOptions, kubeA.PreflightBlue, kube.PreflightInput{
		Cluster: m.blue(), CurrentVersion: blue.Version, TargetVersion: s.Green.KubernetesVersion, ArgoCDNamespace: s.ArgoCD.Namespace, InPlace: true,
	})
	if err != nil {
		return blue, err
	}
	m.addFindings(pf.Findings)
	m.addFindings(cniFindings(blue, pf.CNI, insights, s.Green.KubernetesVersion, true))
	m.addFindings(inPlaceAMITypeFindings(blue, s.Green.KubernetesVersion))
	m.addFindings(healthFindings(blue))
	// Node groups whose template pins an AMI need a version with the
	// target's: refused here when there is none, before any gate.
	var templated []eks.NodeGroup
	m.ownTemplates = map[string]bool{}
	for _, ng := range blue.NodeGroups {
		if ng.LaunchTemplate != nil {
			templated = append(templated, ng)
			m.ownTemplates[ng.Name] = true
		}
	}
	if len(templated) > 0 {
		m.progress(fmt.Sprintf("Checking %d launch templates for Kubernetes %s", len(templated), s.Green.KubernetesVersion))
		lts, err := call[eks.PlanLaunchTemplatesResult](ctx, readOptions, eksA.PlanGreenLaunchTemplates, eks.PlanLaunchTemplatesInput{
			Blue: m.blue(), TargetVersion: s.Green.KubernetesVersion, NodeGroups: templated, AMITypeUpgrade: spec.AMITypeUpgradeRefuse,
		})
		if err != nil {
			return blue, err
		}
		m.addFindings(lts.Findings)
	}
	// The rolling updates start new nodes before old ones go.
	if err := m.checkSubnets(ctx, blue, surgeNodes(s.InPlace.MaxUnavailable), "the rolling updates"); err != nil {
		return blue, err
	}
	m.blueVersion, m.blueEndpoint, m.blueARN = blue.Version, blue.Endpoint, blue.ARN
	policy := finding.Policy{BlockOn: s.Preflight.BlockOn, IgnoreChecks: s.Preflight.IgnoreChecks}
	blocking := policy.Blocking(m.report.Findings)
	if s.DryRun {
		if len(blocking) > 0 {
			m.report.Reason = fmt.Sprintf("preflight would block: %s", summarize(blocking))
		}
		return blue, nil
	}
	return blue, m.blockOnFindings(preflightResult{blue: blue, blocking: blocking})
}

// inPlaceAMITypeFindings refuses node groups whose AMI type EKS does not
// publish at the target (Amazon Linux 2 after 1.32): a node group cannot
// change AMI type in place.
func inPlaceAMITypeFindings(blue eks.ClusterDescription, target string) []finding.Finding {
	var out []finding.Finding
	for _, ng := range blue.NodeGroups {
		succ, gone := amiTypeSuccessor(ng.AMIType, target)
		if !gone {
			continue
		}
		fix := "replace the node group with one on an AMI type that exists at the target, or move with strategy \"blueGreen\" and green.nodeGroups.amiTypeUpgrade \"successor\""
		if succ != "" {
			fix = fmt.Sprintf("replace node group %s with one on %s first, or move with strategy \"blueGreen\" and green.nodeGroups.amiTypeUpgrade \"successor\"", ng.Name, succ)
		}
		out = append(out, finding.Finding{Check: CheckAMITypeInPlace, Cluster: blue.Name, Object: "nodegroup/" + ng.Name, Source: "eks", Severity: finding.Error,
			Message: fmt.Sprintf("AMI type %s of node group %s has no release at Kubernetes %s, and EKS cannot change a node group's AMI type in place", ng.AMIType, ng.Name, target),
			Fix:     fix})
	}
	return out
}

// observedInPlace is the planner's view of a described cluster.
func observedInPlace(d eks.ClusterDescription) InPlaceObserved {
	o := InPlaceObserved{ControlPlane: d.Version}
	for _, ng := range d.NodeGroups {
		v := ng.Version
		if v == "" {
			v = d.Version
		}
		o.NodeGroups = append(o.NodeGroups, InPlaceNodeGroupState{Name: ng.Name, Version: v, AMIType: ng.AMIType, CustomAMI: ng.LaunchTemplate != nil && ng.AMIType == "CUSTOM"})
	}
	for _, a := range d.Addons {
		o.Addons = append(o.Addons, InPlaceAddonState{Name: a.Name, Version: a.Version})
	}
	return o
}

// inPlaceHop moves the cluster to one minor version.
func (m *migration) inPlaceHop(ctx workflow.Context, hop InPlaceHop) error {
	if hop.ControlPlane {
		// EKS cannot take a control plane back: a person approves each.
		if err := m.gate(ctx, ControlPlaneGateName(hop.Version), PhaseAwaitControlPlane); err != nil {
			return err
		}
		m.enter(ctx, PhaseControlPlane)
		if err := m.updateControlPlane(ctx, hop.Version); err != nil {
			return err
		}
	}
	if len(hop.Addons) > 0 {
		m.enter(ctx, PhaseAddons)
		if err := m.updateAddons(ctx, hop); err != nil {
			return err
		}
	}
	// The launch template versions the hop's node groups ran before it.
	var moved []movedNodeGroup
	if len(hop.NodeGroups) > 0 {
		m.enter(ctx, PhaseNodeGroups)
		for _, ng := range hop.NodeGroups {
			prev, err := m.updateNodeGroup(ctx, ng, hop.Version)
			if err != nil {
				return err
			}
			if prev != nil {
				moved = append(moved, movedNodeGroup{name: ng, previous: *prev})
			}
		}
	}
	err := m.verifyInPlace(ctx, hop.Version)
	if err != nil && m.spec.InPlace.RollbackNodeGroups {
		m.rollBackNodeGroups(ctx, moved)
	}
	return err
}

// movedNodeGroup is a node group a hop moved to a new version of its own
// launch template, and the version it ran before.
type movedNodeGroup struct {
	name     string
	previous eks.LaunchTemplate
}

// rollBackNodeGroups puts the node groups back on the launch template
// versions they ran before the hop (inPlace.rollbackNodeGroups), one
// after the other, each a step of the report. A rollback that fails is
// reported and the others still go back: the run fails either way with
// the hop's error.
func (m *migration) rollBackNodeGroups(ctx workflow.Context, moved []movedNodeGroup) {
	for _, ng := range moved {
		m.progress(fmt.Sprintf("Rolling node group %s back to launch template %s version %s", ng.name, ng.previous.ID, ng.previous.Version))
		started := workflow.Now(ctx)
		prev := ng.previous
		res, err := call[eks.UpdateResult](ctx, m.updateOptions(), eksA.UpdateNodegroup, eks.UpdateNodegroupInput{
			Cluster: m.blue(), Nodegroup: ng.name, LaunchTemplate: &prev, Force: m.spec.InPlace.Force,
		})
		res.Reason = fmt.Sprintf("back to launch template %s version %s", prev.ID, prev.Version)
		m.step(ctx, "nodegroup-rollback", ng.name, "launch template version "+prev.Version, started, res, err)
		if err != nil {
			m.report.Errors = append(m.report.Errors, fmt.Sprintf("roll node group %s back to launch template version %s: %s", ng.name, prev.Version, failures.Message(err)))
		}
	}
}

// verifyInPlace checks, after a hop, that the nodes are Ready at the hop's
// version with the core add-ons running, and runs the smoke tests against
// the upgraded cluster.
func (m *migration) verifyInPlace(ctx workflow.Context, version string) error {
	s := m.spec
	m.enter(ctx, PhaseVerifyCluster)
	started := workflow.Now(ctx)
	m.progress(fmt.Sprintf("Verifying %s's nodes and core add-ons at %s", s.Blue.ClusterName, version))
	verify, err := call[kube.VerifyGreenResult](ctx, smokeOptions, kubeA.VerifyGreen, kube.VerifyGreenInput{Cluster: m.blue(), TargetVersion: version, CoreFrom: ptr(m.blue())})
	if err != nil {
		return err
	}
	m.addFindings(verify.Findings)
	if !verify.Ready {
		return failures.WithDetails(failures.GreenNotReady, fmt.Sprintf("%s is not ready at %s: %s", s.Blue.ClusterName, version, summarize(verify.Findings)), verify.Findings)
	}
	m.progress("Running smoke tests on " + s.Blue.ClusterName)
	smoke, err := call[kube.SmokeResult](ctx, withTimeout(smokeOptions, s.Smoke.Timeout.D()), kubeA.SmokeTestGreen, kube.SmokeInput{
		Cluster: m.blue(), Smoke: smokeTests(s.Smoke), RunID: m.info.WorkflowExecution.RunID,
	})
	if err != nil {
		return err
	}
	m.report.Smoke = &smoke
	step := InPlaceStep{Kind: "verify", Name: s.Blue.ClusterName, To: version, Status: "passed", Started: started, Ended: workflow.Now(ctx)}
	if !smoke.Passed {
		var failed []string
		for _, c := range smoke.Checks {
			if !c.Passed {
				failed = append(failed, c.Name+": "+c.Message)
			}
		}
		step.Status, step.Detail = "failed", strings.Join(failed, "; ")
		m.report.InPlace.Steps = append(m.report.InPlace.Steps, step)
		return failures.New(failures.SmokeFailed, "smoke tests failed on %s at %s: %s", s.Blue.ClusterName, version, step.Detail)
	}
	m.report.InPlace.Steps = append(m.report.InPlace.Steps, step)
	return nil
}

// stopInPlace ends a failed in-place upgrade: nothing is rolled back (EKS
// cannot downgrade a control plane); the cluster is described again so
// the report says what is at which version.
func (m *migration) stopInPlace(ctx workflow.Context, typ, reason string, cause error) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if m.report.InPlace != nil {
		if now, err := short[eks.ClusterDescription](dctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: m.blue()}); err == nil {
			o := observedInPlace(now)
			m.report.InPlace.Now = &o
			reason += " (now: " + describeObserved(o) + ")"
		} else {
			m.report.Errors = append(m.report.Errors, "describe after the failure: "+failures.Message(err))
		}
	}
	if typ == "" {
		typ = "MigrationFailed"
	}
	return m.conclude(ctx, OutcomeFailed, typ, reason, cause, nil, fmt.Sprintf("In-place upgrade %s stopped: %s. Nothing was rolled back.", m.spec.Name, reason))
}

// describeObserved says what is at which version, e.g. "control plane
// 1.30, node groups apps 1.29, system 1.30".
func describeObserved(o InPlaceObserved) string {
	parts := []string{"control plane " + o.ControlPlane}
	var ngs []string
	for _, ng := range o.NodeGroups {
		ngs = append(ngs, ng.Name+" "+ng.Version)
	}
	if len(ngs) > 0 {
		parts = append(parts, "node groups "+strings.Join(ngs, ", "))
	}
	return strings.Join(parts, ", ")
}

// inPlaceUpdateOptions: one EKS update (control plane 10-20 minutes, a
// node group's rolling replacement longer), heartbeating its progress;
// StartToClose comes from inPlace.updateTimeout. A retry finds the update
// in progress (its ID is in the heartbeat) instead of starting another;
// EKS's Failed answer (UpdateFailed, PodEvictionBlocked) is never retried.
var inPlaceUpdateOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    2 * time.Hour,
	ScheduleToCloseTimeout: 6 * time.Hour,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy:            inPlaceUpdateRetry,
}

// inPlaceUpdateRetry: transient answers are retried (the update is found
// again, not started twice); EKS's verdict on an update is not.
var inPlaceUpdateRetry = &temporal.RetryPolicy{
	InitialInterval:        10 * time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        2 * time.Minute,
	NonRetryableErrorTypes: append(slices.Clone(failures.NonRetryable), eks.UpdateFailed, eks.PodEvictionBlocked),
}

func (m *migration) updateOptions() workflow.ActivityOptions {
	o := inPlaceUpdateOptions
	if d := m.spec.InPlace.UpdateTimeout.D(); d > 0 {
		o.StartToCloseTimeout = d
		o.ScheduleToCloseTimeout = max(o.ScheduleToCloseTimeout, 3*d)
	}
	return o
}

// step records one update in the report.
func (m *migration) step(ctx workflow.Context, kind, name, to string, started time.Time, res eks.UpdateResult, err error) {
	st := InPlaceStep{Kind: kind, Name: name, From: res.From, To: to, UpdateID: res.UpdateID, Status: "succeeded", Detail: res.Reason, Started: started, Ended: workflow.Now(ctx)}
	if res.To != "" {
		st.To = res.To
	}
	if err != nil {
		st.Status, st.Detail = "failed", failures.Message(err)
	} else if res.UpdateID == "" {
		st.Status = "unchanged"
	}
	m.report.InPlace.Steps = append(m.report.InPlace.Steps, st)
}

// updateControlPlane moves the control plane one minor version.
func (m *migration) updateControlPlane(ctx workflow.Context, version string) error {
	m.progress(fmt.Sprintf("Updating %s's control plane to %s", m.spec.Blue.ClusterName, version))
	started := workflow.Now(ctx)
	res, err := call[eks.UpdateResult](ctx, m.updateOptions(), eksA.UpdateClusterVersion, eks.UpdateClusterVersionInput{Cluster: m.blue(), Version: version})
	m.step(ctx, "control-plane", m.spec.Blue.ClusterName, version, started, res, err)
	return err
}

// updateAddons moves every add-on to the newest version compatible with
// the hop's minor, one after the other.
func (m *migration) updateAddons(ctx workflow.Context, hop InPlaceHop) error {
	for _, name := range hop.Addons {
		m.progress(fmt.Sprintf("Updating add-on %s for Kubernetes %s", name, hop.Version))
		started := workflow.Now(ctx)
		res, err := call[eks.UpdateResult](ctx, m.updateOptions(), eksA.UpdateAddonToCompatible, eks.UpdateAddonInput{Cluster: m.blue(), Addon: name, KubernetesVersion: hop.Version})
		m.step(ctx, "addon", name, hop.Version, started, res, err)
		if err != nil {
			return err
		}
	}
	return nil
}

// updateNodeGroup rolls one managed node group to the hop's version
// through EKS's rolling update (maxUnavailable from the spec; force only
// when the spec allows evictions PodDisruptionBudgets refuse). An update
// that stalls on PodDisruptionBudgets fails naming what blocked it.
//
// It returns the launch template version the node group ran before, when
// the update moved it to a new version of its own template.
func (m *migration) updateNodeGroup(ctx workflow.Context, name, version string) (*eks.LaunchTemplate, error) {
	in := m.spec.InPlace
	m.progress(fmt.Sprintf("Rolling node group %s to %s", name, version))
	started := workflow.Now(ctx)
	input := eks.UpdateNodegroupInput{Cluster: m.blue(), Nodegroup: name, Version: version, Force: in.Force}
	if in.MaxUnavailable > 0 || in.MaxUnavailablePercentage > 0 {
		input.UpdateConfig = &eks.UpdateConfig{MaxUnavailable: in.MaxUnavailable, MaxUnavailablePercentage: in.MaxUnavailablePercentage}
	}
	var lt eks.InPlaceLaunchTemplateResult
	if m.ownTemplates[name] {
		// A template that pins an AMI moves by a new version with the
		// hop's AMI (EKS takes no Kubernetes version for it).
		var err error
		lt, err = short[eks.InPlaceLaunchTemplateResult](ctx, readOptions, eksA.PrepareInPlaceLaunchTemplate, eks.InPlaceLaunchTemplateInput{
			Cluster: m.blue(), Nodegroup: name, Migration: m.spec.Name, Version: version,
		})
		if err != nil {
			m.step(ctx, "nodegroup", name, version, started, eks.UpdateResult{}, err)
			return nil, err
		}
		if lt.LaunchTemplate != nil {
			input.LaunchTemplate, input.Version = lt.LaunchTemplate, ""
		}
	}
	res, err := call[eks.UpdateResult](ctx, m.updateOptions(), eksA.UpdateNodegroup, input)
	if lt.LaunchTemplate != nil && res.Reason == "" {
		res.Reason = fmt.Sprintf("launch template %s version %s (was %s): %s", lt.LaunchTemplate.ID, lt.LaunchTemplate.Version, lt.Previous.Version, lt.Reason)
	}
	if err != nil && failures.TypeOf(err) == eks.PodEvictionBlocked {
		blockers := " (PodDisruptionBudgets)"
		if budgets := m.blockingPDBs(ctx, name); budgets != "" {
			blockers = "; PodDisruptionBudgets allowing no disruption: " + budgets
		}
		err = failures.Wrap(eks.PodEvictionBlocked, err, "node group %s stalled on pods that could not be evicted%s; set inPlace.force to evict anyway, or let the budgets allow a disruption, then start again", name, blockers)
	}
	m.step(ctx, "nodegroup", name, version, started, res, err)
	if err != nil || lt.LaunchTemplate == nil || lt.Previous == nil || res.UpdateID == "" {
		return nil, err
	}
	return lt.Previous, nil
}

// blockingPDBs names the budgets in blue that allow no disruption of pods
// on the node group's nodes, read when EKS gave up on evictions (its
// errors name pods at best). Empty when none or when they cannot be read:
// EKS's own errors are reported either way.
func (m *migration) blockingPDBs(ctx workflow.Context, nodegroup string) string {
	res, err := short[kube.BlockingPDBsResult](ctx, readOptions, kubeA.BlockingPDBs, kube.BlockingPDBsInput{Cluster: m.blue(), Nodegroup: nodegroup})
	if err != nil {
		m.logger.Warn("Could not read the PodDisruptionBudgets blocking the node group", "cluster", m.blue().Name, "nodegroup", nodegroup, "error", failures.Message(err))
		return ""
	}
	var names []string
	for _, b := range res.Blocking {
		names = append(names, b.String())
	}
	return strings.Join(names, ", ")
}
