package sandbox

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Controllers plays, on a bare kube-apiserver, the parts of a cluster a
// drain depends on, as far as a drain can tell them apart:
//
//   - the workload controllers, scheduler and kubelets: every Deployment
//     and StatefulSet has its replicas as pods, each bound to a Ready,
//     schedulable node whose labels match the pod's nodeSelector and whose
//     NoSchedule/NoExecute taints it tolerates (fewest pods of the same
//     owner first), and Ready PodStartup after it was created. A pod that
//     goes away (evicted) is replaced the same way. Pods are owned by
//     their Deployment directly (there is no ReplicaSet in between);
//   - the node lifecycle controller: a Ready node loses the
//     node.kubernetes.io/not-ready:NoSchedule taint the apiserver gives
//     every new node (TaintNodesByCondition), so pods can land on it;
//   - the disruption controller: every PodDisruptionBudget's status
//     (currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed,
//     observedGeneration, the DisruptionAllowed condition) from the pods
//     it selects, which is what the apiserver's Eviction API enforces.
//
// DaemonSets get no pods: a drain leaves them be.
type Controllers struct {
	Kube *Kube
	// PodStartup is how long a new pod takes to become Ready (default
	// 300 ms).
	PodStartup time.Duration

	mu      sync.Mutex
	created map[types.UID]time.Time
	seq     int
}

func (c *Controllers) podStartup() time.Duration {
	if c.PodStartup > 0 {
		return c.PodStartup
	}
	return 300 * time.Millisecond
}

// Reconcile runs every part once: pods for the workloads, readiness, the
// budgets' status.
func (c *Controllers) Reconcile(ctx context.Context) error {
	cs, err := c.Kube.Clientset()
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list nodes: %w", c.Kube.Name, err)
	}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list pods: %w", c.Kube.Name, err)
	}
	for i, n := range nodes.Items {
		if !nodeReady(n) || !hasTaint(n, notReadyTaint) {
			continue
		}
		cur, err := updateNode(ctx, cs, n.Name, func(n *corev1.Node) { removeTaint(n, notReadyTaint) })
		if err == nil {
			nodes.Items[i] = *cur
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cluster %s: node %s: %w", c.Kube.Name, n.Name, err)
		}
	}
	live := make([]corev1.Pod, 0, len(pods.Items))
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	if err := c.workloads(ctx, cs, nodes.Items, &live); err != nil {
		return err
	}
	if err := c.readiness(ctx, cs, live); err != nil {
		return err
	}
	return c.budgets(ctx, cs)
}

var notReadyTaint = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}

// updateNode reads node name, changes it and writes it back, again on a
// conflict; it returns the node as written.
func updateNode(ctx context.Context, cs kubernetes.Interface, name string, change func(*corev1.Node)) (*corev1.Node, error) {
	var out *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(n)
		out, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	return out, err
}

func hasTaint(n corev1.Node, t corev1.Taint) bool {
	for _, have := range n.Spec.Taints {
		if have.MatchTaint(&t) {
			return true
		}
	}
	return false
}

// owned is the live pods whose controller is uid.
func owned(pods []corev1.Pod, uid types.UID) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid {
			out = append(out, p)
		}
	}
	return out
}

type workload struct {
	kind, namespace, name string
	uid                   types.UID
	replicas              int32
	template              corev1.PodTemplateSpec
	// ordinals: a StatefulSet's pods are <name>-<i>.
	ordinals bool
}

