package kube

import (
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/probe"
	"github.com/cutover-dev/cutover/internal/spec"
)

// PreflightInput asks whether blue is safe to move to TargetVersion.
type PreflightInput struct {
	Cluster        clusters.Ref `json:"cluster"`
	CurrentVersion string       `json:"currentVersion"`
	TargetVersion  string       `json:"targetVersion"`
	// ArgoCDNamespace is where Argo CD Applications live, for their managed resources.
	ArgoCDNamespace string `json:"argocdNamespace,omitempty"`
}

// PreflightResult is every finding on blue.
type PreflightResult struct {
	Findings []finding.Finding `json:"findings"`
	// ObjectsScanned counts the objects read, for the report.
	ObjectsScanned int `json:"objectsScanned"`
}

// VerifyGreenInput checks green after it is built.
type VerifyGreenInput struct {
	Cluster       clusters.Ref `json:"cluster"`
	TargetVersion string       `json:"targetVersion"`
}

// VerifyGreenResult lists green's findings; Ready is false when any is an error.
type VerifyGreenResult struct {
	Ready    bool              `json:"ready"`
	Findings []finding.Finding `json:"findings"`
}

// SmokeInput runs the smoke tests on green.
type SmokeInput struct {
	Cluster clusters.Ref   `json:"cluster"`
	Smoke   spec.SmokeSpec `json:"smoke"`
	// RunID names the temporary objects so a retry cleans up its predecessor's.
	RunID string `json:"runId"`
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
