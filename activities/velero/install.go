package velero

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	v1crds "github.com/vmware-tanzu/velero/config/crd/v1/crds"
	v2alpha1crds "github.com/vmware-tanzu/velero/config/crd/v2alpha1/crds"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// AnnotationInstalledBy is set, to the migration's name, on every object
// InstallVelero creates (with LabelManagedBy=ManagedBy): objects with both
// are cutover's, brought up to date by a later InstallVelero; any other
// object is left as it is.
const AnnotationInstalledBy = "cutover.dev/installed-by"

// NodeAgentDaemonSet is the DaemonSet of Velero's node agent (file-system
// backups, velero install --use-node-agent).
const NodeAgentDaemonSet = "node-agent"

// crdEstablishedWait bounds how long InstallVelero waits for Velero's CRDs
// to be Established (a retryable NotReadyYet after it).
const crdEstablishedWait = 2 * time.Minute

// lastApplied is kubectl's annotation; it is not copied.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// InstallVeleroInput installs on To the Velero that runs on From.
type InstallVeleroInput struct {
	// From is the cluster whose Velero is copied (blue).
	From clusters.Ref `json:"from"`
	// To is the cluster Velero is installed on (green).
	To clusters.Ref `json:"to"`
	// Namespace is Velero's namespace, the same on both ("velero").
	Namespace string `json:"namespace"`
	// StorageLocation is the BackupStorageLocation copied (default: the
	// activities' WithStorageLocation, "default").
	StorageLocation string `json:"storageLocation,omitempty"`
	// Migration names the migration in AnnotationInstalledBy.
	Migration string `json:"migration"`
}

// InstallVeleroResult is what InstallVelero found and did on To. Objects
// are named "Kind namespace/name" ("Kind name" when cluster-scoped).
type InstallVeleroResult struct {
	// Installed is true when To runs the Velero cutover installed (now or
	// before); false when To already ran its own Velero, left as it was.
	Installed bool `json:"installed"`
	// Version is the image tag of To's Velero server ("v1.16.2").
	Version string `json:"version,omitempty"`
	// Created are the objects this call created.
	Created []string `json:"created,omitempty"`
	// Updated are cutover's objects this call brought up to date.
	Updated []string `json:"updated,omitempty"`
	// Existing are objects cutover did not make, left as they are.
	Existing []string `json:"existing,omitempty"`
}

// GroupVersionKinds of the objects of a Velero install. The activities'
// client has no apps, RBAC or apiextensions types: they are handled
// unstructured.
var (
	gvkDeployment = appsv1.SchemeGroupVersion.WithKind("Deployment")
	gvkDaemonSet  = appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	gvkSA         = corev1.SchemeGroupVersion.WithKind("ServiceAccount")
	gvkSecret     = corev1.SchemeGroupVersion.WithKind("Secret")
	gvkNamespace  = corev1.SchemeGroupVersion.WithKind("Namespace")
	gvkCRB        = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}
	gvkCRD        = apiextv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	gvkBSL        = velerov1.SchemeGroupVersion.WithKind("BackupStorageLocation")
)

// installObject is one object InstallVelero ensures on To.
type installObject struct {
	gvk             schema.GroupVersionKind
	namespace, name string
	// labels and annotations are set besides cutover's own.
	labels, annotations map[string]string
	// content are the top-level fields besides apiVersion, kind and
	// metadata (spec, data, type, roleRef, subjects...).
	content map[string]any
	// keepAccessMode leaves spec.accessMode of an existing location alone
	// once a migration changed it (SetBSLAccessMode's annotation).
	keepAccessMode bool
}

func (o *installObject) ref() string { return objectRef(o.gvk.Kind, o.namespace, o.name) }

func objectRef(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}

