package argocd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// FieldManager is the server-side apply field manager of what cutover
// installs.
const FieldManager = "cutover"

// AnnotationInstalledBy names the migration whose InstallArgoCD applied an object.
const AnnotationInstalledBy = "cutover.dev/installed-by"

// InstallManifestFunc returns the upstream manifests/install.yaml of an
// Argo CD version (a tag such as "v2.14.21").
type InstallManifestFunc = func(ctx context.Context, version string) ([]byte, error)

// InstallInput installs Argo CD Version in Cluster/Namespace.
type InstallInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Namespace string       `json:"namespace"`
	// Version is the release tag, e.g. "v2.14.21" (LocateArgoCD's Version).
	Version   string `json:"version"`
	Migration string `json:"migration"`
}

// InstallResult is what InstallArgoCD did.
type InstallResult struct {
	// Applied is how many objects of the manifest were applied.
	Applied int    `json:"applied"`
	Version string `json:"version"`
	// AlreadyInstalled: Argo CD Version already runs there; nothing was applied.
	AlreadyInstalled bool `json:"alreadyInstalled"`
}

// InstallProgress is the heartbeat of InstallArgoCD.
type InstallProgress struct {
	Applied int `json:"applied"`
	Total   int `json:"total"`
	// Last is the last object applied, "Kind namespace/name".
	Last string `json:"last"`
}

// Timeouts of the install: fetching the manifest, and the CRDs becoming
// Established.
const (
	manifestTimeout    = time.Minute
	establishedTimeout = 2 * time.Minute
)

var releaseTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// manifestClient fetches install manifests; its timeout bounds each fetch.
var manifestClient = &http.Client{Timeout: manifestTimeout}

// FetchInstallManifest is the default InstallManifestFunc: it downloads
// https://raw.githubusercontent.com/argoproj/argo-cd/<version>/manifests/install.yaml.
// A 404 is a definitive NotFound naming the version; 5xx, 429 and
// transport faults (a timeout) are transient.
func FetchInstallManifest(ctx context.Context, version string) ([]byte, error) {
	url := "https://raw.githubusercontent.com/argoproj/argo-cd/" + version + "/manifests/install.yaml"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, failures.New(failures.Validation, "argocd: install manifest URL of version %q: %v", version, err)
	}
	resp, err := manifestClient.Do(req)
	if err != nil {
		return nil, failures.Classify(err, "fetch Argo CD %s install manifest", version)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, failures.New(failures.NotFound, "argocd: Argo CD version %s has no install manifest at %s (is it a release tag?)", version, url)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var retryAfter time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return nil, failures.FromHTTP(resp.StatusCode, retryAfter, "fetch Argo CD %s install manifest from %s", version, url)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, failures.Classify(err, "read Argo CD %s install manifest", version)
	}
	return body, nil
}

// ParseManifest decodes a multi-document YAML (or JSON) manifest into its
// objects, skipping empty documents and expanding List kinds.
func ParseManifest(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i+1, err)
			}
			for j := range list.Items {
				out = append(out, &list.Items[j])
			}
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("document %d: not a Kubernetes object (apiVersion %q, kind %q, name %q)", i+1, u.GetAPIVersion(), u.GetKind(), u.GetName())
		}
		out = append(out, u)
	}
}

func objString(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// installOrder puts the CRDs first and the application controller last
// (its presence then means the rest was applied: a retry after a partial
// install applies it all again).
func installOrder(objs []*unstructured.Unstructured) (crds, rest []*unstructured.Unstructured) {
	var last []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetKind() == "CustomResourceDefinition":
			crds = append(crds, o)
		case o.GetName() == ApplicationController && (o.GetKind() == "StatefulSet" || o.GetKind() == "Deployment"):
			last = append(last, o)
		default:
			rest = append(rest, o)
		}
	}
	return crds, append(rest, last...)
}

