package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Annotations cutover writes on ApplicationSets and cluster Secrets.
const (
	// AnnotationPreviousTemplateDestination holds the JSON of the template
	// destination an ApplicationSet had before retarget pointed it at green.
	AnnotationPreviousTemplateDestination = "cutover.dev/previous-template-destination"
	// AnnotationAddedListElements holds the JSON of the list-generator
	// elements retarget added to an ApplicationSet (green's copies of
	// blue's elements, with the element each copies), so revert removes
	// exactly them and ReleaseBlueFromApplicationSets finds blue's.
	AnnotationAddedListElements = "cutover.dev/added-list-elements"
	// AnnotationRemovedListElements holds the JSON of blue's list elements
	// ReleaseBlueFromApplicationSets removed from an ApplicationSet.
	AnnotationRemovedListElements = "cutover.dev/removed-list-elements"
	// AnnotationAddedLabels holds the JSON list of the label keys retarget
	// copied from blue's cluster Secret to green's, so that a clusters
	// generator selecting blue selects green too.
	AnnotationAddedLabels = "cutover.dev/added-labels"
	// AnnotationRemovedLabels holds the JSON object of the labels (key to
	// value) ReleaseBlueFromApplicationSets removed from blue's cluster Secret.
	AnnotationRemovedLabels = "cutover.dev/removed-labels"
)

// DefaultApplicationSetWait is how long retarget waits, by default, for the
// ApplicationSet controller to generate green's applications.
const DefaultApplicationSetWait = 2 * time.Minute

// WithApplicationSetWait bounds how long retarget waits for the
// ApplicationSet controller to generate green's applications after it
// changed their ApplicationSets (default DefaultApplicationSetWait); past
// it the activity fails with a retryable Transient error.
func WithApplicationSetWait(d time.Duration) Option { return func(o *options) { o.appSetWait = d } }

// ReleaseBlueInput releases blue from the ApplicationSets retarget made
// generate green's applications. Retire runs it once traffic is all on
// green, right before blue is deleted.
type ReleaseBlueInput struct {
	// ArgoCluster is where Argo CD runs (and its ApplicationSets live).
	ArgoCluster clusters.Ref `json:"argoCluster"`
	Blue        clusters.Ref `json:"blue"`
	Green       clusters.Ref `json:"green"`
	Namespace   string       `json:"namespace"`
	// Selector limits the ApplicationSets, as in RestoreInput.
	Selector string `json:"selector,omitempty"`
	// Migration names the migration (logs only).
	Migration string `json:"migration"`
}

// ReleaseBlueResult is what ReleaseBlueFromApplicationSets changed.
type ReleaseBlueResult struct {
	// ApplicationSets lists the ApplicationSets that no longer generate
	// applications for blue because of this call.
	ApplicationSets []string `json:"applicationSets"`
	// Labels lists the labels removed from blue's cluster Secret, as
	// "secret: key".
	Labels []string `json:"labels"`
	// BlueApplications are the applications of those ApplicationSets that
	// target blue: their controller deletes them now.
	BlueApplications []string `json:"blueApplications"`
}

// listRecord is one element retarget added to a list generator.
type listRecord struct {
	// Generator is the index of the top-level generator.
	Generator int `json:"generator"`
	// Element is green's element, as added.
	Element json.RawMessage `json:"element"`
	// CopyOf is blue's element it copies.
	CopyOf json.RawMessage `json:"copyOf"`
}

// patchOp is one JSON Patch (RFC 6902) operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// jsonPatch applies ops to obj, failing with a Conflict (409) when obj
// changed since it was read: the patch sets its resourceVersion. JSON Patch
// changes exactly the fields named, so the rest of the object stays as it
// is, byte for byte.
func jsonPatch(ctx context.Context, c client.Client, obj client.Object, ops []patchOp) error {
	all := append([]patchOp{{Op: "replace", Path: "/metadata/resourceVersion", Value: obj.GetResourceVersion()}}, ops...)
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, b))
}

