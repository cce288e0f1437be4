package kube

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	argov1alpha1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"

	"github.com/cutover-dev/cutover/activities/kube/deprecations"
	"github.com/cutover-dev/cutover/internal/finding"
)

// DeprecatedAPIMetric is the apiserver metric that records every deprecated
// API version a client requested since the apiserver started.
const DeprecatedAPIMetric = "apiserver_requested_deprecated_apis"

// removedFinding builds the finding for one declaration of a removed API.
// where says where it was declared (the "path" of the finding).
func (p *preflight) removedFinding(r deprecations.Removal, source, object, where string) finding.Finding {
	repl := "no replacement API"
	if r.Replacement != "" {
		repl = "replacement: " + r.Replacement
	}
	f := finding.Finding{Check: CheckRemovedAPI, Object: object, Severity: finding.Error, Source: source, Fix: r.Fix()}
	switch {
	case r.Addon != "":
		f.Check, f.Severity = CheckRemovedAddonAPI, finding.Warning
		f.Message = fmt.Sprintf("%s %s is not served by %s %s and later (its CRDs); found in %s; %s", r.APIVersion, r.Kind, r.Addon, r.RemovedIn, where, repl)
		f.Fix += " Source: " + r.Source
	case r.RemovedMinor() > p.targetMinor:
		since := ""
		if r.DeprecatedIn != "" {
			since = " since " + r.DeprecatedIn
		}
		f.Check, f.Severity = CheckDeprecatedAPI, finding.Warning
		f.Message = fmt.Sprintf("%s %s is deprecated%s and removed in Kubernetes %s, after this migration's target %s: it works on green, not at the next upgrade; found in %s; %s",
			r.APIVersion, r.Kind, since, r.RemovedIn, p.in.TargetVersion, where, repl)
	default:
		when := fmt.Sprintf("removed in Kubernetes %s, which this migration to %s crosses", r.RemovedIn, p.in.TargetVersion)
		if p.cpMinor > 0 && r.RemovedMinor() <= p.cpMinor {
			when = fmt.Sprintf("already removed in Kubernetes %s: this stale declaration fails to apply on green (%s)", r.RemovedIn, p.in.TargetVersion)
		}
		f.Message = fmt.Sprintf("%s %s is %s; found in %s; %s", r.APIVersion, r.Kind, when, where, repl)
	}
	return f
}

// relevant returns the table's entry for apiVersion/kind when it matters
// at the target: removed at or before it (with the replacement advice
// valid at the target), deprecated at it (removed later: a warning), or an
// add-on's removed CRD version.
func (p *preflight) relevant(apiVersion, kind string) (deprecations.Removal, bool) {
	r, ok := p.table.ForKind(apiVersion, kind)
	switch {
	case !ok:
		return deprecations.Removal{}, false
	case r.Addon != "":
		return r, true
	case r.RemovedMinor() <= p.targetMinor:
		return p.table.AtTarget(r, p.in.TargetVersion), true
	case r.Deprecated(p.in.TargetVersion):
		return r, true
	}
	return deprecations.Removal{}, false
}

// ---- apiserver metric ----

// deprecatedRequest is one sample of apiserver_requested_deprecated_apis.
type deprecatedRequest struct {
	Group, Version, Resource, Subresource, RemovedRelease string
}

