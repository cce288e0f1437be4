package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The aws-auth ConfigMap: where EKS (aws-iam-authenticator) reads the IAM
// identities it maps to Kubernetes users and groups when the cluster's
// authenticationMode is CONFIG_MAP or API_AND_CONFIG_MAP.
const (
	AWSAuthNamespace = "kube-system"
	AWSAuthName      = "aws-auth"

	awsAuthRoles    = "mapRoles"
	awsAuthUsers    = "mapUsers"
	awsAuthAccounts = "mapAccounts"

	// AnnotationMigration names the migration that last wrote an object.
	AnnotationMigration = "cutover.dev/migration"
	// AnnotationAWSAuthCopied holds the JSON of what each migration carried
	// from blue into green's aws-auth (awsAuthCopied per migration name), so
	// a retry knows what it added before and a rollback what to remove.
	AnnotationAWSAuthCopied = "cutover.dev/aws-auth-copied"
)

// Kinds of aws-auth mappings.
const (
	AWSAuthRole = "role"
	AWSAuthUser = "user"
)

// AWSAuthMapping is one entry of aws-auth's mapRoles (Kind "role") or
// mapUsers (Kind "user").
type AWSAuthMapping struct {
	Kind     string   `json:"kind"`
	ARN      string   `json:"arn"`
	Username string   `json:"username,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

func (m AWSAuthMapping) String() string {
	return fmt.Sprintf("%s %s as %q (groups %s)", m.Kind, m.ARN, m.Username, strings.Join(m.Groups, ","))
}

// Node reports a node identity (a node group's instance role, a Fargate
// pod execution role): EKS maps green's own node roles, so these are never
// carried over.
func (m AWSAuthMapping) Node() bool {
	return slices.ContainsFunc(m.Groups, func(g string) bool {
		return g == "system:bootstrappers" || g == "system:nodes" || g == "system:node-proxier"
	})
}

// key identifies a mapping's identity: aws-iam-authenticator matches ARNs
// case-insensitively.
func (m AWSAuthMapping) key() string { return m.Kind + " " + strings.ToLower(m.ARN) }

// sameAs reports whether o maps the identity to the same user and groups
// (the order of the groups aside).
func (m AWSAuthMapping) sameAs(o AWSAuthMapping) bool {
	a, b := slices.Clone(m.Groups), slices.Clone(o.Groups)
	slices.Sort(a)
	slices.Sort(b)
	return m.Username == o.Username && slices.Equal(slices.Compact(a), slices.Compact(b))
}

// awsAuthEntry is a parsed mapping with the entry as it is written, which
// is what gets carried to green (fields cutover does not model included).
type awsAuthEntry struct {
	AWSAuthMapping
	raw any
}

// awsAuthData is the parsed content of an aws-auth ConfigMap, in order.
type awsAuthData struct {
	roles, users []awsAuthEntry
	accounts     []string
	rawAccounts  []any
}

func (d awsAuthData) mappings() []AWSAuthMapping {
	out := make([]AWSAuthMapping, 0, len(d.roles)+len(d.users))
	for _, e := range append(append([]awsAuthEntry{}, d.roles...), d.users...) {
		out = append(out, e.AWSAuthMapping)
	}
	return out
}

// awsAuthParseError is aws-auth data that does not parse; key names the
// ConfigMap key.
type awsAuthParseError struct {
	key string
	err error
}

func (e *awsAuthParseError) Error() string {
	return fmt.Sprintf("aws-auth %s does not parse: %v", e.key, e.err)
}
func (e *awsAuthParseError) Unwrap() error { return e.err }

// parseAWSAuth parses the mapRoles, mapUsers and mapAccounts of an aws-auth
// ConfigMap (each a YAML list, as EKS and eksctl write them). The error is
// an *awsAuthParseError naming the first key that does not parse.
func parseAWSAuth(data map[string]string) (awsAuthData, error) {
	var d awsAuthData
	var err error
	if d.roles, err = parseAWSAuthMappings(awsAuthRoles, data[awsAuthRoles]); err != nil {
		return d, err
	}
	if d.users, err = parseAWSAuthMappings(awsAuthUsers, data[awsAuthUsers]); err != nil {
		return d, err
	}
	if d.accounts, d.rawAccounts, err = parseAWSAuthAccounts(data[awsAuthAccounts]); err != nil {
		return d, err
	}
	return d, nil
}

// parseAWSAuthMappings parses the YAML list of mapRoles or mapUsers. Every
// entry needs its ARN (rolearn or userarn).
func parseAWSAuthMappings(key, text string) ([]awsAuthEntry, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var raw []any
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		return nil, &awsAuthParseError{key, err}
	}
	var typed []struct {
		RoleARN  string   `json:"rolearn"`
		UserARN  string   `json:"userarn"`
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(text), &typed); err != nil {
		return nil, &awsAuthParseError{key, err}
	}
	kind, field := AWSAuthRole, "rolearn"
	if key == awsAuthUsers {
		kind, field = AWSAuthUser, "userarn"
	}
	out := make([]awsAuthEntry, 0, len(typed))
	for i, t := range typed {
		arn := t.RoleARN
		if kind == AWSAuthUser {
			arn = t.UserARN
		}
		if strings.TrimSpace(arn) == "" {
			return nil, &awsAuthParseError{key, fmt.Errorf("entry %d has no %s", i, field)}
		}
		out = append(out, awsAuthEntry{AWSAuthMapping: AWSAuthMapping{Kind: kind, ARN: strings.TrimSpace(arn), Username: t.Username, Groups: t.Groups}, raw: raw[i]})
	}
	return out, nil
}

// parseAWSAuthAccounts parses mapAccounts, a YAML list of AWS account IDs
// (quoted or not).
func parseAWSAuthAccounts(text string) ([]string, []any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil, nil
	}
	var raw []any
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		return nil, nil, &awsAuthParseError{awsAuthAccounts, err}
	}
	out := make([]string, 0, len(raw))
	for i, v := range raw {
		switch v := v.(type) {
		case string:
			out = append(out, strings.TrimSpace(v))
		case float64:
			if v != float64(int64(v)) || v < 0 {
				return nil, nil, &awsAuthParseError{awsAuthAccounts, fmt.Errorf("entry %d (%v) is not an account ID", i, v)}
			}
			out = append(out, fmt.Sprintf("%012d", int64(v)))
		default:
			return nil, nil, &awsAuthParseError{awsAuthAccounts, fmt.Errorf("entry %d (%v) is not an account ID", i, v)}
		}
	}
	return out, raw, nil
}

// appendYAMLList returns text, the YAML list whose items are have, with add
// appended. The new items are appended as text, so green's own entries keep
// their formatting and comments; when the result would not read back as
// have followed by add (a flow-style list, a missing newline, ...), the
// whole list is written anew.
func appendYAMLList(text string, have, add []any) (string, error) {
	if len(add) == 0 {
		return text, nil
	}
	tail, err := yaml.Marshal(add)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(text) == "" {
		return string(tail), nil
	}
	want := append(slices.Clone(have), add...)
	candidate := text
	if !strings.HasSuffix(candidate, "\n") {
		candidate += "\n"
	}
	candidate += string(tail)
	var got []any
	if yaml.Unmarshal([]byte(candidate), &got) == nil && reflect.DeepEqual(got, want) {
		return candidate, nil
	}
	whole, err := yaml.Marshal(want)
	if err != nil {
		return "", err
	}
	return string(whole), nil
}

// awsAuthCopied is what one migration carried into green's aws-auth.
type awsAuthCopied struct {
	Roles    []string `json:"mapRoles,omitempty"`
	Users    []string `json:"mapUsers,omitempty"`
	Accounts []string `json:"mapAccounts,omitempty"`
}

func (c awsAuthCopied) has(m AWSAuthMapping) bool {
	list := c.Roles
	if m.Kind == AWSAuthUser {
		list = c.Users
	}
	return slices.ContainsFunc(list, func(arn string) bool { return strings.EqualFold(arn, m.ARN) })
}

func (c *awsAuthCopied) add(m AWSAuthMapping) {
	if c.has(m) {
		return
	}
	if m.Kind == AWSAuthUser {
		c.Users = append(c.Users, m.ARN)
	} else {
		c.Roles = append(c.Roles, m.ARN)
	}
}

// CopyAWSAuthInput carries blue's aws-auth mappings to green.
type CopyAWSAuthInput struct {
	Blue  clusters.Ref `json:"blue"`
	Green clusters.Ref `json:"green"`
	// Migration names the migration in green's aws-auth annotations.
	Migration string `json:"migration"`
}

// CopyAWSAuthResult says what happened to each of blue's mappings.
type CopyAWSAuthResult struct {
	// Found: blue has an aws-auth ConfigMap.
	Found bool `json:"found"`
	// Added were written into green's aws-auth by this call (or found there
	// from an earlier attempt of this migration).
	Added []AWSAuthMapping `json:"added,omitempty"`
	// Present: green already mapped the same ARN the same way.
	Present []AWSAuthMapping `json:"present,omitempty"`
	// Conflicts: green maps the ARN differently; left as green has it.
	Conflicts []AWSAuthMapping `json:"conflicts,omitempty"`
	// Skipped are node roles (groups system:bootstrappers, system:nodes or
	// system:node-proxier): EKS maps green's node groups itself.
	Skipped []AWSAuthMapping `json:"skipped,omitempty"`
	// AddedAccounts are blue's mapAccounts green lacked, written by this
	// call (or an earlier attempt of this migration).
	AddedAccounts []string `json:"addedAccounts,omitempty"`
}

// ReadAWSAuthInput reads a cluster's aws-auth.
type ReadAWSAuthInput struct {
	Cluster clusters.Ref `json:"cluster"`
}

// AWSAuthMappings are a cluster's aws-auth mappings: mapRoles then
// mapUsers, each in the ConfigMap's order.
type AWSAuthMappings struct {
	// Found: the cluster has an aws-auth ConfigMap.
	Found    bool             `json:"found"`
	Mappings []AWSAuthMapping `json:"mappings,omitempty"`
	// Accounts are the account IDs of mapAccounts.
	Accounts []string `json:"accounts,omitempty"`
}

// awsAuthConflictBackoff paces the re-reads after an optimistic-concurrency
// conflict on green's aws-auth (someone else, often EKS adding a node
// role, wrote it between our read and our write).
var awsAuthConflictBackoff = wait.Backoff{Steps: 8, Duration: 50 * time.Millisecond, Factor: 2, Jitter: 0.2}

// readAWSAuth returns the aws-auth ConfigMap of a cluster and its parsed
// data; nil when it has none. Data that does not parse is a definitive
// InvalidParameter error naming the key.
func readAWSAuth(ctx context.Context, c *Clients, cluster string) (*corev1.ConfigMap, awsAuthData, error) {
	cm, err := c.Kube.CoreV1().ConfigMaps(AWSAuthNamespace).Get(ctx, AWSAuthName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, awsAuthData{}, nil
	}
	if err != nil {
		return nil, awsAuthData{}, err
	}
	d, err := parseAWSAuth(cm.Data)
	if err != nil {
		return nil, awsAuthData{}, failures.New(failures.InvalidParameter, "ConfigMap %s/%s on cluster %s: %v", AWSAuthNamespace, AWSAuthName, cluster, err)
	}
	return cm, d, nil
}

// ReadAWSAuth returns the identities a cluster maps in its aws-auth
// ConfigMap. It only reads; transient API errors are retried.
func (a *Activities) ReadAWSAuth(ctx context.Context, in ReadAWSAuthInput) (AWSAuthMappings, error) {
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return AWSAuthMappings{}, err
	}
	var cm *corev1.ConfigMap
	var d awsAuthData
	err = a.retryAPI(ctx, "read aws-auth of "+in.Cluster.Name, func(ctx context.Context) error {
		var err error
		cm, d, err = readAWSAuth(ctx, c, in.Cluster.Name)
		return err
	})
	if err != nil {
		return AWSAuthMappings{}, kubeError(err, "read ConfigMap %s/%s on cluster %s", AWSAuthNamespace, AWSAuthName, in.Cluster)
	}
	out := AWSAuthMappings{Found: cm != nil, Mappings: d.mappings(), Accounts: d.accounts}
	a.log(ctx).Debug("Read aws-auth", "cluster", in.Cluster.Name, "found", out.Found, "mappings", len(out.Mappings), "accounts", len(out.Accounts))
	return out, nil
}

// CopyAWSAuth carries blue's aws-auth mappings (mapRoles, mapUsers) and the
// accounts of its mapAccounts into green's kube-system/aws-auth, creating
// it when green has none. Every entry green has stays as it is, in its
// order; blue's entries are appended as blue writes them, and the
// ConfigMap's annotations name the migration and what it carried. A mapping
// green has for the same ARN is Present when it is the same and a Conflict,
// left as green has it, when it is not; node roles are Skipped (EKS maps
// green's node groups). A write that loses an optimistic-concurrency race
// is redone on a fresh read, and a second call adds nothing: what an
// earlier attempt of this migration wrote is reported Added again.
func (a *Activities) CopyAWSAuth(ctx context.Context, in CopyAWSAuthInput) (CopyAWSAuthResult, error) {
	if strings.TrimSpace(in.Migration) == "" {
		return CopyAWSAuthResult{}, failures.New(failures.Validation, "migration: required")
	}
	if in.Blue.Name == "" || in.Green.Name == "" {
		return CopyAWSAuthResult{}, failures.New(failures.Validation, "aws-auth: blue and green clusters are required")
	}
	if in.Blue == in.Green {
		return CopyAWSAuthResult{}, failures.New(failures.Validation, "aws-auth: blue and green are the same cluster %s", in.Blue)
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	activitylog.Heartbeat(ctx, Progress{Step: "aws-auth", Detail: "read " + in.Blue.Name})
	blueC, err := a.clients(ctx, in.Blue)
	if err != nil {
		return CopyAWSAuthResult{}, err
	}
	var blueCM *corev1.ConfigMap
	var blue awsAuthData
	err = a.retryAPI(ctx, "read aws-auth of "+in.Blue.Name, func(ctx context.Context) error {
		var err error
		blueCM, blue, err = readAWSAuth(ctx, blueC, in.Blue.Name)
		return err
	})
	if err != nil {
		return CopyAWSAuthResult{}, kubeError(err, "read ConfigMap %s/%s on cluster %s", AWSAuthNamespace, AWSAuthName, in.Blue)
	}
	if blueCM == nil {
		log.Info("Blue has no aws-auth ConfigMap: nothing to carry to green", "cluster", in.Blue.Name)
		return CopyAWSAuthResult{}, nil
	}
	greenC, err := a.clients(ctx, in.Green)
	if err != nil {
		return CopyAWSAuthResult{}, err
	}
	activitylog.Heartbeat(ctx, Progress{Step: "aws-auth", Detail: "merge into " + in.Green.Name})
	var res CopyAWSAuthResult
	var wrote bool
	err = a.retryAPI(ctx, "write aws-auth of "+in.Green.Name, func(ctx context.Context) error {
		return retry.OnError(awsAuthConflictBackoff, func(err error) bool {
			return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
		}, func() error {
			var err error
			res, wrote, err = a.mergeAWSAuth(ctx, greenC, in, blue)
			if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
				log.Debug("Green's aws-auth changed while it was merged, merging again", "cluster", in.Green.Name, "error", err)
				activitylog.Heartbeat(ctx, Progress{Step: "aws-auth", Detail: "conflict, merge again into " + in.Green.Name})
			}
			return err
		})
	})
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return CopyAWSAuthResult{}, failures.Wrap(failures.ResourceInUse, err, "write ConfigMap %s/%s on cluster %s: it kept changing", AWSAuthNamespace, AWSAuthName, in.Green)
	}
	if err != nil {
		return CopyAWSAuthResult{}, kubeError(err, "write ConfigMap %s/%s on cluster %s", AWSAuthNamespace, AWSAuthName, in.Green)
	}
	for _, m := range res.Conflicts {
		log.Warn("Green maps an identity of blue's aws-auth differently: left as green has it", "cluster", in.Green.Name, "mapping", m.String())
	}
	log.Info("Carried blue's aws-auth to green", "blue", in.Blue.Name, "green", in.Green.Name, "migration", in.Migration, "written", wrote,
		"added", len(res.Added), "present", len(res.Present), "conflicts", len(res.Conflicts), "skipped", len(res.Skipped), "accounts", len(res.AddedAccounts))
	return res, nil
}

// mergeAWSAuth is one read-merge-write of green's aws-auth. It reports
// whether it wrote; the apiserver's Conflict or AlreadyExists means green's
// ConfigMap changed since it was read.
func (a *Activities) mergeAWSAuth(ctx context.Context, c *Clients, in CopyAWSAuthInput, blue awsAuthData) (CopyAWSAuthResult, bool, error) {
	res := CopyAWSAuthResult{Found: true}
	cm, green, err := readAWSAuth(ctx, c, in.Green.Name)
	if err != nil {
		return res, false, err
	}
	copied := map[string]awsAuthCopied{}
	if cm != nil {
		if v := cm.Annotations[AnnotationAWSAuthCopied]; v != "" {
			if err := json.Unmarshal([]byte(v), &copied); err != nil {
				return res, false, failures.New(failures.InvalidParameter, "ConfigMap %s/%s on cluster %s: annotation %s is not cutover's record: %v",
					AWSAuthNamespace, AWSAuthName, in.Green.Name, AnnotationAWSAuthCopied, err)
			}
		}
	}
	ours := copied[in.Migration]
	before := ours

	// Green's mappings by identity; the last entry of an ARN is the one
	// aws-iam-authenticator uses.
	have := map[string]AWSAuthMapping{}
	for _, e := range append(append([]awsAuthEntry{}, green.roles...), green.users...) {
		have[e.key()] = e.AWSAuthMapping
	}
	// Blue's mappings, the last of each ARN.
	last := map[string]int{}
	all := append(append([]awsAuthEntry{}, blue.roles...), blue.users...)
	for i, e := range all {
		last[e.key()] = i
	}
	var addRoles, addUsers []any
	for i, e := range all {
		m := e.AWSAuthMapping
		switch {
		case last[m.key()] != i:
			continue
		case m.Node():
			res.Skipped = append(res.Skipped, m)
			continue
		}
		g, found := have[m.key()]
		switch {
		case !found:
			if m.Kind == AWSAuthUser {
				addUsers = append(addUsers, e.raw)
			} else {
				addRoles = append(addRoles, e.raw)
			}
			ours.add(m)
			res.Added = append(res.Added, m)
		case !m.sameAs(g):
			res.Conflicts = append(res.Conflicts, m)
		case ours.has(m):
			res.Added = append(res.Added, m)
		default:
			res.Present = append(res.Present, m)
		}
	}
	var addAccounts []any
	for i, acct := range blue.accounts {
		switch {
		case slices.Contains(blue.accounts[:i], acct):
		case !slices.Contains(green.accounts, acct):
			addAccounts = append(addAccounts, blue.rawAccounts[i])
			if !slices.Contains(ours.Accounts, acct) {
				ours.Accounts = append(ours.Accounts, acct)
			}
			res.AddedAccounts = append(res.AddedAccounts, acct)
		case slices.Contains(ours.Accounts, acct):
			res.AddedAccounts = append(res.AddedAccounts, acct)
		}
	}
	if len(addRoles)+len(addUsers)+len(addAccounts) == 0 && reflect.DeepEqual(before, ours) {
		return res, false, nil
	}

	data := map[string]string{}
	if cm != nil {
		for k, v := range cm.Data {
			data[k] = v
		}
	}
	for _, k := range []struct {
		key       string
		have, add []any
	}{
		{awsAuthRoles, raws(green.roles), addRoles},
		{awsAuthUsers, raws(green.users), addUsers},
		{awsAuthAccounts, green.rawAccounts, addAccounts},
	} {
		if len(k.add) == 0 {
			continue
		}
		text, err := appendYAMLList(data[k.key], k.have, k.add)
		if err != nil {
			return res, false, fmt.Errorf("encode aws-auth %s: %w", k.key, err)
		}
		data[k.key] = text
	}
	copied[in.Migration] = ours
	record, err := json.Marshal(copied)
	if err != nil {
		return res, false, fmt.Errorf("encode annotation %s: %w", AnnotationAWSAuthCopied, err)
	}
	if cm == nil {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: AWSAuthName, Namespace: AWSAuthNamespace,
				Annotations: map[string]string{AnnotationMigration: in.Migration, AnnotationAWSAuthCopied: string(record)}},
			Data: data,
		}
		if _, err := c.Kube.CoreV1().ConfigMaps(AWSAuthNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return res, false, err
		}
		a.log(ctx).Info("Created green's aws-auth ConfigMap", "cluster", in.Green.Name, "migration", in.Migration)
		return res, true, nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[AnnotationMigration] = in.Migration
	cm.Annotations[AnnotationAWSAuthCopied] = string(record)
	// Update carries the resourceVersion read above: a concurrent write
	// makes it fail with Conflict instead of being overwritten.
	if _, err := c.Kube.CoreV1().ConfigMaps(AWSAuthNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return res, false, err
	}
	return res, true, nil
}

func raws(es []awsAuthEntry) []any {
	out := make([]any, 0, len(es))
	for _, e := range es {
		out = append(out, e.raw)
	}
	return out
}
