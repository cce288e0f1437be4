package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Node labels and taints of EKS's managed node group rolling update.
const (
	// NodegroupLabel names a node's managed node group.
	NodegroupLabel = "eks.amazonaws.com/nodegroup"
	// UnschedulableTaintValue: EKS taints the nodes it is about to replace
	// eks.amazonaws.com/nodegroup=unschedulable:NoSchedule.
	UnschedulableTaintValue = "unschedulable"
	// RolloutAnnotation on a node is what it runs (NodegroupRollout.Target):
	// a node a failed update made already runs a retry's target.
	RolloutAnnotation = "sandbox.cutover.dev/nodegroup-target"
)

// NodeRoller carries out the emulated EKS's node group version updates of
// one cluster on its kube-apiserver, as EKS's managed node group update
// does in its four phases:
//
//  1. setup: the update's target version and release;
//  2. scale up: one new node per old one, in the same zone with the same
//     labels and taints, Ready at the target's kubelet version; the old
//     nodes tainted eks.amazonaws.com/nodegroup=unschedulable:NoSchedule;
//  3. upgrade: maxUnavailable old nodes at a time (the node group's
//     updateConfig, 1 when unset), each drained through the Eviction API
//     (so the apiserver holds every PodDisruptionBudget, as its
//     disruptionsAllowed says), cordoned, and deleted. An eviction a budget
//     refuses is retried until EvictionTimeout (EKS: 15 minutes), then the
//     update fails with PodEvictionFailure naming the pods, unless the
//     update was forced: then the pod is deleted anyway;
//  4. scale down: nothing left to remove (the new nodes replaced the old).
//
// Controllers runs beside it (the replacement pods, the budgets' status),
// so a drain waits for an evicted pod's replacement to be Ready before a
// budget allows the next eviction.
type NodeRoller struct {
	Moto *Moto
	// Cluster is the EKS cluster; Kube its apiserver.
	Cluster string
	Kube    *Kube
	// EvictionTimeout is how long evictions refused by a budget are
	// retried on one node (default 5 s).
	EvictionTimeout time.Duration
	// Interval between reconciles and eviction retries (default 200 ms).
	Interval time.Duration
	// Controllers reconciles the workloads and budgets (made from Kube
	// when nil).
	Controllers *Controllers
	Logger      *slog.Logger

	mu       sync.Mutex
	rollouts []RolloutRecord
	seq      int
	held     map[string]bool
}

// Hold leaves the node group's updates InProgress (nothing is replaced)
// until Release: an update that takes as long as the test needs.
func (r *NodeRoller) Hold(nodegroup string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = map[string]bool{}
	}
	r.held[nodegroup] = true
}

// Release lets the node group's updates run.
func (r *NodeRoller) Release(nodegroup string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, nodegroup)
}

func (r *NodeRoller) isHeld(nodegroup string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held[nodegroup]
}

// RolloutRecord is what one rollout did.
type RolloutRecord struct {
	Nodegroup string
	UpdateID  string
	Version   string
	// Replaced maps each old node to its replacement.
	Replaced map[string]string
	// Evicted pods ("namespace/name"), in order; Refused counts the
	// evictions a budget refused (429) before it allowed them; Forced the
	// pods deleted past a budget because the update was forced.
	Evicted []string
	Refused int
	Forced  []string
	// Errors the update ended Failed with (none: Successful).
	Errors []NodegroupUpdateError
}

// Rollouts returns what the finished rollouts did, in order.
func (r *NodeRoller) Rollouts() []RolloutRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RolloutRecord(nil), r.rollouts...)
}

func (r *NodeRoller) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return 200 * time.Millisecond
}

func (r *NodeRoller) evictionTimeout() time.Duration {
	if r.EvictionTimeout > 0 {
		return r.EvictionTimeout
	}
	return 5 * time.Second
}

