package kube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// Bounds of FindBlueReferences.
const (
	// MaxBlueReferences is the most references one scan returns; beyond
	// it the result is Truncated.
	MaxBlueReferences = 200
	// maxBlueValueBytes is how much of one value (a ConfigMap or Secret
	// key, a string field) is read for a match.
	maxBlueValueBytes = 1 << 20
	// blueExcerptBytes is about the length of an excerpt.
	blueExcerptBytes = 80
)

// What of blue's identity a reference names (BlueReference.Match).
const (
	BlueMatchEndpoint   = "endpoint"
	BlueMatchARN        = "arn"
	BlueMatchOIDCIssuer = "oidc-issuer"
	BlueMatchName       = "name"
)

// Categories of references (BlueReference.Category).
const (
	BlueRefCICD       = "ci-cd"
	BlueRefMonitoring = "monitoring"
	BlueRefIdentity   = "identity"
	BlueRefOther      = "other"
)

// The resources FindBlueReferences reads besides ConfigMaps, Secrets and
// ServiceAccounts; each is optional (a missing CRD is skipped).
var (
	ArgoCDApplicationSets = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
	PrometheusResources   = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}
)

// BlueIdentity is what names blue: its EKS cluster name, API endpoint URL,
// cluster ARN and OIDC issuer URL. Empty fields are not looked for.
type BlueIdentity struct {
	Name       string `json:"name"`
	Endpoint   string `json:"endpoint,omitempty"`
	ARN        string `json:"arn,omitempty"`
	OIDCIssuer string `json:"oidcIssuer,omitempty"`
}

// FindBlueReferencesInput names green (Cluster), blue's identity and where to look.
type FindBlueReferencesInput struct {
	// Cluster is green, after traffic moved to it.
	Cluster clusters.Ref `json:"cluster"`
	Blue    BlueIdentity `json:"blue"`
	// Namespaces limits the ConfigMaps, Secrets, ServiceAccounts and
	// Prometheus objects read; empty means every namespace but the system
	// ones (kube-system, kube-public, kube-node-lease).
	Namespaces []string `json:"namespaces,omitempty"`
	// ArgoCDNamespace is where Argo CD's Applications and ApplicationSets
	// live (default "argocd").
	ArgoCDNamespace string `json:"argocdNamespace,omitempty"`
}

// BlueReference is one place on green that still names blue.
type BlueReference struct {
	// Object is the API version, kind and namespace/name, e.g.
	// "v1 ConfigMap monitoring/prometheus".
	Object string `json:"object"`
	// Field is where in the object, e.g. "data.remote-write.yaml" or
	// "spec.destination.server".
	Field string `json:"field"`
	// Match is which of blue's identifiers matched: "endpoint", "arn",
	// "oidc-issuer" or "name".
	Match string `json:"match"`
	// Excerpt is up to about 80 characters around the match; never set
	// for Secrets.
	Excerpt string `json:"excerpt,omitempty"`
	// Category is "ci-cd", "monitoring", "identity" or "other".
	Category string `json:"category"`
	// Fix says what a person changes.
	Fix string `json:"fix"`
}

// FindBlueReferencesResult lists the references, sorted by object, field and match.
type FindBlueReferencesResult struct {
	References []BlueReference `json:"references"`
	// Scanned counts the objects read.
	Scanned int `json:"scanned"`
	// Truncated: more than MaxBlueReferences were found; the scan stopped.
	Truncated bool `json:"truncated,omitempty"`
}

// errBlueRefsFull stops the scan once the result is full.
var errBlueRefsFull = errors.New("blue references: result full")

