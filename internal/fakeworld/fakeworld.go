// Package fakeworld is an in-memory stand-in for every system cutover
// touches (EKS, Kubernetes, Argo CD, Velero, Route53/CloudFront, chat). It
// implements every activity method under the real names, records each call
// with its input, and can be told to fail. Workflow tests and the
// end-to-end test against a real Temporal dev server register it in place
// of the real activities; the real activities have their own tests against
// real servers.
package fakeworld

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/probe"
)

// Call is one recorded activity call.
type Call struct {
	Name  string
	Input any
}

// World is the fake. Zero value is not usable; use New.
type World struct {
	mu sync.Mutex

	// Blue is what DescribeEKSCluster returns.
	Blue eks.ClusterDescription
	// PreflightFindings and InsightFindings are returned by the scans.
	PreflightFindings []finding.Finding
	InsightFindings   []finding.Finding
	// GreenNotReady makes VerifyGreen report green as not ready.
	GreenNotReady bool
	// SmokeFails makes SmokeTestGreen report this failed check.
	SmokeFails string
	// SubnetsFull are subnets CheckSubnetCapacity finds nearly full.
	SubnetsFull map[string]bool
	// RestoreErrors is the error count of the Velero restore.
	RestoreErrors int
	// UnhealthyAtGreen makes CheckTrafficHealth report the alarm
	// UnhealthyAlarm while green's weight equals this value (0 = never).
	UnhealthyAtGreen int
	UnhealthyAlarm   string
	// FailTimes makes the named activity fail with a retryable
	// ResourceInUse error that many times before it succeeds.
	FailTimes map[string]int
	// Errors makes the named activity fail with this error every time.
	Errors map[string]error
	// FailWhen, when set, is asked before every call; a non-nil error
	// fails that call (e.g. only the rollback's SetTrafficWeights).
	FailWhen func(name string, input any) error
	// Notifier, when set, delivers the notifications the fake Notify
	// records (the real notify activities against a fake Slack, say).
	Notifier interface {
		Notify(context.Context, notify.Message) (notify.Delivery, error)
	}
	// GreenDrift, when set, changes what DescribeEKSCluster reports for
	// green (built from the plan), e.g. a missing add-on.
	GreenDrift func(*eks.ClusterDescription)
	// IRSARefused names the roles whose trust ApplyIRSATrust cannot change.
	IRSARefused map[string]bool
	// GreenInventoryDrift, when set, changes green's InventoryCluster.
	GreenInventoryDrift func(*kube.Inventory)
	// BlueWeightAtRetire, when positive, is the blue weight
	// GetTrafficWeights reports once all traffic is on green (a record
	// someone else changed).
	BlueWeightAtRetire int
	// PinnedLaunchTemplates makes blue's launch templates pin blue's AMI:
	// green's node groups on one get a new version ("2") from
	// EnsureNodeGroups, which DeleteLaunchTemplateVersions deletes.
	PinnedLaunchTemplates bool
	// GreenVeleroWithoutAPIGroupVersions makes green's Velero server run
	// without EnableAPIGroupVersions: CheckVelero then reports
	// velero-api-group-versions when blue and green versions differ.
	GreenVeleroWithoutAPIGroupVersions bool

	calls     []Call
	greenDesc *eks.ClusterDescription
	// access are the access entries ensured on the greens of other runs
	// (a fleet's), which DescribeEKSCluster reports with blue's copy.
	access  map[string][]eks.AccessEntry
	weights traffic.Weights
	// byRecord: the split of each Route53 record SetTrafficWeights set,
	// so that a fleet's concurrent members on their own records do not
	// see each other's; weights is the split last set on any.
	byRecord map[string]traffic.Weights
	green   bool
}

// Activities is the activity side of a World: register it with a worker
// or test environment. Its methods have the names of the real activities.
type Activities struct{ w *World }

// Activities returns the activities backed by w.
func (w *World) Activities() *Activities { return &Activities{w: w} }

