// Package finding holds the structured result every check produces
// (preflight on blue, green verification, smoke tests, EKS insights) and the
// policy that decides which findings stop a migration.
package finding

import "slices"

// Severity of a finding, from least to most serious.
type Severity string

// Severities.
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Rank orders severities; unknown ones rank as errors so they are never ignored.
func (s Severity) Rank() int {
	switch s {
	case Info:
		return 0
	case Warning:
		return 1
	default:
		return 2
	}
}

// Finding is one observation about a cluster.
type Finding struct {
	// Check is a stable ID, e.g. "removed-api", "pdb-blocks-eviction".
	Check string `json:"check"`
	// Cluster the finding is about.
	Cluster string `json:"cluster,omitempty"`
	// Object, e.g. "policy/v1beta1 PodDisruptionBudget shop/web".
	Object string `json:"object,omitempty"`
	// Severity decides whether it blocks.
	Severity Severity `json:"severity"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Fix says how to resolve it.
	Fix string `json:"fix,omitempty"`
	// Source says where it was found (metric, last-applied annotation, helm release, argocd, eks-insight).
	Source string `json:"source,omitempty"`
	// Objects are the objects a summary finding stands for: a check with
	// more findings than are detailed one by one gets one summary finding
	// listing every other object, so the report still names them all.
	Objects []string `json:"objects,omitempty"`
}

// Policy decides which findings block.
type Policy struct {
	// BlockOn is "error", "warning" or "none".
	BlockOn string
	// IgnoreChecks never block.
	IgnoreChecks []string
}

// Blocking returns the findings that stop the migration under p, in input order.
func (p Policy) Blocking(fs []Finding) []Finding {
	if p.BlockOn == "none" {
		return nil
	}
	threshold := Severity(p.BlockOn).Rank()
	var out []Finding
	for _, f := range fs {
		if slices.Contains(p.IgnoreChecks, f.Check) {
			continue
		}
		if f.Severity.Rank() >= threshold {
			out = append(out, f)
		}
	}
	return out
}