// InstallArgoCD applies the upstream manifests/install.yaml of in.Version
// to in.Cluster with server-side apply (field manager "cutover", conflicts
// forced: the manifest is the truth of an install), its namespaced objects
// in in.Namespace and the ServiceAccount subjects of its bindings pointed
// there. CRDs are applied first and must be Established before the rest.
// An Argo CD that already runs there (its application controller) at the
// same version is AlreadyInstalled and nothing is applied; another version
// is a Conflict. It heartbeats per object; a retry applies again.
func (a *Activities) InstallArgoCD(ctx context.Context, in InstallInput) (InstallResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := InstallResult{Version: in.Version}
	if in.Namespace == "" {
		return res, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if !releaseTag.MatchString(in.Version) {
		return res, failures.New(failures.Validation, "argocd: version %q is not a release tag like v2.14.21", in.Version)
	}
	log := a.log(ctx)
	c, _, err := a.cluster(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	ctrl, err := findController(ctx, c, in.Namespace)
	if err != nil {
		return res, apiError(err, "get Argo CD's application controller in %s on %s", in.Namespace, in.Cluster.Name)
	}
	if ctrl != nil {
		tag := ImageTag(ctrl.image)
		if tag != in.Version {
			return res, failures.New(failures.Conflict, "argocd: %s on %s runs Argo CD %q (%s), not %s", ctrl, in.Cluster.Name, tag, ctrl.image, in.Version)
		}
		log.Info("Argo CD is already installed", "cluster", in.Cluster.Name, "namespace", in.Namespace, "version", in.Version)
		res.AlreadyInstalled = true
		return res, nil
	}

	fetch := a.opts.installManifest
	if fetch == nil {
		fetch = FetchInstallManifest
	}
	raw, err := fetch(ctx, in.Version)
	if err != nil {
		return res, failures.Annotate(err, "argocd: install manifest of %s", in.Version)
	}
	objs, err := ParseManifest(raw)
	if err != nil {
		return res, failures.New(failures.InvalidParameter, "argocd: install manifest of %s: %v", in.Version, err)
	}
	if len(objs) == 0 {
		return res, failures.New(failures.InvalidParameter, "argocd: install manifest of %s has no objects", in.Version)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return res, apiError(err, "create namespace %s on %s", in.Namespace, in.Cluster.Name)
	}

	crds, rest := installOrder(objs)
	p := InstallProgress{Total: len(objs)}
	apply := func(u *unstructured.Unstructured) error {
		namespaced, err := c.IsObjectNamespaced(u)
		if err != nil {
			return apiError(err, "find the scope of %s", objString(u))
		}
		if namespaced {
			u.SetNamespace(in.Namespace)
		} else {
			u.SetNamespace("")
		}
		if u.GetKind() == "ClusterRoleBinding" || u.GetKind() == "RoleBinding" {
			pointSubjects(u, in.Namespace)
		}
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		if in.Migration != "" {
			ann[AnnotationInstalledBy] = in.Migration
			u.SetAnnotations(ann)
		}
		if err := c.Patch(ctx, u, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return apiError(err, "apply %s on %s", objString(u), in.Cluster.Name)
		}
		p.Applied++
		p.Last = objString(u)
		activitylog.Heartbeat(ctx, p)
		return nil
	}
	for _, u := range crds {
		if err := apply(u); err != nil {
			return res, err
		}
	}
	for _, u := range crds {
		if err := a.waitEstablished(ctx, c, in.Cluster, u.GetName()); err != nil {
			return res, err
		}
	}
	for _, u := range rest {
		if err := apply(u); err != nil {
			return res, err
		}
	}
	res.Applied = p.Applied
	log.Info("Installed Argo CD", "cluster", in.Cluster.Name, "namespace", in.Namespace, "version", in.Version, "objects", res.Applied)
	return res, nil
}

// pointSubjects makes a binding's ServiceAccount subjects that name a
// namespace name ns (the upstream manifest says argocd).
func pointSubjects(u *unstructured.Unstructured, ns string) {
	subjects, found, _ := unstructured.NestedSlice(u.Object, "subjects")
	if !found {
		return
	}
	for i, s := range subjects {
		m, ok := s.(map[string]any)
		if !ok || m["kind"] != "ServiceAccount" {
			continue
		}
		if _, has := m["namespace"]; has {
			m["namespace"] = ns
			subjects[i] = m
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, subjects, "subjects")
}

// waitEstablished waits until the CRD name is Established.
func (a *Activities) waitEstablished(ctx context.Context, c client.Client, ref clusters.Ref, name string) error {
	ctx, cancel := context.WithTimeout(ctx, establishedTimeout)
	defer cancel()
	poll := min(a.opts.Poll, time.Second)
	if poll <= 0 {
		poll = time.Second
	}
	for {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		err := c.Get(ctx, client.ObjectKey{Name: name}, u)
		if err != nil && !apierrors.IsNotFound(err) {
			if ctx.Err() != nil {
				break
			}
			return apiError(err, "get CustomResourceDefinition %s on %s", name, ref.Name)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, cond := range conds {
			m, _ := cond.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
			continue
		}
		break
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return failures.New(failures.NotReadyYet, "argocd: CustomResourceDefinition %s on %s is not Established after %s", name, ref.Name, establishedTimeout)
	}
	return ctx.Err()
}