// annotationOps sets the annotations in set and removes those in remove
// from an object whose annotations are cur. When none would be left the
// annotations field is removed, as it was before cutover wrote one.
func annotationOps(cur map[string]string, set map[string]string, remove []string) []patchOp {
	after := map[string]string{}
	for k, v := range cur {
		after[k] = v
	}
	removed := false
	for _, k := range remove {
		if _, ok := after[k]; ok {
			delete(after, k)
			removed = true
		}
	}
	for k, v := range set {
		after[k] = v
	}
	switch {
	case len(after) == 0 && removed:
		return []patchOp{{Op: "remove", Path: "/metadata/annotations"}}
	case len(after) == 0:
		return nil
	case cur == nil:
		return []patchOp{{Op: "add", Path: "/metadata/annotations", Value: after}}
	}
	var ops []patchOp
	for _, k := range remove {
		if _, ok := cur[k]; ok {
			if _, again := set[k]; !again {
				ops = append(ops, patchOp{Op: "remove", Path: "/metadata/annotations/" + pointerEscaper.Replace(k)})
			}
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ops = append(ops, patchOp{Op: "add", Path: "/metadata/annotations/" + pointerEscaper.Replace(k), Value: set[k]})
	}
	return ops
}

// templateRef matches a {{ ... }} reference of an ApplicationSet template.
var (
	templateRef = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
	indexRef    = regexp.MustCompile(`^index\s+\.([^\s"]+)\s+"([^"]+)"$`)
)

// RenderTemplate substitutes the generator params in an ApplicationSet
// template string, enough to compare the names it gives two clusters:
// {{key}} (fasttemplate, the default) or, with goTemplate, {{ .key }} and
// {{ index .metadata.labels "k" }}. Keys are flattened with dots
// (metadata.labels.env). A reference to an unknown key, or another Go
// template action, is left as it is.
func RenderTemplate(tmpl string, params map[string]string, goTemplate bool) string {
	return templateRef.ReplaceAllStringFunc(tmpl, func(ref string) string {
		expr := templateRef.FindStringSubmatch(ref)[1]
		key := expr
		if goTemplate {
			if m := indexRef.FindStringSubmatch(expr); m != nil {
				key = m[1] + "." + m[2]
			} else if strings.HasPrefix(expr, ".") {
				key = expr[1:]
			} else {
				return ref
			}
		}
		if v, ok := params[key]; ok {
			return v
		}
		return ref
	})
}

// isParam reports whether s is a template (has a {{ reference).
func isParam(s string) bool { return strings.Contains(s, "{{") }

// flatten turns a list element into params: nested objects as dotted keys,
// other values in their JSON form.
func flatten(m map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				walk(prefix+k+".", vv)
			}
		case string:
			out[strings.TrimSuffix(prefix, ".")] = x
		default:
			b, _ := json.Marshal(x)
			out[strings.TrimSuffix(prefix, ".")] = string(b)
		}
	}
	walk("", m)
	return out
}

// canonical is the JSON of v with sorted keys.
func canonical(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// canonicalRaw is raw re-encoded with sorted keys (raw itself when it is
// not JSON).
func canonicalRaw(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return string(canonical(v))
}

// elementObject decodes a list element ("" ok=false when it is not an object).
func elementObject(el apiextensionsv1.JSON) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal(el.Raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// indexOfElement is the index of the element equal to raw, skipping the
// indexes in taken (-1 when there is none).
func indexOfElement(elements []apiextensionsv1.JSON, raw []byte, taken map[int]bool) int {
	want := canonicalRaw(raw)
	for i, el := range elements {
		if !taken[i] && canonicalRaw(el.Raw) == want {
			return i
		}
	}
	return -1
}

// elementKeys are the list-element keys that name a cluster.
var elementKeys = []string{"server", "url", "cluster", "name"}

// blueElement reports whether a list element names blue.
func blueElement(m map[string]any, blueT target) bool {
	for _, k := range elementKeys {
		if v, ok := m[k].(string); ok && (blueT.servers[normServer(v)] || blueT.names[v]) {
			return true
		}
	}
	return false
}

// mentionsBlue reports whether a generator names blue in a server, url,
// cluster or name value at any depth (nested generators).
func mentionsBlue(v any, blueT target) bool {
	switch x := v.(type) {
	case map[string]any:
		if blueElement(x, blueT) {
			return true
		}
		for _, vv := range x {
			if mentionsBlue(vv, blueT) {
				return true
			}
		}
	case []any:
		for _, vv := range x {
			if mentionsBlue(vv, blueT) {
				return true
			}
		}
	}
	return false
}

// unsupportedGenerator names the kind of a top-level generator retarget
// cannot change ("" for list and clusters).
func unsupportedGenerator(g argov1.ApplicationSetGenerator) string {
	switch {
	case g.Matrix != nil:
		return "matrix"
	case g.Merge != nil:
		return "merge"
	case g.Git != nil:
		return "git"
	case g.SCMProvider != nil:
		return "scmProvider"
	case g.PullRequest != nil:
		return "pullRequest"
	case g.ClusterDecisionResource != nil:
		return "clusterDecisionResource"
	case g.Plugin != nil:
		return "plugin"
	}
	return ""
}

// clusterParams are the params a clusters generator gives the cluster of
// sec (Argo CD's in-cluster when sec is nil), with lbls as its labels.
func clusterParams(sec *corev1.Secret, lbls map[string]string, values map[string]string, goTemplate bool) map[string]string {
	p := map[string]string{"name": InClusterName, "nameNormalized": InClusterName, "server": InClusterServer}
	if sec != nil {
		name := string(sec.Data["name"])
		p = map[string]string{
			"name":           name,
			"nameNormalized": strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(name), "-"), "-"),
			"server":         string(sec.Data["server"]),
			"project":        string(sec.Data["project"]),
		}
		for k, v := range sec.Annotations {
			p["metadata.annotations."+k] = v
		}
	}
	for k, v := range lbls {
		p["metadata.labels."+k] = v
	}
	for k, v := range values {
		p["values."+k] = RenderTemplate(v, p, goTemplate)
	}
	return p
}

