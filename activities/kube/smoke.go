package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/probe"
)

// Labels on every object the smoke test creates.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelSmokeRun     = "cutover.dev/smoke-run"
	LabelSmokeObject  = "cutover.dev/smoke-object"
	managedByCutover  = "cutover"
	defaultStorageAnn = "storageclass.kubernetes.io/is-default-class"
	betaStorageAnn    = "storageclass.beta.kubernetes.io/is-default-class"
	maxWorkloadChecks = 50
)

// SmokeTestGreen runs the smoke tests on green: every Deployment,
// StatefulSet and DaemonSet available (waiting up to WithWorkloadWait); a
// scratch pod, service and PVC created, verified and removed; the spec's
// HTTP probes; and the optional k6 Job. It returns every check; Passed is
// false when any failed (the workflow decides what that means).
//
// Only definitive answers count as failed checks. An API call of any step
// that fails transiently (green's apiserver unreachable for a few seconds,
// throttling, 5xx, timeouts) is retried with backoff (WithAPIRetry); one
// that still fails after that ends the activity with a retryable error, and
// the retry removes this attempt's scratch objects. An error is also
// returned when the activity is cancelled.
func (a *Activities) SmokeTestGreen(ctx context.Context, in SmokeInput) (SmokeResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return SmokeResult{}, err
	}
	parent := ctx
	if d := in.Smoke.Timeout.D(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	log := a.log(ctx)
	log.Info("Smoke tests started", "cluster", in.Cluster.Name, "runId", in.RunID)
	res := SmokeResult{Checks: []CheckResult{}}
	k := in.Smoke.Kubernetes

	if k.WorkloadsReady == nil || *k.WorkloadsReady {
		checks, err := a.smokeWorkloads(ctx, c, in)
		if err != nil && parent.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return SmokeResult{}, kubeError(err, "smoke workloads on cluster %s", in.Cluster)
		}
		res.Checks = append(res.Checks, checks...)
	}
	if k.ScratchWorkload == nil || *k.ScratchWorkload {
		checks, err := a.smokeScratch(ctx, c, in)
		if err != nil && parent.Err() == nil {
			log.Warn("Smoke test stopped: green's apiserver failed transiently past the retries", "cluster", in.Cluster.Name, "error", err)
			return SmokeResult{}, kubeError(err, "smoke scratch workload on cluster %s", in.Cluster)
		}
		res.Checks = append(res.Checks, checks...)
	}
	if len(in.Smoke.HTTP) > 0 {
		activitylog.Heartbeat(ctx, Progress{Step: "http-probes", Detail: fmt.Sprintf("%d probes", len(in.Smoke.HTTP))})
		runner := probe.Runner{Client: a.opts.httpClient, RetryDelay: a.opts.probeDelay}
		res.Probes = runner.Run(ctx, in.Smoke.HTTP)
		for _, p := range res.Probes {
			res.Checks = append(res.Checks, CheckResult{Name: p.Name, Kind: "http", Passed: p.Passed, Message: p.Message, Duration: p.Latency})
		}
	}
	if in.Smoke.K6 != nil {
		check, err := a.smokeK6(ctx, c, in)
		if err != nil && parent.Err() == nil {
			log.Warn("Smoke test stopped: green's apiserver failed transiently past the retries", "cluster", in.Cluster.Name, "error", err)
			return SmokeResult{}, kubeError(err, "smoke k6 on cluster %s", in.Cluster)
		}
		res.Checks = append(res.Checks, check)
	}
	if err := parent.Err(); err != nil {
		return res, err
	}
	res.Passed = true
	failed := 0
	for _, ch := range res.Checks {
		if !ch.Passed {
			res.Passed = false
			failed++
		}
	}
	log.Info("Smoke tests finished", "cluster", in.Cluster.Name, "passed", res.Passed, "checks", len(res.Checks), "failed", failed)
	return res, nil
}

// ---- workloads ----

