package eks

// The pure part of IRSA: reading a role's trust policy, finding the
// statements that let a cluster's service accounts assume the role through
// its IAM OIDC provider, and writing the equivalent statement for another
// cluster's provider. No I/O here; irsa.go does the IAM calls.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

const (
	// webIdentityAction is the action IRSA's statements allow.
	webIdentityAction = "sts:AssumeRoleWithWebIdentity"
	// irsaAudience is the audience EKS-projected tokens carry (the IAM OIDC
	// provider's client ID).
	irsaAudience = "sts.amazonaws.com"
	// irsaSidPrefix starts the Sid of every statement cutover adds.
	irsaSidPrefix = "CutoverGreen"
	// DefaultTrustPolicyQuota is IAM's default maximum length of a role trust
	// policy (characters, whitespace excluded); it can be raised to 8192.
	DefaultTrustPolicyQuota = 2048
)

// trustPolicy is a role's trust policy, read only as far as IRSA needs it:
// top-level keys other than Statement, and every statement, are kept as
// they were written.
type trustPolicy struct {
	top        map[string]json.RawMessage
	statements []json.RawMessage
}

// decodePolicyDocument turns IAM's AssumeRolePolicyDocument (URL-encoded
// JSON, RFC 3986) into JSON. A document that is already JSON is returned
// as it is.
func decodePolicyDocument(doc string) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc, nil
	}
	s, err := url.QueryUnescape(doc)
	if err != nil {
		return "", fmt.Errorf("trust policy is not URL-encoded JSON: %w", err)
	}
	return s, nil
}

// parseTrustPolicy reads a trust policy, URL-encoded or not.
func parseTrustPolicy(doc string) (*trustPolicy, error) {
	s, err := decodePolicyDocument(doc)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &top); err != nil {
		return nil, fmt.Errorf("trust policy is not a JSON object: %w", err)
	}
	p := &trustPolicy{top: map[string]json.RawMessage{}}
	for k, v := range top {
		if k == "Statement" {
			continue
		}
		p.top[k] = v
	}
	raw := bytes.TrimSpace(top["Statement"])
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &p.statements); err != nil {
			return nil, fmt.Errorf("trust policy Statement: %w", err)
		}
	case raw[0] == '{':
		p.statements = []json.RawMessage{raw}
	default:
		return nil, fmt.Errorf("trust policy Statement is neither an object nor a list")
	}
	return p, nil
}

// encode writes the policy as compact JSON: Version first, the other
// top-level keys sorted, then Statement as a list.
func (p *trustPolicy) encode() (string, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	keys := slices.Sorted(maps.Keys(p.top))
	if i := slices.Index(keys, "Version"); i > 0 {
		keys = append([]string{"Version"}, slices.Delete(keys, i, i+1)...)
	}
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, p.top[k]); err != nil {
			return "", fmt.Errorf("trust policy %s: %w", k, err)
		}
		b.WriteByte(',')
	}
	b.WriteString(`"Statement":[`)
	for i, s := range p.statements {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := json.Compact(&b, s); err != nil {
			return "", fmt.Errorf("trust policy statement %d: %w", i, err)
		}
	}
	b.WriteString("]}")
	return b.String(), nil
}

// statement is the part of a policy statement IRSA reads.
type statement struct {
	Sid       string                                `json:"Sid"`
	Effect    string                                `json:"Effect"`
	Principal json.RawMessage                       `json:"Principal"`
	Action    json.RawMessage                       `json:"Action"`
	Condition map[string]map[string]json.RawMessage `json:"Condition"`
}

// outStatement is a statement cutover writes, keys in IAM's usual order.
type outStatement struct {
	Sid       string                                `json:"Sid,omitempty"`
	Effect    string                                `json:"Effect"`
	Principal map[string]string                     `json:"Principal"`
	Action    json.RawMessage                       `json:"Action"`
	Condition map[string]map[string]json.RawMessage `json:"Condition,omitempty"`
}

func (s outStatement) json() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // only strings, maps and valid raw JSON
	return strings.TrimSpace(b.String())
}

// stringList reads a JSON string or list of strings; anything else is nil.
func stringList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// conditionValues reads a condition's value(s) as strings (a bool or number
// as its JSON text).
func conditionValues(raw json.RawMessage) []string {
	if v := stringList(raw); v != nil {
		return v
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) == nil {
		out := make([]string, 0, len(many))
		for _, m := range many {
			out = append(out, string(bytes.TrimSpace(m)))
		}
		return out
	}
	return []string{string(bytes.TrimSpace(raw))}
}

// federated returns the statement's Principal.Federated values.
func (s statement) federated() []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(s.Principal, &obj) != nil {
		return nil // "*" or missing
	}
	for k, v := range obj {
		if strings.EqualFold(k, "Federated") {
			return stringList(v)
		}
	}
	return nil
}

// principalKinds counts the keys of Principal (AWS, Service, Federated, ...).
func (s statement) principalKinds() int {
	var obj map[string]json.RawMessage
	if json.Unmarshal(s.Principal, &obj) != nil {
		return 0
	}
	return len(obj)
}

