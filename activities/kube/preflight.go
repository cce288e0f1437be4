package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/activities/kube/deprecations"
	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/breaking"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Check IDs of preflight findings (stable: policies ignore them by name).
const (
	CheckNodeNotReady       = "node-not-ready"
	CheckNodeSkew           = "node-version-skew"
	CheckNodeSkewTarget     = "node-version-skew-target"
	CheckPodCrashLoop       = "pod-crashloop"
	CheckPodImagePull       = "pod-image-pull"
	CheckPodPending         = "pod-pending"
	CheckPodFailed          = "pod-failed"
	CheckWorkloadWithoutPDB = "workload-without-pdb"
	CheckPDBBlocksEviction  = "pdb-blocks-eviction"
	CheckRemovedAPI         = "removed-api"
	CheckDeprecatedAPIUse   = "deprecated-api-requested"
	// CheckKubeProxySkew: blue's kube-proxy is newer than its control
	// plane, or further behind it (now, or after the first in-place hop)
	// than the version skew policy allows (eksup's K8S011).
	CheckKubeProxySkew = "kube-proxy-skew"
	// CheckDeprecatedAPI: an object declared with an API the target still
	// serves but deprecates (a warning naming the removal release).
	CheckDeprecatedAPI = "deprecated-api"
	// CheckRemovedAddonAPI: an object declared with a version an add-on's
	// CRDs no longer serve (cert-manager, the CSI snapshotter, Istio),
	// whatever the Kubernetes target: green runs the add-on version
	// restored into it.
	CheckRemovedAddonAPI = "removed-addon-api"
	// CheckHelmRevisionAPI: a removed API in a Helm revision that is not
	// the deployed one (superseded, failed, pending): not live, but a
	// rollback to it fails at the target.
	CheckHelmRevisionAPI = "removed-api-helm-revision"
	// CheckHelmSQLNotScanned: releases kept by Helm's SQL driver are
	// outside the cluster; preflight reads Secrets and ConfigMaps only.
	CheckHelmSQLNotScanned = "helm-sql-not-scanned"
	CheckScanIncomplete    = "scan-incomplete"
	CheckVersionUnknown    = "version-unknown"
	// CheckSelfManagedNode: a node in no managed node group, Fargate
	// profile or Karpenter pool; cutover builds green's nodes only from
	// managed node groups.
	CheckSelfManagedNode = "self-managed-node"
	// CheckAWSAuthIdentity: an identity mapped in the aws-auth ConfigMap;
	// cutover carries it to green's aws-auth, which green ignores when its
	// authenticationMode is API (the mapping must then be an access entry).
	CheckAWSAuthIdentity = "aws-auth-identity"
)

// Sources of removed-API findings.
const (
	SourceMetric      = "apiserver-metric"
	SourceLastApplied = "last-applied-annotation"
	SourceHelm        = "helm-release"
	SourceArgoCD      = "argocd"
)

// LastAppliedAnnotation is where kubectl apply keeps the applied manifest.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// systemNamespaces are skipped by the workload checks (not by the API scans).
var systemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}

// preflight is the state of one PreflightBlue run.
type preflight struct {
	a       *Activities
	c       *Clients
	in      PreflightInput
	log     activitylog.Logger
	table   *deprecations.Table
	found   *collector
	scanned int

	cpVersion   string
	cpMinor     int // 0 when unknown
	targetMinor int

	// step is the index of the running step; cp what the scan has
	// finished so far, sent with every heartbeat (never changed in place:
	// the SDK may send a throttled heartbeat later).
	step int
	cp   *PreflightCheckpoint
	// cni is blue's aws-node image, nil without one.
	cni *CNIImage
}

