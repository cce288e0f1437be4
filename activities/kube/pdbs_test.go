package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/failures"
)

// TestBlockingPDBs on a real apiserver: of three budgets, the one at 0
// disruptions allowed with pods on the node group's nodes is named with
// its pods; one at 0 whose pods run on another node group is not, nor one
// that still allows a disruption.
func TestBlockingPDBs(t *testing.T) {
	c := startCluster(t, "pdbs")
	ctx := ctxT(t)
	for node, group := range map[string]string{"ip-10-0-1-1": "general", "ip-10-0-1-2": "general", "ip-10-0-2-1": "batch"} {
		c.node(t, node, "v1.29.8-eks-a737599", true)
		n := must(c.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}))
		n.Labels = map[string]string{LabelNodegroup: group}
		must(c.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}))
	}
	c.namespace(t, "shop")
	pod := func(name, app, node string) {
		t.Helper()
		must(c.cs.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		}, metav1.CreateOptions{}))
	}
	pod("orders-0", "orders", "ip-10-0-1-1")
	pod("orders-1", "orders", "ip-10-0-1-2")
	pod("reports-0", "reports", "ip-10-0-2-1")
	pod("web-0", "web", "ip-10-0-1-1")
	pdb := func(name, app string, allowed int32) {
		t.Helper()
		min := intstr.FromInt32(2)
		p := must(c.cs.PolicyV1().PodDisruptionBudgets("shop").Create(ctx, &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &min, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		}, metav1.CreateOptions{}))
		// The disruption controller's status (the sandbox runs no controller manager).
		p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, CurrentHealthy: 2, DesiredHealthy: 2 - allowed, ExpectedPods: 2, ObservedGeneration: p.Generation}
		must(c.cs.PolicyV1().PodDisruptionBudgets("shop").UpdateStatus(ctx, p, metav1.UpdateOptions{}))
	}
	pdb("orders", "orders", 0)
	pdb("reports", "reports", 0)
	pdb("web", "web", 1)

	a := c.activities()
	got, err := a.BlockingPDBs(ctx, BlockingPDBsInput{Cluster: c.ref, Nodegroup: "general"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Nodes != 2 || len(got.Blocking) != 1 {
		t.Fatalf("result %+v: want 2 nodes and the orders budget only", got)
	}
	b := got.Blocking[0]
	if b.Namespace != "shop" || b.Name != "orders" || len(b.Pods) != 2 || b.Pods[0] != "shop/orders-0" || b.Pods[1] != "shop/orders-1" || b.DesiredHealthy != 2 {
		t.Errorf("blocking %+v", b)
	}

	none, err := a.BlockingPDBs(ctx, BlockingPDBsInput{Cluster: c.ref, Nodegroup: "gpu"})
	if err != nil || none.Nodes != 0 || len(none.Blocking) != 0 {
		t.Fatalf("node group without nodes: %+v, %v", none, err)
	}
	_, err = a.BlockingPDBs(ctx, BlockingPDBsInput{Cluster: c.ref})
	if failures.TypeOf(err) != failures.InvalidParameter {
		t.Fatalf("no node group: %v, want InvalidParameter", err)
	}
}