func (a *Activities) smokeWorkloads(ctx context.Context, c *Clients, in SmokeInput) ([]CheckResult, error) {
	start := a.opts.Now()
	deadline := start.Add(a.opts.workloadWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	for round := 1; ; round++ {
		var total int
		var notReady []WorkloadStatus
		err := a.retryAPI(ctx, "list workloads", func(ctx context.Context) error {
			var err error
			total, notReady, err = a.workloadStatuses(ctx, c, in.Smoke.Kubernetes.Namespaces)
			return err
		})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return []CheckResult{{Name: "workloads", Kind: "workloads", Message: "timed out listing workloads: " + err.Error(), Duration: since(a, start)}}, err
			}
			return nil, err
		}
		activitylog.Heartbeat(ctx, Progress{Step: "workloads", Objects: total, Detail: fmt.Sprintf("round %d: %d not available", round, len(notReady))})
		if len(notReady) == 0 || !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			return workloadChecks(total, notReady, since(a, start)), nil
		}
		if err := sleep(ctx, a.opts.Poll); err != nil {
			return workloadChecks(total, notReady, since(a, start)), nil
		}
	}
}

func since(a *Activities, t time.Time) string {
	return a.opts.Now().Sub(t).Round(time.Millisecond).String()
}

func workloadChecks(total int, notReady []WorkloadStatus, took string) []CheckResult {
	summary := CheckResult{Name: "workloads", Kind: "workloads", Passed: len(notReady) == 0, Duration: took,
		Message: fmt.Sprintf("%d/%d workloads available", total-len(notReady), total)}
	out := []CheckResult{summary}
	var msgs []string
	for i, s := range notReady {
		if i >= maxWorkloadChecks {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(notReady)-i))
			break
		}
		msgs = append(msgs, s.Message)
		out = append(out, CheckResult{Name: strings.ToLower(s.Kind) + " " + s.Namespace + "/" + s.Name, Kind: "workloads", Message: s.Message})
	}
	if len(msgs) > 0 {
		out[0].Message += "; " + strings.Join(msgs, "; ")
	}
	return out
}

// workloadStatuses pages through the Deployments, StatefulSets and
// DaemonSets of the namespaces (all but the system ones when empty) and
// returns how many there are and the ones not available.
func (a *Activities) workloadStatuses(ctx context.Context, c *Clients, namespaces []string) (int, []WorkloadStatus, error) {
	all := len(namespaces) == 0
	if all {
		namespaces = []string{metav1.NamespaceAll}
	}
	total := 0
	var notReady []WorkloadStatus
	keep := func(s WorkloadStatus) {
		if all && systemNamespaces[s.Namespace] {
			return
		}
		total++
		if !s.Ready {
			notReady = append(notReady, s)
		}
	}
	for _, ns := range namespaces {
		if err := a.eachWorkload(ctx, c, ns, keep); err != nil {
			return 0, nil, err
		}
	}
	return total, notReady, nil
}

// eachWorkload pages through the Deployments, StatefulSets and DaemonSets
// of namespace ns (metav1.NamespaceAll for every namespace) and hands each
// one's availability to fn.
func (a *Activities) eachWorkload(ctx context.Context, c *Clients, ns string, fn func(WorkloadStatus)) error {
	if err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.Deployment, string, error) {
			l, err := c.Kube.AppsV1().Deployments(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []appsv1.Deployment) error {
			for i := range items {
				fn(DeploymentStatus(&items[i]))
			}
			return nil
		}); err != nil {
		return err
	}
	if err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.StatefulSet, string, error) {
			l, err := c.Kube.AppsV1().StatefulSets(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []appsv1.StatefulSet) error {
			for i := range items {
				fn(StatefulSetStatus(&items[i]))
			}
			return nil
		}); err != nil {
		return err
	}
	return eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.DaemonSet, string, error) {
			l, err := c.Kube.AppsV1().DaemonSets(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []appsv1.DaemonSet) error {
			for i := range items {
				fn(DaemonSetStatus(&items[i]))
			}
			return nil
		})
}

// ---- scratch pod, service and PVC ----

// runHash names a run's objects: a retry of the same run computes the same
// hash, finds its predecessor's objects by label and removes them.
func runHash(runID string) string {
	sum := sha256.Sum256([]byte(runID))
	return hex.EncodeToString(sum[:])[:10]
}