// PreflightCheckpoint is where a retried PreflightBlue resumes instead of
// scanning blue again from the start: the steps done, the objects scanned
// and the findings so far (bounded as the result is: at most the cap of
// detailed findings per check and a summary listing the rest), and, within
// the last-applied step, the last resource fully scanned.
type PreflightCheckpoint struct {
	Done     int               `json:"done"`
	Scanned  int               `json:"scanned"`
	Findings []finding.Finding `json:"findings,omitempty"`
	// Resource is the last resource (group/version, Resource=name) of the
	// last-applied step fully scanned when Done is that step's index.
	Resource string `json:"resource,omitempty"`
	// CNI is what the aws-node step read.
	CNI *CNIImage `json:"cni,omitempty"`
}

// beat heartbeats pr with the scan's checkpoint.
func (p *preflight) beat(ctx context.Context, pr Progress) {
	pr.Checkpoint = p.cp
	if p.a.opts.onBeat != nil {
		p.a.opts.onBeat(pr)
	}
	activitylog.Heartbeat(ctx, pr)
}

// checkpoint records that everything before step done (and, in the
// last-applied step, up to resource) is scanned.
func (p *preflight) checkpoint(done int, resource string) {
	p.cp = &PreflightCheckpoint{Done: done, Scanned: p.scanned, Findings: p.found.findings(), Resource: resource, CNI: p.cni}
}

// resume reads the checkpoint of the attempt before this one, if any, and
// restores its findings and count.
func (p *preflight) resume(ctx context.Context) {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return
	}
	var last Progress
	if err := activity.GetHeartbeatDetails(ctx, &last); err != nil || last.Checkpoint == nil || last.Checkpoint.Done == 0 && last.Checkpoint.Resource == "" {
		return
	}
	cp := *last.Checkpoint
	p.found.restore(cp.Findings)
	p.scanned, p.cni = cp.Scanned, cp.CNI
	p.cp = &cp
	p.log.Info("Preflight resumes from the previous attempt's checkpoint", "cluster", p.in.Cluster.Name, "stepsDone", cp.Done, "objects", cp.Scanned, "findings", len(cp.Findings), "resource", cp.Resource)
}

// PreflightBlue checks that blue is safe to move to the target version:
// nodes and their kubelet skew, unhealthy pods, disruption budgets, and the
// removed APIs of the target found in the apiserver's deprecated-API metric,
// last-applied annotations, Helm releases and Argo CD applications. It
// returns every finding; the workflow applies the spec's policy. Errors are
// only for a cluster it cannot read.
func (a *Activities) PreflightBlue(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	target, err := deprecations.Minor(in.TargetVersion)
	if err != nil {
		return PreflightResult{}, failures.New(failures.Validation, "targetVersion: %v", err)
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return PreflightResult{}, err
	}
	p := &preflight{
		a: a, c: c, in: in, log: a.log(ctx), table: deprecations.Load(),
		found:       newCollector(in.Cluster.Name, a.opts.maxFindings),
		targetMinor: target,
	}
	start := a.opts.Now()
	p.log.Info("Preflight started", "cluster", in.Cluster.Name, "region", in.Cluster.Region, "targetVersion", in.TargetVersion)

	p.controlPlaneVersion(ctx)
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"nodes", p.nodes},
		{"pods", p.pods},
		{"disruption-budgets", p.disruptionBudgets},
		{"deprecated-api-metric", p.deprecatedAPIMetric},
		{"last-applied", p.lastApplied},
		{"helm-releases", p.helmReleases},
		{"argocd-applications", p.argoApplications},
		{"aws-auth", p.awsAuth},
		{"kube-proxy", p.kubeProxySkew},
		{"aws-node", p.awsNode},
	}
	p.resume(ctx)
	for i, s := range steps {
		if p.cp != nil && i < p.cp.Done {
			p.log.Debug("Preflight step done by an earlier attempt", "cluster", in.Cluster.Name, "step", s.name)
			continue
		}
		p.step = i
		p.beat(ctx, Progress{Step: s.name, Objects: p.scanned})
		before := p.scanned
		if err := s.run(ctx); err != nil {
			return PreflightResult{}, kubeError(err, "preflight %s on cluster %s", s.name, in.Cluster)
		}
		p.checkpoint(i+1, "")
		p.beat(ctx, Progress{Step: s.name, Objects: p.scanned})
		p.log.Debug("Preflight step done", "cluster", in.Cluster.Name, "step", s.name, "objects", p.scanned-before)
	}
	out := PreflightResult{Findings: p.found.findings(), ObjectsScanned: p.scanned, CNI: p.cni}
	p.log.Info("Preflight finished", "cluster", in.Cluster.Name, "findings", len(out.Findings), "objects", out.ObjectsScanned, "took", a.opts.Now().Sub(start).Round(time.Millisecond).String())
	return out, nil
}