func (r *NodeRoller) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Run switches the cluster's node group updates to this roller and carries
// them out until ctx ends; then EKS's emulator applies them again.
func (r *NodeRoller) Run(ctx context.Context) error {
	if r.Controllers == nil {
		r.Controllers = &Controllers{Kube: r.Kube}
	}
	if err := r.Moto.ExternalNodegroupRollouts(ctx, r.Cluster, true); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Moto.ExternalNodegroupRollouts(cctx, r.Cluster, false); err != nil {
			r.log().Warn("Could not give the node group updates back to the emulator", "cluster", r.Cluster, "error", err)
		}
	}()
	t := time.NewTicker(r.interval())
	defer t.Stop()
	for {
		if err := r.Controllers.Reconcile(ctx); err != nil && ctx.Err() == nil {
			r.log().Warn("Reconcile failed", "cluster", r.Cluster, "error", err)
		}
		pending, err := r.Moto.NodegroupRollouts(ctx, r.Cluster)
		if err != nil && ctx.Err() == nil {
			r.log().Warn("Could not list the node group updates", "cluster", r.Cluster, "error", err)
		}
		for _, ro := range pending {
			if r.isHeld(ro.Nodegroup) {
				continue
			}
			rec, err := r.Roll(ctx, ro)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				r.log().Warn("Rollout failed to run; retrying", "cluster", r.Cluster, "nodegroup", ro.Nodegroup, "update", ro.UpdateID, "error", err)
				continue
			}
			if err := r.Moto.FinishNodegroupRollout(ctx, r.Cluster, ro.Nodegroup, ro.UpdateID, rec.Errors); err != nil {
				r.log().Warn("Could not end the node group update", "cluster", r.Cluster, "nodegroup", ro.Nodegroup, "update", ro.UpdateID, "error", err)
				continue
			}
			r.mu.Lock()
			r.rollouts = append(r.rollouts, rec)
			r.mu.Unlock()
			r.log().Info("Rolled node group", "cluster", r.Cluster, "nodegroup", ro.Nodegroup, "version", ro.Version,
				"replaced", len(rec.Replaced), "evicted", len(rec.Evicted), "refused", rec.Refused, "errors", len(rec.Errors))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// kubeletVersion is the kubelet version of a node at release, e.g.
// "1.30.14-20250519" -> "v1.30.14-eks-20250519".
func kubeletVersion(version, release string) string {
	patch, build, _ := strings.Cut(release, "-")
	if !strings.HasPrefix(patch, version+".") {
		patch = version + ".0"
	}
	if build == "" {
		build = "sandbox"
	}
	return "v" + patch + "-eks-" + build
}

// Roll carries out one rollout and returns what it did; the error is for
// what could not be read or written (the rollout is tried again), not the
// update's verdict, which is the record's Errors.
func (r *NodeRoller) Roll(ctx context.Context, ro NodegroupRollout) (RolloutRecord, error) {
	rec := RolloutRecord{Nodegroup: ro.Nodegroup, UpdateID: ro.UpdateID, Version: ro.Version, Replaced: map[string]string{}}
	cs, err := r.Kube.Clientset()
	if err != nil {
		return rec, err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: NodegroupLabel + "=" + ro.Nodegroup})
	if err != nil {
		return rec, fmt.Errorf("cluster %s: nodes of %s: %w", r.Kube.Name, ro.Nodegroup, err)
	}
	var old, fresh []corev1.Node
	for _, n := range nodes.Items {
		if n.Annotations[RolloutAnnotation] == ro.Target() {
			fresh = append(fresh, n)
		} else {
			old = append(old, n)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].Name < old[j].Name })

	// 2. Scale up (a node an earlier, failed update to the same target
	// made counts).
	for i, n := range old {
		if i < len(fresh) {
			rec.Replaced[n.Name] = fresh[i].Name
			continue
		}
		name, err := r.replacement(ctx, n, ro)
		if err != nil {
			return rec, err
		}
		rec.Replaced[n.Name] = name
	}
	for _, n := range old {
		if err := setNode(ctx, cs, n.Name, func(n *corev1.Node) { addTaint(n, unschedulableTaint()) }); err != nil {
			return rec, err
		}
	}
	if err := r.Controllers.Reconcile(ctx); err != nil {
		return rec, err
	}

	// 3. Upgrade, maxUnavailable nodes at a time.
	batch := 1
	switch {
	case ro.MaxUnavailable != nil && *ro.MaxUnavailable > 0:
		batch = *ro.MaxUnavailable
	case ro.MaxUnavailablePercentage != nil && *ro.MaxUnavailablePercentage > 0:
		batch = max(1, int(math.Ceil(float64(*ro.MaxUnavailablePercentage)*float64(len(old))/100)))
	}
	for start := 0; start < len(old); start += batch {
		group := old[start:min(start+batch, len(old))]
		stuck, err := r.drain(ctx, cs, group, ro, &rec)
		if err != nil {
			return rec, err
		}
		if len(stuck) > 0 {
			rec.Errors = []NodegroupUpdateError{{
				Code:        "PodEvictionFailure",
				Message:     "Reached max retries while trying to evict pods from nodes in node group " + ro.Nodegroup,
				ResourceIDs: stuck,
			}}
			// EKS gives up: the nodes it did not drain take pods again.
			for _, n := range old[start:] {
				if err := setNode(ctx, cs, n.Name, func(n *corev1.Node) { removeTaint(n, unschedulableTaint()); n.Spec.Unschedulable = false }); err != nil && !apierrors.IsNotFound(err) {
					return rec, err
				}
			}
			return rec, nil
		}
		for _, n := range group {
			if err := setNode(ctx, cs, n.Name, func(n *corev1.Node) { n.Spec.Unschedulable = true }); err != nil && !apierrors.IsNotFound(err) {
				return rec, err
			}
			if err := cs.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return rec, fmt.Errorf("cluster %s: terminate node %s: %w", r.Kube.Name, n.Name, err)
			}
		}
		if err := r.Controllers.Reconcile(ctx); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func unschedulableTaint() corev1.Taint {
	return corev1.Taint{Key: NodegroupLabel, Value: UnschedulableTaintValue, Effect: corev1.TaintEffectNoSchedule}
}

