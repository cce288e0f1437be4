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

// String is "ns/name (healthy 2, 2 wanted: no disruption allowed; pods [ns/a ns/b])".
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
	// The node group's nodes, then the pods bound to each (as a drain
	// finds them: spec.nodeName), by namespace.
	var nodes []string
	err = eachPage(ctx, a.opts.pageSize, metav1.ListOptions{LabelSelector: LabelNodegroup + "=" + in.Nodegroup},
		retriedPage(a, "list nodes of node group "+in.Nodegroup, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Node, string, error) {
			l, err := c.Kube.CoreV1().Nodes().List(ctx, o)
			if err != nil {
				return nil, "", kubeError(err, "list nodes of node group %s on %s", in.Nodegroup, in.Cluster)
			}
			return l.Items, l.Continue, nil
		}), func(items []corev1.Node) error {
			for _, n := range items {
				nodes = append(nodes, n.Name)
			}
			return nil
		})
	if err != nil {
		return res, err
	}
	res.Nodes = len(nodes)
	pods := map[string][]corev1.Pod{} // namespace -> running pods on the node group
	for _, node := range nodes {
		err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node},
			retriedPage(a, "list pods on node "+node, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Pod, string, error) {
				l, err := c.Kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, o)
				if err != nil {
					return nil, "", kubeError(err, "list pods on node %s of %s", node, in.Cluster)
				}
				return l.Items, l.Continue, nil
			}), func(items []corev1.Pod) error {
				for _, p := range items {
					if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
						pods[p.Namespace] = append(pods[p.Namespace], p)
					}
				}
				return nil
			})
		if err != nil {
			return res, err
		}
	}
	if len(pods) == 0 {
		return res, nil
	}
	err = eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		retriedPage(a, "list PodDisruptionBudgets", func(ctx context.Context, o metav1.ListOptions) ([]policyv1.PodDisruptionBudget, string, error) {
			l, err := c.Kube.PolicyV1().PodDisruptionBudgets(metav1.NamespaceAll).List(ctx, o)
			if err != nil {
				return nil, "", kubeError(err, "list PodDisruptionBudgets on %s", in.Cluster)
			}
			return l.Items, l.Continue, nil
		}), func(items []policyv1.PodDisruptionBudget) error {
			for _, pdb := range items {
				if b, ok := blocking(pdb, pods[pdb.Namespace]); ok {
					res.Blocking = append(res.Blocking, b)
				}
			}
			return nil
		})
	if err != nil {
		return res, err
	}
	sort.Slice(res.Blocking, func(i, j int) bool {
		if res.Blocking[i].Namespace != res.Blocking[j].Namespace {
			return res.Blocking[i].Namespace < res.Blocking[j].Namespace
		}
		return res.Blocking[i].Name < res.Blocking[j].Name
	})
	return res, nil
}

// blocking is pdb as a BlockingPDB when it allows no disruption and
// selects one of pods (the namespace's pods on the node group).
func blocking(pdb policyv1.PodDisruptionBudget, pods []corev1.Pod) (BlockingPDB, bool) {
	if pdb.Status.DisruptionsAllowed > 0 || pdb.Spec.Selector == nil {
		return BlockingPDB{}, false
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() {
		return BlockingPDB{}, false
	}
	b := BlockingPDB{Namespace: pdb.Namespace, Name: pdb.Name, CurrentHealthy: pdb.Status.CurrentHealthy,
		DesiredHealthy: pdb.Status.DesiredHealthy, ExpectedPods: pdb.Status.ExpectedPods}
	for _, p := range pods {
		if sel.Matches(labels.Set(p.Labels)) {
			b.Pods = append(b.Pods, p.Namespace+"/"+p.Name)
		}
	}
	sort.Strings(b.Pods)
	return b, len(b.Pods) > 0
}