// allowsWebIdentity reports whether the statement's Action covers
// sts:AssumeRoleWithWebIdentity ("*", "sts:*", "sts:AssumeRoleWith*", ...).
func (s statement) allowsWebIdentity() bool {
	for _, a := range stringList(s.Action) {
		if globMatch(strings.ToLower(a), strings.ToLower(webIdentityAction)) {
			return true
		}
	}
	return false
}

// globMatch matches IAM's wildcards: * any run, ? one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	default:
		return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
	}
}

// issuerHostPath is the issuer URL without scheme and trailing slash, the
// way IAM names the provider and the condition keys
// (oidc.eks.us-east-1.amazonaws.com/id/ABC).
func issuerHostPath(issuer string) string {
	s := strings.TrimSpace(issuer)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimRight(s, "/")
}

// oidcProviderARN is the ARN of the IAM OIDC provider for hostPath in the
// account and partition of prefix ("arn:aws:iam::123456789012").
func oidcProviderARN(prefix, hostPath string) string {
	return prefix + ":oidc-provider/" + hostPath
}

// names reports whether the federated principals include provider.
func names(federated []string, provider string) bool {
	return slices.ContainsFunc(federated, func(f string) bool { return strings.EqualFold(f, provider) })
}

// irsaEnds is what a rewrite goes from and to.
type irsaEnds struct {
	blueARN, greenARN           string
	blueHostPath, greenHostPath string
	migration                   string
}

// rewriteConditions renames condition keys of blue's issuer
// ("<blue host/path>:sub") to green's; values are kept.
func (e irsaEnds) rewriteConditions(cond map[string]map[string]json.RawMessage) map[string]map[string]json.RawMessage {
	if len(cond) == 0 {
		return nil
	}
	prefix := strings.ToLower(e.blueHostPath) + ":"
	out := make(map[string]map[string]json.RawMessage, len(cond))
	for op, clauses := range cond {
		c := make(map[string]json.RawMessage, len(clauses))
		for k, v := range clauses {
			if strings.HasPrefix(strings.ToLower(k), prefix) {
				k = e.greenHostPath + ":" + k[len(prefix):]
			}
			var b bytes.Buffer
			if json.Compact(&b, v) == nil {
				v = b.Bytes()
			}
			c[k] = v
		}
		out[op] = c
	}
	return out
}

// green is the statement for green equivalent to blue statement s: same
// Effect and Action, Federated green's provider, conditions on green's
// issuer; its Sid names cutover, the migration and the statement.
func (e irsaEnds) green(s statement) outStatement {
	action := s.Action
	var b bytes.Buffer
	if json.Compact(&b, action) == nil {
		action = b.Bytes()
	}
	g := outStatement{
		Effect:    s.Effect,
		Principal: map[string]string{"Federated": e.greenARN},
		Action:    action,
		Condition: e.rewriteConditions(s.Condition),
	}
	g.Sid = irsaSid(e.migration, canonical(g.Effect, g.Action, e.greenARN, g.Condition))
	return g
}

// IRSASidPrefix is how the Sid of every statement cutover adds for
// migration starts: "CutoverGreen" and a hash of the migration's name.
func IRSASidPrefix(migration string) string {
	h := sha256.Sum256([]byte(migration))
	return irsaSidPrefix + strings.ToUpper(hex.EncodeToString(h[:4]))
}

// irsaSid is IRSASidPrefix(migration) followed by a hash of the statement:
// the same statement for the same migration always gets the same Sid, so a
// retried apply finds what an earlier attempt wrote.
func irsaSid(migration, canon string) string {
	h := sha256.Sum256([]byte(canon))
	return IRSASidPrefix(migration) + strings.ToUpper(hex.EncodeToString(h[:4]))
}

// canonical is a statement's meaning as a string, for equality: effect,
// actions (case-folded, sorted), the one federated principal, and the
// conditions with case-folded keys and sorted values.
func canonical(effect string, action json.RawMessage, federated string, cond map[string]map[string]json.RawMessage) string {
	acts := stringList(action)
	for i := range acts {
		acts[i] = strings.ToLower(acts[i])
	}
	slices.Sort(acts)
	acts = slices.Compact(acts)
	c := map[string]map[string][]string{}
	for op, clauses := range cond {
		m := map[string][]string{}
		for k, v := range clauses {
			vals := conditionValues(v)
			slices.Sort(vals)
			m[strings.ToLower(k)] = slices.Compact(vals)
		}
		c[strings.ToLower(op)] = m
	}
	b, _ := json.Marshal(struct {
		Effect    string
		Actions   []string
		Federated string
		Condition map[string]map[string][]string
	}{strings.ToLower(effect), acts, strings.ToLower(federated), c})
	return string(b)
}

// subjects are the values of the statement's "<host/path>:sub" conditions.
func subjects(s statement, hostPath string) []string {
	key := strings.ToLower(hostPath) + ":sub"
	var out []string
	for _, clauses := range s.Condition {
		for k, v := range clauses {
			if strings.ToLower(k) == key {
				out = append(out, conditionValues(v)...)
			}
		}
	}
	return out
}