// listClusterSecretObjects lists the Argo CD cluster Secrets in ns, by name.
func listClusterSecretObjects(ctx context.Context, c client.Client, ns string) ([]corev1.Secret, error) {
	var list corev1.SecretList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelSecretType: SecretTypeCluster}); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// secretOf is the first cluster Secret whose server is one of t's (nil
// when there is none).
func secretOf(secrets []corev1.Secret, t target) *corev1.Secret {
	for i := range secrets {
		if t.servers[normServer(string(secrets[i].Data["server"]))] {
			return &secrets[i]
		}
	}
	return nil
}

// listAppSets lists the ApplicationSets in ns matching sel, by name (none
// when the ApplicationSet CRD is not installed).
func listAppSets(ctx context.Context, c client.Client, ns string, sel labels.Selector) ([]argov1.ApplicationSet, error) {
	var list argov1.ApplicationSetList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		if isNoCRD(err) {
			return nil, nil
		}
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// owned lists the applications of apps owned by the ApplicationSet set.
func owned(apps []argov1.Application, set string) []*argov1.Application {
	var out []*argov1.Application
	for i := range apps {
		if appSetOwner(&apps[i]) == set {
			out = append(out, &apps[i])
		}
	}
	return out
}

func parseRecords(s string) ([]listRecord, error) {
	if s == "" {
		return nil, nil
	}
	var r []listRecord
	err := json.Unmarshal([]byte(s), &r)
	return r, err
}

func parseKeys(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var k []string
	err := json.Unmarshal([]byte(s), &k)
	return k, err
}

// appSetEnv is what retarget knows when it changes ApplicationSets.
type appSetEnv struct {
	c             client.Client
	in            RestoreInput
	blueT, greenT target
	// blueSecret is blue's cluster Secret (nil when blue is Argo CD's
	// in-cluster without one); greenSecret is green's (nil when green is
	// Argo CD's in-cluster).
	blueSecret, greenSecret *corev1.Secret
	greenServer, greenName  string
	newDest                 func(argov1.ApplicationDestination) argov1.ApplicationDestination
	// apps are every application in the namespace.
	apps []argov1.Application
}

// greenLabelsWith is green's labels with the labels of blue's Secret that
// green's lacks (the cluster-type label aside), and those added keys.
func (e *appSetEnv) greenLabelsWith() (map[string]string, []string) {
	out := map[string]string{}
	if e.greenSecret != nil {
		for k, v := range e.greenSecret.Labels {
			out[k] = v
		}
	}
	var added []string
	if e.blueSecret != nil && e.greenSecret != nil {
		for k, v := range e.blueSecret.Labels {
			if k == LabelSecretType {
				continue
			}
			if _, ok := out[k]; !ok {
				out[k] = v
				added = append(added, k)
			}
		}
	}
	sort.Strings(added)
	return out, added
}

// concernsBlue reports whether retarget must look at set: its template
// targets blue, cutover changed it already, one of its applications
// targets blue, or a generator names or selects blue.
func (e *appSetEnv) concernsBlue(set *argov1.ApplicationSet) bool {
	if set.Annotations[AnnotationPreviousTemplateDestination] != "" || set.Annotations[AnnotationAddedListElements] != "" {
		return true
	}
	d := set.Spec.Template.Spec.Destination
	if !isParam(d.Server) && !isParam(d.Name) && e.blueT.matches(d) {
		return true
	}
	for _, app := range owned(e.apps, set.Name) {
		if e.blueT.matches(app.Spec.Destination) {
			return true
		}
	}
	for _, g := range set.Spec.Generators {
		var v any
		if json.Unmarshal(canonical(g), &v) == nil && mentionsBlue(v, e.blueT) {
			return true
		}
		if g.Clusters != nil {
			sel, err := metav1.LabelSelectorAsSelector(&g.Clusters.Selector)
			if err != nil {
				continue
			}
			if e.blueSecret != nil && sel.Matches(labels.Set(e.blueSecret.Labels)) {
				return true
			}
			if e.blueSecret == nil && sel.Empty() && e.in.ArgoCluster == e.in.Blue {
				return true
			}
		}
	}
	return false
}

// setPlan is what retarget does to one ApplicationSet.
type setPlan struct {
	name string
	// literal: the template's destination names the cluster (it was blue,
	// it is or becomes green): every application moves.
	literal bool
	// ops and annotations change the ApplicationSet (none: nothing to write).
	ops         []patchOp
	annotations map[string]string
	// needLabels: green's cluster Secret needs blue's labels.
	needLabels bool
	// skip says why retarget leaves it to a person.
	skip string
	// project is the template's project (maybe a template itself).
	project string
}

// planAppSet decides what retarget does to set; a non-empty conflict means
// green's applications would collide with blue's.
func (e *appSetEnv) planAppSet(set *argov1.ApplicationSet) (p setPlan, conflict string) {
	p = setPlan{name: set.Name}
	tmpl := set.Spec.Template
	goT := set.Spec.GoTemplate
	p.project = tmpl.Spec.Project
	d := tmpl.Spec.Destination
	if !isParam(d.Server) && !isParam(d.Name) {
		switch {
		case e.greenT.matches(d):
			p.literal = true
		case e.blueT.matches(d):
			p.literal = true
			p.ops = []patchOp{{Op: "replace", Path: "/spec/template/spec/destination", Value: e.newDest(d)}}
			p.annotations = map[string]string{AnnotationPreviousTemplateDestination: destJSON(d)}
		default:
			p.skip = "its template's destination " + destJSON(d) + " is neither blue nor green"
		}
		return p, ""
	}
	if tp := set.Spec.TemplatePatch; tp != nil && strings.Contains(*tp, "destination") {
		p.skip = "its templatePatch sets the destination"
		return p, ""
	}
	for i, g := range set.Spec.Generators {
		if kind := unsupportedGenerator(g); kind != "" {
			if kind == "matrix" || kind == "merge" {
				p.skip = fmt.Sprintf("its %s generator (generators[%d]) nests generators", kind, i)
			} else {
				p.skip = fmt.Sprintf("its %s generator (generators[%d]) feeds a parameterised destination", kind, i)
			}
			return p, ""
		}
		if g.List != nil && g.List.ElementsYaml != "" {
			p.skip = fmt.Sprintf("its list generator (generators[%d]) uses elementsYaml", i)
			return p, ""
		}
		if (g.List != nil && g.List.Template.Spec.Destination != (argov1.ApplicationDestination{})) ||
			(g.Clusters != nil && g.Clusters.Template.Spec.Destination != (argov1.ApplicationDestination{})) {
			p.skip = fmt.Sprintf("generators[%d] overrides the template's destination", i)
			return p, ""
		}
	}
	existing, err := parseRecords(set.Annotations[AnnotationAddedListElements])
	if err != nil {
		p.skip = "its annotation " + AnnotationAddedListElements + " is not cutover's record: " + err.Error()
		return p, ""
	}
	collide := func(blueName string) string {
		return fmt.Sprintf("ApplicationSet %s: its template name %q gives blue's and green's applications the same name %q", set.Name, tmpl.Name, blueName)
	}
	relevant := false
	var added []listRecord
	for i, g := range set.Spec.Generators {
		switch {
		case g.List != nil:
			for _, el := range g.List.Elements {
				m, ok := elementObject(el)
				if !ok || !blueElement(m, e.blueT) {
					continue
				}
				relevant = true
				cp := make(map[string]any, len(m))
				for k, v := range m {
					cp[k] = v
				}
				for _, k := range elementKeys {
					v, ok := m[k].(string)
					switch {
					case !ok:
					case e.blueT.servers[normServer(v)]:
						cp[k] = e.greenServer
					case e.blueT.names[v]:
						cp[k] = e.greenName
					}
				}
				if bn, gn := RenderTemplate(tmpl.Name, flatten(m), goT), RenderTemplate(tmpl.Name, flatten(cp), goT); bn == gn {
					return p, collide(bn)
				}
				raw := canonical(cp)
				if indexOfElement(g.List.Elements, raw, nil) >= 0 || slices.ContainsFunc(added, func(r listRecord) bool {
					return r.Generator == i && string(r.Element) == string(raw)
				}) {
					continue
				}
				added = append(added, listRecord{Generator: i, Element: raw, CopyOf: canonical(m)})
			}
		case g.Clusters != nil:
			sel, err := metav1.LabelSelectorAsSelector(&g.Clusters.Selector)
			if err != nil {
				p.skip = fmt.Sprintf("the selector of its clusters generator (generators[%d]) is invalid: %v", i, err)
				return p, ""
			}
			var blueParams map[string]string
			switch {
			case e.blueSecret != nil && sel.Matches(labels.Set(e.blueSecret.Labels)):
				blueParams = clusterParams(e.blueSecret, e.blueSecret.Labels, g.Clusters.Values, goT)
			case e.blueSecret == nil && sel.Empty() && e.in.ArgoCluster == e.in.Blue:
				blueParams = clusterParams(nil, nil, g.Clusters.Values, goT)
			default:
				continue // the generator does not select blue
			}
			relevant = true
			var greenParams map[string]string
			switch {
			case e.greenSecret == nil && !sel.Empty():
				p.skip = fmt.Sprintf("its clusters generator (generators[%d]) selects by label and green is Argo CD's own cluster, without a cluster Secret to label", i)
				return p, ""
			case e.greenSecret == nil:
				greenParams = clusterParams(nil, nil, g.Clusters.Values, goT)
			default:
				with, _ := e.greenLabelsWith()
				if !sel.Matches(labels.Set(with)) {
					p.skip = fmt.Sprintf("green's cluster Secret %s does not match its clusters generator (generators[%d]) even with blue's labels", e.greenSecret.Name, i)
					return p, ""
				}
				if !sel.Matches(labels.Set(e.greenSecret.Labels)) {
					p.needLabels = true
				}
				greenParams = clusterParams(e.greenSecret, with, g.Clusters.Values, goT)
			}
			if bn, gn := RenderTemplate(tmpl.Name, blueParams, goT), RenderTemplate(tmpl.Name, greenParams, goT); bn == gn {
				return p, collide(bn)
			}
		}
	}
	if !relevant {
		p.skip = "none of its generators names blue in a server, url, cluster or name element or selects blue's cluster Secret"
		return p, ""
	}
	for _, r := range added {
		p.ops = append(p.ops, patchOp{Op: "add", Path: fmt.Sprintf("/spec/generators/%d/list/elements/-", r.Generator), Value: r.Element})
	}
	if len(added) > 0 {
		p.annotations = map[string]string{AnnotationAddedListElements: string(canonical(append(existing, added...)))}
	}
	return p, ""
}

// planAll plans the ApplicationSets that concern blue: the ones it
// can handle and the ones it leaves (skipped, with why). A name collision
// is a Conflict, before anything is written.
func (e *appSetEnv) planAll(sets []argov1.ApplicationSet) (handled, skipped []setPlan, err error) {
	var conflicts []string
	for i := range sets {
		if !e.concernsBlue(&sets[i]) {
			continue
		}
		p, conflict := e.planAppSet(&sets[i])
		switch {
		case conflict != "":
			conflicts = append(conflicts, conflict)
		case p.skip != "":
			skipped = append(skipped, p)
		default:
			handled = append(handled, p)
		}
	}
	if len(conflicts) > 0 {
		return nil, nil, failures.New(failures.Conflict, "argocd: green's applications would collide with blue's: %s", strings.Join(conflicts, "; "))
	}
	return handled, skipped, nil
}

// applyAppSets writes the plans: blue's labels onto green's cluster Secret
// (when a clusters generator needs them), then each ApplicationSet's
// patch. It returns the names of the ApplicationSets it changed.
func (a *Activities) applyAppSets(ctx context.Context, e *appSetEnv, plans []setPlan) ([]string, error) {
	ns := e.in.Namespace
	log := a.log(ctx)
	changed := map[string]bool{}
	if slices.ContainsFunc(plans, func(p setPlan) bool { return p.needLabels }) {
		var added []string
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			added = nil
			var cur corev1.Secret
			if err := e.c.Get(ctx, client.ObjectKeyFromObject(e.greenSecret), &cur); err != nil {
				return err
			}
			e.greenSecret = &cur
			with, keys := e.greenLabelsWith()
			if len(keys) == 0 {
				return nil
			}
			prev, err := parseKeys(cur.Annotations[AnnotationAddedLabels])
			if err != nil {
				return failures.New(failures.Conflict, "argocd: secret %s/%s: annotation %s is not a list of label keys: %v", ns, cur.Name, AnnotationAddedLabels, err)
			}
			record := append(slices.Clone(prev), keys...)
			sort.Strings(record)
			record = slices.Compact(record)
			orig := cur.DeepCopy()
			cur.Labels = with
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnotationAddedLabels] = string(canonical(record))
			if err := e.c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
			e.greenSecret = &cur
			added = keys
			return nil
		})
		if err != nil {
			return nil, apiError(err, "copy blue's labels to green's Argo CD cluster secret %s/%s", ns, e.greenSecret.Name)
		}
		if len(added) > 0 {
			log.Info("Copied blue's cluster labels to green's Argo CD cluster secret", "green", e.in.Green.Name, "secret", e.greenSecret.Name, "labels", added)
			for _, p := range plans {
				if p.needLabels {
					changed[p.name] = true
				}
			}
		}
	}
	for _, p := range plans {
		if len(p.ops) == 0 {
			continue
		}
		wrote := false
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			var cur argov1.ApplicationSet
			if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.name}, &cur); err != nil {
				return err
			}
			// Planned again on what was just read: the patch's indexes
			// and resourceVersion are those of cur.
			plan, conflict := e.planAppSet(&cur)
			if conflict != "" {
				return failures.New(failures.Conflict, "argocd: green's applications would collide with blue's: %s", conflict)
			}
			if plan.skip != "" {
				return failures.New(failures.Conflict, "argocd: ApplicationSet %s changed while being retargeted: %s", p.name, plan.skip)
			}
			if len(plan.ops) == 0 {
				return nil
			}
			ops := append(slices.Clone(plan.ops), annotationOps(cur.Annotations, plan.annotations, nil)...)
			if err := jsonPatch(ctx, e.c, &cur, ops); err != nil {
				return err
			}
			wrote = true
			return nil
		})
		if err != nil {
			return nil, apiError(err, "retarget Argo CD ApplicationSet %s/%s", ns, p.name)
		}
		if wrote {
			changed[p.name] = true
			log.Info("Retargeted Argo CD ApplicationSet to green", "applicationSet", p.name, "blue", e.in.Blue.Name, "green", e.in.Green.Name, "template", p.literal)
		}
	}
	out := make([]string, 0, len(changed))
	for n := range changed {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// waitAppSets heartbeats until every planned ApplicationSet has generated
// green's applications: all of them for a template destination, as many
// as target blue for generators. It returns their names.
func (a *Activities) waitAppSets(ctx context.Context, e *appSetEnv, plans []setPlan) ([]string, error) {
	bound := a.opts.appSetWait
	if bound <= 0 {
		bound = DefaultApplicationSetWait
	}
	deadline := a.opts.Now().Add(bound)
	progress := WaitProgress{}
	for {
		var list argov1.ApplicationList
		if err := e.c.List(ctx, &list, client.InNamespace(e.in.Namespace)); err != nil {
			return nil, apiError(err, "list Argo CD applications in %s on %s", e.in.Namespace, e.in.ArgoCluster.Name)
		}
		var names, pending []string
		var first string
		for _, p := range plans {
			blue, green := 0, 0
			for _, app := range owned(list.Items, p.name) {
				switch {
				case e.greenT.matches(app.Spec.Destination):
					green++
					names = append(names, app.Name)
				case e.blueT.matches(app.Spec.Destination):
					blue++
				}
			}
			want, done := blue, green >= blue
			if p.literal {
				want, done = blue+green, blue == 0
			}
			if !done {
				pending = append(pending, fmt.Sprintf("ApplicationSet %s=%d/%d", p.name, green, want))
				if first == "" {
					first = fmt.Sprintf("ApplicationSet %s has generated %d of %d applications for green", p.name, green, want)
				}
			}
		}
		if len(pending) == 0 {
			sort.Strings(names)
			return slices.Compact(names), nil
		}
		progress.Polls++
		progress.Pending = pending
		activitylog.Heartbeat(ctx, progress)
		if !a.opts.Now().Before(deadline) {
			return nil, failures.New(failures.Transient, "argocd: %s; is the ApplicationSet controller running?", first)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(a.opts.Poll):
		}
	}
}

// revertAppSets puts back what retarget changed on the ApplicationSets of
// in.Namespace (selected by sel): the template destination from its
// annotation, without the list elements it added; then removes the labels
// it copied onto green's cluster Secret. Each annotation goes with what it
// recorded, so a second run changes nothing.
func (a *Activities) revertAppSets(ctx context.Context, c client.Client, in RevertInput, sel labels.Selector, res *RevertResult) error {
	log := a.log(ctx)
	sets, err := listAppSets(ctx, c, in.Namespace, sel)
	if err != nil {
		return apiError(err, "list Argo CD ApplicationSets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	for i := range sets {
		name := sets[i].Name
		if sets[i].Annotations[AnnotationPreviousTemplateDestination] == "" && sets[i].Annotations[AnnotationAddedListElements] == "" {
			continue
		}
		reverted := false
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			reverted = false
			var cur argov1.ApplicationSet
			if err := c.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &cur); err != nil {
				return err
			}
			var ops []patchOp
			if prev := cur.Annotations[AnnotationPreviousTemplateDestination]; prev != "" {
				var d map[string]any
				if err := json.Unmarshal([]byte(prev), &d); err != nil {
					return failures.New(failures.Conflict, "argocd: ApplicationSet %s: annotation %s is not a destination: %v", name, AnnotationPreviousTemplateDestination, err)
				}
				ops = append(ops, patchOp{Op: "replace", Path: "/spec/template/spec/destination", Value: json.RawMessage(prev)})
			}
			records, err := parseRecords(cur.Annotations[AnnotationAddedListElements])
			if err != nil {
				return failures.New(failures.Conflict, "argocd: ApplicationSet %s: annotation %s is not cutover's record: %v", name, AnnotationAddedListElements, err)
			}
			ops = append(ops, removeElementOps(cur.Spec.Generators, records, func(r listRecord) json.RawMessage { return r.Element })...)
			ops = append(ops, annotationOps(cur.Annotations, nil, []string{AnnotationPreviousTemplateDestination, AnnotationAddedListElements})...)
			if err := jsonPatch(ctx, c, &cur, ops); err != nil {
				return err
			}
			reverted = true
			return nil
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return apiError(err, "revert Argo CD ApplicationSet %s/%s", in.Namespace, name)
		}
		if reverted {
			res.ApplicationSets = append(res.ApplicationSets, name)
			log.Info("Reverted Argo CD ApplicationSet to blue", "applicationSet", name, "argoCluster", in.ArgoCluster.Name)
			activitylog.Heartbeat(ctx, *res)
		}
	}

	secrets, err := listClusterSecretObjects(ctx, c, in.Namespace)
	if err != nil {
		return apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	var greenServer string
	if in.Green != nil && in.Green.Name != "" {
		if _, cfg, err := a.cluster(ctx, *in.Green); err != nil {
			log.Warn("Cannot resolve green; removing cutover's labels from every cluster secret that records them", "green", in.Green.Name, "error", err)
		} else {
			greenServer = normServer(cfg.Host)
		}
	}
	for i := range secrets {
		s := &secrets[i]
		if s.Annotations[AnnotationAddedLabels] == "" {
			continue
		}
		if greenServer != "" && normServer(string(s.Data["server"])) != greenServer {
			continue
		}
		var removed []string
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			removed = nil
			var cur corev1.Secret
			if err := c.Get(ctx, client.ObjectKeyFromObject(s), &cur); err != nil {
				return err
			}
			keys, err := parseKeys(cur.Annotations[AnnotationAddedLabels])
			if err != nil {
				return failures.New(failures.Conflict, "argocd: secret %s/%s: annotation %s is not a list of label keys: %v", in.Namespace, cur.Name, AnnotationAddedLabels, err)
			}
			if _, ok := cur.Annotations[AnnotationAddedLabels]; !ok {
				return nil
			}
			orig := cur.DeepCopy()
			for _, k := range keys {
				if _, ok := cur.Labels[k]; ok {
					delete(cur.Labels, k)
					removed = append(removed, k)
				}
			}
			delete(cur.Annotations, AnnotationAddedLabels)
			return c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return apiError(err, "remove cutover's labels from Argo CD cluster secret %s/%s", in.Namespace, s.Name)
		}
		for _, k := range removed {
			res.Labels = append(res.Labels, s.Name+": "+k)
		}
		if len(removed) > 0 {
			log.Info("Removed the labels cutover copied to a cluster secret", "secret", s.Name, "labels", removed)
		}
	}
	sort.Strings(res.ApplicationSets)
	sort.Strings(res.Labels)
	return nil
}