// ScratchName is the name of the scratch objects of one attempt of a run.
func ScratchName(runID string, attempt int32) string {
	return fmt.Sprintf("cutover-smoke-%s-%d", runHash(runID), attempt)
}

func (a *Activities) smokeScratch(ctx context.Context, c *Clients, in SmokeInput) (checks []CheckResult, outage error) {
	ns := a.opts.scratchNS
	hash := runHash(in.RunID)
	name := ScratchName(in.RunID, attempt(ctx))
	log := a.log(ctx)
	labels := map[string]string{LabelManagedBy: managedByCutover, LabelSmokeRun: hash, LabelSmokeObject: name}
	activitylog.Heartbeat(ctx, Progress{Step: "scratch", Detail: ns + "/" + name})

	// Remove what earlier attempts of this run left behind.
	if n := a.deleteScratch(ctx, c, ns, LabelSmokeRun+"="+hash); n > 0 {
		log.Info("Removed scratch objects of an earlier attempt", "cluster", in.Cluster.Name, "namespace", ns, "objects", n)
	}
	defer func() {
		// Clean up even when the smoke context is done.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(30*time.Second, a.opts.apiRetryBudget))
		defer cancel()
		check, err := a.cleanupScratch(cctx, c, ns, name)
		if outage == nil {
			outage = err
		}
		checks = append(checks, check)
	}()

	// step sorts the error of a step's API call: an outage ends the test, a
	// definitive answer is the failed check.
	step := func(check string, err error, format string, args ...any) ([]CheckResult, error) {
		msg, out := sortAPIError(err, format, args...)
		if out != nil {
			return checks, out
		}
		return append(checks, CheckResult{Name: check, Kind: "scratch", Message: msg}), nil
	}
	ref := ns + "/" + name
	core := c.Kube.CoreV1()

	// PVC first: the pod mounts it.
	start := a.opts.Now()
	want := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if sc := in.Smoke.Kubernetes.StorageClass; sc != "" {
		want.Spec.StorageClassName = &sc
	}
	var pvc *corev1.PersistentVolumeClaim
	err := a.retryAPI(ctx, "create pvc "+ref, func(ctx context.Context) error {
		got, err := core.PersistentVolumeClaims(ns).Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// An earlier try of this call was applied before its answer was lost.
			got, err = core.PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		}
		pvc = got
		return err
	})
	if err != nil {
		return step("scratch-pvc", err, "create pvc %s", ref)
	}
	var sc *storagev1.StorageClass
	err = a.retryAPI(ctx, "storage class of pvc "+ref, func(ctx context.Context) error {
		var err error
		sc, err = a.storageClassOf(ctx, c, pvc)
		return err
	})
	if err != nil {
		return step("scratch-pvc", err, "pvc %s", ref)
	}

	wantPod := scratchPod(ns, name, labels, a.opts.scratchImage)
	var pod *corev1.Pod
	err = a.retryAPI(ctx, "create pod "+ref, func(ctx context.Context) error {
		got, err := core.Pods(ns).Create(ctx, wantPod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, err = core.Pods(ns).Get(ctx, name, metav1.GetOptions{})
		}
		pod = got
		return err
	})
	if err != nil {
		return step("scratch-pod", err, "create pod %s", ref)
	}
	wantSvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{LabelSmokeObject: name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	var svc *corev1.Service
	err = a.retryAPI(ctx, "create service "+ref, func(ctx context.Context) error {
		got, err := core.Services(ns).Create(ctx, wantSvc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, err = core.Services(ns).Get(ctx, name, metav1.GetOptions{})
		}
		svc = got
		return err
	})
	if err != nil {
		return step("scratch-service", err, "create service %s", ref)
	}

	// Pod: readable through the API; Running when the option asks for it.
	check, err := a.verifyScratchPod(ctx, c, pod, start)
	if err != nil {
		return checks, err
	}
	checks = append(checks, check)
	// Service: the apiserver allocated a ClusterIP.
	var got *corev1.Service
	err = a.retryAPI(ctx, "read service "+ref, func(ctx context.Context) error {
		var err error
		got, err = core.Services(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	switch {
	case err != nil:
		return step("scratch-service", err, "read service %s", ref)
	case got.UID != svc.UID:
		checks = append(checks, CheckResult{Name: "scratch-service", Kind: "scratch", Message: fmt.Sprintf("service %s was replaced while the test ran", ref)})
	case got.Spec.ClusterIP == "" || got.Spec.ClusterIP == corev1.ClusterIPNone:
		checks = append(checks, CheckResult{Name: "scratch-service", Kind: "scratch", Message: fmt.Sprintf("service %s got no ClusterIP", ref)})
	default:
		checks = append(checks, CheckResult{Name: "scratch-service", Kind: "scratch", Passed: true,
			Message: fmt.Sprintf("service %s has ClusterIP %s", ref, got.Spec.ClusterIP)})
	}
	// PVC: Bound, or Pending on WaitForFirstConsumer when pods are not expected to run.
	check, err = a.verifyScratchPVC(ctx, c, ns, name, sc, start)
	if err != nil {
		return checks, err
	}
	return append(checks, check), nil
}

// scratchPod is a pause container mounting the PVC, restricted enough for
// the "restricted" Pod Security Standard.
func scratchPod(ns, name string, labels map[string]string, image string) *corev1.Pod {
	no, yes := false, true
	uid := int64(65535)
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  &no,
			TerminationGracePeriodSeconds: &zero,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "pause",
				Image: image,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					ReadOnlyRootFilesystem:   &yes,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name},
			}}},
		},
	}
}