// kubeError maps apiserver errors to the typed failures (failures.FromKube:
// transient faults become retryable Throttled or Transient errors).
func kubeError(err error, format string, args ...any) error {
	return failures.FromKube(err, format, args...)
}

func (p *preflight) controlPlaneVersion(ctx context.Context) {
	if v, err := p.c.Kube.Discovery().ServerVersion(); err == nil {
		if m, err := deprecations.Minor(v.GitVersion); err == nil {
			p.cpVersion, p.cpMinor = v.GitVersion, m
		}
	}
	if p.cpMinor == 0 {
		if m, err := deprecations.Minor(p.in.CurrentVersion); err == nil {
			p.cpVersion, p.cpMinor = p.in.CurrentVersion, m
		}
	}
	if p.cpMinor == 0 {
		p.found.add(finding.Finding{Check: CheckVersionUnknown, Severity: finding.Warning,
			Message: "Could not read the control plane version and currentVersion is not set: kubelet skew against the control plane was not checked",
			Fix:     "Set currentVersion in the preflight input or grant access to /version."})
	}
}

// maxKubeletSkew is how many minors a kubelet may trail the apiserver: 3
// since Kubernetes 1.28, 2 before.
func maxKubeletSkew(apiserverMinor int) int {
	if apiserverMinor >= 28 {
		return 3
	}
	return 2
}

func (p *preflight) nodes(ctx context.Context) error {
	list := func(ctx context.Context, o metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := p.c.Kube.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}
	return eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{}, list, func(nodes []corev1.Node) error {
		for i := range nodes {
			p.scanned++
			n := &nodes[i]
			obj := "v1 Node " + n.Name
			if ok, why := nodeReady(n); !ok {
				p.found.add(finding.Finding{Check: CheckNodeNotReady, Object: obj, Severity: finding.Warning,
					Message: fmt.Sprintf("node %s is not Ready: %s", n.Name, why),
					Fix:     "Repair or replace the node; its pods may not be running and cannot be backed up or restored reliably."})
			}
			for _, f := range kubeletSkew(n, p.cpVersion, p.cpMinor, p.in.TargetVersion, p.targetMinor) {
				p.found.add(f)
			}
			if !managedNode(n) {
				p.found.add(finding.Finding{Check: CheckSelfManagedNode, Object: obj, Severity: finding.Warning,
					Message: fmt.Sprintf("node %s is in no EKS managed node group, Fargate profile or Karpenter pool: cutover does not copy self-managed nodes", n.Name),
					Fix:     "Create green's equivalent (Auto Scaling group and launch template, or a managed node group) before the cutover gate, or move these workloads to a managed node group on blue first."})
			}
		}
		p.beat(ctx, Progress{Step: "nodes", Objects: p.scanned})
		return nil
	})
}

// managedNode reports a node EKS or Karpenter manages: green gets its
// equivalent from the copied node groups or Karpenter's pools.
func managedNode(n *corev1.Node) bool {
	l := n.Labels
	return l["eks.amazonaws.com/nodegroup"] != "" || l["eks.amazonaws.com/compute-type"] != "" ||
		l["karpenter.sh/nodepool"] != "" || l["karpenter.sh/provisioner-name"] != ""
}

