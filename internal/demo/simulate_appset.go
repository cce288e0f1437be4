package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/sandbox"
)

// Argo CD's names the ApplicationSet controller uses.
const (
	clusterSecretTypeLabel = "argocd.argoproj.io/secret-type"
	inClusterServer        = "https://kubernetes.default.svc"
	inClusterName          = "in-cluster"
	// resourcesFinalizer is the finalizer of an Application whose
	// resources are deleted with it; the ApplicationSet controller adds it
	// to the Applications it generates unless the ApplicationSet's
	// syncPolicy.preserveResourcesOnDeletion is set.
	resourcesFinalizer = "resources-finalizer.argocd.argoproj.io"
	trackingAnnotation = "argocd.argoproj.io/tracking-id"
)

// connectQuiet is connect without the apiserver's warnings printed: every
// Application the ApplicationSet controller creates would draw one about
// Argo CD's finalizer name (as it does from a real Argo CD).
func connectQuiet(k *sandbox.Kube) (cluster, error) {
	cfg := k.RESTConfig()
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return cluster{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return cluster{}, err
	}
	return cluster{cs: cs, dyn: dyn}, nil
}

// applicationSets plays Argo CD's ApplicationSet controller in c's argocd
// namespace while it runs (its Deployment argocd-applicationset-controller
// exists and is not scaled to zero): for each ApplicationSet, the
// parameters of its list and clusters generators render its template
// (Argo CD's fasttemplate {{param}} substitution, goTemplate off), and the
// Applications it owns are converged to them: missing ones created, a spec,
// labels or annotations that differ updated, ones no longer generated
// deleted; its status conditions say whether that worked. Before that, as
// the garbage collector would, Applications whose owning ApplicationSet is
// gone are deleted, and an ApplicationSet deleted with orphan propagation
// releases its Applications.
func (s *Simulator) applicationSets(ctx context.Context, c cluster, name string) error {
	ns := sandbox.ArgoCDNamespace
	sets, err := c.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil // no CRD, no ApplicationSets
		}
		return err
	}
	apps, err := c.dyn.Resource(applicationGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err := s.collectApplicationSetGarbage(ctx, c, name, sets.Items, apps.Items); err != nil {
		return err
	}

	dep, err := c.cs.AppsV1().Deployments(ns).Get(ctx, sandbox.ArgoCDApplicationSetController, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil // not installed
	case err != nil:
		return err
	case dep.Spec.Replicas != nil && *dep.Spec.Replicas == 0:
		return nil // stopped: nothing generates here
	}
	if len(sets.Items) == 0 {
		return nil
	}
	secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: clusterSecretTypeLabel + "=cluster"})
	if err != nil {
		return err
	}
	for i := range sets.Items {
		set := &sets.Items[i]
		if set.GetDeletionTimestamp() != nil {
			continue
		}
		if err := s.reconcileApplicationSet(ctx, c, name, set, secrets.Items, apps.Items); err != nil {
			return fmt.Errorf("applicationset %s/%s: %w", ns, set.GetName(), err)
		}
	}
	return nil
}

