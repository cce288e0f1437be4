package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Annotations of the Argo CD move.
const (
	// AnnotationCopiedBy names the migration whose CopyArgoCDSettings
	// wrote an object; RemoveArgoCDCopies deletes what carries it.
	AnnotationCopiedBy = "cutover.dev/copied-by"
	// AnnotationReplicasBefore holds the replicas an Argo CD controller had
	// before HandOverArgoCD scaled it to 0.
	AnnotationReplicasBefore = "cutover.dev/replicas-before"
	// AnnotationHandedOverBy names the migration that scaled it.
	AnnotationHandedOverBy = "cutover.dev/handed-over-by"

	// ResourcesFinalizer makes Argo CD delete an Application's resources
	// with it.
	ResourcesFinalizer = "resources-finalizer.argocd.argoproj.io"

	// DefaultProject is the AppProject Argo CD creates when it starts; a
	// copy replaces its spec (as argocd admin import does) and
	// RemoveArgoCDCopies leaves it.
	DefaultProject = "default"
)

// SettingsConfigMaps are the ConfigMaps CopyArgoCDSettings carries when
// From has them (argocd admin export's).
var SettingsConfigMaps = []string{"argocd-cm", "argocd-rbac-cm", "argocd-cmd-params-cm", "argocd-ssh-known-hosts-cm", "argocd-tls-certs-cm", "argocd-gpg-keys-cm"}

// RepositorySecretTypes are the values of LabelSecretType of the
// repository Secrets CopyArgoCDSettings carries.
var RepositorySecretTypes = []string{"repository", "repo-creds", "repository-write"}

// CopySettingsInput copies the Argo CD of From/Namespace into the Argo CD
// installed on To (same namespace).
type CopySettingsInput struct {
	From      clusters.Ref `json:"from"`
	To        clusters.Ref `json:"to"`
	Namespace string       `json:"namespace"`
	// Selector limits the Applications and ApplicationSets ("" = all).
	Selector  string `json:"selector,omitempty"`
	Migration string `json:"migration"`
	// Retarget, when set (copy mode), copies only the Applications and
	// ApplicationSets that target this cluster (blue), re-pointed to
	// in-cluster on To; the others stay with the Argo CD on From alone, so
	// no application is reconciled by two Argo CDs. Unset (the move),
	// those that target To are re-pointed and those that target From are
	// skipped.
	Retarget *clusters.Ref `json:"retarget,omitempty"`
}