// storageClassOf returns the StorageClass the PVC uses (its own, or the
// cluster default when the DefaultStorageClass admission plugin did not set one).
func (a *Activities) storageClassOf(ctx context.Context, c *Clients, pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	if n := pvc.Spec.StorageClassName; n != nil && *n != "" {
		sc, err := c.Kube.StorageV1().StorageClasses().Get(ctx, *n, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("storage class %q: %w", *n, err)
		}
		return sc, nil
	}
	l, err := c.Kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list storage classes: %w", err)
	}
	for i := range l.Items {
		sc := &l.Items[i]
		if sc.Annotations[defaultStorageAnn] == "true" || sc.Annotations[betaStorageAnn] == "true" {
			return sc, nil
		}
	}
	return nil, errors.New("no storage class named and the cluster has no default StorageClass: set smoke.kubernetes.storageClass or mark one default")
}

// verifyScratchPod checks the scratch pod; the error is an outage (see
// sortAPIError), the result the check.
func (a *Activities) verifyScratchPod(ctx context.Context, c *Clients, created *corev1.Pod, start time.Time) (CheckResult, error) {
	ref := created.Namespace + "/" + created.Name
	res := CheckResult{Name: "scratch-pod", Kind: "scratch"}
	deadline := a.opts.Now().Add(a.opts.scratchTimeout)
	for {
		var pod *corev1.Pod
		err := a.retryAPI(ctx, "read pod "+ref, func(ctx context.Context) error {
			var err error
			pod, err = c.Kube.CoreV1().Pods(created.Namespace).Get(ctx, created.Name, metav1.GetOptions{})
			return err
		})
		res.Duration = since(a, start)
		switch {
		case err != nil:
			msg, outage := sortAPIError(err, "read pod %s", ref)
			res.Message = msg
			return res, outage
		case pod.UID != created.UID:
			res.Message = fmt.Sprintf("pod %s was replaced while the test ran", ref)
			return res, nil
		case !a.opts.waitRunning:
			res.Passed = true
			res.Message = fmt.Sprintf("pod %s created and readable (phase %s; not waiting for Running)", ref, phaseOr(pod.Status.Phase))
			return res, nil
		case pod.Status.Phase == corev1.PodRunning && podReady(pod):
			res.Passed = true
			res.Message = fmt.Sprintf("pod %s Running and Ready on node %s", ref, pod.Spec.NodeName)
			return res, nil
		case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
			res.Message = fmt.Sprintf("pod %s ended %s: %s", ref, pod.Status.Phase, podWhy(pod))
			return res, nil
		}
		if !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			res.Message = fmt.Sprintf("pod %s not Running after %s: %s %s", ref, a.opts.scratchTimeout, phaseOr(pod.Status.Phase), podWhy(pod))
			return res, nil
		}
		activitylog.Heartbeat(ctx, Progress{Step: "scratch-pod", Detail: string(pod.Status.Phase)})
		if err := sleep(ctx, a.opts.Poll); err != nil {
			res.Message = fmt.Sprintf("pod %s not Running: %v", ref, err)
			return res, nil
		}
	}
}

