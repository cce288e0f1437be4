package argocd

import (
	"context"
	"fmt"
	"strings"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Names of the Argo CD components cutover looks for and scales.
const (
	ApplicationController    = "argocd-application-controller"
	ApplicationSetController = "argocd-applicationset-controller"
)

// Where Argo CD runs (Location.Where).
const (
	WhereBlue  = "blue"
	WhereGreen = "green"
	WhereHub   = "hub"
	WhereNone  = "none"
)

// LocateInput asks where the Argo CD of Namespace runs: on the hub (when
// given), on blue or on green.
type LocateInput struct {
	Blue clusters.Ref `json:"blue"`
	// Green is empty before green is built: then only blue (and the hub)
	// are looked at.
	Green clusters.Ref  `json:"green"`
	Hub   *clusters.Ref `json:"hub,omitempty"`
	// Namespace is Argo CD's namespace (normally argocd).
	Namespace string `json:"namespace"`
}

// Location is where Argo CD runs and what was seen.
type Location struct {
	// Where is "blue", "green", "hub" or "none".
	Where string `json:"where"`
	// Version is the tag of the argocd-application-controller image, e.g.
	// "v2.14.21" ("" when it runs nowhere, or the image has no tag).
	Version string `json:"version,omitempty"`
	// Evidence says what was seen where, e.g. "blue: StatefulSet
	// argocd/argocd-application-controller (quay.io/argoproj/argocd:v2.14.21)".
	Evidence []string `json:"evidence"`
	// ManagesGreen reports whether an Application (or an ApplicationSet's
	// template) of that Argo CD targets green.
	ManagesGreen bool `json:"managesGreen"`
	// GreenApplications are the Applications and ApplicationSets
	// ("ApplicationSet name") of that Argo CD that target green.
	GreenApplications []string `json:"greenApplications,omitempty"`
	// OnGreen reports whether an Argo CD application controller runs on
	// green (whichever one is located), GreenVersion its tag.
	OnGreen      bool   `json:"onGreen,omitempty"`
	GreenVersion string `json:"greenVersion,omitempty"`
}

// Workload kinds of the Argo CD components (apps/v1, read unstructured:
// the package's Scheme has only core v1 and Argo CD's types).
var (
	statefulSetGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}
	deploymentGVK  = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

// controllerWorkload is a StatefulSet or Deployment of an Argo CD component.
type controllerWorkload struct {
	obj   *unstructured.Unstructured
	kind  string
	image string
}

func (w controllerWorkload) String() string {
	return w.kind + " " + w.obj.GetNamespace() + "/" + w.obj.GetName()
}

// getWorkload reads the StatefulSet or Deployment name in ns (nil when
// neither exists), trying the kinds in order.
func getWorkload(ctx context.Context, c client.Client, ns, name string, kinds ...schema.GroupVersionKind) (*controllerWorkload, error) {
	for _, gvk := range kinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &controllerWorkload{obj: u, kind: gvk.Kind, image: containerImage(u, name)}, nil
	}
	return nil, nil
}

// containerImage is the image of the container called name, else of the
// first container.
func containerImage(u *unstructured.Unstructured, name string) string {
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	first := ""
	for i, c := range containers {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		img, _ := m["image"].(string)
		if i == 0 {
			first = img
		}
		if n, _ := m["name"].(string); n == name {
			return img
		}
	}
	return first
}

// ImageTag is the tag of an image reference ("" without one):
// quay.io/argoproj/argocd:v2.14.21 and
// quay.io/argoproj/argocd:v2.14.21@sha256:... are "v2.14.21".
func ImageTag(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return ""
	}
	return image[colon+1:]
}

// findController reads the application controller of the Argo CD in ns.
func findController(ctx context.Context, c client.Client, ns string) (*controllerWorkload, error) {
	return getWorkload(ctx, c, ns, ApplicationController, statefulSetGVK, deploymentGVK)
}