// FindBlueReferences reads green after the move for what still points at
// blue (its endpoint, ARN, OIDC issuer or name): ConfigMaps and Secrets
// (Secrets are reported by key, never by value), Argo CD Applications and
// ApplicationSets, Prometheus Operator Prometheus objects and
// ServiceAccount annotations, each with a category and the fix a person
// makes. It only reads; transient API errors are retried.
func (a *Activities) FindBlueReferences(ctx context.Context, in FindBlueReferencesInput) (FindBlueReferencesResult, error) {
	m := newBlueMatcher(in.Blue)
	if m.empty() {
		return FindBlueReferencesResult{References: []BlueReference{}}, nil
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return FindBlueReferencesResult{}, err
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if in.ArgoCDNamespace == "" {
		in.ArgoCDNamespace = "argocd"
	}
	s := &blueScan{a: a, c: c, in: in, m: m, seen: map[string]bool{}}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"configmaps", s.configMaps},
		{"secrets", s.secrets},
		{"serviceaccounts", s.serviceAccounts},
		{"argocd-applications", func(ctx context.Context) error {
			return s.custom(ctx, ArgoCDApplications, "Application", []string{in.ArgoCDNamespace}, s.argoObject)
		}},
		{"argocd-applicationsets", func(ctx context.Context) error {
			return s.custom(ctx, ArgoCDApplicationSets, "ApplicationSet", []string{in.ArgoCDNamespace}, s.argoObject)
		}},
		{"prometheuses", func(ctx context.Context) error {
			return s.custom(ctx, PrometheusResources, "Prometheus", in.Namespaces, s.prometheus)
		}},
	}
	for _, st := range steps {
		activitylog.Heartbeat(ctx, Progress{Step: "blue-references " + st.name, Objects: s.scanned})
		err := st.run(ctx)
		if errors.Is(err, errBlueRefsFull) {
			break
		}
		if err != nil {
			return FindBlueReferencesResult{}, kubeError(err, "find references to %s (%s) on cluster %s", in.Blue.Name, st.name, in.Cluster)
		}
	}
	out := FindBlueReferencesResult{References: s.refs, Scanned: s.scanned, Truncated: s.truncated}
	if out.References == nil {
		out.References = []BlueReference{}
	}
	sort.SliceStable(out.References, func(i, j int) bool {
		x, y := out.References[i], out.References[j]
		if x.Object != y.Object {
			return x.Object < y.Object
		}
		if x.Field != y.Field {
			return x.Field < y.Field
		}
		return x.Match < y.Match
	})
	a.log(ctx).Info("Looked for references to blue", "cluster", in.Cluster.Name, "blue", in.Blue.Name, "references", len(out.References), "objects", out.Scanned, "truncated", out.Truncated)
	return out, nil
}

// blueScan is the state of one FindBlueReferences run.
type blueScan struct {
	a         *Activities
	c         *Clients
	in        FindBlueReferencesInput
	m         blueMatcher
	refs      []BlueReference
	seen      map[string]bool
	scanned   int
	truncated bool
}

// add records r, or reports the result full.
func (s *blueScan) add(r BlueReference) error {
	key := r.Object + "\x00" + r.Field + "\x00" + r.Match
	if s.seen[key] {
		return nil
	}
	if len(s.refs) >= MaxBlueReferences {
		s.truncated = true
		return errBlueRefsFull
	}
	s.seen[key] = true
	s.refs = append(s.refs, r)
	return nil
}