func phaseOr(p corev1.PodPhase) string {
	if p == "" {
		return "no phase yet"
	}
	return string(p)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podWhy summarises why a pod is not running: scheduling and container waits.
func podWhy(p *corev1.Pod) string {
	var why []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			why = append(why, "unschedulable: "+c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			why = append(why, fmt.Sprintf("container %s waiting: %s %s", cs.Name, w.Reason, w.Message))
		}
		if t := cs.State.Terminated; t != nil {
			why = append(why, fmt.Sprintf("container %s terminated: %s (exit %d)", cs.Name, t.Reason, t.ExitCode))
		}
	}
	if len(why) == 0 {
		return "(no scheduler or kubelet has reported on it)"
	}
	return strings.Join(why, "; ")
}

// verifyScratchPVC checks the scratch PVC; the error is an outage (see
// sortAPIError), the result the check.
func (a *Activities) verifyScratchPVC(ctx context.Context, c *Clients, ns, name string, sc *storagev1.StorageClass, start time.Time) (CheckResult, error) {
	ref := ns + "/" + name
	res := CheckResult{Name: "scratch-pvc", Kind: "scratch"}
	mode := storagev1.VolumeBindingImmediate
	if sc.VolumeBindingMode != nil {
		mode = *sc.VolumeBindingMode
	}
	deadline := a.opts.Now().Add(a.opts.scratchTimeout)
	for {
		var pvc *corev1.PersistentVolumeClaim
		err := a.retryAPI(ctx, "read pvc "+ref, func(ctx context.Context) error {
			var err error
			pvc, err = c.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		})
		res.Duration = since(a, start)
		if err != nil {
			msg, outage := sortAPIError(err, "read pvc %s", ref)
			res.Message = msg
			return res, outage
		}
		switch pvc.Status.Phase {
		case corev1.ClaimBound:
			res.Passed = true
			res.Message = fmt.Sprintf("pvc %s Bound to volume %s (storage class %s)", ref, pvc.Spec.VolumeName, sc.Name)
			return res, nil
		case corev1.ClaimLost:
			res.Message = fmt.Sprintf("pvc %s Lost its volume %s (storage class %s)", ref, pvc.Spec.VolumeName, sc.Name)
			return res, nil
		}
		if mode == storagev1.VolumeBindingWaitForFirstConsumer && !a.opts.waitRunning {
			res.Passed = true
			res.Message = fmt.Sprintf("pvc %s Pending as expected: storage class %s binds on first consumer (WaitForFirstConsumer) and the pod is not required to run", ref, sc.Name)
			return res, nil
		}
		if !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			res.Message = fmt.Sprintf("pvc %s still Pending after %s (storage class %s, provisioner %s, volumeBindingMode %s): no volume was provisioned; check the CSI driver's controller", ref, a.opts.scratchTimeout, sc.Name, sc.Provisioner, mode)
			return res, nil
		}
		activitylog.Heartbeat(ctx, Progress{Step: "scratch-pvc", Detail: string(pvc.Status.Phase)})
		if err := sleep(ctx, a.opts.Poll); err != nil {
			res.Message = fmt.Sprintf("pvc %s not Bound: %v", ref, err)
			return res, nil
		}
	}
}

// deleteScratch deletes the scratch pods, services and PVCs matching the
// label selector and returns how many deletions it started.
func (a *Activities) deleteScratch(ctx context.Context, c *Clients, ns, selector string) int {
	n := 0
	zero := int64(0)
	opts := metav1.ListOptions{LabelSelector: selector}
	del := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	if l, err := c.Kube.CoreV1().Pods(ns).List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if o.DeletionTimestamp == nil && c.Kube.CoreV1().Pods(ns).Delete(ctx, o.Name, del) == nil {
				n++
			}
		}
	}
	if l, err := c.Kube.CoreV1().Services(ns).List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if c.Kube.CoreV1().Services(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}) == nil {
				n++
			}
		}
	}
	if l, err := c.Kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if o.DeletionTimestamp == nil && c.Kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}) == nil {
				n++
			}
		}
	}
	return n
}

