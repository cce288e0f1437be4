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
	// DeprecatedIn is the release that deprecated it, when known: before
	// RemovedIn, a target at or after it gets a warning naming the removal.
	DeprecatedIn string `json:"deprecatedIn,omitempty"`
	// Addon names the add-on that serves the API through its CRDs
	// ("cert-manager"): RemovedIn, ReplacementSince and DeprecatedIn are
	// then the add-on's versions, not Kubernetes', and the entry applies
	// at every target (green runs whichever version of the add-on is
	// restored into it).
	Addon string `json:"addon,omitempty"`
	// Source is where the entry comes from when it is not the table's
	// source (an add-on's release notes, a generated lifecycle file).
	Source string `json:"source,omitempty"`
}

// Via is a replacement that is itself removed by the target, which
// AtTarget went past.
type Via struct {
	APIVersion, RemovedIn string
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

// AtTarget is r with the replacement advice valid at target: when r's
// replacement is itself removed by then (flowcontrol v1beta1's v1beta2,
// extensions/v1beta1 PodSecurityPolicy's policy/v1beta1), the chain is
// followed to the first API the target still serves, or to none; the
// notes say which replacements were skipped. Add-on entries are returned
// as they are.
func (t *Table) AtTarget(r Removal, target string) Removal {
	tm, err := Minor(target)
	if err != nil || r.Addon != "" {
		return r
	}
	var via []string
	cur := r
	for i := 0; cur.Replacement != "" && i < len(t.Removals); i++ {
		next, ok := t.ForKind(cur.Replacement, r.Kind)
		if !ok || next.Addon != "" || next.RemovedMinor() > tm {
			break
		}
		via = append(via, fmt.Sprintf("%s (its replacement since %s) is itself removed in %s", cur.Replacement, cur.ReplacementSince, next.RemovedIn))
		cur = next
	}
	if len(via) == 0 {
		return r
	}
	out := r
	out.Replacement, out.ReplacementSince = cur.Replacement, cur.ReplacementSince
	out.Notes = strings.Join(via, "; ") + ". " + cur.Notes
	return out
}

// Deprecated reports whether r is deprecated but still served at target:
// removed after it and, when the table knows, deprecated at or before it.
func (r Removal) Deprecated(target string) bool {
	if r.Addon != "" {
		return false
	}
	tm, err := Minor(target)
	if err != nil || r.RemovedMinor() <= tm {
		return false
	}
	if r.DeprecatedIn == "" {
		return true
	}
	dm, err := Minor(r.DeprecatedIn)
	return err == nil && dm <= tm
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
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("deprecations: removals[%d] %s %s: %w", i, r.APIVersion, r.Kind, err)
		}
		k := kindKey(r.APIVersion, r.Kind)
		if _, dup := t.byKind[k]; dup {
			return nil, fmt.Errorf("deprecations: removals[%d]: %s %s listed twice", i, r.APIVersion, r.Kind)
		}
		t.byKind[k] = r
		t.byResource[resourceKey(r.Group(), r.Version(), r.Resource)] = r
	}
	// A replacement removed at or before what it replaces is advice that
	// is wrong the day it is needed.
	for i, r := range t.Removals {
		if next, ok := t.ForKind(r.Replacement, r.Kind); ok && r.Replacement != "" && next.Addon == r.Addon && !versionLess(r.Addon, r.RemovedIn, next.RemovedIn) {
			return nil, fmt.Errorf("deprecations: removals[%d] %s %s: replacement %s is itself removed in %s, not after %s", i, r.APIVersion, r.Kind, r.Replacement, next.RemovedIn, r.RemovedIn)
		}
	}
	return &t, nil
}

// check validates one entry: versions that parse (Kubernetes 1.x, or the
// add-on's major.minor), a replacement that exists when the API is
// removed (replacementSince ≤ removedIn) and is another API, a
// deprecation before the removal, and a source for add-on entries.
func (r Removal) check() error {
	parse := func(field, v string) (int, int, error) {
		if r.Addon == "" {
			m, err := Minor(v)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", field, err)
			}
			return 1, m, nil
		}
		maj, min, err := majorMinor(v)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", field, err)
		}
		return maj, min, nil
	}
	rmaj, rmin, err := parse("removedIn", r.RemovedIn)
	if err != nil {
		return err
	}
	before := func(field, v string, strict bool) error {
		maj, min, err := parse(field, v)
		if err != nil {
			return err
		}
		if maj > rmaj || (maj == rmaj && (min > rmin || (strict && min == rmin))) {
			return fmt.Errorf("%s %s is after removedIn %s", field, v, r.RemovedIn)
		}
		return nil
	}
	switch {
	case r.Replacement == "" && r.ReplacementSince != "":
		return fmt.Errorf("replacementSince without a replacement")
	case r.Replacement != "" && r.ReplacementSince == "":
		return fmt.Errorf("replacement %s without replacementSince", r.Replacement)
	case r.Replacement != "" && r.Replacement == r.APIVersion:
		return fmt.Errorf("replacement is the removed API itself")
	case r.Addon != "" && !strings.HasPrefix(r.Source, "https://"):
		return fmt.Errorf("an add-on entry needs an https source (its release notes)")
	}
	if r.Replacement != "" {
		if err := before("replacementSince", r.ReplacementSince, false); err != nil {
			return err
		}
	}
	if r.DeprecatedIn != "" {
		if err := before("deprecatedIn", r.DeprecatedIn, true); err != nil {
			return err
		}
	}
	return nil
}

// majorMinor parses an add-on version "1.7", "v6.0" or "1.7.2".
func majorMinor(v string) (int, int, error) {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("%q is not a major.minor version", v)
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not a major.minor version", v)
	}
	return maj, min, nil
}

// versionLess compares two versions of the same kind (Kubernetes' when
// addon is empty).
func versionLess(addon, a, b string) bool {
	if addon == "" {
		x, err1 := Minor(a)
		y, err2 := Minor(b)
		return err1 == nil && err2 == nil && x < y
	}
	am, an, err1 := majorMinor(a)
	bm, bn, err2 := majorMinor(b)
	return err1 == nil && err2 == nil && (am < bm || (am == bm && an < bn))
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
		if r.Addon == "" && r.RemovedMinor() <= tm {
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
