package sandbox

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// The hub: with Options.ArgoCDOnHub, Argo CD runs on a cluster of its own
// that manages blue (and green) through cluster secrets, as many estates
// run it, instead of on blue.
const (
	// HubCluster is the name of the hub cluster (Sandbox.Hub).
	HubCluster = "hub"
	// EnvLabel is the label of the cluster secrets the edge ApplicationSet's
	// clusters generator selects (EnvLabel=EnvProd): blue's has it, green's
	// does not.
	EnvLabel = "cutover.dev/env"
	EnvProd  = "prod"
	// EdgeApplicationSet generates <cluster>-edge for every cluster secret
	// labelled EnvLabel=EnvProd; BatchApplicationSet generates blue-batch
	// from a list generator naming blue's server.
	EdgeApplicationSet  = "edge"
	BatchApplicationSet = "batch"
)

// ApplicationSetGVR is Argo CD's ApplicationSet resource.
var ApplicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}

// SeedApplicationSets gives the hub's argocd namespace (SeedArgoCD on the
// hub creates it and the cluster secrets) two ApplicationSets of project
// shop, from SandboxAppsRepoURL:
//   - edge: a clusters generator selecting the secrets labelled
//     EnvLabel=EnvProd, template {{name}}-edge, destination name {{name}},
//     namespace edge, path apps/edge; blue's cluster secret gets the label;
//   - batch: a list generator with one element {cluster: blue, url: blue's
//     server}, template {{cluster}}-batch, destination server {{url}},
//     namespace batch, path apps/batch.
//
// Their Applications are what Argo CD's ApplicationSet controller
// generates (the demo's simulator plays it); blue runs their workloads
// (SeedBlueWithHub). Objects that exist are left as they are; the names are
// added to objs.ApplicationSets once.
func SeedApplicationSets(ctx context.Context, hub, blue *Kube, objs *KubeSeed) error {
	cs, err := hub.Clientset()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(hub.RESTConfig())
	if err != nil {
		return err
	}
	secName := "cluster-" + blue.Name
	sec, err := cs.CoreV1().Secrets(ArgoCDNamespace).Get(ctx, secName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("cluster %s: cluster secret %s/%s: %w", hub.Name, ArgoCDNamespace, secName, err)
	}
	if sec.Labels[EnvLabel] != EnvProd {
		if sec.Labels == nil {
			sec.Labels = map[string]string{}
		}
		sec.Labels[EnvLabel] = EnvProd
		if _, err := cs.CoreV1().Secrets(ArgoCDNamespace).Update(ctx, sec, metav1.UpdateOptions{FieldManager: "cutover-sandbox"}); err != nil {
			return fmt.Errorf("cluster %s: label cluster secret %s/%s: %w", hub.Name, ArgoCDNamespace, secName, err)
		}
	}

	appTemplate := func(name string, dest map[string]any, ns, path string) map[string]any {
		dest["namespace"] = ns
		return map[string]any{
			"metadata": map[string]any{"name": name, "labels": map[string]any{"cutover.dev/application-set": ns}},
			"spec": map[string]any{
				"project":     "shop",
				"source":      map[string]any{"repoURL": SandboxAppsRepoURL, "targetRevision": "main", "path": path},
				"destination": dest,
				"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}, "syncOptions": []any{"CreateNamespace=true"}},
			},
		}
	}
	sets := []*unstructured.Unstructured{
		{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
			"metadata": map[string]any{"name": EdgeApplicationSet, "namespace": ArgoCDNamespace},
			"spec": map[string]any{
				"generators": []any{map[string]any{"clusters": map[string]any{
					"selector": map[string]any{"matchLabels": map[string]any{EnvLabel: EnvProd}},
				}}},
				"template": appTemplate("{{name}}-edge", map[string]any{"name": "{{name}}"}, "edge", "apps/edge"),
			},
		}},
		{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
			"metadata": map[string]any{"name": BatchApplicationSet, "namespace": ArgoCDNamespace},
			"spec": map[string]any{
				"generators": []any{map[string]any{"list": map[string]any{
					"elements": []any{map[string]any{"cluster": blue.Name, "url": blue.Server}},
				}}},
				"template": appTemplate("{{cluster}}-batch", map[string]any{"server": "{{url}}"}, "batch", "apps/batch"),
			},
		}},
	}
	for _, set := range sets {
		_, err := dyn.Resource(ApplicationSetGVR).Namespace(ArgoCDNamespace).Create(ctx, set, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create applicationset %s/%s: %w", hub.Name, ArgoCDNamespace, set.GetName(), err)
		}
		if name := ArgoCDNamespace + "/" + set.GetName(); !slices.Contains(objs.ApplicationSets, name) {
			objs.ApplicationSets = append(objs.ApplicationSets, name)
		}
	}
	hub.log.Info("Seeded ApplicationSets", "namespace", ArgoCDNamespace, "applicationSets", len(sets))
	return nil
}