// awsAuth reports the identities blue grants access through the aws-auth
// ConfigMap (node roles aside: EKS maps managed node groups itself). They
// are carried to green's aws-auth (CopyAWSAuth), which only grants access
// while green's authenticationMode reads the ConfigMap.
func (p *preflight) awsAuth(ctx context.Context) error {
	cm, err := p.c.Kube.CoreV1().ConfigMaps(AWSAuthNamespace).Get(ctx, AWSAuthName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	p.scanned++
	for _, key := range []string{awsAuthRoles, awsAuthUsers} {
		entries, err := parseAWSAuthMappings(key, cm.Data[key])
		if err != nil {
			p.found.add(finding.Finding{Check: CheckAWSAuthIdentity, Object: "v1 ConfigMap kube-system/aws-auth", Severity: finding.Error,
				Message: fmt.Sprintf("%v: cutover cannot carry it to green's aws-auth", err), Fix: "Fix the ConfigMap; EKS ignores entries it cannot read, and copying it to green would fail."})
			continue
		}
		for _, e := range entries {
			if e.Node() {
				continue
			}
			p.found.add(finding.Finding{Check: CheckAWSAuthIdentity, Object: "v1 ConfigMap kube-system/aws-auth " + e.ARN, Severity: finding.Info,
				Message: fmt.Sprintf("%s is mapped in aws-auth %s as %q (groups %s): cutover carries it to green's aws-auth; if green's authenticationMode is API, green ignores aws-auth and the mapping must become an EKS access entry", e.ARN, key, e.Username, strings.Join(e.Groups, ",")),
				Fix:     "Nothing to do while green's authenticationMode is API_AND_CONFIG_MAP or CONFIG_MAP. With API, give the identity an EKS access entry on blue (it is then copied to green)."})
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) (bool, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return true, ""
			}
			why := string(c.Status)
			if c.Reason != "" {
				why += " (" + c.Reason + ")"
			}
			if c.Message != "" {
				why += ": " + c.Message
			}
			return false, "Ready=" + why
		}
	}
	return false, "no Ready condition reported"
}

// kubeletSkew reports a kubelet out of the supported skew against the
// control plane today (error: the cluster is unsupported now) and against
// the target version (warning: green gets new nodes, but these nodes could
// not follow an in-place upgrade).
func kubeletSkew(n *corev1.Node, cpVersion string, cpMinor int, target string, targetMinor int) []finding.Finding {
	kv := n.Status.NodeInfo.KubeletVersion
	km, err := deprecations.Minor(kv)
	obj := "v1 Node " + n.Name
	if err != nil {
		return []finding.Finding{{Check: CheckNodeSkew, Object: obj, Severity: finding.Warning,
			Message: fmt.Sprintf("node %s reports kubelet version %q, which is not a 1.x version", n.Name, kv)}}
	}
	var out []finding.Finding
	if cpMinor > 0 {
		switch max := maxKubeletSkew(cpMinor); {
		case km > cpMinor:
			out = append(out, finding.Finding{Check: CheckNodeSkew, Object: obj, Severity: finding.Error,
				Message: fmt.Sprintf("node %s runs kubelet %s, newer than the control plane %s; kubelets must not be newer than the apiserver", n.Name, kv, cpVersion),
				Fix:     "Replace the node with one at or below the control plane version."})
		case cpMinor-km > max:
			out = append(out, finding.Finding{Check: CheckNodeSkew, Object: obj, Severity: finding.Error,
				Message: fmt.Sprintf("node %s runs kubelet %s, %d minor versions behind the control plane %s (at most %d are supported)", n.Name, kv, cpMinor-km, cpVersion, max),
				Fix:     "Upgrade or replace the node group before migrating; the cluster is outside the supported version skew."})
		}
	}
	if max := maxKubeletSkew(targetMinor); targetMinor-km > max {
		out = append(out, finding.Finding{Check: CheckNodeSkewTarget, Object: obj, Severity: finding.Warning,
			Message: fmt.Sprintf("node %s runs kubelet %s, %d minor versions behind the target %s (at most %d are supported)", n.Name, kv, targetMinor-km, target, max),
			Fix:     "Green gets new nodes at the target version; make sure no node group, AMI or launch template pinned to this version is copied to green."})
	}
	return out
}