// LocateArgoCD finds where the Argo CD of in.Namespace runs: where its
// application controller (StatefulSet or Deployment
// argocd-application-controller) is, looked for on the hub first when
// given, then on blue, then on green. Every place is looked at, so the
// evidence also says when Argo CD runs in more than one (the first wins).
// ManagesGreen is whether an Application or an ApplicationSet template of
// that Argo CD targets green, by green's API server or by the name of a
// cluster Secret of green's server (or in-cluster, when it runs on green).
// It only reads.
func (a *Activities) LocateArgoCD(ctx context.Context, in LocateInput) (Location, error) {
	if in.Namespace == "" {
		return Location{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	if in.Blue.Name == "" {
		return Location{}, failures.New(failures.Validation, "argocd: blue's cluster is required")
	}
	log := a.log(ctx)
	type place struct {
		where string
		ref   clusters.Ref
	}
	var places []place
	if in.Hub != nil && in.Hub.Name != "" {
		places = append(places, place{WhereHub, *in.Hub})
	}
	places = append(places, place{WhereBlue, in.Blue})
	if in.Green.Name != "" {
		// Empty before green is built (preflight): nothing targets it yet.
		places = append(places, place{WhereGreen, in.Green})
	}

	loc := Location{Where: WhereNone, Evidence: []string{}}
	var found *place
	for i := range places {
		p := places[i]
		c, _, err := a.cluster(ctx, p.ref)
		if err != nil {
			return Location{}, err
		}
		var ns corev1.Namespace
		err = c.Get(ctx, client.ObjectKey{Name: in.Namespace}, &ns)
		if apierrors.IsNotFound(err) {
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: no namespace %s", p.where, in.Namespace))
			continue
		}
		if err != nil {
			return Location{}, apiError(err, "get namespace %s on %s", in.Namespace, p.ref.Name)
		}
		ctrl, err := findController(ctx, c, in.Namespace)
		if err != nil {
			return Location{}, apiError(err, "get Argo CD's application controller in %s on %s", in.Namespace, p.ref.Name)
		}
		if ctrl == nil {
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: no StatefulSet or Deployment %s/%s", p.where, in.Namespace, ApplicationController))
		} else {
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: %s (%s)", p.where, ctrl, ctrl.image))
		}
		var apps argov1.ApplicationList
		if err := c.List(ctx, &apps, client.InNamespace(in.Namespace)); err != nil {
			if !isNoCRD(err) {
				return Location{}, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, p.ref.Name)
			}
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: no Application CRD", p.where))
		} else {
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: %d Applications", p.where, len(apps.Items)))
		}
		if ctrl == nil {
			continue
		}
		if p.where == WhereGreen {
			loc.OnGreen, loc.GreenVersion = true, ImageTag(ctrl.image)
		}
		if found != nil {
			loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: Argo CD also runs here; the one on %s is the one located", p.where, found.where))
			continue
		}
		found = &places[i]
		loc.Where = p.where
		loc.Version = ImageTag(ctrl.image)
	}
	if found == nil {
		log.Info("Argo CD runs on none of the clusters", "blue", in.Blue.Name, "green", in.Green.Name, "namespace", in.Namespace)
		return loc, nil
	}
	if in.Green.Name == "" {
		log.Info("Located Argo CD", "cluster", found.ref.Name, "where", loc.Where, "namespace", in.Namespace, "version", loc.Version)
		return loc, nil
	}

	names, err := a.appsTargeting(ctx, found.ref, in.Green, in.Namespace)
	if err != nil {
		return Location{}, err
	}
	loc.GreenApplications = names
	loc.ManagesGreen = len(names) > 0
	if loc.ManagesGreen {
		loc.Evidence = append(loc.Evidence, fmt.Sprintf("%s: %d Applications or ApplicationSets target green %s", found.where, len(names), in.Green.Name))
	}
	log.Info("Located Argo CD", "cluster", found.ref.Name, "where", loc.Where, "namespace", in.Namespace, "version", loc.Version, "managesGreen", loc.ManagesGreen)
	return loc, nil
}

// appsTargeting lists the Applications and ApplicationSets ("ApplicationSet
// name") in ns on argo whose destination is green.
func (a *Activities) appsTargeting(ctx context.Context, argo, green clusters.Ref, ns string) ([]string, error) {
	c, _, err := a.cluster(ctx, argo)
	if err != nil {
		return nil, err
	}
	_, greenCfg, err := a.cluster(ctx, green)
	if err != nil {
		return nil, err
	}
	secrets, err := listClusterSecrets(ctx, c, ns)
	if err != nil {
		return nil, apiError(err, "list Argo CD cluster secrets in %s on %s", ns, argo.Name)
	}
	greenT := newTarget(greenCfg.Host, argo == green, secrets)
	var out []string
	var apps argov1.ApplicationList
	if err := c.List(ctx, &apps, client.InNamespace(ns)); err != nil && !isNoCRD(err) {
		return nil, apiError(err, "list Argo CD applications in %s on %s", ns, argo.Name)
	}
	for _, app := range apps.Items {
		if greenT.matches(app.Spec.Destination) {
			out = append(out, app.Name)
		}
	}
	var sets argov1.ApplicationSetList
	if err := c.List(ctx, &sets, client.InNamespace(ns)); err != nil && !isNoCRD(err) {
		return nil, apiError(err, "list Argo CD ApplicationSets in %s on %s", ns, argo.Name)
	}
	for _, s := range sets.Items {
		if greenT.matches(s.Spec.Template.Spec.Destination) {
			out = append(out, "ApplicationSet "+s.Name)
		}
	}
	return out, nil
}

// isNoCRD reports whether err says the apiserver does not serve the kind.
func isNoCRD(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err)
}
