package kube

// Blocking PodDisruptionBudgets of a managed node group (issue 14): when
// EKS's rolling update of a node group gives up on evictions, EKS's errors
// name pods at best; the report names the budgets that refused, read from
// the cluster: every PDB that allows no disruption now and selects a pod
// running on one of the node group's nodes.

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// LabelNodegroup is the label EKS puts on a managed node group's nodes.
const LabelNodegroup = "eks.amazonaws.com/nodegroup"

// BlockingPDBsInput names a node group of a cluster.
type BlockingPDBsInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Nodegroup string       `json:"nodegroup"`
}

// BlockingPDB is a budget that allows no eviction of pods on the node group.
type BlockingPDB struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Pods are the budget's pods on the node group's nodes (namespace/name).
	Pods           []string `json:"pods"`
	CurrentHealthy int32    `json:"currentHealthy"`
	DesiredHealthy int32    `json:"desiredHealthy"`
	ExpectedPods   int32    `json:"expectedPods"`
}

// String is "ns/name (healthy 2 of 2 wanted, 0 disruptions allowed)".
func (b BlockingPDB) String() string {
	return fmt.Sprintf("%s/%s (healthy %d, %d wanted: no disruption allowed; pods %v)", b.Namespace, b.Name, b.CurrentHealthy, b.DesiredHealthy, b.Pods)
}

// BlockingPDBsResult lists the blocking budgets, sorted by namespace/name.
type BlockingPDBsResult struct {
	Nodes    int           `json:"nodes"`
	Blocking []BlockingPDB `json:"blocking"`
}

// BlockingPDBs reads which PodDisruptionBudgets refuse the drain of a node
// group's nodes: status.disruptionsAllowed 0 and a selector matching a pod
// bound to one of the nodes labelled eks.amazonaws.com/nodegroup=<name>.
// Read-only; transient apiserver errors are retried.
func (a *Activities) BlockingPDBs(ctx context.Context, in BlockingPDBsInput) (BlockingPDBsResult, error) {
	res := BlockingPDBsResult{Blocking: []BlockingPDB{}}
	if in.Nodegroup == "" {
		return res, failures.New(failures.InvalidParameter, "blocking PDBs of cluster %s: nodegroup is empty", in.Cluster)
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	var nodes []corev1.Node
	if err := a.retryAPI(ctx, "list nodes of node group "+in.Nodegroup, func(ctx context.Context) error {
		l, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: LabelNodegroup + "=" + in.Nodegroup})
		if err != nil {
			return kubeError(err, "list nodes of node group %s on %s", in.Nodegroup, in.Cluster)
		}
		nodes = l.Items
		return nil
	}); err != nil {
		return res, err
	}
	res.Nodes = len(nodes)
	if len(nodes) == 0 {
		return res, nil
	}
	onGroup := map[string]bool{}
	for _, n := range nodes {
		onGroup[n.Name] = true
	}
	var pdbs []policyv1.PodDisruptionBudget
	if err := a.retryAPI(ctx, "list PodDisruptionBudgets", func(ctx context.Context) error {
		l, err := c.Kube.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return kubeError(err, "list PodDisruptionBudgets on %s", in.Cluster)
		}
		pdbs = l.Items
		return nil
	}); err != nil {
		return res, err
	}
	pods := map[string][]corev1.Pod{} // namespace -> pods on the node group
	for _, pdb := range pdbs {
		if pdb.Status.DisruptionsAllowed > 0 || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		ns := pdb.Namespace
		if _, read := pods[ns]; !read {
			var onNodes []corev1.Pod
			if err := a.retryAPI(ctx, "list pods in "+ns, func(ctx context.Context) error {
				l, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return kubeError(err, "list pods in %s on %s", ns, in.Cluster)
				}
				onNodes = onNodes[:0]
				for _, p := range l.Items {
					if onGroup[p.Spec.NodeName] && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
						onNodes = append(onNodes, p)
					}
				}
				return nil
			}); err != nil {
				return res, err
			}
			pods[ns] = onNodes
		}
		b := BlockingPDB{Namespace: ns, Name: pdb.Name, CurrentHealthy: pdb.Status.CurrentHealthy,
			DesiredHealthy: pdb.Status.DesiredHealthy, ExpectedPods: pdb.Status.ExpectedPods}
		for _, p := range pods[ns] {
			if sel.Matches(labels.Set(p.Labels)) {
				b.Pods = append(b.Pods, p.Namespace+"/"+p.Name)
			}
		}
		if len(b.Pods) > 0 {
			sort.Strings(b.Pods)
			res.Blocking = append(res.Blocking, b)
		}
	}
	sort.Slice(res.Blocking, func(i, j int) bool {
		if res.Blocking[i].Namespace != res.Blocking[j].Namespace {
			return res.Blocking[i].Namespace < res.Blocking[j].Namespace
		}
		return res.Blocking[i].Name < res.Blocking[j].Name
	})
	return res, nil
}
