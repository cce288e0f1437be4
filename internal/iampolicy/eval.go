package iampolicy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is one AWS call as IAM authorizes it: the action, the ARN of the
// resource it acts on ("*" for the actions that name none) and the
// condition keys the service puts in its request context
// ("aws:RequestTag/cutover.dev/managed-by", "iam:PassedToService", ...).
type Request struct {
	Action   string
	Resource string
	Context  map[string][]string
}

func (r Request) String() string {
	if len(r.Context) == 0 {
		return r.Action + " on " + r.Resource
	}
	return fmt.Sprintf("%s on %s with %v", r.Action, r.Resource, r.Context)
}

// Allows reports whether d allows r and by which statement's Sid. It
// evaluates as IAM does for an identity policy with only Allow statements:
// a statement applies when one of its actions and one of its resources
// match (wildcards '*' and '?', actions case-insensitively) and every
// condition holds. The operators the builder writes are understood
// (StringEquals, StringLike, ForAllValues:StringEquals, Null); any other
// makes its statement fail closed, so an unknown one cannot widen a test's
// idea of what is allowed.
func Allows(d Document, r Request) (string, bool) {
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		if !slices.ContainsFunc(st.Action, func(a string) bool { return Match(strings.ToLower(a), strings.ToLower(r.Action)) }) {
			continue
		}
		if !slices.ContainsFunc(st.Resource, func(p string) bool { return Match(p, r.Resource) }) {
			continue
		}
		if conditionsHold(st.Condition, r.Context) {
			return st.Sid, true
		}
	}
	return "", false
}

func conditionsHold(c Condition, ctx map[string][]string) bool {
	for op, keys := range c {
		for key, want := range keys {
			have, present := ctx[key]
			present = present && len(have) > 0
			switch op {
			case "StringEquals":
				if !present || !slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) }) {
					return false
				}
			case "StringLike":
				if !present || !slices.ContainsFunc(have, func(h string) bool {
					return slices.ContainsFunc(want, func(p string) bool { return Match(p, h) })
				}) {
					return false
				}
			case "ForAllValues:StringEquals":
				// True when the key is absent: hence the Null condition beside it.
				for _, h := range have {
					if !slices.Contains(want, h) {
						return false
					}
				}
			case "Null":
				if len(want) != 1 || (want[0] == "true") == present || (want[0] != "true" && want[0] != "false") {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}