func newUnstructured(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

// InstallVelero makes To run the Velero From runs, for a migration whose
// spec asks for it (velero.installOnGreen). It reads on From the server's
// Deployment, its ServiceAccount (annotations kept: the IRSA role of
// eks.amazonaws.com/role-arn; the role's trust of To's OIDC issuer is
// handled elsewhere), the BackupStorageLocation StorageLocation, the
// Secrets the location's credential and the Deployment name (copied as
// they are) and the node agent's DaemonSet if there is one. It ensures on
// To Velero's CRDs (the pinned module's, waited Established), the
// namespace, the ServiceAccount, a ClusterRoleBinding of it to
// cluster-admin (velero-<namespace>, as velero install does), the
// Secrets, the location (same spec, access mode as on From), the
// Deployment (same pod spec, one replica) and the DaemonSet. What it
// creates carries LabelManagedBy and AnnotationInstalledBy; an existing
// object cutover did not make is left as it is and reported in Existing,
// and cutover's are brought up to date. When To already runs its own
// Velero (a Deployment velero not cutover's) nothing is changed and
// Installed is false. A location missing on From is NotFound
// (velero.storageLocation).
func (a *Activities) InstallVelero(ctx context.Context, in InstallVeleroInput) (InstallVeleroResult, error) {
	var res InstallVeleroResult
	switch {
	case in.Namespace == "":
		return res, failures.New(failures.Validation, "velero.namespace: required")
	case in.Migration == "":
		return res, failures.New(failures.Validation, "migration: required")
	case in.From.Name == "" || in.To.Name == "":
		return res, failures.New(failures.Validation, "velero install: the from and to clusters are required")
	case in.From == in.To:
		return res, failures.New(failures.Validation, "velero install: from and to are the same cluster %s", in.From)
	}
	if in.StorageLocation == "" {
		in.StorageLocation = a.opts.storageLocation
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	activitylog.Heartbeat(ctx, Progress{Step: "install", Name: in.From.Name, Phase: "read"})
	from, err := a.client(ctx, in.From)
	if err != nil {
		return res, err
	}
	to, err := a.client(ctx, in.To)
	if err != nil {
		return res, err
	}

	// Velero of its own on To: leave it.
	dep := newUnstructured(gvkDeployment)
	err = get(ctx, to, client.ObjectKey{Namespace: in.Namespace, Name: ServerDeployment}, dep)
	switch {
	case err == nil:
		if !madeByCutover(dep) {
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(dep.Object, &d); err == nil {
				if s := serverContainer(d.Spec.Template.Spec.Containers); s != nil {
					res.Version = imageTag(s.Image)
				}
			}
			res.Existing = []string{objectRef("Deployment", in.Namespace, ServerDeployment)}
			log.Info("Velero already runs on the cluster, not installing it", "cluster", in.To.Name, "namespace", in.Namespace, "version", res.Version)
			return res, nil
		}
	case apierrors.IsNotFound(err):
	default:
		return res, apiError(err, "get Deployment %s/%s on %s", in.Namespace, ServerDeployment, in.To.Name)
	}

	objs, version, err := a.readBlueInstall(ctx, from, in)
	if err != nil {
		return res, err
	}
	res.Version = version

	crdNames, err := a.ensureCRDs(ctx, to, in, &res)
	if err != nil {
		return res, err
	}
	if err := a.waitEstablished(ctx, to, in.To.Name, crdNames); err != nil {
		return res, err
	}
	for _, o := range objs {
		activitylog.Heartbeat(ctx, Progress{Step: "install", Name: o.ref()})
		if err := a.ensure(ctx, to, in, o, &res); err != nil {
			return res, err
		}
	}
	res.Installed = true
	log.Info("Installed Velero on the cluster", "cluster", in.To.Name, "from", in.From.Name, "namespace", in.Namespace, "version", res.Version,
		"migration", in.Migration, "created", len(res.Created), "updated", len(res.Updated), "existing", len(res.Existing))
	return res, nil
}

// madeByCutover reports whether an object carries cutover's label and
// AnnotationInstalledBy.
func madeByCutover(u *unstructured.Unstructured) bool {
	return u.GetLabels()[LabelManagedBy] == ManagedBy && u.GetAnnotations()[AnnotationInstalledBy] != ""
}

// readBlueInstall reads From's install and returns the objects to ensure
// on To, in order, and the server's version.
func (a *Activities) readBlueInstall(ctx context.Context, c client.Client, in InstallVeleroInput) ([]*installObject, string, error) {
	ns, name := in.Namespace, in.From.Name
	read := func(gvk schema.GroupVersionKind, n string) (*unstructured.Unstructured, error) {
		u := newUnstructured(gvk)
		if err := get(ctx, c, client.ObjectKey{Namespace: ns, Name: n}, u); err != nil {
			return nil, err
		}
		return u, nil
	}
	depU, err := read(gvkDeployment, ServerDeployment)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", failures.New(failures.NotFound, "velero: no Deployment %s/%s on %s: Velero is not installed there to be copied", ns, ServerDeployment, name)
		}
		return nil, "", apiError(err, "get Deployment %s/%s on %s", ns, ServerDeployment, name)
	}
	var dep appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(depU.Object, &dep); err != nil {
		return nil, "", failures.Wrap(failures.InvalidParameter, err, "read Deployment %s/%s on %s", ns, ServerDeployment, name)
	}
	version := ""
	if s := serverContainer(dep.Spec.Template.Spec.Containers); s != nil {
		version = imageTag(s.Image)
	}

	bslU, err := read(gvkBSL, in.StorageLocation)
	if err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil, "", failures.New(failures.NotFound, "velero.storageLocation: BackupStorageLocation %s/%s does not exist on %s", ns, in.StorageLocation, name)
		}
		return nil, "", apiError(err, "get BackupStorageLocation %s/%s on %s", ns, in.StorageLocation, name)
	}
	var bsl velerov1.BackupStorageLocation
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(bslU.Object, &bsl); err != nil {
		return nil, "", failures.Wrap(failures.InvalidParameter, err, "read BackupStorageLocation %s/%s on %s", ns, in.StorageLocation, name)
	}

	var ds *appsv1.DaemonSet
	dsU, err := read(gvkDaemonSet, NodeAgentDaemonSet)
	switch {
	case err == nil:
		ds = &appsv1.DaemonSet{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(dsU.Object, ds); err != nil {
			return nil, "", failures.Wrap(failures.InvalidParameter, err, "read DaemonSet %s/%s on %s", ns, NodeAgentDaemonSet, name)
		}
	case apierrors.IsNotFound(err):
		dsU = nil
	default:
		return nil, "", apiError(err, "get DaemonSet %s/%s on %s", ns, NodeAgentDaemonSet, name)
	}

	saName := dep.Spec.Template.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	objs := []*installObject{{gvk: gvkNamespace, name: ns}}
	sa := &installObject{gvk: gvkSA, namespace: ns, name: saName, content: map[string]any{}}
	saU, err := read(gvkSA, saName)
	switch {
	case err == nil:
		sa.labels, sa.annotations = saU.GetLabels(), copiedAnnotations(saU.GetAnnotations())
		for _, f := range []string{"imagePullSecrets", "automountServiceAccountToken"} {
			if v, ok := saU.Object[f]; ok {
				sa.content[f] = runtime.DeepCopyJSONValue(v)
			}
		}
	case apierrors.IsNotFound(err):
		a.log(ctx).Warn("The Velero server's ServiceAccount does not exist, creating a plain one", "cluster", name, "serviceAccount", ns+"/"+saName)
	default:
		return nil, "", apiError(err, "get ServiceAccount %s/%s on %s", ns, saName, name)
	}
	objs = append(objs, sa, &installObject{
		gvk: gvkCRB, name: "velero-" + ns, labels: map[string]string{"component": "velero"},
		content: map[string]any{
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": saName, "namespace": ns}},
		},
	})

	// The Secrets: the location's credential must exist; the ones the pods
	// reference are copied when they exist, and must unless optional.
	required := map[string]bool{}
	if cred := bsl.Spec.Credential; cred != nil && cred.Name != "" {
		required[cred.Name] = true
	}
	optional := map[string]bool{}
	podSecrets(&dep.Spec.Template.Spec, required, optional)
	if ds != nil {
		podSecrets(&ds.Spec.Template.Spec, required, optional)
	}
	for n := range required {
		delete(optional, n)
	}
	for _, n := range slices.Sorted(maps.Keys(mergeSets(required, optional))) {
		u, err := read(gvkSecret, n)
		switch {
		case err == nil:
		case apierrors.IsNotFound(err) && optional[n]:
			continue
		case apierrors.IsNotFound(err):
			return nil, "", failures.New(failures.NotFound, "velero: Secret %s/%s, used by Velero on %s, does not exist there", ns, n, name)
		default:
			return nil, "", apiError(err, "get Secret %s/%s on %s", ns, n, name)
		}
		if t, _, _ := unstructured.NestedString(u.Object, "type"); t == string(corev1.SecretTypeServiceAccountToken) {
			continue
		}
		o := &installObject{gvk: gvkSecret, namespace: ns, name: n, labels: u.GetLabels(), annotations: copiedAnnotations(u.GetAnnotations()), content: map[string]any{}}
		for _, f := range []string{"type", "data", "immutable"} {
			if v, ok := u.Object[f]; ok {
				o.content[f] = runtime.DeepCopyJSONValue(v)
			}
		}
		objs = append(objs, o)
	}

	bslSpec, _, _ := unstructured.NestedMap(bslU.Object, "spec")
	objs = append(objs, &installObject{gvk: gvkBSL, namespace: ns, name: in.StorageLocation, labels: bslU.GetLabels(),
		content: map[string]any{"spec": bslSpec}, keepAccessMode: true})

	depSpec, _, _ := unstructured.NestedMap(depU.Object, "spec")
	depSpec["replicas"] = int64(1)
	objs = append(objs, &installObject{gvk: gvkDeployment, namespace: ns, name: ServerDeployment, labels: depU.GetLabels(), content: map[string]any{"spec": depSpec}})
	if dsU != nil {
		dsSpec, _, _ := unstructured.NestedMap(dsU.Object, "spec")
		objs = append(objs, &installObject{gvk: gvkDaemonSet, namespace: ns, name: NodeAgentDaemonSet, labels: dsU.GetLabels(), content: map[string]any{"spec": dsSpec}})
	}
	return objs, version, nil
}

