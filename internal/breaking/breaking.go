// Package breaking holds the version-specific breaking changes of
// Kubernetes and EKS as data (changes.json), each with the versions it
// applies to and its source, and evaluates them for a hop from one
// version to another.
package breaking

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Kinds of change.
const (
	// KindImagePrefix: workloads pulling images whose reference starts with
	// one of Match.
	KindImagePrefix = "image-prefix"
	// KindNotice: a change with nothing to match in the cluster, said once
	// for the hop.
	KindNotice = "notice"
	// KindUserData: node bootstrap user data (launch templates) that
	// contains one of Match; the EKS activities check it (UserData).
	KindUserData = "userdata-contains"
)

// Scopes: when a change applies to a hop from current to target.
const (
	// ScopeTarget: whenever the target is at or after Since.
	ScopeTarget = "target"
	// ScopeCrossing: when the hop crosses Since (current < Since <= target).
	ScopeCrossing = "crossing"
)

// Change is one breaking change.
type Change struct {
	ID       string           `json:"id"`
	Kind     string           `json:"kind"`
	Match    []string         `json:"match,omitempty"`
	Since    string           `json:"since"`
	Scope    string           `json:"scope"`
	Severity finding.Severity `json:"severity"`
	Message  string           `json:"message"`
	Fix      string           `json:"fix"`
	// Source is where the change is announced (release notes, a blog
	// post, the EKS documentation).
	Source string `json:"source"`

	since int
}

//go:embed changes.json
var changesJSON []byte

// Load reads the table, checking every entry (unique ID, known kind and
// scope, a Kubernetes version, a severity, an https source, what to match).
func Load(data []byte) ([]Change, error) {
	var cs []Change
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("breaking changes: %w", err)
	}
	seen := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("breaking changes[%d] (%s): %s", i, c.ID, fmt.Sprintf(format, args...))
		}
		if c.ID == "" || seen[c.ID] {
			return nil, bad("id must be set and unique")
		}
		seen[c.ID] = true
		m, ok := spec.MinorVersion(c.Since)
		if !ok {
			return nil, bad("since: %q is not a 1.x Kubernetes version", c.Since)
		}
		c.since = m
		switch c.Kind {
		case KindImagePrefix, KindUserData:
			if len(c.Match) == 0 {
				return nil, bad("a %s change needs match", c.Kind)
			}
		case KindNotice:
		default:
			return nil, bad("kind %q: must be %s, %s or %s", c.Kind, KindImagePrefix, KindUserData, KindNotice)
		}
		if c.Scope != ScopeTarget && c.Scope != ScopeCrossing {
			return nil, bad("scope %q: must be %s or %s", c.Scope, ScopeTarget, ScopeCrossing)
		}
		if c.Severity != finding.Error && c.Severity != finding.Warning && c.Severity != finding.Info {
			return nil, bad("severity %q", c.Severity)
		}
		if u, err := url.Parse(c.Source); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, bad("source %q: must be an https URL", c.Source)
		}
		if c.Message == "" || c.Fix == "" {
			return nil, bad("message and fix are required")
		}
	}
	return cs, nil
}

// Table is the embedded table, read and checked once; a bad table fails
// every test (TestTableLoads). Callers must not modify it.
var Table = sync.OnceValue(func() []Change {
	cs, err := Load(changesJSON)
	if err != nil {
		panic(err)
	}
	return cs
})

// Applies reports whether c applies to a hop from current to target
// (minor versions; current 0 when unknown counts as crossing).
func (c Change) Applies(current, target int) bool {
	if target < c.since {
		return false
	}
	return c.Scope == ScopeTarget || current < c.since
}

// Container is one container of a workload, for the image checks.
type Container struct {
	Object    string // e.g. "apps/v1 Deployment shop/api"
	Container string
	Image     string
}

// Findings evaluates the table for a hop: a finding per container whose
// image a change matches, and one per notice.
func Findings(table []Change, current, target int, containers []Container) []finding.Finding {
	var out []finding.Finding
	for _, c := range table {
		if !c.Applies(current, target) {
			continue
		}
		switch c.Kind {
		case KindNotice:
			out = append(out, finding.Finding{Check: c.ID, Severity: c.Severity, Message: c.Message + " (" + c.Source + ")", Fix: c.Fix})
		case KindImagePrefix:
			for _, k := range containers {
				for _, p := range c.Match {
					if strings.HasPrefix(k.Image, p) {
						out = append(out, finding.Finding{Check: c.ID, Severity: c.Severity, Object: k.Object,
							Message: fmt.Sprintf("container %s (%s) %s (%s)", k.Container, k.Image, c.Message, c.Source), Fix: c.Fix})
						break
					}
				}
			}
		}
	}
	return out
}

// UserData returns the changes that apply to the hop and whose match the
// node user data contains, with the string found.
func UserData(table []Change, current, target int, userData string) (found []Change, matched []string) {
	for _, c := range table {
		if c.Kind != KindUserData || !c.Applies(current, target) {
			continue
		}
		for _, m := range c.Match {
			if strings.Contains(userData, m) {
				found, matched = append(found, c), append(matched, m)
				break
			}
		}
	}
	return found, matched
}