// New returns a world with a realistic blue cluster: two node groups,
// add-ons, an access entry, a Pod Identity association, all traffic on blue.
func New() *World {
	return &World{
		Blue: eks.ClusterDescription{
			Name: "blue", Region: "eu-west-1", Version: "1.29", Status: "ACTIVE",
			ARN:      "arn:aws:eks:eu-west-1:123456789012:cluster/blue",
			Endpoint: "https://0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com",
			RoleARN:  "arn:aws:iam::123456789012:role/eks-cluster",
			VPC: eks.VPCConfig{SubnetIDs: []string{"subnet-0a1b2c3d", "subnet-1a2b3c4d"}, SecurityGroupIDs: []string{"sg-0a1b2c3d"},
				EndpointPublicAccess: true, EndpointPrivateAccess: true},
			Logging: []string{"api", "audit"},
			Tags:    map[string]string{"team": "platform", "env": "prod"},
			Access:  eks.AccessConfig{AuthenticationMode: "API_AND_CONFIG_MAP"},
			AccessEntries: []eks.AccessEntry{{PrincipalARN: "arn:aws:iam::123456789012:role/sre", Type: "STANDARD",
				Policies: []eks.AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", ScopeType: "cluster"}}}},
			Addons: []eks.Addon{{Name: "vpc-cni", Version: "v1.16.0-eksbuild.1", ConfigurationValues: `{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}`},
				{Name: "coredns", Version: "v1.11.1-eksbuild.4"}},
			NodeGroups: []eks.NodeGroup{
				{Name: "general", NodeRoleARN: "arn:aws:iam::123456789012:role/eks-node", SubnetIDs: []string{"subnet-0a1b2c3d"}, InstanceTypes: []string{"m6i.large"},
					AMIType: "AL2_x86_64", CapacityType: "ON_DEMAND", Scaling: eks.Scaling{Min: 2, Max: 6, Desired: 3}, Labels: map[string]string{"pool": "general"}, Version: "1.29"},
				{Name: "batch", NodeRoleARN: "arn:aws:iam::123456789012:role/eks-node", SubnetIDs: []string{"subnet-1a2b3c4d"}, InstanceTypes: []string{"c6i.xlarge"},
					AMIType: "AL2_x86_64", CapacityType: "SPOT", Scaling: eks.Scaling{Min: 0, Max: 10, Desired: 1},
					Taints: []eks.Taint{{Key: "batch", Value: "true", Effect: "NO_SCHEDULE"}}, Version: "1.29"},
			},
			PodIdentityAssociations: []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker",
				RoleARN: "arn:aws:iam::123456789012:role/payments-worker", AssociationID: "a-blue0000000001"}},
		},
		weights: traffic.Weights{Blue: 100},
	}
}

// Calls returns the recorded calls in order.
func (w *World) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Call(nil), w.calls...)
}

// Names returns the recorded call names in order.
func (w *World) Names() []string {
	var out []string
	for _, c := range w.Calls() {
		out = append(out, c.Name)
	}
	return out
}

// Inputs returns the inputs of every call to name.
func (w *World) Inputs(name string) []any {
	var out []any
	for _, c := range w.Calls() {
		if c.Name == name {
			out = append(out, c.Input)
		}
	}
	return out
}

// Weights returns the current split.
func (w *World) Weights() traffic.Weights {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.weights
}

// weightsOf is the split of record r: the one SetTrafficWeights last set
// on it, else the world's (a record never set, a CloudFront target).
func (w *World) weightsOf(r *traffic.Route53Records) traffic.Weights {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.weightsOfLocked(r)
}

func (w *World) weightsOfLocked(r *traffic.Route53Records) traffic.Weights {
	if r != nil {
		if ws, ok := w.byRecord[r.RecordName]; ok {
			return ws
		}
	}
	return w.weights
}

// GreenExists reports whether green was created and not deleted.
func (w *World) GreenExists() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.green
}