// podSecrets adds the Secrets a pod spec names (volumes, env, envFrom,
// image pull secrets) to required, or to optional when marked optional.
func podSecrets(p *corev1.PodSpec, required, optional map[string]bool) {
	add := func(name string, opt *bool) {
		if name == "" {
			return
		}
		if opt != nil && *opt {
			optional[name] = true
		} else {
			required[name] = true
		}
	}
	for _, v := range p.Volumes {
		if s := v.Secret; s != nil {
			add(s.SecretName, s.Optional)
		}
		if pr := v.Projected; pr != nil {
			for _, src := range pr.Sources {
				if s := src.Secret; s != nil {
					add(s.Name, s.Optional)
				}
			}
		}
	}
	for _, s := range p.ImagePullSecrets {
		add(s.Name, nil)
	}
	for _, c := range slices.Concat(p.InitContainers, p.Containers) {
		for _, e := range c.EnvFrom {
			if r := e.SecretRef; r != nil {
				add(r.Name, r.Optional)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				add(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Optional)
			}
		}
	}
}

func mergeSets(a, b map[string]bool) map[string]bool {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// copiedAnnotations are an object's annotations without kubectl's
// last-applied configuration (nil when none are left).
func copiedAnnotations(in map[string]string) map[string]string {
	out := maps.Clone(in)
	delete(out, lastApplied)
	if len(out) == 0 {
		return nil
	}
	return out
}

// veleroCRDs are the CRDs of the pinned Velero module (velero.io/v1 and
// v2alpha1), as velero install creates them.
func veleroCRDs() []*apiextv1.CustomResourceDefinition {
	return slices.Concat(v1crds.CRDs, v2alpha1crds.CRDs)
}

// ensureCRDs creates the Velero CRDs missing on To and returns the names
// of all of them.
func (a *Activities) ensureCRDs(ctx context.Context, c client.Client, in InstallVeleroInput, res *InstallVeleroResult) ([]string, error) {
	var names []string
	for _, crd := range veleroCRDs() {
		spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&crd.Spec)
		if err != nil {
			return nil, fmt.Errorf("velero: CRD %s: %w", crd.Name, err)
		}
		o := &installObject{gvk: gvkCRD, name: crd.Name, labels: crd.Labels, content: map[string]any{"spec": spec}}
		activitylog.Heartbeat(ctx, Progress{Step: "install", Name: o.ref()})
		if err := a.ensure(ctx, c, in, o, res); err != nil {
			return nil, err
		}
		names = append(names, crd.Name)
	}
	return names, nil
}

