package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// WorkloadStatus is whether one Deployment, StatefulSet or DaemonSet is available.
type WorkloadStatus struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Desired   int32  `json:"desired"`
	Available int32  `json:"available"`
	Ready     bool   `json:"ready"`
	// Message, e.g. "deployment shop/web: 1/3 replicas available".
	Message string `json:"message"`
}

// stale reports a status a controller has not caught up with yet. An
// observedGeneration of 0 means no controller has written one (a bare
// apiserver, or a status written by hand): the counts are used as they are.
func stale(observed, generation int64) string {
	if observed > 0 && observed < generation {
		return fmt.Sprintf(" (status is for generation %d, spec is generation %d)", observed, generation)
	}
	return ""
}

// DeploymentStatus: available replicas against spec.replicas.
func DeploymentStatus(d *appsv1.Deployment) WorkloadStatus {
	want := ptrOr(d.Spec.Replicas, 1)
	s := WorkloadStatus{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name, Desired: want, Available: d.Status.AvailableReplicas}
	st := stale(d.Status.ObservedGeneration, d.Generation)
	s.Ready = s.Available >= want && st == ""
	s.Message = fmt.Sprintf("deployment %s/%s: %d/%d replicas available%s", d.Namespace, d.Name, s.Available, want, st)
	return s
}

// StatefulSetStatus: ready replicas against spec.replicas.
func StatefulSetStatus(ss *appsv1.StatefulSet) WorkloadStatus {
	want := ptrOr(ss.Spec.Replicas, 1)
	s := WorkloadStatus{Kind: "StatefulSet", Namespace: ss.Namespace, Name: ss.Name, Desired: want, Available: ss.Status.ReadyReplicas}
	st := stale(ss.Status.ObservedGeneration, ss.Generation)
	s.Ready = s.Available >= want && st == ""
	s.Message = fmt.Sprintf("statefulset %s/%s: %d/%d replicas ready%s", ss.Namespace, ss.Name, s.Available, want, st)
	return s
}

// DaemonSetStatus: available pods against the number the controller wants scheduled.
func DaemonSetStatus(ds *appsv1.DaemonSet) WorkloadStatus {
	want := ds.Status.DesiredNumberScheduled
	s := WorkloadStatus{Kind: "DaemonSet", Namespace: ds.Namespace, Name: ds.Name, Desired: want, Available: ds.Status.NumberAvailable}
	st := stale(ds.Status.ObservedGeneration, ds.Generation)
	s.Ready = s.Available >= want && st == ""
	s.Message = fmt.Sprintf("daemonset %s/%s: %d/%d pods available%s", ds.Namespace, ds.Name, s.Available, want, st)
	return s
}
