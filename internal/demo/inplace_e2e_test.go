package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// inPlaceSpec is the demo's blue upgraded in place to target.
func inPlaceSpec(seed *sandbox.Seed, name, target string) spec.MigrationSpec {
	s := demo.Spec(seed, target)
	s.Name, s.Strategy = name, spec.StrategyInPlace
	s.Green = spec.GreenSpec{KubernetesVersion: target}
	s.Traffic, s.Velero, s.Jobs, s.Retire = spec.TrafficSpec{}, spec.VeleroSpec{}, spec.JobsSpec{}, spec.RetireSpec{}
	s.Approvals.Retire = spec.GateSpec{}
	s.Approvals.ControlPlane = spec.GateSpec{Timeout: spec.Duration(time.Hour)}
	s.InPlace = spec.InPlaceSpec{MaxUnavailable: 1, UpdateTimeout: spec.Duration(10 * time.Minute)}
	return s
}

func (e *e2e) writeSpec(s spec.MigrationSpec) string {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), s.Name+".json")
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *e2e) result(id string) workflows.MigrationReport {
	e.t.Helper()
	_, o := e.cutover("result", id, "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil {
		e.t.Fatalf("report of %s: %v\n%s", id, err, o)
	}
	return rep
}

// TestInPlaceAgainstRealServers upgrades the seeded blue (three managed
// node groups: two on Amazon Linux 2, one on its own launch template
// pinning an EKS-optimized AMI) in place from 1.29 to 1.31 through the CLI
// and the real activities, with the emulated EKS's node group updates
// carried out on blue's kube-apiserver (sandbox.NodeRoller: new nodes,
// drains through the Eviction API, old nodes removed).
//
//  1. The first run stalls: shop/api's budget (maxUnavailable 0) refuses
//     every eviction; the run fails naming it, and the report says what is
//     at which version (control plane 1.30, the general group at 1.29).
//  2. With the budget allowing one disruption, a second run catches the
//     general group up, then goes to 1.31. The worker is restarted while a
//     node group's update is in progress: the new worker's activity waits
//     on the same update instead of starting another.
//
// Then EKS shows each control-plane update, every add-on at a version
// compatible with 1.31 and every node group at 1.31 (the AL2 groups at
// the 1.31 AL2 release, the custom one on a new launch template version);
// every seeded node is gone, replaced by nodes at v1.31, and no watch event
// ever showed fewer Ready pods than a budget's minimum.
func TestInPlaceAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e.ctx = ctx
	sb := e.d.Sandbox
	cfg, _ := sb.Moto.AWS().ForRegion(ctx, sb.Seed.Region)
	api := awseks.NewFromConfig(cfg)
	cs, err := sb.Blue.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	roller := &sandbox.NodeRoller{Moto: sb.Moto, Cluster: sb.Seed.Cluster, Kube: sb.Blue, EvictionTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	rctx, stopRoller := context.WithCancel(ctx)
	rollerDone := make(chan error, 1)
	go func() { rollerDone <- roller.Run(rctx) }()
	defer func() {
		stopRoller()
		if err := <-rollerDone; err != nil {
			t.Errorf("node roller: %v", err)
		}
	}()
	rw := sandboxtest.WatchReady(ctx, t, cs, "shop", "app.kubernetes.io/name")
	budgets := map[string]int{} // app -> Ready pods its budget keeps
	deps, err := cs.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, d := range deps.Items {
		want[d.Spec.Template.Labels["app.kubernetes.io/name"]] = int(*d.Spec.Replicas)
	}
	waitPods := func(when string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			short := []string{}
			for app, n := range want {
				if got := rw.Count(app); got < n {
					short = append(short, fmt.Sprintf("%s %d/%d", app, got, n))
				}
			}
			if len(short) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: pods not Ready: %v", when, short)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitPods("before the upgrade")
	for _, name := range []string{"web"} {
		p, err := cs.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		budgets[name] = p.Spec.MinAvailable.IntValue()
	}
	rw.Arm()
	seeded := slices.Clone(sb.BlueObjects.Nodes)

	// 1. Stalled on shop/api.
	first := inPlaceSpec(sb.Seed, "demo-inplace", "1.31")
	if code, o := e.cutover("start", "-f", e.writeSpec(first)); code != 0 {
		t.Fatalf("start: %s", o)
	}
	e.approveWhenOpen(first.WorkflowID(), workflows.ControlPlaneGateName("1.30"))
	code, o := e.cutover("watch", first.WorkflowID())
	if code != cli.ExitFailed || !strings.Contains(o, "shop/api") {
		t.Fatalf("first run: exit %d, want a failure naming shop/api:\n%s", code, o)
	}
	rep := e.result(first.WorkflowID())
	if rep.InPlace == nil || rep.InPlace.Now == nil || rep.InPlace.Now.ControlPlane != "1.30" {
		t.Fatalf("first report %+v", rep.InPlace)
	}
	now := map[string]string{}
	for _, ng := range rep.InPlace.Now.NodeGroups {
		now[ng.Name] = ng.Version
	}
	if now[sandbox.GeneralNodes] != "1.29" {
		t.Errorf("after the stall %s is at %s, want 1.29: %v", sandbox.GeneralNodes, now[sandbox.GeneralNodes], now)
	}
	if !strings.Contains(rep.Reason, "shop/api") || !strings.Contains(rep.Reason, "inPlace.force") {
		t.Errorf("reason %q: want the budget and the way out", rep.Reason)
	}
	// Preflight had said so before anything moved.
	if !slices.ContainsFunc(rep.Findings, func(f finding.Finding) bool {
		return f.Check == kube.CheckPDBBlocksEviction && strings.HasSuffix(f.Object, "shop/api")
	}) {
		t.Errorf("preflight findings do not name shop/api's budget: %+v", rep.Findings)
	}

	// 2. The budget allows one disruption; a second run goes to 1.31.
	p, err := cs.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one := intstr.FromInt32(1)
	p.Spec.MaxUnavailable = &one
	if _, err := cs.PolicyV1().PodDisruptionBudgets("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	second := inPlaceSpec(sb.Seed, "demo-inplace-again", "1.31")
	id := second.WorkflowID()
	roller.Hold(sandbox.BatchNodes)
	if code, o := e.cutover("start", "-f", e.writeSpec(second)); code != 0 {
		t.Fatalf("start: %s", o)
	}
	// The catch-up hop (general to 1.30) needs no control-plane gate.
	e.approveWhenOpen(id, workflows.ControlPlaneGateName("1.31"))
	// blue-batch's 1.31 update waits on the held roller: restart the worker.
	held := waitRollout(ctx, t, sb.Moto, sb.Seed.Cluster, sandbox.BatchNodes, "1.31")
	if err := e.d.RestartWorker(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	roller.Release(sandbox.BatchNodes)
	if code, o := e.cutover("watch", id); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, o)
	}
	rep = e.result(id)
	if rep.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("second run %s: %s", rep.Outcome, rep.Reason)
	}
	batchUpdates := versionUpdates(ctx, t, api, sb.Seed.Cluster, sandbox.BatchNodes, "1.31")
	if len(batchUpdates) != 1 || batchUpdates[0] != held.UpdateID {
		t.Errorf("%s's 1.31 updates %v, want only %s (the one the restarted worker found again)", sandbox.BatchNodes, batchUpdates, held.UpdateID)
	}

	// EKS: the control plane went 1.29 -> 1.30 -> 1.31, one update each.
	c, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(sb.Seed.Cluster)})
	if err != nil || aws.ToString(c.Cluster.Version) != "1.31" {
		t.Fatalf("cluster %+v (%v), want 1.31", c, err)
	}
	for _, v := range []string{"1.30", "1.31"} {
		if ids := versionUpdates(ctx, t, api, sb.Seed.Cluster, "", v); len(ids) != 1 {
			t.Errorf("control-plane updates to %s: %v, want one", v, ids)
		}
	}
	addons, err := api.ListAddons(ctx, &awseks.ListAddonsInput{ClusterName: aws.String(sb.Seed.Cluster)})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range addons.Addons {
		a, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(sb.Seed.Cluster), AddonName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if !compatible(ctx, t, api, name, aws.ToString(a.Addon.AddonVersion), "1.31") {
			t.Errorf("add-on %s at %s, not compatible with 1.31", name, aws.ToString(a.Addon.AddonVersion))
		}
	}
	release := sandbox.EKSOptimizedAMIParameters()["/aws/service/eks/optimized-ami/1.31/amazon-linux-2/recommended/release_version"]
	for _, name := range sb.Seed.NodeGroups {
		ng, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(sb.Seed.Cluster), NodegroupName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		n := ng.Nodegroup
		if aws.ToString(n.Version) != "1.31" || n.Status != ekstypes.NodegroupStatusActive {
			t.Errorf("node group %s: %s at %s", name, n.Status, aws.ToString(n.Version))
		}
		switch {
		case name == sb.Seed.Nodes.Custom:
			if n.LaunchTemplate == nil || aws.ToString(n.LaunchTemplate.Version) == sb.Seed.Nodes.LaunchTemplateVersion {
				t.Errorf("node group %s still on launch template version %v", name, n.LaunchTemplate)
			}
		case aws.ToString(n.ReleaseVersion) != release:
			t.Errorf("node group %s at release %s, want the 1.31 AL2 release %s", name, aws.ToString(n.ReleaseVersion), release)
		}
	}

	// Kubernetes: every seeded node replaced by one at v1.31, pods back.
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if slices.Contains(seeded, n.Name) {
			t.Errorf("seeded node %s is still there", n.Name)
		}
		if n.Labels[sandbox.NodegroupLabel] != "" && !strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "v1.31.") {
			t.Errorf("node %s at %s, want v1.31", n.Name, n.Status.NodeInfo.KubeletVersion)
		}
	}
	if len(nodes.Items) != len(seeded) {
		t.Errorf("%d nodes after the upgrade, want %d (one per seeded node)", len(nodes.Items), len(seeded))
	}
	replaced := map[string]int{} // node group -> nodes replaced, over both runs
	for _, r := range roller.Rollouts() {
		if len(r.Errors) == 0 {
			replaced[r.Nodegroup] += len(r.Replaced)
		}
	}
	for _, ng := range sb.Seed.NodeGroups {
		if replaced[ng] == 0 {
			t.Errorf("no node of %s was replaced: %v", ng, replaced)
		}
	}
	waitPods("after the upgrade")
	for app, min := range budgets {
		if low := rw.Lowest(app); low < min {
			t.Errorf("%s had %d pods Ready at one point: its budget's minAvailable %d was violated", app, low, min)
		}
	}
	evicted, refused := 0, 0
	for _, r := range roller.Rollouts() {
		evicted += len(r.Evicted)
		refused += r.Refused
		if len(r.Forced) > 0 {
			t.Errorf("rollout %+v forced evictions it was not asked to", r)
		}
	}
	if evicted == 0 || refused == 0 {
		t.Errorf("%d pods evicted, %d evictions refused by budgets: want both", evicted, refused)
	}
}