func (p *preflight) deprecatedAPIMetric(ctx context.Context) error {
	rc := p.c.Kube.Discovery().RESTClient()
	if rc == nil {
		p.log.Warn("No REST client for /metrics, skipping the deprecated API metric", "cluster", p.in.Cluster.Name)
		return nil
	}
	body, err := rc.Get().AbsPath("/metrics").SetHeader("Accept", "text/plain;version=0.0.4").Stream(ctx)
	if err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsUnauthorized(err) {
			p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceMetric,
				Message: fmt.Sprintf("could not read the apiserver's /metrics (%v): clients still calling removed APIs were not checked", err),
				Fix:     "Grant the worker's identity get on the non-resource URL /metrics (ClusterRole nonResourceURLs: [\"/metrics\"])."})
			return nil
		}
		return fmt.Errorf("GET /metrics: %w", err)
	}
	defer body.Close()
	reqs, err := parseDeprecatedAPIMetric(body)
	if err != nil {
		return fmt.Errorf("parse /metrics: %w", err)
	}
	for _, rq := range reqs {
		api := rq.Version
		if rq.Group != "" {
			api = rq.Group + "/" + rq.Version
		}
		res := rq.Resource
		if rq.Subresource != "" {
			res += "/" + rq.Subresource
		}
		object := api + " " + res
		r, ok := p.table.ForResource(rq.Group, rq.Version, rq.Resource)
		if !ok {
			// Not in the table (e.g. an alpha API or a custom resource):
			// trust the metric's removed_release label.
			m, err := deprecations.Minor(rq.RemovedRelease)
			if err != nil || m > p.targetMinor {
				if rq.RemovedRelease != "" {
					p.found.add(finding.Finding{Check: CheckDeprecatedAPIUse, Object: object, Severity: finding.Info, Source: SourceMetric,
						Message: fmt.Sprintf("clients requested deprecated %s %s, to be removed in %s", api, res, rq.RemovedRelease)})
				}
				continue
			}
			r = deprecations.Removal{APIVersion: api, Kind: res, Resource: rq.Resource, RemovedIn: rq.RemovedRelease}
		} else if r.Addon == "" && r.RemovedMinor() > p.targetMinor {
			p.found.add(finding.Finding{Check: CheckDeprecatedAPIUse, Object: object, Severity: finding.Info, Source: SourceMetric,
				Message: fmt.Sprintf("clients requested deprecated %s %s, removed in %s (after the target %s)", api, res, r.RemovedIn, p.in.TargetVersion),
				Fix:     r.Fix()})
			continue
		}
		r = p.table.AtTarget(r, p.in.TargetVersion)
		f := p.removedFinding(r, SourceMetric, object,
			fmt.Sprintf("the apiserver metric %s{group=%q,version=%q,resource=%q}: a client requested it since the apiserver started", DeprecatedAPIMetric, rq.Group, rq.Version, rq.Resource))
		f.Fix = "Find the client in the apiserver audit log (EKS control plane audit logs: annotations k8s.io/deprecated=true and k8s.io/removed-release, and the userAgent) and upgrade it. " + r.Fix()
		p.found.add(f)
	}
	return nil
}

// parseDeprecatedAPIMetric reads the samples of DeprecatedAPIMetric from a
// Prometheus text exposition. It streams the body and hands only the
// family's lines to the expfmt parser, so the apiserver's other (large)
// metric families are never held in memory.
func parseDeprecatedAPIMetric(r io.Reader) ([]deprecatedRequest, error) {
	var buf bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, DeprecatedAPIMetric+"{") || strings.HasPrefix(line, DeprecatedAPIMetric+" ") ||
			line == "# TYPE "+DeprecatedAPIMetric+" gauge" || strings.HasPrefix(line, "# HELP "+DeprecatedAPIMetric+" ") {
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		return nil, err
	}
	mf, ok := families[DeprecatedAPIMetric]
	if !ok {
		return nil, nil
	}
	var out []deprecatedRequest
	for _, m := range mf.GetMetric() {
		if m.GetGauge() != nil && m.GetGauge().GetValue() == 0 {
			continue
		}
		var rq deprecatedRequest
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "group":
				rq.Group = l.GetValue()
			case "version":
				rq.Version = l.GetValue()
			case "resource":
				rq.Resource = l.GetValue()
			case "subresource":
				rq.Subresource = l.GetValue()
			case "removed_release":
				rq.RemovedRelease = l.GetValue()
			}
		}
		out = append(out, rq)
	}
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i]) < fmt.Sprint(out[j])
	})
	return out, nil
}

// ---- last-applied annotations ----

// lastAppliedHeader is the part of a last-applied manifest the scan reads.
type lastAppliedHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// skipResources are never scanned for annotations: events are ephemeral and
// numerous, and are never applied with kubectl.
var skipResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:                 true,
	{Group: "events.k8s.io", Resource: "events"}:    true,
	{Group: "", Resource: "componentstatuses"}:      true,
	{Group: "authorization.k8s.io", Resource: "*"}:  true,
	{Group: "authentication.k8s.io", Resource: "*"}: true,
}

// listableResources returns every resource of the cluster's preferred
// versions that supports list, sorted. A failing aggregated API group is
// reported and skipped, not fatal.
func (p *preflight) listableResources() ([]schema.GroupVersionResource, error) {
	lists, err := p.c.Kube.Discovery().ServerPreferredResources()
	if err != nil {
		if !discovery.IsGroupDiscoveryFailedError(err) {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceLastApplied,
			Message: fmt.Sprintf("some API groups could not be discovered, their objects were not scanned: %v", err),
			Fix:     "Fix the unavailable APIService (kubectl get apiservices) and run preflight again."})
	}
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			if skipResources[schema.GroupResource{Group: gv.Group, Resource: r.Name}] || skipResources[schema.GroupResource{Group: gv.Group, Resource: "*"}] {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func (p *preflight) lastApplied(ctx context.Context) error {
	if p.c.Metadata == nil {
		return nil
	}
	resources, err := p.listableResources()
	if err != nil {
		return err
	}
	for _, gvr := range resources {
		// A retried attempt skips what the one before scanned (resources
		// are sorted, the checkpoint names the last one done).
		if cp := p.cp; cp != nil && cp.Done == p.step && cp.Resource != "" && gvr.String() <= cp.Resource {
			continue
		}
		list := func(ctx context.Context, o metav1.ListOptions) ([]metav1.PartialObjectMetadata, string, error) {
			l, err := p.c.Metadata.Resource(gvr).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}
		err := eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{}, list, func(items []metav1.PartialObjectMetadata) error {
			p.scanned += len(items)
			for i := range items {
				p.checkLastApplied(gvr, &items[i])
			}
			p.beat(ctx, Progress{Step: "last-applied", Objects: p.scanned, Detail: gvr.String()})
			return nil
		})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // the resource went away or is not listable after all
			}
			if apierrors.IsForbidden(err) {
				p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceLastApplied,
					Object:  gvr.String(),
					Message: fmt.Sprintf("could not list %s: %v", gvr.GroupResource(), err),
					Fix:     "Grant the worker's identity list on every resource (a read-only ClusterRole)."})
				continue
			}
			return fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
		}
		p.checkpoint(p.step, gvr.String())
	}
	return nil
}