// waitEstablished waits until every CRD of names is Established on the
// cluster, heartbeating; NotReadyYet after crdEstablishedWait.
func (a *Activities) waitEstablished(ctx context.Context, c client.Client, cluster string, names []string) error {
	start := a.opts.Now()
	poll := min(a.opts.Poll, 500*time.Millisecond)
	p := Progress{Step: "install-crds", Name: cluster, Phase: "Established", Total: len(names)}
	pending := slices.Clone(names)
	for {
		p.Polls++
		var still []string
		for _, n := range pending {
			u := newUnstructured(gvkCRD)
			if err := get(ctx, c, client.ObjectKey{Name: n}, u); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				still = append(still, n)
				continue
			}
			var crd apiextv1.CustomResourceDefinition
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil || !crdEstablished(&crd) {
				still = append(still, n)
			}
		}
		pending = still
		p.Items = len(names) - len(pending)
		activitylog.Heartbeat(ctx, p)
		if len(pending) == 0 {
			a.log(ctx).Info("Velero CRDs are established", "cluster", cluster, "crds", len(names))
			return nil
		}
		if a.opts.Now().Sub(start) >= crdEstablishedWait {
			return failures.New(failures.NotReadyYet, "velero: CRDs %v are not Established on %s after %s", pending, cluster, crdEstablishedWait)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func crdEstablished(crd *apiextv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
			return true
		}
	}
	return false
}

