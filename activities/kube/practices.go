package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cutover-dev/cutover/internal/finding"
)

// Workload availability practices (eksup's K8S002-K8S008): what makes a
// node drain, an in-place node group update or a move to green take a
// workload down. Kept as data: each practice is a check ID, the kinds it
// applies to, a test of the workload, and the message and fix.
const (
	CheckWorkloadSingleReplica  = "workload-single-replica"
	CheckWorkloadNoReadiness    = "workload-no-readiness-probe"
	CheckWorkloadNoSpread       = "workload-no-topology-spread"
	CheckWorkloadMinReady       = "workload-min-ready-seconds"
	CheckStatefulSetZeroGrace   = "statefulset-zero-grace-period"
	CheckWorkloadDockerSocket   = "workload-docker-socket"
	dockerSocketRemovedSinceVer = "1.24" // dockershim's removal
)

// practice is one rule.
type practice struct {
	check    string
	severity finding.Severity
	// kinds it applies to ("" for every kind).
	kinds []string
	// violated returns what is wrong, "" when the workload follows it.
	violated func(w workloadRef) string
	fix      string
}

var practices = []practice{
	{check: CheckWorkloadSingleReplica, severity: finding.Warning, kinds: []string{"Deployment", "StatefulSet"},
		violated: func(w workloadRef) string {
			if w.replicas == 1 {
				return "runs 1 replica: any drain or node replacement takes it down"
			}
			return ""
		},
		fix: "Run at least 2 replicas (eksup's guidance is 3), spread across zones, with a PodDisruptionBudget."},
	{check: CheckWorkloadNoReadiness, severity: finding.Warning, kinds: []string{"Deployment", "StatefulSet"},
		violated: func(w workloadRef) string {
			var missing []string
			for _, c := range w.template.Spec.Containers {
				if c.ReadinessProbe == nil {
					missing = append(missing, c.Name)
				}
			}
			if len(missing) > 0 && w.replicas > 0 {
				return "container " + strings.Join(missing, ", ") + " has no readinessProbe: a replacement pod takes traffic before it can serve, and a PodDisruptionBudget counts it healthy too early"
			}
			return ""
		},
		fix: "Add a readinessProbe to every serving container."},
	{check: CheckWorkloadNoSpread, severity: finding.Info, kinds: []string{"Deployment", "StatefulSet"},
		violated: func(w workloadRef) string {
			s := w.template.Spec
			if w.replicas < 2 || len(s.TopologySpreadConstraints) > 0 || (s.Affinity != nil && s.Affinity.PodAntiAffinity != nil) {
				return ""
			}
			return fmt.Sprintf("%d replicas with no topologySpreadConstraints or podAntiAffinity: they may all sit on one node or in one zone", w.replicas)
		},
		fix: "Add topologySpreadConstraints over topology.kubernetes.io/zone and kubernetes.io/hostname (or a podAntiAffinity)."},
	{check: CheckWorkloadMinReady, severity: finding.Info, kinds: []string{"Deployment"},
		violated: func(w workloadRef) string {
			if w.replicas > 1 && w.minReadySeconds == 0 {
				return "minReadySeconds is 0: a rollout or a drain moves on as soon as a pod reports ready once"
			}
			return ""
		},
		fix: "Set minReadySeconds (e.g. 10) so a new pod must stay ready before the next one goes."},
	{check: CheckStatefulSetZeroGrace, severity: finding.Error, kinds: []string{"StatefulSet"},
		violated: func(w workloadRef) string {
			if g := w.template.Spec.TerminationGracePeriodSeconds; g != nil && *g == 0 {
				return "terminationGracePeriodSeconds is 0: a drain kills its pods without shutdown, and a StatefulSet's pod may run twice"
			}
			return ""
		},
		fix: "Give the StatefulSet a terminationGracePeriodSeconds long enough for a clean shutdown (the default is 30)."},
	{check: CheckWorkloadDockerSocket, severity: finding.Error,
		violated: func(w workloadRef) string {
			for _, v := range w.template.Spec.Volumes {
				if v.HostPath != nil && (v.HostPath.Path == "/var/run/docker.sock" || v.HostPath.Path == "/run/docker.sock") {
					return fmt.Sprintf("mounts %s (volume %s): EKS nodes run containerd since Kubernetes %s, there is no Docker socket", v.HostPath.Path, v.Name, dockerSocketRemovedSinceVer)
				}
			}
			return ""
		},
		fix: "Use the containerd socket (/run/containerd/containerd.sock) or an API that needs no node socket."},
}

// practiceFindings applies every practice to every workload outside the
// system namespaces.
func practiceFindings(workloads []workloadRef) []finding.Finding {
	var out []finding.Finding
	for _, w := range workloads {
		if systemNamespaces[w.namespace] || w.template == nil {
			continue
		}
		for _, p := range practices {
			if len(p.kinds) > 0 && !slices.Contains(p.kinds, w.kind) {
				continue
			}
			if why := p.violated(w); why != "" {
				out = append(out, finding.Finding{Check: p.check, Severity: p.severity,
					Object:  fmt.Sprintf("apps/v1 %s %s/%s", w.kind, w.namespace, w.name),
					Message: fmt.Sprintf("%s %s/%s %s", strings.ToLower(w.kind), w.namespace, w.name, why),
					Fix:     p.fix})
			}
		}
	}
	return out
}

// templateOf is a copy of the pod template (nil-safe for the rules).
func templateOf(t corev1.PodTemplateSpec) *corev1.PodTemplateSpec { return t.DeepCopy() }
