package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/internal/sandbox"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

var (
	applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	backupGVR      = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backups"}
	restoreGVR     = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "restores"}
)

// Simulator plays the parts a bare kube-apiserver lacks, so a demo
// migration can run end to end: EKS creating green's nodes and core
// add-ons, the controllers making workloads available, Velero completing
// backups and restores (copying blue's workloads into green), and Argo CD
// syncing applications, and the AWS Load Balancer Controller: on green
// it makes the restored objects' load balancers (loadBalancers), on both
// clusters it removes a deleted object's load balancer and target groups
// before its finalizer (releaseLoadBalancers); those are its only writes
// to AWS. Everything else in AWS is
// cutover's real activities' doing.
type Simulator struct {
	Blue, Green *sandbox.Kube
	// Hub is the cluster Argo CD runs on (sandbox.Options.ArgoCDOnHub);
	// nil when it runs on blue.
	Hub *sandbox.Kube
	// GreenVersion is the kubelet version of green's nodes, e.g. "1.31".
	GreenVersion string
	Logger       *slog.Logger
	// Interval between reconciliations. Default 1s.
	Interval time.Duration
	// LoadBalancers, when set, is the emulator's ELBv2, in which the
	// simulated AWS Load Balancer Controller makes green's load balancers
	// (in Subnets).
	LoadBalancers LoadBalancerAPI
	Subnets       []string

	mu sync.Mutex
	// restoreBSL is the access mode of green's backup storage location
	// each restore ran under.
	restoreBSL map[string]string
}

// RestoreBSLMode is the access mode green's backup storage location had
// while the simulator ran the restore ("" when it has not run it).
func (s *Simulator) RestoreBSLMode(restore string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restoreBSL[restore]
}

type cluster struct {
	cs  kubernetes.Interface
	dyn dynamic.Interface
}

func connect(k *sandbox.Kube) (cluster, error) {
	cs, err := kubernetes.NewForConfig(k.RESTConfig())
	if err != nil {
		return cluster{}, err
	}
	dyn, err := dynamic.NewForConfig(k.RESTConfig())
	if err != nil {
		return cluster{}, err
	}
	return cluster{cs: cs, dyn: dyn}, nil
}

// Run reconciles until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	blue, err := connect(s.Blue)
	if err != nil {
		return err
	}
	green, err := connect(s.Green)
	if err != nil {
		return err
	}
	// The ApplicationSet controller's clients print no warnings.
	quietBlue, err := connectQuiet(s.Blue)
	if err != nil {
		return err
	}
	quietGreen, err := connectQuiet(s.Green)
	if err != nil {
		return err
	}
	var hub, quietHub cluster
	if s.Hub != nil {
		if hub, err = connect(s.Hub); err != nil {
			return err
		}
		if quietHub, err = connectQuiet(s.Hub); err != nil {
			return err
		}
	}
	interval := s.Interval
	if interval == 0 {
		interval = time.Second
	}
	type step struct {
		name string
		fn   func(context.Context) error
	}
	steps := []step{
		{"green nodes and add-ons", func(ctx context.Context) error { return s.greenPlatform(ctx, green) }},
		{"velero", func(ctx context.Context) error { return s.velero(ctx, blue, green) }},
		{"applicationsets on blue", func(ctx context.Context) error { return s.applicationSets(ctx, quietBlue, s.Blue.Name) }},
		{"applicationsets on green", func(ctx context.Context) error { return s.applicationSets(ctx, quietGreen, s.Green.Name) }},
	}
	if s.Hub != nil {
		steps = append(steps, step{"applicationsets on hub", func(ctx context.Context) error { return s.applicationSets(ctx, quietHub, s.Hub.Name) }})
	}
	steps = append(steps,
		step{"argocd on blue", func(ctx context.Context) error { return s.argocd(ctx, blue, s.Blue.Name, false) }},
		step{"argocd on green", func(ctx context.Context) error { return s.argocd(ctx, green, s.Green.Name, true) }},
		step{"argocd deletions on blue", func(ctx context.Context) error { return s.finalizeApplications(ctx, blue, s.Blue.Name, false) }},
		step{"argocd deletions on green", func(ctx context.Context) error { return s.finalizeApplications(ctx, green, s.Green.Name, true) }},
	)
	if s.Hub != nil {
		steps = append(steps,
			step{"argocd on hub", func(ctx context.Context) error { return s.argocd(ctx, hub, s.Hub.Name, true) }},
			step{"argocd deletions on hub", func(ctx context.Context) error { return s.finalizeApplications(ctx, hub, s.Hub.Name, true) }},
		)
	}
	steps = append(steps,
		step{"load balancers on green", func(ctx context.Context) error { return s.loadBalancers(ctx, green) }},
		step{"load balancer deletions on blue", func(ctx context.Context) error { return s.releaseLoadBalancers(ctx, blue) }},
		step{"load balancer deletions on green", func(ctx context.Context) error { return s.releaseLoadBalancers(ctx, green) }},
		step{"workloads", func(ctx context.Context) error { return s.Green.MarkWorkloadsReady(ctx) }})
	for {
		for _, step := range steps {
			if err := step.fn(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Warn("Simulator step failed", "step", step.name, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// greenPlatform makes green look like a fresh EKS cluster at the target
// version: three Ready nodes and the core add-ons.
func (s *Simulator) greenPlatform(ctx context.Context, c cluster) error {
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("ip-10-0-%d-10.green.internal", i)
		if _, err := c.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			if err := s.Green.AddNode(ctx, name, "v"+s.GreenVersion+".2-eks-7b1f2a3", true); err != nil {
				return err
			}
			s.Logger.Info("Simulated node joined", "green", s.Green.Name, "node", name)
		}
	}
	if _, err := c.cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		return err
	}
	if _, err := c.cs.StorageV1().StorageClasses().Get(ctx, "gp3", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		wait := storagev1.VolumeBindingWaitForFirstConsumer
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "gp3", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "ebs.csi.aws.com", VolumeBindingMode: &wait, Parameters: map[string]string{"type": "gp3"}}
		if _, err := c.cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	labels := func(n string) map[string]string { return map[string]string{"k8s-app": n} }
	pod := func(n string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(n)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: n, Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/" + n + ":latest"}}}}
	}
	two := int32(2)
	if _, err := c.cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"},
			Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels("coredns")}, Template: pod("coredns")}}
		if _, err := c.cs.AppsV1().Deployments("kube-system").Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	for _, n := range []string{"kube-proxy", "aws-node"} {
		if _, err := c.cs.AppsV1().DaemonSets("kube-system").Get(ctx, n, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "kube-system"},
				Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels(n)}, Template: pod(n)}}
			if _, err := c.cs.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	return nil
}