// waitRollout waits until the emulated EKS has an update of nodegroup to
// version waiting for its node replacement, and returns it.
func waitRollout(ctx context.Context, t *testing.T, m *sandbox.Moto, cluster, nodegroup, version string) sandbox.NodegroupRollout {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		ros, err := m.NodegroupRollouts(ctx, cluster)
		if err != nil {
			t.Fatal(err)
		}
		for _, ro := range ros {
			if ro.Nodegroup == nodegroup && ro.Version == version {
				return ro
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no update of %s to %s started", nodegroup, version)
	return sandbox.NodegroupRollout{}
}

// versionUpdates lists the VersionUpdate IDs of the cluster (nodegroup "")
// or a node group to version.
func versionUpdates(ctx context.Context, t *testing.T, api *awseks.Client, cluster, nodegroup, version string) []string {
	t.Helper()
	in := &awseks.ListUpdatesInput{Name: aws.String(cluster)}
	if nodegroup != "" {
		in.NodegroupName = aws.String(nodegroup)
	}
	out, err := api.ListUpdates(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range out.UpdateIds {
		d := &awseks.DescribeUpdateInput{Name: aws.String(cluster), UpdateId: aws.String(id)}
		if nodegroup != "" {
			d.NodegroupName = aws.String(nodegroup)
		}
		u, err := api.DescribeUpdate(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if u.Update.Type != ekstypes.UpdateTypeVersionUpdate {
			continue
		}
		for _, p := range u.Update.Params {
			if p.Type == ekstypes.UpdateParamTypeVersion && aws.ToString(p.Value) == version {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// compatible reports whether EKS lists version of addon as compatible with k8s.
func compatible(ctx context.Context, t *testing.T, api *awseks.Client, addon, version, k8s string) bool {
	t.Helper()
	out, err := api.DescribeAddonVersions(ctx, &awseks.DescribeAddonVersionsInput{AddonName: aws.String(addon), KubernetesVersion: aws.String(k8s)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Addons {
		for _, v := range a.AddonVersions {
			if aws.ToString(v.AddonVersion) == version {
				return true
			}
		}
	}
	return false
}