func (c *Controllers) workloads(ctx context.Context, cs kubernetes.Interface, nodes []corev1.Node, live *[]corev1.Pod) error {
	deps, err := cs.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list deployments: %w", c.Kube.Name, err)
	}
	sts, err := cs.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list statefulsets: %w", c.Kube.Name, err)
	}
	var ws []workload
	for _, d := range deps.Items {
		ws = append(ws, workload{kind: "Deployment", namespace: d.Namespace, name: d.Name, uid: d.UID, replicas: replicas(d.Spec.Replicas), template: d.Spec.Template})
	}
	for _, s := range sts.Items {
		ws = append(ws, workload{kind: "StatefulSet", namespace: s.Namespace, name: s.Name, uid: s.UID, replicas: replicas(s.Spec.Replicas), template: s.Spec.Template, ordinals: true})
	}
	for _, w := range ws {
		have := owned(*live, w.uid)
		for i := int32(0); int(i) < int(w.replicas) && len(have) < int(w.replicas); i++ {
			name := ""
			if w.ordinals {
				name = fmt.Sprintf("%s-%d", w.name, i)
				if podNamed(have, name) {
					continue
				}
			} else {
				c.mu.Lock()
				c.seq++
				name = fmt.Sprintf("%s-%05x", w.name, c.seq)
				c.mu.Unlock()
			}
			node := pickNode(nodes, *live, w.template.Spec, w.uid)
			if node == "" {
				break // nowhere to run: Pending, as a scheduler would leave it
			}
			p, err := c.createPod(ctx, cs, w, name, node)
			if err != nil {
				return err
			}
			have = append(have, *p)
			*live = append(*live, *p)
		}
	}
	return nil
}