// CopySettingsResult lists the names of the objects on To that are this
// migration's copies (created, updated or already as they should be).
type CopySettingsResult struct {
	ConfigMaps      []string `json:"configMaps"`
	Secrets         []string `json:"secrets"`
	Projects        []string `json:"projects"`
	Applications    []string `json:"applications"`
	ApplicationSets []string `json:"applicationSets"`
	// ServiceAccounts are To's Argo CD ServiceAccounts given the IAM role
	// (AnnotationIRSARole) From's of the same name has, so green's Argo CD
	// reaches what blue's did (the role's trust of green is the IRSA step's).
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`
	// Conflicts are objects To has that this migration did not copy; they
	// are left as they are ("Kind name: why").
	Conflicts []string `json:"conflicts,omitempty"`
	// Changed are the objects this call created or updated ("Kind name").
	Changed []string `json:"changed,omitempty"`
	// Skipped are the Applications and ApplicationSets not copied because
	// they target From, which the Argo CD on To does not reach ("Kind
	// name: why").
	Skipped []string `json:"skipped,omitempty"`
}

// MoveProgress is the heartbeat of CopyArgoCDSettings and RemoveArgoCDCopies.
type MoveProgress struct {
	Done int    `json:"done"`
	Last string `json:"last"`
}

// repointed is d with To's destinations (toT) made in-cluster: server
// https://kubernetes.default.svc, name cleared. ok reports whether it
// targeted To.
func repointed(d argov1.ApplicationDestination, toT target) (argov1.ApplicationDestination, bool) {
	if !toT.matches(d) {
		return d, false
	}
	return argov1.ApplicationDestination{Server: InClusterServer, Namespace: d.Namespace}, true
}

// copyMeta is the metadata of a copy of m: its name and namespace, labels,
// annotations without cutover's, kubectl's last-applied and Argo CD's
// refresh, plus copied-by and copied-from.
func copyMeta(m metav1.ObjectMeta, from clusters.Ref, migration string) metav1.ObjectMeta {
	ann := map[string]string{}
	for k, v := range m.Annotations {
		if strings.HasPrefix(k, "cutover.dev/") || k == "kubectl.kubernetes.io/last-applied-configuration" || k == "argocd.argoproj.io/refresh" {
			continue
		}
		ann[k] = v
	}
	ann[AnnotationCopiedBy] = migration
	ann[AnnotationCopiedFrom] = from.Name
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: maps.Clone(m.Labels), Annotations: ann}
}

// copier builds the objects the Argo CD on To gets.
type copier struct {
	from      clusters.Ref
	migration string
	// fromT and toT match the source and the destination cluster.
	fromT, toT target
}

func (k copier) project(p *argov1.AppProject) *argov1.AppProject {
	spec := *p.Spec.DeepCopy()
	for i, d := range spec.Destinations {
		spec.Destinations[i], _ = repointed(d, k.toT)
	}
	return &argov1.AppProject{ObjectMeta: copyMeta(p.ObjectMeta, k.from, k.migration), Spec: spec}
}

func (k copier) application(app *argov1.Application) *argov1.Application {
	spec := *app.Spec.DeepCopy()
	spec.Destination, _ = repointed(spec.Destination, k.toT)
	m := copyMeta(app.ObjectMeta, k.from, k.migration)
	m.Finalizers = slices.Clone(app.Finalizers)
	return &argov1.Application{ObjectMeta: m, Spec: spec}
}

func (k copier) applicationSet(s *argov1.ApplicationSet) *argov1.ApplicationSet {
	spec := *s.Spec.DeepCopy()
	spec.Template.Spec.Destination, _ = repointed(spec.Template.Spec.Destination, k.toT)
	// List generators: an element naming From would generate an
	// application for a cluster that is being retired, so it is dropped;
	// one naming To names the copy's own cluster, in-cluster.
	for i := range spec.Generators {
		l := spec.Generators[i].List
		if l == nil {
			continue
		}
		kept := l.Elements[:0]
		for _, el := range l.Elements {
			m, ok := elementObject(el)
			switch {
			case !ok:
				kept = append(kept, el)
			case blueElement(m, k.fromT):
				// dropped
			case blueElement(m, k.toT):
				for _, key := range elementKeys {
					v, isStr := m[key].(string)
					if !isStr || !(k.toT.servers[normServer(v)] || k.toT.names[v]) {
						continue
					}
					if key == "server" || key == "url" {
						m[key] = InClusterServer
					} else {
						m[key] = InClusterName
					}
				}
				kept = append(kept, apiextensionsv1.JSON{Raw: canonical(m)})
			default:
				kept = append(kept, el)
			}
		}
		l.Elements = kept
	}
	m := copyMeta(s.ObjectMeta, k.from, k.migration)
	m.Finalizers = slices.Clone(s.Finalizers)
	return &argov1.ApplicationSet{ObjectMeta: m, Spec: spec}
}

// selectable reports whether a cluster Secret has labels of its own, which
// ApplicationSet cluster generators select by (the secret-type label
// aside).
func selectable(sec *corev1.Secret) bool {
	for k := range sec.Labels {
		if k != LabelSecretType {
			return true
		}
	}
	return false
}

// kinds of what CopyArgoCDSettings writes.
const (
	kindConfigMap      = "ConfigMap"
	kindSecret         = "Secret"
	kindProject        = "AppProject"
	kindApplication    = "Application"
	kindApplicationSet = "ApplicationSet"
)

// copyResult is the outcome of putCopy.
type copyResult int

const (
	copyUnchanged copyResult = iota
	copyCreated
	copyUpdated
	copyConflict
)

// putCopy creates want on c, or brings the copy this migration made up to
// date: assign copies want's content into the current object, content is
// what is compared. An object without this migration's copied-by
// annotation is a conflict unless adopt is set (it is then updated too).
func putCopy[T client.Object](ctx context.Context, c client.Client, want T, fresh func() T, assign func(cur, want T), content func(T) any, migration string, adopt bool) (copyResult, error) {
	out := copyUnchanged
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := fresh()
		err := c.Get(ctx, client.ObjectKeyFromObject(want), cur)
		if apierrors.IsNotFound(err) {
			obj := want.DeepCopyObject().(T)
			if err := c.Create(ctx, obj); err != nil {
				if apierrors.IsAlreadyExists(err) {
					// Created concurrently: read it and decide again.
					return apierrors.NewConflict(schema.GroupResource{}, want.GetName(), err)
				}
				return err
			}
			out = copyCreated
			return nil
		}
		if err != nil {
			return err
		}
		if cur.GetAnnotations()[AnnotationCopiedBy] != migration && !adopt {
			out = copyConflict
			return nil
		}
		before, _ := json.Marshal(content(cur))
		assign(cur, want)
		after, _ := json.Marshal(content(cur))
		if string(before) == string(after) {
			out = copyUnchanged
			return nil
		}
		if err := c.Update(ctx, cur); err != nil {
			return err
		}
		out = copyUpdated
		return nil
	})
	return out, err
}

// setMeta gives cur want's labels, annotations and finalizers.
func setMeta(cur, want client.Object) {
	cur.SetLabels(want.GetLabels())
	cur.SetAnnotations(want.GetAnnotations())
	cur.SetFinalizers(want.GetFinalizers())
}

func metaContent(o client.Object) map[string]any {
	return map[string]any{"labels": o.GetLabels(), "annotations": o.GetAnnotations(), "finalizers": o.GetFinalizers()}
}

// CopyArgoCDSettings carries what `argocd admin export` and `import` carry
// from the Argo CD on in.From to the one installed on in.To (same
// namespace): the ConfigMaps SettingsConfigMaps that From has (To's data
// replaced; To's labels and annotations kept, From's labels added), the
// repository Secrets (RepositorySecretTypes), the cluster Secrets except
// From's and To's own (To's destination becomes in-cluster; From's is not
// reachable once From is retired), the AppProjects, and the Applications
// and ApplicationSets matching in.Selector. Destinations that are To (by
// server, or by name through From's cluster Secrets) become server
// https://kubernetes.default.svc with no name, in Applications,
// ApplicationSet templates and project destinations. Applications and
// ApplicationSets that target From are skipped. Copies have no status,
// operation or owner references, keep From's finalizers exactly, and
// carry AnnotationCopiedBy; a copy of this migration is updated, any other
// object of the same name is left and reported in Conflicts (ConfigMaps
// and the default AppProject excepted: InstallArgoCD and Argo CD itself
// created them, so they are updated). A second run writes nothing.
func (a *Activities) CopyArgoCDSettings(ctx context.Context, in CopySettingsInput) (CopySettingsResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := CopySettingsResult{ConfigMaps: []string{}, Secrets: []string{}, Projects: []string{}, Applications: []string{}, ApplicationSets: []string{}}
	if in.Namespace == "" {
		return res, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if in.Migration == "" {
		return res, failures.New(failures.Validation, "argocd: migration: required")
	}
	if in.From.Name == "" || in.To.Name == "" || in.From == in.To {
		return res, failures.New(failures.Validation, "argocd: two different clusters are required (from %q, to %q)", in.From.Name, in.To.Name)
	}
	sel, err := labels.Parse(in.Selector)
	if err != nil {
		return res, failures.New(failures.Validation, "argocd.selector: %v", err)
	}
	log := a.log(ctx)
	fromC, fromCfg, err := a.cluster(ctx, in.From)
	if err != nil {
		return res, err
	}
	toC, toCfg, err := a.cluster(ctx, in.To)
	if err != nil {
		return res, err
	}
	if normServer(fromCfg.Host) == normServer(toCfg.Host) {
		return res, failures.New(failures.Validation, "argocd: %s and %s have the same API server %s", in.From.Name, in.To.Name, fromCfg.Host)
	}
	var ns corev1.Namespace
	if err := toC.Get(ctx, client.ObjectKey{Name: in.Namespace}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			return res, failures.New(failures.NotFound, "argocd: namespace %s does not exist on %s: install Argo CD there first (InstallArgoCD)", in.Namespace, in.To.Name)
		}
		return res, apiError(err, "get namespace %s on %s", in.Namespace, in.To.Name)
	}
	secrets, err := listClusterSecrets(ctx, fromC, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.From.Name)
	}
	fromT := newTarget(fromCfg.Host, true, secrets)
	toT := newTarget(toCfg.Host, false, secrets)
	// skip says why an Application or ApplicationSet of destination d is
	// not copied ("" when it is).
	skip := func(d argov1.ApplicationDestination) string {
		if fromT.matches(d) {
			return "targets " + in.From.Name
		}
		return ""
	}
	var retargetT target
	if in.Retarget != nil {
		_, rcfg, err := a.cluster(ctx, *in.Retarget)
		if err != nil {
			return res, err
		}
		// What targets Retarget becomes in-cluster on To.
		retargetT = newTarget(rcfg.Host, *in.Retarget == in.From, secrets)
		toT = retargetT
		skip = func(d argov1.ApplicationDestination) string {
			if !retargetT.matches(d) {
				return "does not target " + in.Retarget.Name
			}
			return ""
		}
	}
	k := copier{from: in.From, migration: in.Migration, fromT: fromT, toT: toT}

	p := MoveProgress{}
	record := func(kind, name string, r copyResult, list *[]string) {
		switch r {
		case copyConflict:
			res.Conflicts = append(res.Conflicts, fmt.Sprintf("%s %s: exists on %s and was not copied by migration %s", kind, name, in.To.Name, in.Migration))
			log.Warn("Argo CD object already exists and was not copied by this migration; left as it is", "cluster", in.To.Name, "kind", kind, "name", name, "namespace", in.Namespace)
			return
		case copyCreated, copyUpdated:
			res.Changed = append(res.Changed, kind+" "+name)
			log.Info("Copied Argo CD object", "cluster", in.To.Name, "from", in.From.Name, "kind", kind, "name", name, "namespace", in.Namespace, "created", r == copyCreated)
		}
		*list = append(*list, name)
		p.Done++
		p.Last = kind + " " + name
		activitylog.Heartbeat(ctx, p)
	}

	// ConfigMaps.
	for _, name := range SettingsConfigMaps {
		var src corev1.ConfigMap
		err := fromC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &src)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return res, apiError(err, "get ConfigMap %s/%s on %s", in.Namespace, name, in.From.Name)
		}
		want := &corev1.ConfigMap{ObjectMeta: copyMeta(src.ObjectMeta, in.From, in.Migration), Data: src.Data, BinaryData: src.BinaryData}
		r, err := putCopy(ctx, toC, want, func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
			func(cur, want *corev1.ConfigMap) {
				cur.Data, cur.BinaryData = want.Data, want.BinaryData
				// Blue's labels added to green's; none at all stays nil, so
				// a retry compares equal and writes nothing.
				lbls := maps.Clone(want.Labels)
				if lbls == nil {
					lbls = map[string]string{}
				}
				maps.Copy(lbls, cur.Labels)
				if len(lbls) > 0 {
					cur.Labels = lbls
				}
				if cur.Annotations == nil {
					cur.Annotations = map[string]string{}
				}
				cur.Annotations[AnnotationCopiedBy] = in.Migration
				cur.Annotations[AnnotationCopiedFrom] = in.From.Name
			},
			func(c *corev1.ConfigMap) any { return []any{c.Data, c.BinaryData, c.Labels, c.Annotations} },
			in.Migration, true)
		if err != nil {
			return res, apiError(err, "copy ConfigMap %s/%s to %s", in.Namespace, name, in.To.Name)
		}
		record(kindConfigMap, name, r, &res.ConfigMaps)
	}

	// The IAM roles of Argo CD's ServiceAccounts (IRSA), onto the ones
	// To's install has.
	var sas corev1.ServiceAccountList
	if err := fromC.List(ctx, &sas, client.InNamespace(in.Namespace)); err != nil {
		return res, apiError(err, "list ServiceAccounts in %s on %s", in.Namespace, in.From.Name)
	}
	sort.Slice(sas.Items, func(i, j int) bool { return sas.Items[i].Name < sas.Items[j].Name })
	for _, src := range sas.Items {
		role := src.Annotations[AnnotationIRSARole]
		if role == "" {
			continue
		}
		changed := false
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			changed = false
			var cur corev1.ServiceAccount
			if err := toC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: src.Name}, &cur); err != nil {
				return err
			}
			if cur.Annotations[AnnotationIRSARole] == role {
				return nil
			}
			orig := cur.DeepCopy()
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnotationIRSARole] = role
			changed = true
			return toC.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			continue // not part of To's install
		}
		if err != nil {
			return res, apiError(err, "set the IAM role of ServiceAccount %s/%s on %s", in.Namespace, src.Name, in.To.Name)
		}
		if changed {
			res.Changed = append(res.Changed, "ServiceAccount "+src.Name)
			log.Info("Gave Argo CD's ServiceAccount its IAM role", "cluster", in.To.Name, "serviceAccount", src.Name, "role", role)
		}
		res.ServiceAccounts = append(res.ServiceAccounts, src.Name)
	}

	// Repository and cluster Secrets.
	repoSel, _ := labels.Parse(LabelSecretType + " in (" + strings.Join(append(slices.Clone(RepositorySecretTypes), SecretTypeCluster), ",") + ")")
	var srcSecrets corev1.SecretList
	if err := fromC.List(ctx, &srcSecrets, client.InNamespace(in.Namespace), client.MatchingLabelsSelector{Selector: repoSel}); err != nil {
		return res, apiError(err, "list Argo CD secrets in %s on %s", in.Namespace, in.From.Name)
	}
	sort.Slice(srcSecrets.Items, func(i, j int) bool { return srcSecrets.Items[i].Name < srcSecrets.Items[j].Name })
	for i := range srcSecrets.Items {
		src := &srcSecrets.Items[i]
		want := &corev1.Secret{ObjectMeta: copyMeta(src.ObjectMeta, in.From, in.Migration), Type: src.Type, Data: src.Data}
		if src.Labels[LabelSecretType] == SecretTypeCluster {
			server := normServer(string(src.Data["server"]))
			isTo := toT.servers[server] || normServer(toCfg.Host) == server
			if fromT.servers[server] || (isTo && !selectable(src)) {
				continue // From's and To's own (and Retarget's): To is in-cluster there.
			}
			if isTo {
				// To's Secret carries labels a cluster generator selects
				// it by: on To's Argo CD it becomes the in-cluster Secret
				// (same name and labels, no credentials: Argo CD's own
				// ServiceAccount), so those ApplicationSets go on
				// generating To's applications there.
				want.Data = map[string][]byte{"name": src.Data["name"], "server": []byte(InClusterServer), "config": []byte(`{"tlsClientConfig":{"insecure":false}}`)}
			}
		}
		r, err := putCopy(ctx, toC, want, func() *corev1.Secret { return &corev1.Secret{} },
			func(cur, want *corev1.Secret) { setMeta(cur, want); cur.Data = want.Data },
			func(c *corev1.Secret) any { return []any{metaContent(c), c.Data} },
			in.Migration, false)
		if err != nil {
			return res, apiError(err, "copy Secret %s/%s to %s", in.Namespace, src.Name, in.To.Name)
		}
		record(kindSecret, src.Name, r, &res.Secrets)
	}

	// Projects.
	var projects argov1.AppProjectList
	if err := fromC.List(ctx, &projects, client.InNamespace(in.Namespace)); err != nil {
		return res, apiError(err, "list Argo CD projects in %s on %s", in.Namespace, in.From.Name)
	}
	sort.Slice(projects.Items, func(i, j int) bool { return projects.Items[i].Name < projects.Items[j].Name })
	for i := range projects.Items {
		want := k.project(&projects.Items[i])
		r, err := putCopy(ctx, toC, want, func() *argov1.AppProject { return &argov1.AppProject{} },
			func(cur, want *argov1.AppProject) { setMeta(cur, want); cur.Spec = want.Spec },
			func(c *argov1.AppProject) any { return []any{metaContent(c), c.Spec} },
			in.Migration, want.Name == DefaultProject)
		if err != nil {
			return res, apiError(err, "copy Argo CD project %s/%s to %s", in.Namespace, want.Name, in.To.Name)
		}
		record(kindProject, want.Name, r, &res.Projects)
	}

	// ApplicationSets, then Applications.
	var sets argov1.ApplicationSetList
	if err := fromC.List(ctx, &sets, client.InNamespace(in.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil && !isNoCRD(err) {
		return res, apiError(err, "list Argo CD ApplicationSets in %s on %s", in.Namespace, in.From.Name)
	}
	sort.Slice(sets.Items, func(i, j int) bool { return sets.Items[i].Name < sets.Items[j].Name })
	for i := range sets.Items {
		src := &sets.Items[i]
		if d := src.Spec.Template.Spec.Destination; skip(d) != "" {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: its template %s (%s)", kindApplicationSet, src.Name, skip(d), d.Server+d.Name))
			continue
		}
		want := k.applicationSet(src)
		r, err := putCopy(ctx, toC, want, func() *argov1.ApplicationSet { return &argov1.ApplicationSet{} },
			func(cur, want *argov1.ApplicationSet) { setMeta(cur, want); cur.Spec = want.Spec },
			func(c *argov1.ApplicationSet) any { return []any{metaContent(c), c.Spec} },
			in.Migration, false)
		if err != nil {
			return res, apiError(err, "copy Argo CD ApplicationSet %s/%s to %s", in.Namespace, want.Name, in.To.Name)
		}
		record(kindApplicationSet, want.Name, r, &res.ApplicationSets)
	}
	apps, err := listApps(ctx, fromC, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.From.Name)
	}
	for i := range apps {
		src := &apps[i]
		if d := src.Spec.Destination; skip(d) != "" {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: %s (%s)", kindApplication, src.Name, skip(d), d.Server+d.Name))
			log.Info("Not copying an Argo CD application", "cluster", in.From.Name, "app", src.Name, "why", skip(d))
			continue
		}
		want := k.application(src)
		r, err := putCopy(ctx, toC, want, func() *argov1.Application { return &argov1.Application{} },
			func(cur, want *argov1.Application) { setMeta(cur, want); cur.Spec = want.Spec; cur.Operation = nil },
			func(c *argov1.Application) any { return []any{metaContent(c), c.Spec, c.Operation} },
			in.Migration, false)
		if err != nil {
			return res, apiError(err, "copy Argo CD application %s/%s to %s", in.Namespace, want.Name, in.To.Name)
		}
		record(kindApplication, want.Name, r, &res.Applications)
	}
	log.Info("Copied Argo CD settings", "cluster", in.To.Name, "from", in.From.Name, "namespace", in.Namespace,
		"configMaps", len(res.ConfigMaps), "secrets", len(res.Secrets), "projects", len(res.Projects),
		"applications", len(res.Applications), "applicationSets", len(res.ApplicationSets), "changed", len(res.Changed), "conflicts", len(res.Conflicts))
	return res, nil
}

// HandOverInput stops (or, with Back, restarts) the Argo CD on From.
type HandOverInput struct {
	From      clusters.Ref `json:"from"`
	Namespace string       `json:"namespace"`
	Migration string       `json:"migration"`
	// Back scales the controllers back to the replicas recorded (rollback).
	Back bool `json:"back"`
}

// HandOverResult lists the scalings this call made, e.g.
// "StatefulSet argocd/argocd-application-controller 1->0".
type HandOverResult struct {
	Scaled []string `json:"scaled"`
}

// HandOverArgoCD stops the Argo CD on in.From from managing anything: its
// application controller (StatefulSet or Deployment) and ApplicationSet
// controller (Deployment) are scaled to 0, the replicas they had recorded
// in AnnotationReplicasBefore. With Back they are scaled back to the
// recorded replicas and the annotations removed; one scaled by another
// migration is a Conflict. A component that does not exist is skipped; a
// second run changes nothing.
func (a *Activities) HandOverArgoCD(ctx context.Context, in HandOverInput) (HandOverResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := HandOverResult{Scaled: []string{}}
	if in.Namespace == "" {
		return res, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if in.Migration == "" {
		return res, failures.New(failures.Validation, "argocd: migration: required")
	}
	log := a.log(ctx)
	c, _, err := a.cluster(ctx, in.From)
	if err != nil {
		return res, err
	}
	components := []struct {
		name  string
		kinds []schema.GroupVersionKind
	}{
		{ApplicationController, []schema.GroupVersionKind{statefulSetGVK, deploymentGVK}},
		{ApplicationSetController, []schema.GroupVersionKind{deploymentGVK}},
	}
	for _, comp := range components {
		var scaled string
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			scaled = ""
			w, err := getWorkload(ctx, c, in.Namespace, comp.name, comp.kinds...)
			if err != nil || w == nil {
				return err
			}
			u := w.obj
			orig := u.DeepCopy()
			replicas := int64(1)
			if r, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); found {
				replicas = r
			}
			ann := u.GetAnnotations()
			recorded, handed := ann[AnnotationReplicasBefore]
			if by := ann[AnnotationHandedOverBy]; handed && by != "" && by != in.Migration {
				return failures.New(failures.Conflict, "argocd: %s on %s was scaled down by migration %s, not %s", w, in.From.Name, by, in.Migration)
			}
			var to int64
			if in.Back {
				if !handed {
					return nil
				}
				n, perr := strconv.ParseInt(recorded, 10, 32)
				if perr != nil || n < 0 {
					return failures.New(failures.InvalidParameter, "argocd: %s on %s: annotation %s=%q is not a replica count", w, in.From.Name, AnnotationReplicasBefore, recorded)
				}
				to = n
				delete(ann, AnnotationReplicasBefore)
				delete(ann, AnnotationHandedOverBy)
			} else {
				if replicas == 0 {
					return nil // stopped already (by an earlier attempt, or never running)
				}
				if ann == nil {
					ann = map[string]string{}
				}
				ann[AnnotationReplicasBefore] = strconv.FormatInt(replicas, 10)
				ann[AnnotationHandedOverBy] = in.Migration
				to = 0
			}
			u.SetAnnotations(ann)
			if err := unstructured.SetNestedField(u.Object, to, "spec", "replicas"); err != nil {
				return err
			}
			if err := c.Patch(ctx, u, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
			scaled = fmt.Sprintf("%s %d->%d", w, replicas, to)
			return nil
		})
		if err != nil {
			return res, apiError(err, "scale Argo CD's %s in %s on %s", comp.name, in.Namespace, in.From.Name)
		}
		if scaled != "" {
			res.Scaled = append(res.Scaled, scaled)
			activitylog.Heartbeat(ctx, MoveProgress{Done: len(res.Scaled), Last: scaled})
			log.Info("Scaled Argo CD controller", "cluster", in.From.Name, "scaled", scaled, "back", in.Back)
		}
	}
	log.Info("Handed over Argo CD", "cluster", in.From.Name, "namespace", in.Namespace, "back", in.Back, "scaled", len(res.Scaled))
	return res, nil
}

// RemoveCopiesInput removes what CopyArgoCDSettings of Migration wrote on To.
type RemoveCopiesInput struct {
	To        clusters.Ref `json:"to"`
	Namespace string       `json:"namespace"`
	Migration string       `json:"migration"`
}

// RemoveCopiesResult lists the names of what was removed.
type RemoveCopiesResult struct {
	Applications    []string `json:"applications"`
	ApplicationSets []string `json:"applicationSets"`
	Projects        []string `json:"projects"`
	Secrets         []string `json:"secrets"`
}

// RemoveArgoCDCopies undoes CopyArgoCDSettings on in.To: it deletes the
// objects carrying in.Migration's AnnotationCopiedBy, Applications first
// and then ApplicationSets, each with its finalizers removed before the
// delete (and the delete conditional on that version) so Argo CD never
// deletes the resources they manage: those are the workloads restored to
// To. Then AppProjects and Secrets. ConfigMaps are left (InstallArgoCD
// created them). A second run removes nothing.
func (a *Activities) RemoveArgoCDCopies(ctx context.Context, in RemoveCopiesInput) (RemoveCopiesResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := RemoveCopiesResult{Applications: []string{}, ApplicationSets: []string{}, Projects: []string{}, Secrets: []string{}}
	if in.Namespace == "" {
		return res, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if in.Migration == "" {
		return res, failures.New(failures.Validation, "argocd: migration: required")
	}
	log := a.log(ctx)
	c, _, err := a.cluster(ctx, in.To)
	if err != nil {
		return res, err
	}
	p := MoveProgress{}
	steps := []struct {
		kind     string
		list     client.ObjectList
		orphan   bool
		removed  *[]string
		optional bool
	}{
		{kindApplication, &argov1.ApplicationList{}, true, &res.Applications, true},
		{kindApplicationSet, &argov1.ApplicationSetList{}, true, &res.ApplicationSets, true},
		{kindProject, &argov1.AppProjectList{}, false, &res.Projects, true},
		{kindSecret, &corev1.SecretList{}, false, &res.Secrets, false},
	}
	for _, step := range steps {
		if err := c.List(ctx, step.list, client.InNamespace(in.Namespace)); err != nil {
			if step.optional && isNoCRD(err) {
				continue
			}
			return res, apiError(err, "list %ss in %s on %s", step.kind, in.Namespace, in.To.Name)
		}
		var objs []client.Object
		switch l := step.list.(type) {
		case *argov1.ApplicationList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case *argov1.ApplicationSetList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case *argov1.AppProjectList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		case *corev1.SecretList:
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
		for _, o := range objs {
			if o.GetAnnotations()[AnnotationCopiedBy] != in.Migration || step.kind == kindProject && o.GetName() == DefaultProject {
				continue
			}
			if err := a.removeCopy(ctx, c, o, step.orphan); err != nil {
				return res, apiError(err, "remove %s %s/%s on %s", step.kind, in.Namespace, o.GetName(), in.To.Name)
			}
			*step.removed = append(*step.removed, o.GetName())
			p.Done++
			p.Last = step.kind + " " + o.GetName()
			activitylog.Heartbeat(ctx, p)
			log.Info("Removed Argo CD copy", "cluster", in.To.Name, "kind", step.kind, "name", o.GetName(), "namespace", in.Namespace)
		}
	}
	log.Info("Removed Argo CD copies", "cluster", in.To.Name, "namespace", in.Namespace, "migration", in.Migration,
		"applications", len(res.Applications), "applicationSets", len(res.ApplicationSets), "projects", len(res.Projects), "secrets", len(res.Secrets))
	return res, nil
}

// removeCopy deletes o; with orphan its finalizers are removed first and
// the delete is conditional on the version without them, so no finalizer
// is back when the deletion starts.
func (a *Activities) removeCopy(ctx context.Context, c client.Client, o client.Object, orphan bool) error {
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := o.DeepCopyObject().(client.Object)
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), cur); err != nil {
			return err
		}
		if orphan && len(cur.GetFinalizers()) > 0 {
			orig := cur.DeepCopyObject().(client.Object)
			cur.SetFinalizers(nil)
			if err := c.Patch(ctx, cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
		}
		if !cur.GetDeletionTimestamp().IsZero() && len(cur.GetFinalizers()) == 0 {
			return nil // going away already
		}
		rv := cur.GetResourceVersion()
		return c.Delete(ctx, cur, client.Preconditions{ResourceVersion: &rv})
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
