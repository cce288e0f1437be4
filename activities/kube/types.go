package kube

import (
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/probe"
)

// PreflightInput asks whether blue is safe to move to TargetVersion.
type PreflightInput struct {
	Cluster        clusters.Ref `json:"cluster"`
	CurrentVersion string       `json:"currentVersion"`
	TargetVersion  string       `json:"targetVersion"`
	// ArgoCDNamespace is where Argo CD Applications live, for their managed resources.
	ArgoCDNamespace string `json:"argocdNamespace,omitempty"`
	// InPlace: blue itself is upgraded, one minor version per hop, its
	// add-ons after each hop's control plane (blue/green when false: green
	// runs its own add-ons at the target).
	InPlace bool `json:"inPlace,omitempty"`
}

// PreflightResult is every finding on blue.
type PreflightResult struct {
	Findings []finding.Finding `json:"findings"`
	// ObjectsScanned counts the objects read, for the report.
	ObjectsScanned int `json:"objectsScanned"`
	// CNI is blue's Amazon VPC CNI (kube-system/aws-node), nil when blue
	// runs another CNI.
	CNI *CNIImage `json:"cni,omitempty"`
}

// CNIImage is the image of blue's aws-node DaemonSet.
type CNIImage struct {
	Image string `json:"image"`
	// Version is the image's tag, e.g. v1.18.3-eksbuild.1 ("" untagged).
	Version string `json:"version,omitempty"`
}

// VerifyGreenInput checks green after it is built.
type VerifyGreenInput struct {
	Cluster       clusters.Ref `json:"cluster"`
	TargetVersion string       `json:"targetVersion"`
	// CoreFrom is the cluster whose core add-ons green must run too
	// (blue): of the known ones (CoreAddonCandidates: the VPC CNI, Cilium
	// or Calico, kube-proxy, CoreDNS) those it runs. Nil means the fixed
	// list (DefaultCoreAddons, or WithCoreAddons).
	CoreFrom *clusters.Ref `json:"coreFrom,omitempty"`
}

// VerifyGreenResult lists green's findings; Ready is false when any is an error.
type VerifyGreenResult struct {
	Ready    bool              `json:"ready"`
	Findings []finding.Finding `json:"findings"`
}

// SmokeInput runs the smoke tests on green.
type SmokeInput struct {
	Cluster clusters.Ref `json:"cluster"`
	Smoke   SmokeTests   `json:"smoke"`
	// RunID names the temporary objects so a retry cleans up its predecessor's.
	RunID string `json:"runId"`
}

// SmokeTests are the checks SmokeTestGreen runs. The JSON has the shape of
// the spec's smoke section (the workflow copies it), so a payload recorded
// in history reads the same whatever the spec's Go types are called.
type SmokeTests struct {
	// Kubernetes checks run inside green.
	Kubernetes ClusterChecks `json:"kubernetes"`
	// HTTP probes, e.g. against green's ingress with the production Host header.
	HTTP []probe.Probe `json:"http,omitempty"`
	// K6 runs a k6 script as a Job in green, when set.
	K6 *K6Test `json:"k6,omitempty"`
	// Timeout bounds the whole activity; 0: no bound but the activity's own.
	Timeout duration.Duration `json:"timeout,omitempty"`
}

// ClusterChecks are the in-cluster smoke checks.
type ClusterChecks struct {
	// WorkloadsReady requires every Deployment, StatefulSet and DaemonSet
	// to be available (nil: true).
	WorkloadsReady *bool `json:"workloadsReady,omitempty"`
	// Namespaces limits WorkloadsReady (empty: all but kube-system-like namespaces).
	Namespaces []string `json:"namespaces,omitempty"`
	// ScratchWorkload creates a temporary pod, service and PVC and removes
	// them (nil: true).
	ScratchWorkload *bool `json:"scratchWorkload,omitempty"`
	// StorageClass for the scratch PVC (empty: the cluster default).
	StorageClass string `json:"storageClass,omitempty"`
}

// K6Test runs a k6 load script in green.
type K6Test struct {
	// ConfigMap holding the script, in Namespace.
	ConfigMap string `json:"configMap,omitempty"`
	// Namespace of the Job (empty: DefaultK6Namespace).
	Namespace string `json:"namespace,omitempty"`
	// Image of k6 (empty: DefaultK6Image).
	Image string `json:"image,omitempty"`
}

// CheckResult is one smoke check.
type CheckResult struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // workloads, scratch, http, k6
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
	Duration string `json:"duration,omitempty"`
}

// SmokeResult is every check; Passed only when all passed.
type SmokeResult struct {
	Passed bool           `json:"passed"`
	Checks []CheckResult  `json:"checks"`
	Probes []probe.Result `json:"probes,omitempty"`
}