// cleanupScratch deletes this attempt's objects and checks they are gone or
// going (a PVC keeps its kubernetes.io/pvc-protection finalizer until the
// controller sees the pod gone). The error is an outage (see sortAPIError):
// the objects could not be deleted because the apiserver failed
// transiently; the retry of the smoke test removes them by label.
func (a *Activities) cleanupScratch(ctx context.Context, c *Clients, ns, name string) (CheckResult, error) {
	start := a.opts.Now()
	res := CheckResult{Name: "scratch-cleanup", Kind: "scratch"}
	zero := int64(0)
	var problems, notes []string
	type obj struct {
		kind string
		del  func() error
		get  func() (*metav1.ObjectMeta, error)
	}
	core := c.Kube.CoreV1()
	objs := []obj{
		{"pod", func() error { return core.Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}) },
			func() (*metav1.ObjectMeta, error) {
				o, err := core.Pods(ns).Get(ctx, name, metav1.GetOptions{})
				return metaOf(o, err)
			}},
		{"service", func() error { return core.Services(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
			func() (*metav1.ObjectMeta, error) {
				o, err := core.Services(ns).Get(ctx, name, metav1.GetOptions{})
				return metaOf(o, err)
			}},
		{"pvc", func() error { return core.PersistentVolumeClaims(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
			func() (*metav1.ObjectMeta, error) {
				o, err := core.PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
				return metaOf(o, err)
			}},
	}
	for _, o := range objs {
		err := a.retryAPI(ctx, "delete "+o.kind+" "+ns+"/"+name, func(context.Context) error { return o.del() })
		if err != nil && !apierrors.IsNotFound(err) {
			msg, outage := sortAPIError(err, "delete %s %s/%s", o.kind, ns, name)
			if outage != nil {
				res.Duration = since(a, start)
				res.Message = fmt.Sprintf("scratch objects %s/%s not removed: the apiserver failed: %v", ns, name, err)
				return res, outage
			}
			problems = append(problems, msg)
		}
	}
	// Give the deletions a moment, then report what is still there.
	deadline := a.opts.Now().Add(10 * time.Second)
	for {
		notes = notes[:0]
		pending := false
		for _, o := range objs {
			m, err := o.get()
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				notes = append(notes, fmt.Sprintf("%s: %v", o.kind, err))
			case m.DeletionTimestamp != nil:
				// Going: a finalizer's controller finishes it (no need to wait).
				notes = append(notes, fmt.Sprintf("%s deletion pending on finalizers %v", o.kind, m.Finalizers))
			default:
				pending = true
				notes = append(notes, o.kind+" still present")
			}
		}
		if !pending || !a.opts.Now().Add(time.Second).Before(deadline) {
			break
		}
		if sleep(ctx, time.Second) != nil {
			break
		}
	}
	res.Duration = since(a, start)
	for _, n := range notes {
		if strings.HasSuffix(n, "still present") {
			problems = append(problems, n)
		}
	}
	if len(problems) > 0 {
		res.Message = fmt.Sprintf("scratch objects %s/%s not removed: %s", ns, name, strings.Join(append(problems, notes...), "; "))
		return res, nil
	}
	res.Passed = true
	res.Message = fmt.Sprintf("scratch pod, service and pvc %s/%s deleted", ns, name)
	if len(notes) > 0 {
		res.Message += " (" + strings.Join(notes, "; ") + ")"
	}
	return res, nil
}

func metaOf[T interface{ GetObjectMeta() metav1.Object }](o T, err error) (*metav1.ObjectMeta, error) {
	if err != nil {
		return nil, err
	}
	m := o.GetObjectMeta()
	return &metav1.ObjectMeta{Name: m.GetName(), DeletionTimestamp: m.GetDeletionTimestamp(), Finalizers: m.GetFinalizers()}, nil
}