func (p *preflight) checkLastApplied(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) {
	raw, ok := m.Annotations[LastAppliedAnnotation]
	if !ok || raw == "" {
		return
	}
	// kubectl writes one object per annotation, but a List applied by
	// another tool keeps the List: its items are read as objects.
	objs, _ := declaredObjects([]byte(raw)) // an unreadable annotation is not an API declaration
	name := m.Name
	if m.Namespace != "" {
		name = m.Namespace + "/" + m.Name
	}
	for _, o := range objs {
		r, ok := p.relevant(o.APIVersion, o.Kind)
		if !ok {
			continue
		}
		where := fmt.Sprintf("annotation %s of %s %s (served today as %s)", LastAppliedAnnotation, gvr.GroupResource(), name, gvr.GroupVersion())
		object := name
		if o.Item != "" {
			where += ", " + o.Item + " of a List"
			object = o.Name
			if ns := orDefault(o.Namespace, m.Namespace); ns != "" {
				object = ns + "/" + o.Name
			}
		}
		p.found.add(p.removedFinding(r, SourceLastApplied, fmt.Sprintf("%s %s %s", o.APIVersion, o.Kind, object), where))
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- Argo CD applications ----

// ArgoCDApplications is the Argo CD Application resource.
var ArgoCDApplications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

func (p *preflight) argoApplications(ctx context.Context) error {
	if p.c.Dynamic == nil {
		return nil
	}
	ri := p.c.Dynamic.Resource(ArgoCDApplications).Namespace(p.in.ArgoCDNamespace)
	list := func(ctx context.Context, o metav1.ListOptions) ([]map[string]any, string, error) {
		l, err := ri.List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out := make([]map[string]any, 0, len(l.Items))
		for _, it := range l.Items {
			out = append(out, it.Object)
		}
		return out, l.GetContinue(), nil
	}
	err := eachPage(ctx, p.a.opts.pageSize, metav1.ListOptions{}, list, func(apps []map[string]any) error {
		for _, obj := range apps {
			p.scanned++
			p.checkArgoApplication(obj)
		}
		p.beat(ctx, Progress{Step: "argocd-applications", Objects: p.scanned})
		return nil
	})
	if apierrors.IsNotFound(err) {
		p.log.Debug("No Argo CD Applications API, skipping", "cluster", p.in.Cluster.Name)
		return nil
	}
	if apierrors.IsForbidden(err) {
		p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceArgoCD,
			Message: fmt.Sprintf("could not list Argo CD Applications: %v", err),
			Fix:     "Grant the worker's identity list on applications.argoproj.io."})
		return nil
	}
	return err
}

func (p *preflight) checkArgoApplication(obj map[string]any) {
	var app struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Status struct {
			Resources []argov1alpha1.ResourceStatus `json:"resources"`
		} `json:"status"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &app); err != nil {
		return
	}
	appName := app.Metadata.Namespace + "/" + app.Metadata.Name
	for _, rs := range app.Status.Resources {
		api := rs.Version
		if rs.Group != "" {
			api = rs.Group + "/" + rs.Version
		}
		r, ok := p.relevant(api, rs.Kind)
		if !ok {
			continue
		}
		name := rs.Name
		if rs.Namespace != "" {
			name = rs.Namespace + "/" + rs.Name
		}
		where := fmt.Sprintf("status.resources of Argo CD Application %s (the manifest in its git source)", appName)
		f := p.removedFinding(r, SourceArgoCD, fmt.Sprintf("%s %s %s", api, rs.Kind, name), where)
		f.Fix = fmt.Sprintf("Change the manifest in Application %s's source repository, then sync. ", appName) + r.Fix()
		p.found.add(f)
	}
}