// removeElementOps removes, for each record, one list element equal to
// pick(record) from its generator (or, when the generators moved, from any
// top-level list generator). Indexes are removed from the highest down so
// each stays valid.
func removeElementOps(gens []argov1.ApplicationSetGenerator, records []listRecord, pick func(listRecord) json.RawMessage) []patchOp {
	taken := map[int]map[int]bool{}
	find := func(gi int, raw json.RawMessage) bool {
		if gi < 0 || gi >= len(gens) || gens[gi].List == nil {
			return false
		}
		if taken[gi] == nil {
			taken[gi] = map[int]bool{}
		}
		if ei := indexOfElement(gens[gi].List.Elements, raw, taken[gi]); ei >= 0 {
			taken[gi][ei] = true
			return true
		}
		return false
	}
	for _, r := range records {
		raw := pick(r)
		if find(r.Generator, raw) {
			continue
		}
		for gi := range gens {
			if gi != r.Generator && find(gi, raw) {
				break
			}
		}
	}
	type idx struct{ g, e int }
	var all []idx
	for g, es := range taken {
		for e := range es {
			all = append(all, idx{g, e})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].g != all[j].g {
			return all[i].g < all[j].g
		}
		return all[i].e > all[j].e
	})
	ops := make([]patchOp, 0, len(all))
	for _, x := range all {
		ops = append(ops, patchOp{Op: "remove", Path: fmt.Sprintf("/spec/generators/%d/list/elements/%d", x.g, x.e)})
	}
	return ops
}