// velero completes backups on blue, syncs them to green as a shared
// storage location would, and completes restores on green by copying the
// backed-up namespaces' Deployments, StatefulSets, DaemonSets, CronJobs,
// ServiceAccounts, Services, Ingresses and ConfigMaps, and blue's Karpenter NodePools
// and EC2NodeClasses when Velero would restore them
// (clusterResourceRestored).
func (s *Simulator) velero(ctx context.Context, blue, green cluster) error {
	backups, err := blue.dyn.Resource(backupGVR).Namespace(sandbox.VeleroNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range backups.Items {
		b := &backups.Items[i]
		phase, _, _ := unstructured.NestedString(b.Object, "status", "phase")
		if phase == "" || phase == "New" || phase == "InProgress" {
			_ = unstructured.SetNestedField(b.Object, "Completed", "status", "phase")
			_ = unstructured.SetNestedField(b.Object, time.Now().UTC().Format(time.RFC3339), "status", "completionTimestamp")
			_ = unstructured.SetNestedField(b.Object, int64(42), "status", "progress", "itemsBackedUp")
			_ = unstructured.SetNestedField(b.Object, int64(42), "status", "progress", "totalItems")
			if _, err := blue.dyn.Resource(backupGVR).Namespace(b.GetNamespace()).Update(ctx, b, metav1.UpdateOptions{}); err != nil {
				return err
			}
			s.Logger.Info("Simulated Velero backup completed", "blue", s.Blue.Name, "backup", b.GetName())
			phase = "Completed"
		}
		if phase != "Completed" {
			continue
		}
		if _, err := green.dyn.Resource(backupGVR).Namespace(b.GetNamespace()).Get(ctx, b.GetName(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
			synced := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "velero.io/v1", "kind": "Backup",
				"metadata": map[string]any{"name": b.GetName(), "namespace": b.GetNamespace(), "labels": map[string]any{"velero.io/storage-location": "default"}},
				"spec":     b.Object["spec"], "status": b.Object["status"],
			}}
			if _, err := green.dyn.Resource(backupGVR).Namespace(b.GetNamespace()).Create(ctx, synced, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	restores, err := green.dyn.Resource(restoreGVR).Namespace(sandbox.VeleroNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range restores.Items {
		r := &restores.Items[i]
		phase, _, _ := unstructured.NestedString(r.Object, "status", "phase")
		if phase != "" && phase != "New" && phase != "InProgress" {
			continue
		}
		// What Velero's restore would write to the storage location
		// depends on its access mode: the test asserts it was read-only.
		bsl, err := green.dyn.Resource(sandbox.BackupStorageLocationGVR).Namespace(r.GetNamespace()).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return err
		}
		mode, _, _ := unstructured.NestedString(bsl.Object, "spec", "accessMode")
		if mode == "" {
			mode = "ReadWrite"
		}
		s.mu.Lock()
		if s.restoreBSL == nil {
			s.restoreBSL = map[string]string{}
		}
		s.restoreBSL[r.GetName()] = mode
		s.mu.Unlock()
		namespaces, _, _ := unstructured.NestedStringSlice(r.Object, "spec", "includedNamespaces")
		if err := copyWorkloads(ctx, blue.cs, green.cs, namespaces); err != nil {
			return err
		}
		backupName, _, _ := unstructured.NestedString(r.Object, "spec", "backupName")
		backup, err := green.dyn.Resource(backupGVR).Namespace(r.GetNamespace()).Get(ctx, backupName, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil {
			for _, gvr := range []schema.GroupVersionResource{sandbox.EC2NodeClassGVR, sandbox.NodePoolGVR} {
				if !clusterResourceRestored(r, backup, gvr.GroupResource()) {
					continue
				}
				if err := copyClusterScoped(ctx, blue.dyn, green.dyn, gvr); err != nil {
					return err
				}
			}
		}
		_ = unstructured.SetNestedField(r.Object, "Completed", "status", "phase")
		_ = unstructured.SetNestedField(r.Object, time.Now().UTC().Format(time.RFC3339), "status", "completionTimestamp")
		if _, err := green.dyn.Resource(restoreGVR).Namespace(r.GetNamespace()).Update(ctx, r, metav1.UpdateOptions{}); err != nil {
			return err
		}
		s.Logger.Info("Simulated Velero restore completed", "green", s.Green.Name, "restore", r.GetName(), "namespaces", strings.Join(namespaces, ","))
	}
	return nil
}

func copyWorkloads(ctx context.Context, from, to kubernetes.Interface, namespaces []string) error {
	if len(namespaces) == 0 || (len(namespaces) == 1 && namespaces[0] == "*") {
		list, err := from.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		namespaces = nil
		for _, ns := range list.Items {
			if !strings.HasPrefix(ns.Name, "kube-") && ns.Name != "default" && ns.Name != sandbox.VeleroNamespace && ns.Name != sandbox.ArgoCDNamespace {
				namespaces = append(namespaces, ns.Name)
			}
		}
	}
	clean := metav1.ObjectMeta{}
	for _, ns := range namespaces {
		if _, err := to.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		deps, err := from.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range deps.Items {
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = d.Name, d.Namespace, d.Labels, map[string]string{"velero.io/restore-name": "cutover"}
			c := &appsv1.Deployment{ObjectMeta: n, Spec: d.Spec}
			if _, err := to.AppsV1().Deployments(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		sts, err := from.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range sts.Items {
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = x.Name, x.Namespace, x.Labels, map[string]string{"velero.io/restore-name": "cutover"}
			if _, err := to.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: n, Spec: x.Spec}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		dss, err := from.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range dss.Items {
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = x.Name, x.Namespace, x.Labels, map[string]string{"velero.io/restore-name": "cutover"}
			if _, err := to.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: n, Spec: x.Spec}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		cjs, err := from.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range cjs.Items {
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = x.Name, x.Namespace, x.Labels, map[string]string{"velero.io/restore-name": "cutover"}
			if _, err := to.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: n, Spec: x.Spec}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		sas, err := from.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range sas.Items {
			if x.Name == "default" {
				continue
			}
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = x.Name, x.Namespace, x.Labels, x.Annotations
			if _, err := to.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: n}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		svcs, err := from.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, sv := range svcs.Items {
			n := clean
			n.Name, n.Namespace, n.Labels = sv.Name, sv.Namespace, sv.Labels
			spec := sv.Spec
			spec.ClusterIP, spec.ClusterIPs, spec.HealthCheckNodePort = "", nil, 0
			// Velero drops the node ports the apiserver chose (they may
			// be taken on the other cluster).
			spec.Ports = append([]corev1.ServicePort(nil), spec.Ports...)
			for i := range spec.Ports {
				spec.Ports[i].NodePort = 0
			}
			if _, err := to.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: n, Spec: spec}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		ings, err := from.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range ings.Items {
			n := clean
			n.Name, n.Namespace, n.Labels, n.Annotations = x.Name, x.Namespace, x.Labels, x.Annotations
			if _, err := to.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{ObjectMeta: n, Spec: x.Spec}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		cms, err := from.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, cm := range cms.Items {
			if cm.Name == "kube-root-ca.crt" {
				continue
			}
			n := clean
			n.Name, n.Namespace, n.Labels = cm.Name, cm.Namespace, cm.Labels
			if _, err := to.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: n, Data: cm.Data}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	return nil
}

// clusterResourceRestored reports whether Velero would restore the
// cluster-scoped resource gr: the backup holds it and the restore does not
// exclude cluster-scoped resources (includeClusterResources unset or
// true). The backup holds it when its includedClusterScopedResources names
// it (or "*") and excludedClusterScopedResources does not; without those,
// when includeClusterResources is true, or unset with every namespace
// backed up.
func clusterResourceRestored(restore, backup *unstructured.Unstructured, gr schema.GroupResource) bool {
	if inc, found, _ := unstructured.NestedBool(restore.Object, "spec", "includeClusterResources"); found && !inc {
		return false
	}
	names := func(field string) ([]string, bool) {
		l, found, _ := unstructured.NestedStringSlice(backup.Object, "spec", field)
		return l, found && len(l) > 0
	}
	named := func(l []string) bool {
		return slices.Contains(l, "*") || slices.Contains(l, gr.String()) || slices.Contains(l, gr.Resource)
	}
	included, newStyle := names("includedClusterScopedResources")
	excluded, hasExcluded := names("excludedClusterScopedResources")
	if newStyle || hasExcluded {
		return named(included) && !named(excluded)
	}
	inc, found, _ := unstructured.NestedBool(backup.Object, "spec", "includeClusterResources")
	if found {
		return inc
	}
	namespaces, _, _ := unstructured.NestedStringSlice(backup.Object, "spec", "includedNamespaces")
	return len(namespaces) == 0 || (len(namespaces) == 1 && namespaces[0] == "*")
}

// copyClusterScoped copies blue's cluster-scoped objects of each resource
// into green: name, labels and spec (server-set metadata and the status
// stay behind, as Velero restores them).
func copyClusterScoped(ctx context.Context, from, to dynamic.Interface, gvrs ...schema.GroupVersionResource) error {
	for _, gvr := range gvrs {
		list, err := from.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, x := range list.Items {
			meta := map[string]any{"name": x.GetName(), "annotations": map[string]any{"velero.io/restore-name": "cutover"}}
			if l := x.GetLabels(); len(l) > 0 {
				labels := map[string]any{}
				for k, v := range l {
					labels[k] = v
				}
				meta["labels"] = labels
			}
			c := &unstructured.Unstructured{Object: map[string]any{"apiVersion": x.GetAPIVersion(), "kind": x.GetKind(), "metadata": meta, "spec": x.Object["spec"]}}
			if _, err := to.Resource(gvr).Create(ctx, c, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	return nil
}

// argocd plays the application controller of the Argo CD in c's argocd
// namespace while it runs (its StatefulSet argocd-application-controller
// is not scaled to zero; where installed says, it must exist): an
// application with a sync operation is synced to its current destination,
// and one never compared yet (copied there) is compared as Synced and
// Healthy, its resources being the restored ones.
func (s *Simulator) argocd(ctx context.Context, c cluster, name string, installed bool) error {
	sts, err := c.cs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, "argocd-application-controller", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if installed {
			return nil
		}
	case err != nil:
		return err
	case sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0:
		return nil // stopped: nothing reconciles here
	}
	apps, err := c.dyn.Resource(applicationGVR).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		if installed && apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	for i := range apps.Items {
		a := &apps.Items[i]
		syncStatus, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		if _, has := a.Object["operation"]; !has && syncStatus != "" {
			continue
		}
		dest, _, _ := unstructured.NestedMap(a.Object, "spec", "destination")
		sync, operated, _ := unstructured.NestedMap(a.Object, "operation", "sync")
		delete(a.Object, "operation")
		now := time.Now().UTC().Format(time.RFC3339)
		status, _, _ := unstructured.NestedMap(a.Object, "status")
		if status == nil {
			status = map[string]any{}
		}
		if operated {
			status["operationState"] = map[string]any{"phase": "Succeeded", "message": "successfully synced (all tasks run)", "startedAt": now, "finishedAt": now,
				"operation": map[string]any{"sync": sync}}
		}
		status["reconciledAt"] = now
		status["sync"] = map[string]any{"status": "Synced", "comparedTo": map[string]any{"destination": dest, "source": a.Object["spec"].(map[string]any)["source"]}}
		status["health"] = map[string]any{"status": "Healthy"}
		a.Object["status"] = status
		if _, err := c.dyn.Resource(applicationGVR).Namespace(a.GetNamespace()).Update(ctx, a, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				continue
			}
			return err
		}
		s.Logger.Info("Simulated Argo CD sync", "cluster", name, "application", a.GetName(), "destination", fmt.Sprint(dest["server"], dest["name"]))
	}
	return nil
}
