package sandbox

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// MarkWorkloadsReady writes the status subresource of every Deployment,
// StatefulSet and DaemonSet in the cluster as fully rolled out and
// available, standing in for the controllers and kubelets the sandbox does
// not run. DaemonSets count one pod per Node (at least one).
func (k *Kube) MarkWorkloadsReady(ctx context.Context) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list nodes: %w", k.Name, err)
	}
	perNode := int32(max(1, len(nodes.Items)))
	now := metav1.Now()

	deps, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list deployments: %w", k.Name, err)
	}
	for _, d := range deps.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n := replicas(cur.Spec.Replicas)
			cur.Status = appsv1.DeploymentStatus{
				ObservedGeneration: cur.Generation,
				Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", Message: "ReplicaSet has successfully progressed.", LastUpdateTime: now, LastTransitionTime: now},
				},
			}
			_, err = cs.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("cluster %s: deployment %s/%s status: %w", k.Name, d.Namespace, d.Name, err)
		}
	}

	sts, err := cs.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list statefulsets: %w", k.Name, err)
	}
	for _, s := range sts.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.AppsV1().StatefulSets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n := replicas(cur.Spec.Replicas)
			rev := cur.Name + "-sandbox"
			cur.Status = appsv1.StatefulSetStatus{
				ObservedGeneration: cur.Generation,
				Replicas:           n, ReadyReplicas: n, CurrentReplicas: n, UpdatedReplicas: n, AvailableReplicas: n,
				CurrentRevision: rev, UpdateRevision: rev,
			}
			_, err = cs.AppsV1().StatefulSets(s.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("cluster %s: statefulset %s/%s status: %w", k.Name, s.Namespace, s.Name, err)
		}
	}

	dss, err := cs.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: list daemonsets: %w", k.Name, err)
	}
	for _, ds := range dss.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status = appsv1.DaemonSetStatus{
				ObservedGeneration:     cur.Generation,
				DesiredNumberScheduled: perNode, CurrentNumberScheduled: perNode, NumberReady: perNode,
				UpdatedNumberScheduled: perNode, NumberAvailable: perNode,
			}
			_, err = cs.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("cluster %s: daemonset %s/%s status: %w", k.Name, ds.Namespace, ds.Name, err)
		}
	}
	k.log.Info("Marked workloads ready", "deployments", len(deps.Items), "statefulsets", len(sts.Items), "daemonsets", len(dss.Items))
	return nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// NodeOption adjusts a Node AddNode creates.
type NodeOption func(*corev1.Node)

// NodeLabels adds labels (e.g. eks.amazonaws.com/nodegroup).
func NodeLabels(labels map[string]string) NodeOption {
	return func(n *corev1.Node) {
		for k, v := range labels {
			n.Labels[k] = v
		}
	}
}

// NodeTaints sets the node's taints.
func NodeTaints(taints ...corev1.Taint) NodeOption {
	return func(n *corev1.Node) { n.Spec.Taints = taints }
}

// NodeUnschedulable cordons the node.
func NodeUnschedulable() NodeOption {
	return func(n *corev1.Node) { n.Spec.Unschedulable = true }
}

// AddNode creates (or updates) a Node and writes its status: the kubelet
// version and the Ready condition, plus capacity, as a kubelet would. There
// is no kubelet: the node stays as written.
func (k *Kube) AddNode(ctx context.Context, name, kubeletVersion string, ready bool, opts ...NodeOption) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	want := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		}},
	}
	for _, o := range opts {
		o(want)
	}
	node, err := cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, v := range want.Labels {
				cur.Labels[k] = v
			}
			cur.Spec.Taints = want.Spec.Taints
			cur.Spec.Unschedulable = want.Spec.Unschedulable
			node, err = cs.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("cluster %s: node %s: %w", k.Name, name, err)
	}
	status, reason := corev1.ConditionFalse, "KubeletNotReady"
	if ready {
		status, reason = corev1.ConditionTrue, "KubeletReady"
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("29"),
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status = corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: status, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
			},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion: kubeletVersion, KubeProxyVersion: kubeletVersion,
				OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "containerd://1.7.27",
				OSImage: "Amazon Linux 2",
			},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}},
		}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster %s: node %s status: %w", k.Name, name, err)
	}
	return nil
}