func (p *preflight) pods(ctx context.Context) error {
	now := p.a.opts.Now()
	list := func(ctx context.Context, o metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := p.c.Kube.CoreV1().Pods("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}
	return eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{}, list, func(pods []corev1.Pod) error {
		for i := range pods {
			p.scanned++
			for _, f := range podFindings(&pods[i], now, p.a.opts.pendingAfter) {
				p.found.add(f)
			}
		}
		p.beat(ctx, Progress{Step: "pods", Objects: p.scanned})
		return nil
	})
}

// podFindings reports a crash-looping, image-pull-failing, long-Pending or Failed pod.
func podFindings(pod *corev1.Pod, now time.Time, pendingAfter time.Duration) []finding.Finding {
	obj := "v1 Pod " + pod.Namespace + "/" + pod.Name
	var out []finding.Finding
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "CrashLoopBackOff":
			out = append(out, finding.Finding{Check: CheckPodCrashLoop, Object: obj, Severity: finding.Warning,
				Message: fmt.Sprintf("pod %s/%s: container %s is in CrashLoopBackOff (%d restarts)", pod.Namespace, pod.Name, cs.Name, cs.RestartCount),
				Fix:     fmt.Sprintf("kubectl -n %s logs %s -c %s --previous; fix it on blue first, or it will crash-loop on green too.", pod.Namespace, pod.Name, cs.Name)})
		case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
			out = append(out, finding.Finding{Check: CheckPodImagePull, Object: obj, Severity: finding.Warning,
				Message: fmt.Sprintf("pod %s/%s: container %s cannot pull image %s (%s)", pod.Namespace, pod.Name, cs.Name, cs.Image, w.Reason),
				Fix:     "Green's nodes will pull the same images: fix the image reference or the registry credentials."})
		}
	}
	switch pod.Status.Phase {
	case corev1.PodPending:
		if age := now.Sub(pod.CreationTimestamp.Time); !pod.CreationTimestamp.IsZero() && age > pendingAfter {
			why := ""
			for _, c := range pod.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue && c.Message != "" {
					why = ": " + c.Message
				}
			}
			out = append(out, finding.Finding{Check: CheckPodPending, Object: obj, Severity: finding.Warning,
				Message: fmt.Sprintf("pod %s/%s has been Pending for %s%s", pod.Namespace, pod.Name, age.Round(time.Minute), why),
				Fix:     "Check its events (kubectl describe pod); green must have the capacity, node selectors and storage it asks for."})
		}
	case corev1.PodFailed:
		sev := finding.Warning
		for _, o := range pod.OwnerReferences {
			if o.Kind == "Job" {
				sev = finding.Info // failed Job attempts are history, not a broken service
			}
		}
		out = append(out, finding.Finding{Check: CheckPodFailed, Object: obj, Severity: sev,
			Message: fmt.Sprintf("pod %s/%s Failed: %s %s", pod.Namespace, pod.Name, pod.Status.Reason, pod.Status.Message),
			Fix:     "Find out why it failed (kubectl describe pod) and delete it once understood."})
	}
	return out
}

// workloadRef is what the PDB check keeps of a Deployment or StatefulSet.
type workloadRef struct {
	kind, namespace, name string
	labels                labels.Set
	replicas              int
	// template and minReadySeconds are what the practices read.
	template        *corev1.PodTemplateSpec
	minReadySeconds int32
}