// ensure creates o on the cluster, or brings cutover's existing object up
// to date, or reports an existing object cutover did not make; it records
// which in res.
func (a *Activities) ensure(ctx context.Context, c client.Client, in InstallVeleroInput, o *installObject, res *InstallVeleroResult) error {
	key := client.ObjectKey{Namespace: o.namespace, Name: o.name}
	for range 3 {
		have := newUnstructured(o.gvk)
		err := get(ctx, c, key, have)
		switch {
		case apierrors.IsNotFound(err):
			want := newUnstructured(o.gvk)
			want.SetNamespace(o.namespace)
			want.SetName(o.name)
			want.SetLabels(withOurs(o.labels, LabelManagedBy, ManagedBy))
			want.SetAnnotations(withOurs(o.annotations, AnnotationInstalledBy, in.Migration))
			for k, v := range o.content {
				want.Object[k] = runtime.DeepCopyJSONValue(v)
			}
			cctx, cancel := context.WithTimeout(ctx, readTimeout)
			err := c.Create(cctx, want)
			cancel()
			if apierrors.IsAlreadyExists(err) {
				continue // made meanwhile: read it again
			}
			if err != nil {
				return apiError(err, "create %s on %s", o.ref(), in.To.Name)
			}
			res.Created = append(res.Created, o.ref())
			a.log(ctx).Info("Created a Velero object", "cluster", in.To.Name, "object", o.ref(), "migration", in.Migration)
			return nil
		case err != nil:
			return apiError(err, "get %s on %s", o.ref(), in.To.Name)
		}
		if !madeByCutover(have) {
			res.Existing = append(res.Existing, o.ref())
			a.log(ctx).Info("Leaving an existing Velero object as it is", "cluster", in.To.Name, "object", o.ref())
			return nil
		}
		if !bringUpToDate(have, o) {
			return nil
		}
		uctx, cancel := context.WithTimeout(ctx, readTimeout)
		err = c.Update(uctx, have)
		cancel()
		switch {
		case apierrors.IsConflict(err), apierrors.IsNotFound(err):
			continue
		case err != nil:
			return apiError(err, "update %s on %s", o.ref(), in.To.Name)
		}
		res.Updated = append(res.Updated, o.ref())
		a.log(ctx).Info("Updated a Velero object", "cluster", in.To.Name, "object", o.ref(), "migration", in.Migration)
		return nil
	}
	return failures.New(failures.Conflict, "velero: %s on %s keeps changing while it is installed", o.ref(), in.To.Name)
}

// bringUpToDate changes have (cutover's object) where it lacks o's labels,
// annotations or content, and reports whether it changed it. Fields the
// apiserver defaulted are not differences: o's content needs only to be
// contained in have's.
func bringUpToDate(have *unstructured.Unstructured, o *installObject) bool {
	changed := false
	labels := have.GetLabels()
	for k, v := range o.labels {
		if labels[k] != v {
			labels = withOurs(labels, k, v)
			changed = true
		}
	}
	annotations := have.GetAnnotations()
	for k, v := range o.annotations {
		if annotations[k] != v {
			annotations = withOurs(annotations, k, v)
			changed = true
		}
	}
	for k, v := range o.content {
		want := runtime.DeepCopyJSONValue(v)
		if _, moved := annotations[AnnotationBSLModeBefore]; o.keepAccessMode && moved {
			// A migration set this location's mode: it is not reset.
			if spec, ok := want.(map[string]any); ok && k == "spec" {
				if mode, found, _ := unstructured.NestedFieldCopy(have.Object, "spec", "accessMode"); found {
					spec["accessMode"] = mode
				} else {
					delete(spec, "accessMode")
				}
			}
		}
		if !contains(have.Object[k], want) {
			have.Object[k] = want
			changed = true
		}
	}
	if changed {
		have.SetLabels(labels)
		have.SetAnnotations(annotations)
	}
	return changed
}

// withOurs returns m (a copy) with k=v.
func withOurs(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// contains reports whether want (a JSON value) is contained in have: maps
// may have more keys, lists must have as many elements, each containing
// want's; a null or empty want is contained in anything absent.
func contains(have, want any) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		for k, v := range w {
			if !contains(h[k], v) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(have, want)
	}
}
