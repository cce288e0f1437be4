// Package deprecations is the table of Kubernetes API versions removed per
// release, kept as data (removed_apis.yaml, embedded) and taken from the
// upstream Deprecated API Migration Guide
// (https://kubernetes.io/docs/reference/using-api/deprecation-guide/).
package deprecations

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

//go:embed removed_apis.yaml
var removedAPIsYAML []byte

// Removal is one API version of one kind that a release stopped serving.
type Removal struct {
	// APIVersion is the removed group/version, e.g. "extensions/v1beta1".
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Resource is the plural resource, as the apiserver metrics name it.
	Resource string `json:"resource"`
	// RemovedIn is the first release ("1.22") that does not serve it.
	RemovedIn string `json:"removedIn"`
	// Replacement is the group/version to migrate to; empty when none exists.
	Replacement      string `json:"replacement"`
	ReplacementSince string `json:"replacementSince"`
	Notes            string `json:"notes"`
}

// Group returns the API group ("" for the core group).
func (r Removal) Group() string {
	g, _ := splitAPIVersion(r.APIVersion)
	return g
}

// Version returns the version part of APIVersion.
func (r Removal) Version() string {
	_, v := splitAPIVersion(r.APIVersion)
	return v
}

// RemovedMinor is the minor version of RemovedIn (all removals are in 1.x).
func (r Removal) RemovedMinor() int {
	m, _ := Minor(r.RemovedIn)
	return m
}

// Fix says how to migrate a manifest that uses r.
func (r Removal) Fix() string {
	if r.Replacement == "" {
		return fmt.Sprintf("%s %s has no replacement API. %s", r.APIVersion, r.Kind, r.Notes)
	}
	return fmt.Sprintf("Change apiVersion to %s (available since %s) in the source manifest (git, Helm chart, kustomization) and re-apply; kubectl convert can rewrite it. %s",
		r.Replacement, r.ReplacementSince, r.Notes)
}

// Table is the parsed data file.
type Table struct {
	// Source is the document the entries come from.
	Source   string    `json:"source"`
	Removals []Removal `json:"removals"`

	byKind     map[string]Removal // "group/version|Kind"
	byResource map[string]Removal // "group|version|resource"
}

var (
	loadOnce sync.Once
	loaded   *Table
	loadErr  error
)

// Load returns the embedded table. It panics on a malformed file (a
// build-time error, caught by the package's tests).
func Load() *Table {
	loadOnce.Do(func() { loaded, loadErr = Parse(removedAPIsYAML) })
	if loadErr != nil {
		panic(loadErr)
	}
	return loaded
}

// Parse reads a table from YAML and validates it.
func Parse(data []byte) (*Table, error) {
	var t Table
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return nil, fmt.Errorf("deprecations: %w", err)
	}
	t.byKind = make(map[string]Removal, len(t.Removals))
	t.byResource = make(map[string]Removal, len(t.Removals))
	for i, r := range t.Removals {
		if r.APIVersion == "" || r.Kind == "" || r.Resource == "" {
			return nil, fmt.Errorf("deprecations: removals[%d]: apiVersion, kind and resource are required", i)
		}
		if _, err := Minor(r.RemovedIn); err != nil {
			return nil, fmt.Errorf("deprecations: removals[%d] %s %s: removedIn: %w", i, r.APIVersion, r.Kind, err)
		}
		k := kindKey(r.APIVersion, r.Kind)
		if _, dup := t.byKind[k]; dup {
			return nil, fmt.Errorf("deprecations: removals[%d]: %s %s listed twice", i, r.APIVersion, r.Kind)
		}
		t.byKind[k] = r
		t.byResource[resourceKey(r.Group(), r.Version(), r.Resource)] = r
	}
	return &t, nil
}

// ForKind returns the removal of apiVersion/kind, if any.
func (t *Table) ForKind(apiVersion, kind string) (Removal, bool) {
	r, ok := t.byKind[kindKey(apiVersion, kind)]
	return r, ok
}

// ForResource returns the removal of group/version/resource, if any.
func (t *Table) ForResource(group, version, resource string) (Removal, bool) {
	r, ok := t.byResource[resourceKey(group, version, resource)]
	return r, ok
}

// RemovedBy returns every removal effective at or before target ("1.29"),
// oldest release first.
func (t *Table) RemovedBy(target string) []Removal {
	tm, err := Minor(target)
	if err != nil {
		return nil
	}
	var out []Removal
	for _, r := range t.Removals {
		if r.RemovedMinor() <= tm {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RemovedMinor() < out[j].RemovedMinor() })
	return out
}

// Minor parses "1.29", "v1.29.3", "1.29.3-eks-abc" or "1.29+" and returns 29.
// Only major version 1 exists.
func Minor(v string) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 || parts[0] != "1" {
		return 0, fmt.Errorf("%q is not a 1.x Kubernetes version", v)
	}
	m := parts[1]
	end := 0
	for end < len(m) && m[end] >= '0' && m[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(m[:end])
	if err != nil {
		return 0, fmt.Errorf("%q is not a 1.x Kubernetes version", v)
	}
	return n, nil
}

func splitAPIVersion(av string) (group, version string) {
	if i := strings.LastIndex(av, "/"); i >= 0 {
		return av[:i], av[i+1:]
	}
	return "", av
}

func kindKey(apiVersion, kind string) string { return apiVersion + "|" + kind }

func resourceKey(group, version, resource string) string {
	return group + "|" + version + "|" + resource
}