func podNamed(pods []corev1.Pod, name string) bool {
	for _, p := range pods {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (c *Controllers) createPod(ctx context.Context, cs kubernetes.Interface, w workload, name, node string) (*corev1.Pod, error) {
	apiVersion := appsv1.SchemeGroupVersion.String()
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: w.namespace, Labels: w.template.Labels, Annotations: w.template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: apiVersion, Kind: w.kind, Name: w.name, UID: w.uid, Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: *w.template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = node
	p, err := cs.CoreV1().Pods(w.namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return cs.CoreV1().Pods(w.namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("cluster %s: pod %s/%s: %w", c.Kube.Name, w.namespace, name, err)
	}
	c.mu.Lock()
	if c.created == nil {
		c.created = map[types.UID]time.Time{}
	}
	c.created[p.UID] = time.Now()
	c.mu.Unlock()
	return p, nil
}

// schedulable reports whether a pod with spec can run on node.
func schedulable(node corev1.Node, spec corev1.PodSpec) bool {
	if node.Spec.Unschedulable || !nodeReady(node) {
		return false
	}
	for k, v := range spec.NodeSelector {
		if node.Labels[k] != v {
			return false
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for _, tol := range spec.Tolerations {
			if tol.ToleratesTaint(&t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false
		}
	}
	return true
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pickNode is the schedulable node with the fewest pods of owner, then the
// fewest pods, then the first by name; "" when none fits.
func pickNode(nodes []corev1.Node, pods []corev1.Pod, spec corev1.PodSpec, owner types.UID) string {
	mine, all := map[string]int{}, map[string]int{}
	for _, p := range pods {
		all[p.Spec.NodeName]++
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == owner {
			mine[p.Spec.NodeName]++
		}
	}
	var fit []string
	for _, n := range nodes {
		if n.DeletionTimestamp == nil && schedulable(n, spec) {
			fit = append(fit, n.Name)
		}
	}
	sort.Slice(fit, func(i, j int) bool {
		a, b := fit[i], fit[j]
		if mine[a] != mine[b] {
			return mine[a] < mine[b]
		}
		if all[a] != all[b] {
			return all[a] < all[b]
		}
		return a < b
	})
	if len(fit) == 0 {
		return ""
	}
	return fit[0]
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readiness marks Running and Ready the pods bound to an existing node
// PodStartup after this controller created them (pods it did not create,
// at once).
func (c *Controllers) readiness(ctx context.Context, cs kubernetes.Interface, pods []corev1.Pod) error {
	now := time.Now()
	for _, p := range pods {
		if podReady(p) || p.Spec.NodeName == "" {
			continue
		}
		c.mu.Lock()
		at, mine := c.created[p.UID]
		c.mu.Unlock()
		if mine && now.Sub(at) < c.podStartup() {
			continue
		}
		t := metav1.NewTime(now)
		cur := p.DeepCopy()
		cur.Status.Phase = corev1.PodRunning
		cur.Status.StartTime = &t
		cur.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t},
		}
		cur.Status.ContainerStatuses = nil
		for _, ctr := range p.Spec.Containers {
			cur.Status.ContainerStatuses = append(cur.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: ctr.Name, Image: ctr.Image, Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}},
			})
		}
		if _, err := cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("cluster %s: pod %s/%s status: %w", c.Kube.Name, p.Namespace, p.Name, err)
		}
	}
	return nil
}

// budgets writes every PodDisruptionBudget's status as the disruption
// controller does: expectedPods the pods it selects, currentHealthy those
// Ready and not just evicted (status.disruptedPods), desiredHealthy from
// minAvailable or maxUnavailable (percentages rounded up, against the
// expected pods), disruptionsAllowed their difference (never below 0).
func (c *Controllers) budgets(ctx context.Context, cs kubernetes.Interface) error {
	pdbs, err := cs.PolicyV1().PodDisruptionBudgets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list poddisruptionbudgets: %w", c.Kube.Name, err)
	}
	for _, pdb := range pdbs.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.PolicyV1().PodDisruptionBudgets(pdb.Namespace).Get(ctx, pdb.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			pods, err := cs.CoreV1().Pods(cur.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			cur.Status = BudgetStatus(cur, pods.Items)
			_, err = cs.PolicyV1().PodDisruptionBudgets(cur.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cluster %s: poddisruptionbudget %s/%s status: %w", c.Kube.Name, pdb.Namespace, pdb.Name, err)
		}
	}
	return nil
}

// BudgetStatus is the status the disruption controller gives pdb over the
// pods of its namespace.
// A selector that does not parse selects nothing, as the controller's.
func BudgetStatus(pdb *policyv1.PodDisruptionBudget, pods []corev1.Pod) policyv1.PodDisruptionBudgetStatus {
	st := policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptedPods: map[string]metav1.Time{}}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || pdb.Spec.Selector == nil {
		sel = labels.Nothing()
	}
	present := map[string]metav1.Time{} // name -> created
	var expected, healthy int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		present[p.Name] = p.CreationTimestamp
		expected++
		if _, disrupted := pdb.Status.DisruptedPods[p.Name]; !disrupted && podReady(p) {
			healthy++
		}
	}
	// An eviction the apiserver admitted stays counted until its pod is
	// gone (a StatefulSet's new pod of the same name is not the one evicted).
	for name, at := range pdb.Status.DisruptedPods {
		if created, ok := present[name]; ok && created.Before(&at) && time.Since(at.Time) < 2*time.Minute {
			st.DisruptedPods[name] = at
		}
	}
	desired := int32(0)
	switch {
	case pdb.Spec.MinAvailable != nil:
		desired = int32(scaled(*pdb.Spec.MinAvailable, int(expected)))
	case pdb.Spec.MaxUnavailable != nil:
		desired = max(0, expected-int32(scaled(*pdb.Spec.MaxUnavailable, int(expected))))
	}
	st.ExpectedPods, st.CurrentHealthy, st.DesiredHealthy = expected, healthy, desired
	st.DisruptionsAllowed = max(0, healthy-desired)
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue, Reason: policyv1.SufficientPodsReason, ObservedGeneration: pdb.Generation, LastTransitionTime: metav1.Now()}
	if st.DisruptionsAllowed == 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, policyv1.InsufficientPodsReason
	}
	for _, c := range pdb.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	st.Conditions = []metav1.Condition{cond}
	return st
}

// scaled is an int-or-percent against total, percentages rounded up.
func scaled(v intstr.IntOrString, total int) int {
	if v.Type == intstr.Int {
		return v.IntValue()
	}
	pct := strings.TrimSuffix(v.StrVal, "%")
	var n int
	if _, err := fmt.Sscanf(pct, "%d", &n); err != nil {
		return 0
	}
	return int(math.Ceil(float64(n) * float64(total) / 100))
}