// derived is one of blue's statements and green's equivalent.
type derived struct {
	// blue is the index of blue's statement in the policy.
	blue int
	// exclusive: blue's is the only principal of its statement, so the
	// statement can be removed once blue is retired.
	exclusive bool
	green     outStatement
	// present: a statement with green's Sid is in the policy (cutover added
	// it for this migration).
	present bool
	// covered: an equivalent statement for green, not cutover's, is in
	// the policy.
	covered bool
}

// trustAnalysis is what one trust policy says about blue and green.
type trustAnalysis struct {
	policy *trustPolicy
	parsed []statement
	// derived lists blue's statements in policy order, with green's
	// equivalent of each (two of blue's that say the same give the same
	// green statement and Sid).
	derived []derived
	// subjects the blue statements admit.
	subjects []string
	// anySubject: a blue Allow statement has no :sub condition, so every
	// service account of blue can assume the role.
	anySubject bool
	// allows: a blue statement is an Allow (the role trusts blue).
	allows bool
}

// analyzeTrust reads doc and derives green's statements for e.
func analyzeTrust(doc string, e irsaEnds) (*trustAnalysis, error) {
	p, err := parseTrustPolicy(doc)
	if err != nil {
		return nil, err
	}
	a := &trustAnalysis{policy: p, parsed: make([]statement, len(p.statements))}
	sids := map[string]bool{}
	greens := map[string]bool{} // canonical forms of statements naming green
	for i, raw := range p.statements {
		var s statement
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("trust policy statement %d: %w", i, err)
		}
		a.parsed[i] = s
		if s.Sid != "" {
			sids[s.Sid] = true
		}
		if fed := s.federated(); names(fed, e.greenARN) && s.allowsWebIdentity() {
			greens[canonical(s.Effect, s.Action, e.greenARN, s.Condition)] = true
		}
	}
	for i, s := range a.parsed {
		fed := s.federated()
		if !names(fed, e.blueARN) || !s.allowsWebIdentity() {
			continue
		}
		if strings.EqualFold(s.Effect, "Allow") {
			a.allows = true
			subs := subjects(s, e.blueHostPath)
			if len(subs) == 0 {
				a.anySubject = true
			}
			a.subjects = append(a.subjects, subs...)
		}
		d := derived{blue: i, exclusive: len(fed) == 1 && s.principalKinds() == 1}
		if e.greenARN != "" {
			d.green = e.green(s)
			d.present = sids[d.green.Sid]
			d.covered = !d.present && greens[canonical(d.green.Effect, d.green.Action, e.greenARN, d.green.Condition)]
		}
		a.derived = append(a.derived, d)
	}
	slices.Sort(a.subjects)
	a.subjects = slices.Compact(a.subjects)
	return a, nil
}

// trustsBlue reports whether an Allow statement lets blue's service
// accounts assume the role.
func (a *trustAnalysis) trustsBlue() bool { return a.allows }

// toAdd lists green's statements that are neither present nor covered,
// once per Sid.
func (a *trustAnalysis) toAdd() []outStatement {
	var out []outStatement
	seen := map[string]bool{}
	for _, d := range a.derived {
		if !d.present && !d.covered && !seen[d.green.Sid] {
			seen[d.green.Sid] = true
			out = append(out, d.green)
		}
	}
	return out
}

// add appends statements to the policy.
func (a *trustAnalysis) add(sts []outStatement) {
	for _, s := range sts {
		a.policy.statements = append(a.policy.statements, json.RawMessage(s.json()))
	}
}

// removeSids drops the statements whose Sid is in sids and reports which
// were there.
func (a *trustAnalysis) removeSids(sids map[string]bool) []string {
	var removed []string
	keep := a.policy.statements[:0:0]
	for i, raw := range a.policy.statements {
		if sid := a.parsed[i].Sid; sid != "" && sids[sid] {
			removed = append(removed, sid)
			continue
		}
		keep = append(keep, raw)
	}
	a.policy.statements = keep
	return removed
}

// removeIndices drops the statements at the given indices.
func (a *trustAnalysis) removeIndices(idx map[int]bool) {
	keep := a.policy.statements[:0:0]
	for i, raw := range a.policy.statements {
		if !idx[i] {
			keep = append(keep, raw)
		}
	}
	a.policy.statements = keep
}

// referencesProvider reports whether the trust policy names provider
// anywhere (a principal of any statement).
func referencesProvider(doc, provider string) bool {
	s, err := decodePolicyDocument(doc)
	if err != nil {
		return true // unreadable: assume it does, never delete what may be used
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(provider))
}

// policyLength is the length IAM counts against the trust policy quota:
// the document without whitespace outside strings (compact JSON).
func policyLength(doc string) int {
	var b bytes.Buffer
	if json.Compact(&b, []byte(doc)) != nil {
		return len(doc)
	}
	return b.Len()
}
