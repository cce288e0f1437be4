package sandbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func eventually(t *testing.T, what string, timeout time.Duration, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, why := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNodeRollerReplacesNodesThroughTheEvictionAPI: a managed node group's
// version update in the emulated EKS is carried out on the cluster's real
// kube-apiserver. A budget that allows no disruption (maxUnavailable 0)
// stalls the drain: the update ends Failed with PodEvictionFailure naming
// the pod, the node group stays at 1.29 and its nodes take pods again.
// Once the budget allows one, the update replaces every node (new names,
// Ready at the target's kubelet version, same zones) and evicts every pod
// through the Eviction API; the apiserver refused evictions while the web
// budget (minAvailable 2) had no disruption to spare, and no watch event
// ever showed fewer than 2 web pods Ready.
func TestNodeRollerReplacesNodesThroughTheEvictionAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := sandboxtest.Moto(t)
	if _, err := sandbox.SeedAWS(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := m.ConfigureEKS(ctx, sandbox.EKSEmulatorSettings{Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	k := sandboxtest.Kube(t, sandbox.BlueCluster)
	cs, err := k.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ng := sandbox.GeneralNodes
	var oldNodes []string
	for i := range 3 {
		name := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i*16, 10+i)
		oldNodes = append(oldNodes, name)
		if err := k.AddNode(ctx, name, sandbox.BlueKubeletVersion, true, sandbox.NodeLabels(map[string]string{
			sandbox.NodegroupLabel: ng, "topology.kubernetes.io/zone": "us-east-1" + string(rune('a'+i)),
		})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deploy := func(name string, n int32) {
		lbl := map[string]string{"app": name}
		_, err := cs.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: lbl},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "public.ecr.aws/nginx/nginx:1.27"}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	deploy("web", 3)
	deploy("api", 2)
	pdb := func(name string, spec policyv1.PodDisruptionBudgetSpec) {
		spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
		if _, err := cs.PolicyV1().PodDisruptionBudgets("shop").Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	two, zero := intstr.FromInt32(2), intstr.FromInt32(0)
	pdb("web", policyv1.PodDisruptionBudgetSpec{MinAvailable: &two})
	pdb("api", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero})

	rw := sandboxtest.WatchReady(ctx, t, cs, "shop", "app")
	r := &sandbox.NodeRoller{Moto: m, Cluster: sandbox.BlueCluster, Kube: k, EvictionTimeout: 2 * time.Second, Interval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		err := r.Run(rctx)
		if err != nil {
			t.Logf("roller: %v", err)
		}
		done <- err
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("roller: %v", err)
		}
	}()
	eventually(t, "workload pods Ready", 30*time.Second, func() (bool, string) {
		pods, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
		return rw.Count("web") == 3 && rw.Count("api") == 2, fmt.Sprintf("web %d, api %d Ready; pods %d (%v)", rw.Count("web"), rw.Count("api"), len(pods.Items), err)
	})
	eventually(t, "budget status", 10*time.Second, func() (bool, string) {
		p, err := cs.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && p.Status.DisruptionsAllowed == 1 && p.Status.ExpectedPods == 3, fmt.Sprintf("%+v %v", p.Status, err)
	})

	cfg, _ := m.AWS().ForRegion(ctx, m.Region)
	api := awseks.NewFromConfig(cfg)
	cu, err := api.UpdateClusterVersion(ctx, &awseks.UpdateClusterVersionInput{Name: aws.String(sandbox.BlueCluster), Version: aws.String("1.30")})
	if err != nil {
		t.Fatal(err)
	}
	waitUpdate := func(id, nodegroup string, timeout time.Duration) *ekstypes.Update {
		t.Helper()
		var u *ekstypes.Update
		eventually(t, "update "+id, timeout, func() (bool, string) {
			in := &awseks.DescribeUpdateInput{Name: aws.String(sandbox.BlueCluster), UpdateId: aws.String(id)}
			if nodegroup != "" {
				in.NodegroupName = aws.String(nodegroup)
			}
			out, err := api.DescribeUpdate(ctx, in)
			if err != nil {
				return false, err.Error()
			}
			u = out.Update
			return u.Status != ekstypes.UpdateStatusInProgress, string(u.Status)
		})
		return u
	}
	if u := waitUpdate(aws.ToString(cu.Update.Id), "", 10*time.Second); u.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("control plane update %+v", u)
	}

	// 1. The api budget allows no disruption: the update stalls and fails.
	rw.Arm()
	nu, err := api.UpdateNodegroupVersion(ctx, &awseks.UpdateNodegroupVersionInput{ClusterName: aws.String(sandbox.BlueCluster), NodegroupName: aws.String(ng)})
	if err != nil {
		t.Fatal(err)
	}
	u := waitUpdate(aws.ToString(nu.Update.Id), ng, time.Minute)
	if u.Status != ekstypes.UpdateStatusFailed || len(u.Errors) != 1 || u.Errors[0].ErrorCode != ekstypes.ErrorCodePodEvictionFailure ||
		len(u.Errors[0].ResourceIds) == 0 || !strings.HasPrefix(u.Errors[0].ResourceIds[0], "shop/api-") {
		t.Fatalf("stalled update %+v %+v, want Failed with PodEvictionFailure naming a shop/api pod", u, u.Errors)
	}
	d, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(sandbox.BlueCluster), NodegroupName: aws.String(ng)})
	if err != nil || aws.ToString(d.Nodegroup.Version) != "1.29" || d.Nodegroup.Status != ekstypes.NodegroupStatusActive {
		t.Fatalf("node group after the stall %+v (%v), want ACTIVE at 1.29", d.Nodegroup, err)
	}
	nodes, _ := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sandbox.NodegroupLabel + "=" + ng})
	for _, n := range nodes.Items {
		for _, taint := range n.Spec.Taints {
			if taint.Key == sandbox.NodegroupLabel {
				t.Errorf("node %s still tainted %v after the update gave up", n.Name, taint)
			}
		}
	}

	// 2. The budget allows one: every node is replaced.
	p, err := cs.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one := intstr.FromInt32(1)
	p.Spec.MaxUnavailable = &one
	if _, err := cs.PolicyV1().PodDisruptionBudgets("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	nu, err = api.UpdateNodegroupVersion(ctx, &awseks.UpdateNodegroupVersionInput{ClusterName: aws.String(sandbox.BlueCluster), NodegroupName: aws.String(ng)})
	if err != nil {
		t.Fatal(err)
	}
	if u := waitUpdate(aws.ToString(nu.Update.Id), ng, 2*time.Minute); u.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("update %+v %+v", u, u.Errors)
	}
	d, _ = api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(sandbox.BlueCluster), NodegroupName: aws.String(ng)})
	if aws.ToString(d.Nodegroup.Version) != "1.30" {
		t.Errorf("node group at %s, want 1.30", aws.ToString(d.Nodegroup.Version))
	}
	nodes, _ = cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sandbox.NodegroupLabel + "=" + ng})
	zones := map[string]bool{}
	for _, n := range nodes.Items {
		zones[n.Labels["topology.kubernetes.io/zone"]] = true
		if slices.Contains(oldNodes, n.Name) || !strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "v1.30.") || n.Spec.Unschedulable {
			t.Errorf("node %s at %s (unschedulable %v): want only new nodes at v1.30", n.Name, n.Status.NodeInfo.KubeletVersion, n.Spec.Unschedulable)
		}
	}
	if len(nodes.Items) != 3 || len(zones) != 3 {
		t.Errorf("%d nodes in zones %v, want 3 in 3 zones", len(nodes.Items), zones)
	}
	eventually(t, "pods back", 30*time.Second, func() (bool, string) {
		return rw.Count("web") == 3 && rw.Count("api") == 2, fmt.Sprintf("web %d, api %d Ready", rw.Count("web"), rw.Count("api"))
	})
	pods, _ := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if slices.Contains(oldNodes, p.Spec.NodeName) {
			t.Errorf("pod %s still on old node %s", p.Name, p.Spec.NodeName)
		}
	}
	recs := r.Rollouts()
	if len(recs) != 2 {
		t.Fatalf("rollouts %+v", recs)
	}
	last := recs[1]
	if len(last.Replaced) != 3 || len(last.Forced) != 0 || last.Refused == 0 {
		t.Errorf("rollout %+v: want 3 nodes replaced, refusals by a budget, nothing forced", last)
	}
	if low := rw.Lowest("web"); low < 2 {
		t.Errorf("web had %d pods Ready at one point: its budget (minAvailable 2) was violated", low)
	}
	if low := rw.Lowest("api"); low < 1 {
		t.Errorf("api had %d pods Ready at one point: its budget (maxUnavailable 1 of 2) was violated", low)
	}
}