func addTaint(n *corev1.Node, t corev1.Taint) {
	if !hasTaint(*n, t) {
		n.Spec.Taints = append(n.Spec.Taints, t)
	}
}

// setNode is updateNode for the roller, which needs no result.
func setNode(ctx context.Context, cs kubernetes.Interface, name string, change func(*corev1.Node)) error {
	_, err := updateNode(ctx, cs, name, change)
	return err
}

func removeTaint(n *corev1.Node, t corev1.Taint) {
	out := n.Spec.Taints[:0]
	for _, have := range n.Spec.Taints {
		if !have.MatchTaint(&t) {
			out = append(out, have)
		}
	}
	n.Spec.Taints = out
}

// replacement makes the new node for old: same zone, labels and taints
// (not the update's taint), Ready at the rollout's kubelet version.
func (r *NodeRoller) replacement(ctx context.Context, old corev1.Node, ro NodegroupRollout) (string, error) {
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	zone := old.Labels["topology.kubernetes.io/zone"]
	octet := 0
	if zone != "" {
		octet = int(zone[len(zone)-1]-'a') * 16
	}
	name := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", octet+1+seq/250, 100+seq%150)
	lbls := map[string]string{}
	for k, v := range old.Labels {
		if k != "kubernetes.io/hostname" {
			lbls[k] = v
		}
	}
	var taints []corev1.Taint
	for _, t := range old.Spec.Taints {
		if t.Key != NodegroupLabel && t.Key != corev1.TaintNodeUnschedulable {
			taints = append(taints, t)
		}
	}
	if err := r.Kube.AddNode(ctx, name, kubeletVersion(ro.Version, ro.ReleaseVersion), true, NodeLabels(lbls), NodeTaints(taints...), nodeAnnotation(RolloutAnnotation, ro.Target())); err != nil {
		return "", err
	}
	return name, nil
}

func nodeAnnotation(k, v string) NodeOption {
	return func(n *corev1.Node) {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[k] = v
	}
}

// drain evicts the pods on nodes (not DaemonSets' or mirror pods) through
// the Eviction API. It returns the pods ("namespace/name") that budgets
// still refused after EvictionTimeout, none when every pod went (or was
// deleted because the update was forced).
func (r *NodeRoller) drain(ctx context.Context, cs kubernetes.Interface, nodes []corev1.Node, ro NodegroupRollout, rec *RolloutRecord) ([]string, error) {
	on := map[string]bool{}
	for _, n := range nodes {
		on[n.Name] = true
	}
	deadline := time.Now().Add(r.evictionTimeout())
	for {
		pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: list pods: %w", r.Kube.Name, err)
		}
		var refused []string
		for _, p := range pods.Items {
			if !on[p.Spec.NodeName] || p.DeletionTimestamp != nil || daemonOrMirror(p) {
				continue
			}
			id := p.Namespace + "/" + p.Name
			err := cs.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{
				ObjectMeta:    metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
				DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))},
			})
			switch {
			case err == nil || apierrors.IsNotFound(err):
				rec.Evicted = append(rec.Evicted, id)
			case apierrors.IsTooManyRequests(err):
				rec.Refused++
				refused = append(refused, id)
			default:
				return nil, fmt.Errorf("cluster %s: evict %s: %w", r.Kube.Name, id, err)
			}
		}
		if len(refused) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			if !ro.Force {
				return refused, nil
			}
			for _, id := range refused {
				ns, name, _ := strings.Cut(id, "/")
				if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil && !apierrors.IsNotFound(err) {
					return nil, fmt.Errorf("cluster %s: delete %s: %w", r.Kube.Name, id, err)
				}
				rec.Forced = append(rec.Forced, id)
			}
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.interval()):
		}
		if err := r.Controllers.Reconcile(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
}

func daemonOrMirror(p corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	ref := metav1.GetControllerOf(&p)
	return ref != nil && ref.Kind == "DaemonSet"
}