// ReleaseBlueFromApplicationSets stops the ApplicationSets retarget
// changed from generating applications for blue, once traffic is all on
// green and right before blue is deleted: blue's list elements whose green
// copy retarget added are removed (recorded in
// AnnotationRemovedListElements), and the labels retarget copied from
// blue's cluster Secret to green's are removed from blue's (recorded in
// AnnotationRemovedLabels), so clusters generators select green alone.
// The ApplicationSet controller then deletes blue's applications. A second
// run changes nothing.
func (a *Activities) ReleaseBlueFromApplicationSets(ctx context.Context, in ReleaseBlueInput) (ReleaseBlueResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := ReleaseBlueResult{ApplicationSets: []string{}, Labels: []string{}, BlueApplications: []string{}}
	if in.Namespace == "" {
		return res, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if in.Blue.Name == "" || in.Green.Name == "" {
		return res, failures.New(failures.Validation, "argocd: blue and green clusters are required")
	}
	sel, err := labels.Parse(in.Selector)
	if err != nil {
		return res, failures.New(failures.Validation, "argocd.selector: %v", err)
	}
	if in.ArgoCluster.Name == "" {
		in.ArgoCluster = in.Blue
	}
	log := a.log(ctx)
	c, blueCfg, greenCfg, err := a.argoBlueGreen(ctx, in.ArgoCluster, in.Blue, in.Green)
	if err != nil {
		return res, err
	}
	secrets, err := listClusterSecretObjects(ctx, c, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	summaries, err := listClusterSecrets(ctx, c, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	blueT := newTarget(blueCfg.Host, in.ArgoCluster == in.Blue, summaries)
	greenT := target{servers: map[string]bool{normServer(greenCfg.Host): true}}
	blueSecret, greenSecret := secretOf(secrets, blueT), secretOf(secrets, greenT)

	// Blue's labels that were copied to green.
	blueBefore := map[string]string{}
	if blueSecret != nil {
		for k, v := range blueSecret.Labels {
			blueBefore[k] = v
		}
	}
	blueAfter := blueBefore
	if blueSecret != nil && greenSecret != nil && greenSecret.Annotations[AnnotationAddedLabels] != "" {
		keys, err := parseKeys(greenSecret.Annotations[AnnotationAddedLabels])
		if err != nil {
			return res, failures.New(failures.Conflict, "argocd: secret %s/%s: annotation %s is not a list of label keys: %v", in.Namespace, greenSecret.Name, AnnotationAddedLabels, err)
		}
		var removed []string
		err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			removed = nil
			var cur corev1.Secret
			if err := c.Get(ctx, client.ObjectKeyFromObject(blueSecret), &cur); err != nil {
				return err
			}
			record := map[string]string{}
			if s := cur.Annotations[AnnotationRemovedLabels]; s != "" {
				if err := json.Unmarshal([]byte(s), &record); err != nil {
					return failures.New(failures.Conflict, "argocd: secret %s/%s: annotation %s is not an object of labels: %v", in.Namespace, cur.Name, AnnotationRemovedLabels, err)
				}
			}
			orig := cur.DeepCopy()
			for _, k := range keys {
				if v, ok := cur.Labels[k]; ok && k != LabelSecretType {
					record[k] = v
					delete(cur.Labels, k)
					removed = append(removed, k)
				}
			}
			if len(removed) == 0 {
				blueAfter = cur.Labels
				return nil
			}
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnotationRemovedLabels] = string(canonical(record))
			if err := c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
			blueAfter = cur.Labels
			return nil
		})
		if err != nil {
			return res, apiError(err, "remove green's copied labels from blue's Argo CD cluster secret %s/%s", in.Namespace, blueSecret.Name)
		}
		sort.Strings(removed)
		for _, k := range removed {
			res.Labels = append(res.Labels, blueSecret.Name+": "+k)
		}
		if len(removed) > 0 {
			log.Info("Removed from blue's Argo CD cluster secret the labels copied to green", "blue", in.Blue.Name, "secret", blueSecret.Name, "labels", removed, "migration", in.Migration)
			activitylog.Heartbeat(ctx, res)
		}
	}

	sets, err := listAppSets(ctx, c, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD ApplicationSets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	var apps argov1.ApplicationList
	if err := c.List(ctx, &apps, client.InNamespace(in.Namespace)); err != nil {
		return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	for i := range sets {
		name := sets[i].Name
		released := false
		if sets[i].Annotations[AnnotationAddedListElements] != "" {
			err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
				released = false
				var cur argov1.ApplicationSet
				if err := c.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &cur); err != nil {
					return err
				}
				records, err := parseRecords(cur.Annotations[AnnotationAddedListElements])
				if err != nil {
					return failures.New(failures.Conflict, "argocd: ApplicationSet %s: annotation %s is not cutover's record: %v", name, AnnotationAddedListElements, err)
				}
				done, err := parseRecords(cur.Annotations[AnnotationRemovedListElements])
				if err != nil {
					return failures.New(failures.Conflict, "argocd: ApplicationSet %s: annotation %s is not cutover's record: %v", name, AnnotationRemovedListElements, err)
				}
				// Blue's element goes only while green's copy is there.
				var release []listRecord
				for _, r := range records {
					if present(cur.Spec.Generators, r.Element) {
						release = append(release, r)
					}
				}
				ops := removeElementOps(cur.Spec.Generators, release, func(r listRecord) json.RawMessage { return r.CopyOf })
				if len(ops) == 0 {
					return nil
				}
				for _, r := range release {
					if present(cur.Spec.Generators, r.CopyOf) {
						done = append(done, r)
					}
				}
				ops = append(ops, annotationOps(cur.Annotations, map[string]string{AnnotationRemovedListElements: string(canonical(done))}, nil)...)
				if err := jsonPatch(ctx, c, &cur, ops); err != nil {
					return err
				}
				released = true
				return nil
			})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return res, apiError(err, "remove blue's elements from Argo CD ApplicationSet %s/%s", in.Namespace, name)
			}
		}
		for _, g := range sets[i].Spec.Generators {
			if g.Clusters == nil || blueSecret == nil {
				continue
			}
			s, err := metav1.LabelSelectorAsSelector(&g.Clusters.Selector)
			if err == nil && !s.Empty() && s.Matches(labels.Set(blueBefore)) && !s.Matches(labels.Set(blueAfter)) {
				released = true
			}
		}
		if !released {
			continue
		}
		res.ApplicationSets = append(res.ApplicationSets, name)
		for _, app := range owned(apps.Items, name) {
			if blueT.matches(app.Spec.Destination) {
				res.BlueApplications = append(res.BlueApplications, app.Name)
			}
		}
		log.Info("Released blue from Argo CD ApplicationSet", "applicationSet", name, "blue", in.Blue.Name, "migration", in.Migration)
		activitylog.Heartbeat(ctx, res)
	}
	sort.Strings(res.BlueApplications)
	log.Info("Blue released from Argo CD ApplicationSets", "blue", in.Blue.Name, "applicationSets", len(res.ApplicationSets),
		"labels", len(res.Labels), "blueApplications", len(res.BlueApplications), "migration", in.Migration)
	return res, nil
}

// present reports whether a top-level list generator has an element equal to raw.
func present(gens []argov1.ApplicationSetGenerator, raw json.RawMessage) bool {
	for _, g := range gens {
		if g.List != nil && indexOfElement(g.List.Elements, raw, nil) >= 0 {
			return true
		}
	}
	return false
}