// value matches one value and adds a reference per identifier it names;
// secret values give no excerpt. only, when set, limits the identifiers.
func (s *blueScan) value(object, field, value, category string, secret bool, only ...string) error {
	for _, hit := range s.m.find(value) {
		if len(only) > 0 && !containsString(only, hit.kind) {
			continue
		}
		r := BlueReference{Object: object, Field: field, Match: hit.kind, Category: category,
			Fix: blueFix(category, hit.kind, field, secret, s.in.Blue.Name)}
		if !secret {
			r.Excerpt = excerpt(value, hit.start, hit.end)
		}
		if err := s.add(r); err != nil {
			return err
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// keep reports whether namespace ns is scanned.
func (s *blueScan) keep(ns string) bool {
	if len(s.in.Namespaces) > 0 {
		return containsString(s.in.Namespaces, ns)
	}
	return !systemNamespaces[ns]
}

// listNamespaces is where the namespaced lists go: each namespace asked
// for, or every namespace (filtered by keep).
func (s *blueScan) listNamespaces(only []string) []string {
	if len(only) > 0 {
		return only
	}
	return []string{metav1.NamespaceAll}
}

// pages pages through one list with retries, heartbeating per page.
func pages[T any](ctx context.Context, s *blueScan, what string, limit int64, base metav1.ListOptions, list page[T], fn func([]T) error) error {
	return eachPage(ctx, limit, base, retriedPage(s.a, "list "+what+" of "+s.in.Cluster.Name, list), func(items []T) error {
		if err := fn(items); err != nil {
			return err
		}
		activitylog.Heartbeat(ctx, Progress{Step: "blue-references " + what, Objects: s.scanned})
		return nil
	})
}

func (s *blueScan) configMaps(ctx context.Context) error {
	for _, ns := range s.listNamespaces(s.in.Namespaces) {
		err := pages(ctx, s, "configmaps", s.a.opts.pageSize, metav1.ListOptions{},
			func(ctx context.Context, o metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
				l, err := s.c.Kube.CoreV1().ConfigMaps(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			}, func(items []corev1.ConfigMap) error {
				for i := range items {
					cm := &items[i]
					if !s.keep(cm.Namespace) {
						continue
					}
					s.scanned++
					object := fmt.Sprintf("v1 ConfigMap %s/%s", cm.Namespace, cm.Name)
					for _, k := range sortedKeys(cm.Data) {
						if err := s.value(object, "data."+k, boundValue(cm.Data[k]), s.configCategory(cm.Namespace, cm.Name, k), false); err != nil {
							return err
						}
					}
					for _, k := range sortedKeys(cm.BinaryData) {
						b := cm.BinaryData[k]
						if len(b) > maxBlueValueBytes {
							b = b[:maxBlueValueBytes]
						}
						if !utf8.Valid(trimPartialRune(b)) {
							continue
						}
						if err := s.value(object, "binaryData."+k, string(b), s.configCategory(cm.Namespace, cm.Name, k), false); err != nil {
							return err
						}
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *blueScan) secrets(ctx context.Context) error {
	// Helm's release Secrets are gzipped manifests (nothing to match) and
	// the bulk of a cluster's Secrets: the apiserver leaves them out.
	base := metav1.ListOptions{FieldSelector: "type!=helm.sh/release.v1"}
	for _, ns := range s.listNamespaces(s.in.Namespaces) {
		err := pages(ctx, s, "secrets", s.a.opts.helmPageSize, base,
			func(ctx context.Context, o metav1.ListOptions) ([]corev1.Secret, string, error) {
				l, err := s.c.Kube.CoreV1().Secrets(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			}, func(items []corev1.Secret) error {
				for i := range items {
					sec := &items[i]
					if !s.keep(sec.Namespace) {
						continue
					}
					s.scanned++
					object := fmt.Sprintf("v1 Secret %s/%s", sec.Namespace, sec.Name)
					category := s.configCategory(sec.Namespace, sec.Name, "")
					if sec.Labels["argocd.argoproj.io/secret-type"] != "" {
						category = BlueRefCICD
					}
					for _, k := range sortedKeys(sec.Data) {
						b := sec.Data[k]
						if len(b) > maxBlueValueBytes {
							b = b[:maxBlueValueBytes]
						}
						if err := s.value(object, "data."+k, string(b), category, true); err != nil {
							return err
						}
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *blueScan) serviceAccounts(ctx context.Context) error {
	for _, ns := range s.listNamespaces(s.in.Namespaces) {
		err := pages(ctx, s, "serviceaccounts", s.a.opts.pageSize, metav1.ListOptions{},
			func(ctx context.Context, o metav1.ListOptions) ([]corev1.ServiceAccount, string, error) {
				l, err := s.c.Kube.CoreV1().ServiceAccounts(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			}, func(items []corev1.ServiceAccount) error {
				for i := range items {
					sa := &items[i]
					if !s.keep(sa.Namespace) {
						continue
					}
					s.scanned++
					object := fmt.Sprintf("v1 ServiceAccount %s/%s", sa.Namespace, sa.Name)
					for _, k := range sortedKeys(sa.Annotations) {
						// The IRSA role is IAM's, not blue's; the parity
						// check proves green can assume it.
						if k == IRSARoleAnnotation || skipAnnotation(k) {
							continue
						}
						if err := s.value(object, "metadata.annotations."+k, boundValue(sa.Annotations[k]), BlueRefIdentity, false, BlueMatchARN, BlueMatchOIDCIssuer); err != nil {
							return err
						}
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// custom pages through a custom resource in namespaces (every namespace
// but the system ones when empty); a resource the apiserver does not
// serve is skipped.
func (s *blueScan) custom(ctx context.Context, gvr schema.GroupVersionResource, kind string, namespaces []string, fn func(object string, obj map[string]any) error) error {
	if s.c.Dynamic == nil {
		return nil
	}
	for _, ns := range s.listNamespaces(namespaces) {
		ri := s.c.Dynamic.Resource(gvr).Namespace(ns)
		err := pages(ctx, s, gvr.Resource, s.a.opts.pageSize, metav1.ListOptions{},
			func(ctx context.Context, o metav1.ListOptions) ([]map[string]any, string, error) {
				l, err := ri.List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				out := make([]map[string]any, 0, len(l.Items))
				for _, it := range l.Items {
					out = append(out, it.Object)
				}
				return out, l.GetContinue(), nil
			}, func(items []map[string]any) error {
				for _, obj := range items {
					meta, _ := obj["metadata"].(map[string]any)
					namespace, _ := meta["namespace"].(string)
					name, _ := meta["name"].(string)
					if len(namespaces) == 0 && !s.keep(namespace) {
						continue
					}
					s.scanned++
					object := fmt.Sprintf("%s %s %s/%s", gvr.GroupVersion(), kind, namespace, name)
					if err := fn(object, obj); err != nil {
						return err
					}
				}
				return nil
			})
		if apierrors.IsNotFound(err) {
			s.a.log(ctx).Debug("Resource not served, skipping", "cluster", s.in.Cluster.Name, "resource", gvr.GroupResource().String())
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// argoObject matches an Application's or ApplicationSet's spec and
// annotations: whatever names blue there is a deploy target or source
// still at blue.
func (s *blueScan) argoObject(object string, obj map[string]any) error {
	meta, _ := obj["metadata"].(map[string]any)
	if ann, ok := meta["annotations"].(map[string]any); ok {
		for _, k := range sortedKeys(ann) {
			if skipAnnotation(k) || k == LastAppliedAnnotation {
				continue
			}
			if v, ok := ann[k].(string); ok {
				if err := s.value(object, "metadata.annotations."+k, boundValue(v), BlueRefCICD, false); err != nil {
					return err
				}
			}
		}
	}
	return s.walk(object, "spec", obj["spec"], BlueRefCICD)
}

// prometheus matches a Prometheus's remote writes and external labels.
func (s *blueScan) prometheus(object string, obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	if err := s.walk(object, "spec.remoteWrite", spec["remoteWrite"], BlueRefMonitoring); err != nil {
		return err
	}
	return s.walk(object, "spec.externalLabels", spec["externalLabels"], BlueRefMonitoring)
}

// walk matches every string under v, path naming where it is.
func (s *blueScan) walk(object, path string, v any, category string) error {
	switch v := v.(type) {
	case string:
		return s.value(object, path, boundValue(v), category, false)
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if err := s.walk(object, fieldPath(path, k), v[k], category); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := s.walk(object, path+"["+strconv.Itoa(i)+"]", e, category); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldPath appends key k to path: ".k", or `["k"]` for a key that is not
// a plain identifier.
func fieldPath(path, k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	if plain {
		return path + "." + k
	}
	return path + "[" + strconv.Quote(k) + "]"
}

// skipAnnotation: cutover's own annotations and Argo CD's tracking name
// blue by design.
func skipAnnotation(k string) bool {
	return strings.HasPrefix(k, "cutover.dev/") || k == "argocd.argoproj.io/tracking-id"
}

// Words in a ConfigMap's or Secret's name or key that say what reads it.
var (
	monitoringWords = []string{"prometheus", "grafana", "fluent-bit", "fluentbit", "fluent_bit", "otel", "opentelemetry", "alertmanager", "remote-write", "remote_write", "loki", "datadog", "cloudwatch"}
	ciCDWords       = []string{"argocd", "argo-cd", "jenkins", "gitlab", "github", "runner", "pipeline", "tekton", "flux", "spinnaker", "deploy"}
	identityWords   = []string{"aws-auth", "oidc", "irsa"}
)

// configCategory is the category of a ConfigMap's or Secret's references,
// from its namespace, name and key.
func (s *blueScan) configCategory(namespace, name, key string) string {
	text := strings.ToLower(name + " " + key)
	has := func(words []string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has(monitoringWords):
		return BlueRefMonitoring
	case namespace == s.in.ArgoCDNamespace || has(ciCDWords):
		return BlueRefCICD
	case has(identityWords):
		return BlueRefIdentity
	}
	return BlueRefOther
}

// blueFix says what a person changes for one reference.
func blueFix(category, match, field string, secret bool, blue string) string {
	what := map[string]string{
		BlueMatchEndpoint:   "blue's API endpoint",
		BlueMatchARN:        "blue's cluster ARN",
		BlueMatchOIDCIssuer: "blue's OIDC issuer",
		BlueMatchName:       fmt.Sprintf("blue's cluster name (%s)", blue),
	}[match]
	green := map[string]string{
		BlueMatchEndpoint:   "green's endpoint",
		BlueMatchARN:        "green's cluster ARN",
		BlueMatchOIDCIssuer: "green's OIDC issuer",
		BlueMatchName:       "green's cluster name",
	}[match]
	var fix string
	switch category {
	case BlueRefCICD:
		if strings.Contains(field, "destination") || match == BlueMatchEndpoint {
			fix = fmt.Sprintf("Point the CI/CD deploy target at %s (or in-cluster on green's own Argo CD) instead of %s", green, what)
		} else {
			fix = fmt.Sprintf("Update the CI/CD setting to name %s instead of %s", green, what)
		}
	case BlueRefMonitoring:
		if strings.Contains(strings.ToLower(field), "remote") || strings.Contains(strings.ToLower(field), "url") {
			fix = fmt.Sprintf("Update the remote-write URL's cluster label or target to %s instead of %s, so green's metrics are not filed under blue", green, what)
		} else {
			fix = fmt.Sprintf("Update the monitoring config's cluster label or target to %s instead of %s, so green's telemetry is not filed under blue", green, what)
		}
	case BlueRefIdentity:
		fix = fmt.Sprintf("Re-point the identity setting at %s instead of %s (blue's goes away with blue)", green, what)
	default:
		fix = fmt.Sprintf("Replace %s with %s", what, green)
	}
	if secret {
		fix += " in this Secret key's value (its value is not shown)"
	}
	return fix + "."
}

// ---- matching ----

// blueMatcher finds blue's identifiers in text, case-insensitively.
type blueMatcher struct {
	endpointHost string // the endpoint's host, lower case
	arn          string // lower case
	issuer       string // the issuer's host and path, lower case, no trailing slash
	name         string // lower case
}

// blueHit is where one identifier matched (byte offsets in the text).
type blueHit struct {
	kind       string
	start, end int
}

func newBlueMatcher(b BlueIdentity) blueMatcher {
	return blueMatcher{
		endpointHost: lowerASCII(hostOf(b.Endpoint)),
		arn:          lowerASCII(strings.TrimSpace(b.ARN)),
		issuer:       strings.TrimRight(lowerASCII(hostPathOf(b.OIDCIssuer)), "/"),
		name:         lowerASCII(strings.TrimSpace(b.Name)),
	}
}

func (m blueMatcher) empty() bool {
	return m.endpointHost == "" && m.arn == "" && m.issuer == "" && m.name == ""
}

// hostOf is the host of a URL given with or without its scheme.
func hostOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// hostPathOf is the host and path of a URL given with or without its scheme.
func hostPathOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host + u.Path
}

// find returns the first place each identifier occurs in text, the ARN
// first (it holds the name), then the issuer, the endpoint and the name.
// A name inside a match of another identifier is not reported.
func (m blueMatcher) find(text string) []blueHit {
	lower := lowerASCII(text)
	var hits []blueHit
	covered := func(start, end int) bool {
		for _, h := range hits {
			if start < h.end && end > h.start {
				return true
			}
		}
		return false
	}
	if m.arn != "" {
		if i := indexBounded(lower, m.arn, arnChar); i >= 0 {
			hits = append(hits, blueHit{BlueMatchARN, i, i + len(m.arn)})
		}
	}
	if m.issuer != "" {
		if i := indexBounded(lower, m.issuer, hostChar); i >= 0 {
			hits = append(hits, blueHit{BlueMatchOIDCIssuer, i, i + len(m.issuer)})
		}
	}
	if m.endpointHost != "" {
		if i := indexBounded(lower, m.endpointHost, hostChar); i >= 0 {
			hits = append(hits, blueHit{BlueMatchEndpoint, i, i + len(m.endpointHost)})
		}
	}
	if m.name != "" {
		for from := 0; from < len(lower); {
			i := indexBoundedFrom(lower, m.name, nameChar, from)
			if i < 0 {
				break
			}
			if !covered(i, i+len(m.name)) {
				hits = append(hits, blueHit{BlueMatchName, i, i + len(m.name)})
				break
			}
			from = i + 1
		}
	}
	return hits
}

// nameChar is a character of a token: a cluster name counts only between
// characters that are not these, so "blue" is not found in "blueprint" or
// "blue-green".
func nameChar(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' }

// hostChar is a character of a host name or URL path segment.
func hostChar(b byte) bool { return nameChar(b) || b == '.' || b == '_' }

// arnChar continues an ARN's last part.
func arnChar(b byte) bool { return nameChar(b) || b == '_' || b == '.' }

func indexBounded(s, sub string, inToken func(byte) bool) int {
	return indexBoundedFrom(s, sub, inToken, 0)
}

// indexBoundedFrom is the first index at or after from where sub occurs in
// s with no token character (inToken) just before or after it.
func indexBoundedFrom(s, sub string, inToken func(byte) bool, from int) int {
	for from <= len(s)-len(sub) {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(sub)
		before := i == 0 || !inToken(s[i-1]) || !inToken(sub[0])
		after := end == len(s) || !inToken(s[end]) || !inToken(sub[len(sub)-1])
		if before && after {
			return i
		}
		from = i + 1
	}
	return -1
}

// lowerASCII lower-cases ASCII letters only, so byte offsets stay those of s.
func lowerASCII(s string) string {
	b := []byte(s)
	changed := false
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
			changed = true
		}
	}
	if !changed {
		return s
	}
	return string(b)
}

// boundValue is the first maxBlueValueBytes of s.
func boundValue(s string) string {
	if len(s) <= maxBlueValueBytes {
		return s
	}
	return s[:maxBlueValueBytes]
}

// trimPartialRune drops a rune cut off at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && i < len(b); i++ {
		if utf8.RuneStart(b[len(b)-1-i]) {
			if !utf8.FullRune(b[len(b)-1-i:]) {
				return b[:len(b)-1-i]
			}
			break
		}
	}
	return b
}

// excerpt is about blueExcerptBytes of text around [start, end), on one
// line, with "…" where it was cut.
func excerpt(text string, start, end int) string {
	pad := (blueExcerptBytes - (end - start)) / 2
	if pad < 10 {
		pad = 10
	}
	from, to := start-pad, end+pad
	if from < 0 {
		to -= from
		from = 0
	}
	if to > len(text) {
		from -= to - len(text)
		to = len(text)
		if from < 0 {
			from = 0
		}
	}
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	for to < len(text) && !utf8.RuneStart(text[to]) {
		to++
	}
	out := strings.Join(strings.Fields(text[from:to]), " ")
	if from > 0 {
		out = "…" + out
	}
	if to < len(text) {
		out += "…"
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