// collectApplicationSetGarbage does the garbage collector's part for
// Applications owned by ApplicationSets (a bare apiserver has no
// kube-controller-manager): an Application whose controlling ApplicationSet
// no longer exists is deleted; an ApplicationSet being deleted with the
// orphan finalizer has its ownerReference removed from its Applications,
// then the finalizer; with foregroundDeletion its Applications are deleted
// first.
func (s *Simulator) collectApplicationSetGarbage(ctx context.Context, c cluster, name string, sets, apps []unstructured.Unstructured) error {
	ns := sandbox.ArgoCDNamespace
	byUID := map[types.UID]*unstructured.Unstructured{}
	for i := range sets {
		byUID[sets[i].GetUID()] = &sets[i]
	}
	owned := map[types.UID][]*unstructured.Unstructured{}
	for i := range apps {
		a := &apps[i]
		ref := applicationSetOwner(a)
		if ref == nil {
			continue
		}
		if _, ok := byUID[ref.UID]; !ok {
			if a.GetDeletionTimestamp() != nil {
				continue
			}
			if err := c.dyn.Resource(applicationGVR).Namespace(ns).Delete(ctx, a.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptrTo(a.GetUID())}}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
			s.Logger.Info("Simulated garbage collection deleted an application", "cluster", name, "application", a.GetName(), "applicationSet", ref.Name)
			continue
		}
		owned[ref.UID] = append(owned[ref.UID], a)
	}
	for i := range sets {
		set := &sets[i]
		if set.GetDeletionTimestamp() == nil {
			continue
		}
		fins := set.GetFinalizers()
		switch {
		case slices.Contains(fins, metav1.FinalizerOrphanDependents):
			for _, a := range owned[set.GetUID()] {
				refs := slices.DeleteFunc(a.GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == set.GetUID() })
				a.SetOwnerReferences(refs)
				if _, err := c.dyn.Resource(applicationGVR).Namespace(ns).Update(ctx, a, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
			}
			if err := s.removeApplicationSetFinalizer(ctx, c, set, metav1.FinalizerOrphanDependents); err != nil {
				return err
			}
			s.Logger.Info("Simulated garbage collection orphaned applications", "cluster", name, "applicationSet", set.GetName(), "applications", len(owned[set.GetUID()]))
		case slices.Contains(fins, metav1.FinalizerDeleteDependents):
			if len(owned[set.GetUID()]) > 0 {
				for _, a := range owned[set.GetUID()] {
					if a.GetDeletionTimestamp() == nil {
						if err := c.dyn.Resource(applicationGVR).Namespace(ns).Delete(ctx, a.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
							return err
						}
					}
				}
				continue // the finalizer goes once they are gone
			}
			if err := s.removeApplicationSetFinalizer(ctx, c, set, metav1.FinalizerDeleteDependents); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Simulator) removeApplicationSetFinalizer(ctx context.Context, c cluster, set *unstructured.Unstructured, finalizer string) error {
	set.SetFinalizers(slices.DeleteFunc(set.GetFinalizers(), func(f string) bool { return f == finalizer }))
	_, err := c.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(set.GetNamespace()).Update(ctx, set, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or changed: the next round sees it again
	}
	return err
}

func ptrTo[T any](v T) *T { return &v }

// applicationSetOwner is a's controlling ApplicationSet reference, if any.
func applicationSetOwner(a *unstructured.Unstructured) *metav1.OwnerReference {
	for _, r := range a.GetOwnerReferences() {
		if r.Kind == "ApplicationSet" && strings.HasPrefix(r.APIVersion, "argoproj.io/") && r.Controller != nil && *r.Controller {
			return &r
		}
	}
	return nil
}

// reconcileApplicationSet converges the Applications set owns to what its
// generators and template give, and records the outcome in its status.
func (s *Simulator) reconcileApplicationSet(ctx context.Context, c cluster, name string, set *unstructured.Unstructured, secrets []corev1.Secret, apps []unstructured.Unstructured) error {
	desired, genErr := generateApplications(set, secrets)
	if genErr != nil {
		return s.setApplicationSetConditions(ctx, c, set, genErr)
	}
	ns := set.GetNamespace()
	existing := map[string]*unstructured.Unstructured{}
	for i := range apps {
		existing[apps[i].GetName()] = &apps[i]
	}
	var errs []string
	generated := map[string]bool{}
	for _, want := range desired {
		appName := want.GetName()
		generated[appName] = true
		have, ok := existing[appName]
		if !ok {
			if _, err := c.dyn.Resource(applicationGVR).Namespace(ns).Create(ctx, want, metav1.CreateOptions{}); err != nil {
				if apierrors.IsAlreadyExists(err) {
					continue // created since the list: the next round compares it
				}
				errs = append(errs, fmt.Sprintf("create application %s: %v", appName, err))
				continue
			}
			s.Logger.Info("Simulated ApplicationSet created an application", "cluster", name, "applicationSet", set.GetName(), "application", appName)
			continue
		}
		owner := applicationSetOwner(have)
		if owner == nil {
			for _, r := range have.GetOwnerReferences() {
				if r.Controller != nil && *r.Controller {
					owner = &r
				}
			}
		}
		if owner != nil && owner.UID != set.GetUID() {
			errs = append(errs, fmt.Sprintf("application %s already exists and is controlled by %s %s", appName, owner.Kind, owner.Name))
			continue
		}
		if have.GetDeletionTimestamp() != nil {
			continue // being deleted: created again once it is gone
		}
		updated := have.DeepCopy()
		updated.Object["spec"] = want.Object["spec"]
		updated.SetLabels(preserved(have.GetLabels(), want.GetLabels(), preservedFields(set, "labels")))
		updated.SetAnnotations(preserved(have.GetAnnotations(), want.GetAnnotations(), append(preservedFields(set, "annotations"),
			"argocd.argoproj.io/refresh", "notified.notifications.argoproj.io")))
		updated.SetFinalizers(want.GetFinalizers())
		updated.SetOwnerReferences(want.GetOwnerReferences())
		if reflect.DeepEqual(updated.Object, have.Object) {
			continue
		}
		if _, err := c.dyn.Resource(applicationGVR).Namespace(ns).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, fmt.Sprintf("update application %s: %v", appName, err))
			continue
		}
		s.Logger.Info("Simulated ApplicationSet updated an application", "cluster", name, "applicationSet", set.GetName(), "application", appName)
	}
	for i := range apps {
		a := &apps[i]
		if generated[a.GetName()] || a.GetDeletionTimestamp() != nil {
			continue
		}
		if ref := applicationSetOwner(a); ref == nil || ref.UID != set.GetUID() {
			continue
		}
		if err := c.dyn.Resource(applicationGVR).Namespace(ns).Delete(ctx, a.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Sprintf("delete application %s: %v", a.GetName(), err))
			continue
		}
		s.Logger.Info("Simulated ApplicationSet deleted an application", "cluster", name, "applicationSet", set.GetName(), "application", a.GetName())
	}
	var err error
	if len(errs) > 0 {
		err = errors.New(strings.Join(errs, "; "))
	}
	return s.setApplicationSetConditions(ctx, c, set, err)
}