func (p *preflight) disruptionBudgets(ctx context.Context) error {
	pdbs := map[string][]policyv1.PodDisruptionBudget{}
	err := eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]policyv1.PodDisruptionBudget, string, error) {
			l, err := p.c.Kube.PolicyV1().PodDisruptionBudgets("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []policyv1.PodDisruptionBudget) error {
			for _, pdb := range items {
				p.scanned++
				pdb.ManagedFields = nil
				pdbs[pdb.Namespace] = append(pdbs[pdb.Namespace], pdb)
			}
			return nil
		})
	if err != nil {
		return err
	}
	var workloads []workloadRef
	collect := func(items []workloadRef) error {
		p.scanned += len(items)
		workloads = append(workloads, items...)
		return nil
	}
	err = eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]workloadRef, string, error) {
			l, err := p.c.Kube.AppsV1().Deployments("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			out := make([]workloadRef, 0, len(l.Items))
			for _, d := range l.Items {
				out = append(out, workloadRef{kind: "Deployment", namespace: d.Namespace, name: d.Name, labels: d.Spec.Template.Labels,
					replicas: int(ptrOr(d.Spec.Replicas, 1)), template: templateOf(d.Spec.Template), minReadySeconds: d.Spec.MinReadySeconds})
			}
			return out, l.Continue, nil
		}, collect)
	if err != nil {
		return err
	}
	err = eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]workloadRef, string, error) {
			l, err := p.c.Kube.AppsV1().StatefulSets("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			out := make([]workloadRef, 0, len(l.Items))
			for _, s := range l.Items {
				out = append(out, workloadRef{kind: "StatefulSet", namespace: s.Namespace, name: s.Name, labels: s.Spec.Template.Labels,
					replicas: int(ptrOr(s.Spec.Replicas, 1)), template: templateOf(s.Spec.Template), minReadySeconds: s.Spec.MinReadySeconds})
			}
			return out, l.Continue, nil
		}, collect)
	if err != nil {
		return err
	}
	// DaemonSets count for the practices that apply to every kind (a
	// node socket), not for budgets.
	var daemons []workloadRef
	err = eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]workloadRef, string, error) {
			l, err := p.c.Kube.AppsV1().DaemonSets("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			out := make([]workloadRef, 0, len(l.Items))
			for _, d := range l.Items {
				out = append(out, workloadRef{kind: "DaemonSet", namespace: d.Namespace, name: d.Name, labels: d.Spec.Template.Labels, template: templateOf(d.Spec.Template)})
			}
			return out, l.Continue, nil
		}, func(items []workloadRef) error {
			p.scanned += len(items)
			daemons = append(daemons, items...)
			return nil
		})
	if err != nil {
		return err
	}
	p.beat(ctx, Progress{Step: "disruption-budgets", Objects: p.scanned})
	for _, f := range pdbFindings(pdbs, workloads) {
		p.found.add(f)
	}
	for _, f := range practiceFindings(append(workloads, daemons...)) {
		p.found.add(f)
	}
	// The version-specific breaking changes (activities/kube/breaking's
	// table): images every workload pulls, kube-system's too, and the
	// hop's notices.
	var containers []breaking.Container
	for _, w := range append(workloads, daemons...) {
		if w.template == nil {
			continue
		}
		obj := fmt.Sprintf("apps/v1 %s %s/%s", w.kind, w.namespace, w.name)
		for _, c := range append(append([]corev1.Container(nil), w.template.Spec.InitContainers...), w.template.Spec.Containers...) {
			containers = append(containers, breaking.Container{Object: obj, Container: c.Name, Image: c.Image})
		}
	}
	for _, f := range breaking.Findings(breaking.Table(), p.cpMinor, p.targetMinor, containers) {
		p.found.add(f)
	}
	return nil
}