func (w *World) record(name string, in any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, Call{Name: name, Input: in})
	if err := w.Errors[name]; err != nil {
		return err
	}
	if w.FailWhen != nil {
		if err := w.FailWhen(name, in); err != nil {
			return err
		}
	}
	if n := w.FailTimes[name]; n > 0 {
		w.FailTimes[name] = n - 1
		return failures.New(failures.ResourceInUse, "%s: injected transient failure (%d more)", name, n-1)
	}
	return nil
}

// DescribeEKSCluster implements the EKS activity.
func (a *Activities) DescribeEKSCluster(_ context.Context, in eks.DescribeInput) (eks.ClusterDescription, error) {
	w := a.w
	if err := w.record("DescribeEKSCluster", in); err != nil {
		return eks.ClusterDescription{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.greenDesc != nil && in.Cluster.Name == w.greenDesc.Name {
		g := *w.greenDesc
		if w.GreenDrift != nil {
			w.GreenDrift(&g)
		}
		return g, nil
	}
	if extra := w.access[in.Cluster.Name]; len(extra) > 0 {
		b := w.Blue
		b.Name = in.Cluster.Name
		b.AccessEntries = append(slices.Clone(b.AccessEntries), extra...)
		if v, ok := w.clusterVersion(in.Cluster.Name); ok {
			b.Version = v
		}
		return b, nil
	}
	if v, ok := w.clusterVersion(in.Cluster.Name); ok {
		b := w.Blue
		b.Name, b.Version = in.Cluster.Name, v
		return b, nil
	}
	return w.Blue, nil
}

// InventoryCluster implements the kube activity: blue's inventory, and on
// green the same (restored) unless GreenInventoryDrift changes it.
func (a *Activities) InventoryCluster(_ context.Context, in kube.InventoryInput) (kube.Inventory, error) {
	w := a.w
	if err := w.record("InventoryCluster", in); err != nil {
		return kube.Inventory{}, err
	}
	inv := kube.Inventory{Cluster: in.Cluster.Name, Namespaces: []string{"shop"},
		Workloads:       []kube.WorkloadStatus{{Kind: "Deployment", Namespace: "shop", Name: "web", Desired: 3, Available: 3, Ready: true}},
		ServiceAccounts: []kube.ServiceAccountRole{{Namespace: "shop", Name: "orders", RoleARN: "arn:aws:iam::123456789012:role/orders"}}}
	if in.Cluster.Name != w.Blue.Name && w.GreenInventoryDrift != nil {
		w.GreenInventoryDrift(&inv)
	}
	return inv, nil
}

// EKSUpgradeInsights implements the EKS activity.
func (a *Activities) EKSUpgradeInsights(_ context.Context, in eks.InsightsInput) (eks.InsightsResult, error) {
	w := a.w
	if err := w.record("EKSUpgradeInsights", in); err != nil {
		return eks.InsightsResult{}, err
	}
	return eks.InsightsResult{Findings: w.InsightFindings, TargetStatus: "STANDARD_SUPPORT"}, nil
}

// EnsureGreenCluster implements the EKS activity.
func (a *Activities) EnsureGreenCluster(_ context.Context, in eks.EnsureClusterInput) (eks.EnsureClusterResult, error) {
	w := a.w
	if err := w.record("EnsureGreenCluster", in); err != nil {
		return eks.EnsureClusterResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	adopted := w.green
	w.green = true
	g := in.Plan.Cluster
	g.Status = "ACTIVE"
	w.greenDesc = &g
	return eks.EnsureClusterResult{ARN: "arn:aws:eks:eu-west-1:123456789012:cluster/" + in.Plan.Cluster.Name, Status: "CREATING", Created: !adopted, Adopted: adopted}, nil
}

// WaitEKSClusterActive implements the EKS activity.
func (a *Activities) WaitEKSClusterActive(_ context.Context, in eks.WaitClusterInput) (eks.ClusterDescription, error) {
	w := a.w
	if err := w.record("WaitEKSClusterActive", in); err != nil {
		return eks.ClusterDescription{}, err
	}
	return eks.ClusterDescription{Name: in.Cluster.Name, Region: in.Cluster.Region, Status: "ACTIVE"}, nil
}

// EnsureNodeGroups implements the EKS activity.
func (a *Activities) EnsureNodeGroups(_ context.Context, in eks.EnsureNodeGroupsInput) (eks.EnsureNodeGroupsResult, error) {
	w := a.w
	if err := w.record("EnsureNodeGroups", in); err != nil {
		return eks.EnsureNodeGroupsResult{}, err
	}
	res := eks.EnsureNodeGroupsResult{NodeGroups: in.NodeGroups}
	if w.PinnedLaunchTemplates {
		for _, ng := range in.NodeGroups {
			if ng.LaunchTemplate != nil {
				res.LaunchTemplateVersions = append(res.LaunchTemplateVersions, eks.LaunchTemplateVersion{NodeGroup: ng.Name, LaunchTemplateID: ng.LaunchTemplate.ID, Version: "2", Created: true})
			}
		}
	}
	return res, nil
}

// EnsureAddons implements the EKS activity.
func (a *Activities) EnsureAddons(_ context.Context, in eks.EnsureAddonsInput) (eks.EnsureAddonsResult, error) {
	w := a.w
	if err := w.record("EnsureAddons", in); err != nil {
		return eks.EnsureAddonsResult{}, err
	}
	return eks.EnsureAddonsResult{Addons: in.Addons}, nil
}

// EnsureAccessEntries implements the EKS activity.
func (a *Activities) EnsureAccessEntries(_ context.Context, in eks.EnsureAccessEntriesInput) (eks.EnsureAccessEntriesResult, error) {
	w := a.w
	if err := w.record("EnsureAccessEntries", in); err != nil {
		return eks.EnsureAccessEntriesResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var p []string
	for _, e := range in.Entries {
		p = append(p, e.PrincipalARN)
		// Green's entries appear in its DescribeEKSCluster (those of its
		// plan are there from EnsureGreenCluster).
		has := func(es []eks.AccessEntry) bool {
			return slices.ContainsFunc(es, func(have eks.AccessEntry) bool { return have.PrincipalARN == e.PrincipalARN })
		}
		if w.greenDesc != nil && in.Cluster.Name == w.greenDesc.Name && !has(w.greenDesc.AccessEntries) {
			w.greenDesc.AccessEntries = append(w.greenDesc.AccessEntries, e)
		}
		// Kept per cluster too: a fleet's next green replaces greenDesc.
		if !has(w.Blue.AccessEntries) && !has(w.access[in.Cluster.Name]) {
			if w.access == nil {
				w.access = map[string][]eks.AccessEntry{}
			}
			w.access[in.Cluster.Name] = append(w.access[in.Cluster.Name], e)
		}
	}
	return eks.EnsureAccessEntriesResult{Principals: p}, nil
}

// RetireEKSCluster implements the EKS activity, including the traffic guard.
func (a *Activities) RetireEKSCluster(_ context.Context, in eks.RetireInput) (eks.RetireResult, error) {
	w := a.w
	if err := w.record("RetireEKSCluster", in); err != nil {
		return eks.RetireResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.weights
	if g := in.Guard; g != nil && g.RecordName != "" {
		ws = w.weightsOfLocked(&traffic.Route53Records{RecordName: g.RecordName})
	}
	if in.Role == "blue" && ws.Blue > 0 {
		return eks.RetireResult{}, failures.New(failures.StillServingTraffic, "%s still receives %d%% of traffic", in.Cluster.Name, ws.Blue)
	}
	if in.Role == "green" {
		if ws.Green > 0 {
			return eks.RetireResult{}, failures.New(failures.StillServingTraffic, "%s still receives %d%% of traffic", in.Cluster.Name, ws.Green)
		}
		w.green = false
	}
	return eks.RetireResult{ClusterDeleted: true}, nil
}

// PreflightBlue implements the Kubernetes activity.
func (a *Activities) PreflightBlue(_ context.Context, in kube.PreflightInput) (kube.PreflightResult, error) {
	w := a.w
	if err := w.record("PreflightBlue", in); err != nil {
		return kube.PreflightResult{}, err
	}
	return kube.PreflightResult{Findings: w.PreflightFindings, ObjectsScanned: 42}, nil
}

// VerifyGreen implements the Kubernetes activity.
func (a *Activities) VerifyGreen(_ context.Context, in kube.VerifyGreenInput) (kube.VerifyGreenResult, error) {
	w := a.w
	if err := w.record("VerifyGreen", in); err != nil {
		return kube.VerifyGreenResult{}, err
	}
	if w.GreenNotReady {
		return kube.VerifyGreenResult{Ready: false, Findings: []finding.Finding{{Check: "node-ready", Cluster: in.Cluster.Name, Object: "node/ip-10-0-0-1", Severity: finding.Error, Message: "node is NotReady"}}}, nil
	}
	return kube.VerifyGreenResult{Ready: true}, nil
}

// SmokeTestGreen implements the Kubernetes activity.
func (a *Activities) SmokeTestGreen(_ context.Context, in kube.SmokeInput) (kube.SmokeResult, error) {
	w := a.w
	if err := w.record("SmokeTestGreen", in); err != nil {
		return kube.SmokeResult{}, err
	}
	r := kube.SmokeResult{Passed: true, Checks: []kube.CheckResult{{Name: "workloads", Kind: "workloads", Passed: true, Message: "all workloads available"}}}
	for _, p := range in.Smoke.HTTP {
		r.Probes = append(r.Probes, probe.Result{Name: p.Name, URL: p.URL, Passed: true, Status: p.ExpectStatus, Attempts: 1, Message: "ok"})
	}
	if w.SmokeFails != "" {
		r.Passed = false
		r.Checks = append(r.Checks, kube.CheckResult{Name: "checkout-http", Kind: "http", Passed: false, Message: w.SmokeFails})
	}
	return r, nil
}

// RestoreArgoApplications implements the Argo CD activity.
func (a *Activities) RestoreArgoApplications(_ context.Context, in argocd.RestoreInput) (argocd.RestoreResult, error) {
	w := a.w
	if err := w.record("RestoreArgoApplications", in); err != nil {
		return argocd.RestoreResult{}, err
	}
	return argocd.RestoreResult{Applications: []string{"shop", "payments"}}, nil
}

// WaitArgoSynced implements the Argo CD activity.
func (a *Activities) WaitArgoSynced(_ context.Context, in argocd.WaitSyncedInput) (argocd.WaitSyncedResult, error) {
	w := a.w
	if err := w.record("WaitArgoSynced", in); err != nil {
		return argocd.WaitSyncedResult{}, err
	}
	var out argocd.WaitSyncedResult
	for _, a := range in.Applications {
		out.Applications = append(out.Applications, argocd.AppStatus{Name: a, Sync: "Synced", Health: "Healthy"})
	}
	return out, nil
}

// RevertArgoApplications implements the Argo CD activity.
func (a *Activities) RevertArgoApplications(_ context.Context, in argocd.RevertInput) (argocd.RevertResult, error) {
	if err := a.w.record("RevertArgoApplications", in); err != nil {
		return argocd.RevertResult{}, err
	}
	return argocd.RevertResult{Reverted: []string{"payments", "shop"}}, nil
}

// EnsureVeleroBackup implements the Velero activity.
func (a *Activities) EnsureVeleroBackup(_ context.Context, in velero.BackupInput) (velero.BackupResult, error) {
	w := a.w
	if err := w.record("EnsureVeleroBackup", in); err != nil {
		return velero.BackupResult{}, err
	}
	return velero.BackupResult{Name: in.Name, Phase: "Completed", Items: 120}, nil
}

// RestoreVeleroBackup implements the Velero activity.
func (a *Activities) RestoreVeleroBackup(_ context.Context, in velero.RestoreInput) (velero.RestoreResult, error) {
	w := a.w
	if err := w.record("RestoreVeleroBackup", in); err != nil {
		return velero.RestoreResult{}, err
	}
	if w.RestoreErrors > 0 {
		return velero.RestoreResult{Name: in.RestoreName, Phase: "PartiallyFailed", Errors: w.RestoreErrors, Warnings: 1}, nil
	}
	return velero.RestoreResult{Name: in.RestoreName, Phase: "Completed"}, nil
}

// GetTrafficWeights implements the traffic activity.
func (a *Activities) GetTrafficWeights(_ context.Context, t traffic.Target) (traffic.Weights, error) {
	w := a.w
	if err := w.record("GetTrafficWeights", t); err != nil {
		return traffic.Weights{}, err
	}
	ws := w.weightsOf(t.Route53)
	if w.BlueWeightAtRetire > 0 && ws.Green == 100 {
		ws = traffic.Weights{Blue: w.BlueWeightAtRetire, Green: 100 - w.BlueWeightAtRetire}
	}
	return ws, nil
}

// SetTrafficWeights implements the traffic activity.
func (a *Activities) SetTrafficWeights(_ context.Context, in traffic.SetWeightsInput) (traffic.Change, error) {
	w := a.w
	if err := w.record("SetTrafficWeights", in); err != nil {
		return traffic.Change{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	noop := w.weightsOfLocked(in.Target.Route53).Green == in.Green
	w.weights = traffic.Weights{Blue: 100 - in.Green, Green: in.Green}
	if r := in.Target.Route53; r != nil {
		if w.byRecord == nil {
			w.byRecord = map[string]traffic.Weights{}
		}
		w.byRecord[r.RecordName] = w.weights
	}
	return traffic.Change{Provider: in.Target.Provider, ID: fmt.Sprintf("C%d", len(w.calls)), Weights: w.weights, Noop: noop}, nil
}

// WaitTrafficPropagated implements the traffic activity.
func (a *Activities) WaitTrafficPropagated(_ context.Context, c traffic.Change) error {
	w := a.w
	return w.record("WaitTrafficPropagated", c)
}

// CheckTrafficHealth implements the traffic activity.
func (a *Activities) CheckTrafficHealth(_ context.Context, in traffic.HealthInput) (traffic.HealthResult, error) {
	w := a.w
	if err := w.record("CheckTrafficHealth", in); err != nil {
		return traffic.HealthResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.UnhealthyAtGreen != 0 && w.weights.Green == w.UnhealthyAtGreen {
		return traffic.HealthResult{Healthy: false, Reasons: []string{fmt.Sprintf("alarm %s is in ALARM", w.UnhealthyAlarm)},
			Alarms: []traffic.AlarmState{{Name: w.UnhealthyAlarm, State: "ALARM", Reason: "Threshold Crossed"}}}, nil
	}
	return traffic.HealthResult{Healthy: true}, nil
}

// Notify implements the notify activity.
func (a *Activities) Notify(ctx context.Context, m notify.Message) (notify.Delivery, error) {
	w := a.w
	if err := w.record("Notify", m); err != nil {
		return notify.Delivery{}, err
	}
	if w.Notifier != nil {
		return w.Notifier.Notify(ctx, m)
	}
	if m.SlackChannel == "" {
		return notify.Delivery{}, nil
	}
	// Slack answers with the channel's ID and the message's ts; the fake's
	// ts counts the calls so far.
	w.mu.Lock()
	n := len(w.calls)
	w.mu.Unlock()
	return notify.Delivery{Slack: &notify.SlackMessageRef{Channel: "C0FAKE0001", TS: fmt.Sprintf("1700000000.%06d", n)}, Updated: len(m.Updates)}, nil
}