// preserved is want with the keys of have named in keep kept from have.
func preserved(have, want map[string]string, keep []string) map[string]string {
	out := map[string]string{}
	for k, v := range want {
		out[k] = v
	}
	for _, k := range keep {
		if v, ok := have[k]; ok {
			if _, set := want[k]; !set {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// preservedFields is the ApplicationSet's spec.preservedFields.<what>.
func preservedFields(set *unstructured.Unstructured, what string) []string {
	l, _, _ := unstructured.NestedStringSlice(set.Object, "spec", "preservedFields", what)
	return l
}

// setApplicationSetConditions writes the conditions Argo CD's controller
// reports (ErrorOccurred, ParametersGenerated, ResourcesUpToDate) when they
// changed; a condition keeps its lastTransitionTime while its status stays.
func (s *Simulator) setApplicationSetConditions(ctx context.Context, c cluster, set *unstructured.Unstructured, failure error) error {
	type cond struct{ typ, status, reason, message string }
	want := []cond{
		{"ErrorOccurred", "False", "ApplicationSetUpToDate", "All applications have been generated successfully"},
		{"ParametersGenerated", "True", "ParametersGenerated", "Successfully generated parameters for all Applications"},
		{"ResourcesUpToDate", "True", "ApplicationSetUpToDate", "All applications have been generated successfully"},
	}
	var genErr *generationError
	switch {
	case failure == nil:
	case errors.As(failure, &genErr):
		want = []cond{
			{"ErrorOccurred", "True", "ApplicationGenerationFromParamsError", failure.Error()},
			{"ParametersGenerated", "False", "ErrorOccurred", failure.Error()},
			{"ResourcesUpToDate", "False", "ApplicationGenerationFromParamsError", failure.Error()},
		}
	default:
		want = []cond{
			{"ErrorOccurred", "True", "ApplicationSetApplyError", failure.Error()},
			{"ParametersGenerated", "True", "ParametersGenerated", "Successfully generated parameters for all Applications"},
			{"ResourcesUpToDate", "False", "ApplicationSetApplyError", failure.Error()},
		}
	}
	old, _, _ := unstructured.NestedSlice(set.Object, "status", "conditions")
	oldByType := map[string]map[string]any{}
	for _, o := range old {
		if m, ok := o.(map[string]any); ok {
			t, _ := m["type"].(string)
			oldByType[t] = m
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	changed := len(old) != len(want)
	conds := make([]any, 0, len(want))
	for _, w := range want {
		transition := now
		if o, ok := oldByType[w.typ]; ok && o["status"] == w.status {
			if t, ok := o["lastTransitionTime"].(string); ok {
				transition = t
			}
			if o["reason"] != w.reason || o["message"] != w.message {
				changed = true
			}
		} else {
			changed = true
		}
		conds = append(conds, map[string]any{"type": w.typ, "status": w.status, "reason": w.reason, "message": w.message, "lastTransitionTime": transition})
	}
	if !changed {
		return nil
	}
	if err := unstructured.SetNestedSlice(set.Object, conds, "status", "conditions"); err != nil {
		return err
	}
	if _, err := c.dyn.Resource(sandbox.ApplicationSetGVR).Namespace(set.GetNamespace()).UpdateStatus(ctx, set, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// generationError is a failure to generate an ApplicationSet's parameters
// or to render its template: nothing is created, updated or deleted.
type generationError struct{ msg string }

func (e *generationError) Error() string { return e.msg }

func genErrorf(format string, args ...any) error {
	return &generationError{msg: fmt.Sprintf(format, args...)}
}

// generateApplications renders set's template with every parameter set of
// its generators: the Applications it owns, in generation order.
func generateApplications(set *unstructured.Unstructured, secrets []corev1.Secret) ([]*unstructured.Unstructured, error) {
	if goTemplate, _, _ := unstructured.NestedBool(set.Object, "spec", "goTemplate"); goTemplate {
		return nil, genErrorf("goTemplate is not simulated: only fasttemplate {{param}} substitution")
	}
	generators, _, err := unstructured.NestedSlice(set.Object, "spec", "generators")
	if err != nil {
		return nil, genErrorf("spec.generators: %v", err)
	}
	var paramSets []map[string]string
	for i, g := range generators {
		gen, _ := g.(map[string]any)
		switch {
		case gen["list"] != nil:
			p, err := listParams(gen["list"])
			if err != nil {
				return nil, genErrorf("generators[%d].list: %v", i, err)
			}
			paramSets = append(paramSets, p...)
		case gen["clusters"] != nil:
			p, err := clusterParams(gen["clusters"], secrets)
			if err != nil {
				return nil, genErrorf("generators[%d].clusters: %v", i, err)
			}
			paramSets = append(paramSets, p...)
		default:
			keys := make([]string, 0, len(gen))
			for k := range gen {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, genErrorf("generators[%d]: only list and clusters generators are simulated, not %s", i, strings.Join(keys, ","))
		}
	}
	tmpl, _, _ := unstructured.NestedMap(set.Object, "spec", "template")
	preserve, _, _ := unstructured.NestedBool(set.Object, "spec", "syncPolicy", "preserveResourcesOnDeletion")
	yes := true
	owner := metav1.OwnerReference{APIVersion: set.GetAPIVersion(), Kind: set.GetKind(), Name: set.GetName(), UID: set.GetUID(), Controller: &yes, BlockOwnerDeletion: &yes}
	var out []*unstructured.Unstructured
	seen := map[string]bool{}
	for _, params := range paramSets {
		rendered, _ := renderValue(tmpl, params).(map[string]any)
		meta, _ := rendered["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		app := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{}, "spec": rendered["spec"],
		}}
		name, _ := meta["name"].(string)
		if name == "" {
			return nil, genErrorf("template renders no metadata.name")
		}
		if seen[name] {
			return nil, genErrorf("ApplicationSet %s contains applications with duplicate name: %s", set.GetName(), name)
		}
		seen[name] = true
		app.SetName(name)
		app.SetNamespace(set.GetNamespace())
		app.SetLabels(stringMap(meta["labels"]))
		app.SetAnnotations(stringMap(meta["annotations"]))
		var fins []string
		if l, ok := meta["finalizers"].([]any); ok {
			for _, f := range l {
				if s, ok := f.(string); ok {
					fins = append(fins, s)
				}
			}
		}
		if len(fins) == 0 && !preserve {
			fins = []string{resourcesFinalizer}
		}
		app.SetFinalizers(fins)
		app.SetOwnerReferences([]metav1.OwnerReference{owner})
		out = append(out, app)
	}
	return out, nil
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// listParams gives one parameter set per element of a list generator:
// its keys, values.<k> for the keys of its values map; every value must be
// a string, as Argo CD requires without goTemplate.
func listParams(gen any) ([]map[string]string, error) {
	g, _ := gen.(map[string]any)
	elements, _ := g["elements"].([]any)
	var out []map[string]string
	for i, e := range elements {
		el, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("elements[%d] is not an object", i)
		}
		params := map[string]string{}
		for k, v := range el {
			if k == "values" {
				values, ok := v.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("elements[%d]: error parsing values map", i)
				}
				for vk, vv := range values {
					s, ok := vv.(string)
					if !ok {
						return nil, fmt.Errorf("elements[%d].values.%s: error parsing value as string", i, vk)
					}
					params["values."+vk] = s
				}
				continue
			}
			s, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				return nil, fmt.Errorf("elements[%d].%s: error parsing value as string (%s)", i, k, b)
			}
			params[k] = s
		}
		out = append(out, params)
	}
	return out, nil
}

var invalidDNSNameChars = regexp.MustCompile("[^-a-z0-9.]")

// sanitizeName is Argo CD's nameNormalized.
func sanitizeName(name string) string {
	name = invalidDNSNameChars.ReplaceAllString(strings.ToLower(name), "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

// clusterParams gives one parameter set per cluster secret matching a
// clusters generator's selector: name, nameNormalized, server, project,
// metadata.labels.<k>, metadata.annotations.<k>, and values.<k> rendered
// with them. An empty selector also yields the local cluster (in-cluster)
// when no secret registers it.
func clusterParams(gen any, secrets []corev1.Secret) ([]map[string]string, error) {
	g, _ := gen.(map[string]any)
	var sel metav1.LabelSelector
	if raw, ok := g["selector"]; ok && raw != nil {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &sel); err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	values := stringMap(g["values"])
	withValues := func(p map[string]string) map[string]string {
		rendered := map[string]string{}
		for k, v := range values {
			rendered["values."+k] = substitute(v, p)
		}
		for k, v := range rendered {
			p[k] = v
		}
		return p
	}
	var out []map[string]string
	local := len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
	if local {
		for _, sec := range secrets {
			if string(sec.Data["server"]) == inClusterServer {
				local = false
			}
		}
	}
	if local {
		out = append(out, withValues(map[string]string{"name": inClusterName, "nameNormalized": inClusterName, "server": inClusterServer, "project": ""}))
	}
	sorted := slices.Clone(secrets)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, sec := range sorted {
		if sec.Labels[clusterSecretTypeLabel] != "cluster" || !selector.Matches(labels.Set(sec.Labels)) {
			continue
		}
		name := string(sec.Data["name"])
		p := map[string]string{"name": name, "nameNormalized": sanitizeName(name), "server": string(sec.Data["server"]), "project": string(sec.Data["project"])}
		for k, v := range sec.Annotations {
			p["metadata.annotations."+k] = v
		}
		for k, v := range sec.Labels {
			p["metadata.labels."+k] = v
		}
		out = append(out, withValues(p))
	}
	return out, nil
}

// renderValue substitutes params in every string of v, map keys included
// (Argo CD renders the template's JSON).
func renderValue(v any, params map[string]string) any {
	switch x := v.(type) {
	case string:
		return substitute(x, params)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[substitute(k, params)] = renderValue(e, params)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = renderValue(e, params)
		}
		return out
	default:
		return v
	}
}

// substitute is fasttemplate's {{tag}} substitution as Argo CD runs it:
// a tag (spaces trimmed) that names a parameter is replaced by its value,
// any other {{tag}} stays as it is, and a {{ without }} is literal text.
func substitute(s string, params map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		tag := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		if v, ok := params[strings.TrimSpace(tag)]; ok && strings.TrimSpace(tag) != "" {
			b.WriteString(v)
		} else {
			b.WriteString("{{" + tag + "}}")
		}
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// finalizeApplications plays the application controller's part in deleting
// an Application with the resources finalizer while the controller runs
// (same rule as argocd()): the Deployments it deployed (their tracking-id
// annotation names it) in its destination namespace are deleted from the
// destination cluster when the simulator plays it (blue or green, by name
// or server), then the finalizer is removed.
func (s *Simulator) finalizeApplications(ctx context.Context, c cluster, name string, installed bool) error {
	ns := sandbox.ArgoCDNamespace
	sts, err := c.cs.AppsV1().StatefulSets(ns).Get(ctx, sandbox.ArgoCDApplicationController, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if installed {
			return nil
		}
	case err != nil:
		return err
	case sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0:
		return nil
	}
	apps, err := c.dyn.Resource(applicationGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	for i := range apps.Items {
		a := &apps.Items[i]
		if a.GetDeletionTimestamp() == nil || !slices.Contains(a.GetFinalizers(), resourcesFinalizer) {
			continue
		}
		destName, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "name")
		destServer, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "server")
		destNS, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "namespace")
		for _, k := range []*sandbox.Kube{s.Blue, s.Green} {
			if k == nil || destNS == "" || (destName != k.Name && destServer != k.Server) {
				continue
			}
			cs, err := kubernetes.NewForConfig(k.RESTConfig())
			if err != nil {
				return err
			}
			deps, err := cs.AppsV1().Deployments(destNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				if strings.HasPrefix(d.Annotations[trackingAnnotation], a.GetName()+":") {
					if err := cs.AppsV1().Deployments(destNS).Delete(ctx, d.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
						return err
					}
					s.Logger.Info("Simulated Argo CD deleted a resource of a deleted application", "cluster", name, "application", a.GetName(), "destination", k.Name, "deployment", destNS+"/"+d.Name)
				}
			}
		}
		a.SetFinalizers(slices.DeleteFunc(a.GetFinalizers(), func(f string) bool { return f == resourcesFinalizer }))
		if _, err := c.dyn.Resource(applicationGVR).Namespace(ns).Update(ctx, a, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
		s.Logger.Info("Simulated Argo CD finalized a deleted application", "cluster", name, "application", a.GetName())
	}
	return nil
}