// pdbFindings reports workloads no PDB covers and PDBs that can never allow
// an eviction for the pods they cover.
func pdbFindings(pdbs map[string][]policyv1.PodDisruptionBudget, workloads []workloadRef) []finding.Finding {
	var out []finding.Finding
	expected := map[string]int{}    // ns/name of pdb -> replicas it covers
	covers := map[string][]string{} // ns/name of pdb -> workloads it covers
	for _, w := range workloads {
		covered := false
		for _, pdb := range pdbs[w.namespace] {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || !sel.Matches(w.labels) {
				continue
			}
			covered = true
			key := pdb.Namespace + "/" + pdb.Name
			expected[key] += w.replicas
			covers[key] = append(covers[key], strings.ToLower(w.kind)+" "+w.name)
		}
		if !covered && w.replicas > 0 && !systemNamespaces[w.namespace] {
			out = append(out, finding.Finding{Check: CheckWorkloadWithoutPDB, Severity: finding.Warning,
				Object:  fmt.Sprintf("apps/v1 %s %s/%s", w.kind, w.namespace, w.name),
				Message: fmt.Sprintf("%s %s/%s (%d replicas) has no PodDisruptionBudget: a node drain may take all its pods at once", strings.ToLower(w.kind), w.namespace, w.name, w.replicas),
				Fix:     "Add a policy/v1 PodDisruptionBudget with maxUnavailable: 1 (or a percentage) selecting its pods."})
		}
	}
	var nss []string
	for ns := range pdbs {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		for i := range pdbs[ns] {
			pdb := &pdbs[ns][i]
			key := pdb.Namespace + "/" + pdb.Name
			n, known := expected[key]
			if !known {
				n = -1
			}
			if why := pdbBlocksEviction(pdb, n); why != "" {
				msg := fmt.Sprintf("PodDisruptionBudget %s can never allow an eviction: %s", key, why)
				if len(covers[key]) > 0 {
					msg += " (covers " + strings.Join(covers[key], ", ") + ")"
				}
				out = append(out, finding.Finding{Check: CheckPDBBlocksEviction, Severity: finding.Error,
					Object:  "policy/v1 PodDisruptionBudget " + key,
					Message: msg,
					Fix:     "Set maxUnavailable to at least 1 (or minAvailable below the replica count), or scale the workload up; otherwise draining or deleting blue's nodes hangs."})
			}
		}
	}
	return out
}

// pdbBlocksEviction says why pdb never allows an eviction given the number
// of pods it covers (-1 when unknown), or "" when it can.
func pdbBlocksEviction(pdb *policyv1.PodDisruptionBudget, expected int) string {
	if mu := pdb.Spec.MaxUnavailable; mu != nil {
		if mu.Type == intstr.Int && mu.IntVal <= 0 {
			return fmt.Sprintf("maxUnavailable is %d", mu.IntVal)
		}
		if mu.Type == intstr.String {
			v, err := intstr.GetScaledValueFromIntOrPercent(mu, 100, true)
			if err == nil && v <= 0 {
				return fmt.Sprintf("maxUnavailable is %s", mu.StrVal)
			}
		}
		return ""
	}
	if ma := pdb.Spec.MinAvailable; ma != nil {
		if ma.Type == intstr.String && strings.TrimSpace(ma.StrVal) == "100%" {
			return "minAvailable is 100%"
		}
		if expected > 0 {
			v, err := intstr.GetScaledValueFromIntOrPercent(ma, expected, true)
			if err == nil && v >= expected {
				return fmt.Sprintf("minAvailable %s requires all %d pods it covers", ma.String(), expected)
			}
		}
	}
	return ""
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// KubeProxyDaemonSet is where EKS (and kubeadm) run kube-proxy.
const KubeProxyDaemonSet = "kube-proxy"

// kubeProxySkew checks blue's kube-proxy (the kube-system/kube-proxy
// DaemonSet's image tag) against the version skew policy: never newer than
// the apiserver, at most maxKubeletSkew minors older. In place, the first
// hop's control plane comes before kube-proxy's update, so the skew must
// hold at that hop too. A cluster without kube-proxy (Cilium's kube-proxy
// replacement) has nothing to check.
func (p *preflight) kubeProxySkew(ctx context.Context) error {
	ds, err := p.c.Kube.AppsV1().DaemonSets(metav1.NamespaceSystem).Get(ctx, KubeProxyDaemonSet, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	p.scanned++
	for _, f := range kubeProxyFindings(ds, p.cpMinor, p.in.TargetVersion, p.targetMinor, p.in.InPlace) {
		p.found.add(f)
	}
	return nil
}

// AWSNodeDaemonSet is where the Amazon VPC CNI runs, as an EKS add-on or
// self-managed.
const AWSNodeDaemonSet = "aws-node"

// awsNode reads the VPC CNI's image (kube-system/aws-node, container
// aws-node) so the workflow can compare a self-managed CNI with the
// versions EKS publishes for the target. No aws-node (another CNI) is
// nothing to compare.
func (p *preflight) awsNode(ctx context.Context) error {
	ds, err := p.c.Kube.AppsV1().DaemonSets(metav1.NamespaceSystem).Get(ctx, AWSNodeDaemonSet, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	p.scanned++
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == AWSNodeDaemonSet || p.cni == nil {
			p.cni = &CNIImage{Image: c.Image, Version: imageTag(c.Image)}
		}
	}
	return nil
}

// imageTag is an image reference's tag ("" without one or with a digest only).
func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") && !strings.HasSuffix(image[:i], "@sha256") {
		return image[i+1:]
	}
	return ""
}

// kubeProxyFindings is kubeProxySkew's decision, pure. cpMinor 0 means
// the control plane's version is unknown (a finding already says so).
func kubeProxyFindings(ds *appsv1.DaemonSet, cpMinor int, target string, targetMinor int, inPlace bool) []finding.Finding {
	obj := "apps/v1 DaemonSet kube-system/" + ds.Name
	var image string
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == "kube-proxy" || image == "" {
			image = c.Image
		}
	}
	tag := image
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		tag = image[i+1:]
	}
	km, err := deprecations.Minor(tag)
	if err != nil {
		return []finding.Finding{{Check: CheckKubeProxySkew, Object: obj, Severity: finding.Warning,
			Message: fmt.Sprintf("kube-proxy's image %q carries no Kubernetes version in its tag: its skew against the control plane was not checked", image),
			Fix:     "Run the EKS kube-proxy add-on (or an image tagged v1.<minor>...) so its version is known."}}
	}
	if cpMinor == 0 {
		return nil
	}
	kv := fmt.Sprintf("1.%d", km)
	switch {
	case km > cpMinor:
		return []finding.Finding{{Check: CheckKubeProxySkew, Object: obj, Severity: finding.Error,
			Message: fmt.Sprintf("kube-proxy %s (image %s) is newer than the control plane 1.%d: the skew policy never allows it", kv, image, cpMinor),
			Fix:     fmt.Sprintf("Set kube-proxy to the control plane's version (aws eks update-addon --addon-name kube-proxy with a 1.%d build, or the DaemonSet's image).", cpMinor)}}
	case cpMinor-km > maxKubeletSkew(cpMinor):
		return []finding.Finding{{Check: CheckKubeProxySkew, Object: obj, Severity: finding.Error,
			Message: fmt.Sprintf("kube-proxy %s is %d minor versions behind the control plane 1.%d (at most %d are supported)", kv, cpMinor-km, cpMinor, maxKubeletSkew(cpMinor)),
			Fix:     fmt.Sprintf("Update kube-proxy to a 1.%d build before the migration.", cpMinor)}}
	}
	if inPlace {
		hop := cpMinor + 1
		if hop <= targetMinor && hop-km > maxKubeletSkew(hop) {
			return []finding.Finding{{Check: CheckKubeProxySkew, Object: obj, Severity: finding.Error,
				Message: fmt.Sprintf("kube-proxy %s will be %d minor versions behind the control plane after the first hop to 1.%d (at most %d are supported): the hop updates add-ons only after the control plane", kv, hop-km, hop, maxKubeletSkew(hop)),
				Fix:     fmt.Sprintf("Update kube-proxy to a 1.%d build before the in-place upgrade.", cpMinor)}}
		}
		return nil
	}
	if km < cpMinor {
		return []finding.Finding{{Check: CheckKubeProxySkew, Object: obj, Severity: finding.Info,
			Message: fmt.Sprintf("kube-proxy %s trails blue's control plane 1.%d; green runs its own kube-proxy for %s, so blue's is left as it is", kv, cpMinor, target)}}
	}
	return nil
}
