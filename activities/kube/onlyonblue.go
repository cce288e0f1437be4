package kube

// What Argo CD deployed on blue and green lacks after the move: an
// application synced to green without prune leaves nothing on green
// deleted, but what it tracked on blue and that never came to green (a
// resource Argo CD was told to ignore, one created by a sync hook, one
// removed from git but never pruned on blue) goes with blue's deletion.
// The report lists each, so nothing is lost unseen.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// Argo CD's resource tracking: the annotation ("<app>:<group>/<kind>:<namespace>/<name>")
// or, by default, the label with the application's name.
const (
	ArgoTrackingAnnotation = "argocd.argoproj.io/tracking-id"
	ArgoInstanceLabel      = "app.kubernetes.io/instance"
)

// trackedResources are the kinds FindOnlyOnBlue compares: what
// applications deploy (workloads, their configuration and their network
// entry points).
var trackedResources = []struct {
	gvr  schema.GroupVersionResource
	kind string
}{
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "DaemonSet"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "CronJob"},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service"},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ConfigMap"},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "Secret"},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "ServiceAccount"},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}, "Ingress"},
}

// OnlyOnBlueInput names the applications whose resources to compare.
type OnlyOnBlueInput struct {
	Blue  clusters.Ref `json:"blue"`
	Green clusters.Ref `json:"green"`
	// Applications are the Argo CD application names.
	Applications []string `json:"applications"`
}

// OnlyOnBlueObject is a resource an application tracks on blue that green lacks.
type OnlyOnBlueObject struct {
	Application string `json:"application"`
	// Object, e.g. "apps/v1 Deployment shop/web".
	Object string `json:"object"`
}

// OnlyOnBlueResult lists them, sorted.
type OnlyOnBlueResult struct {
	Objects []OnlyOnBlueObject `json:"objects,omitempty"`
	// Tracked is how many resources of the applications blue holds.
	Tracked int `json:"tracked"`
}

// FindOnlyOnBlue lists the resources of the named Argo CD applications
// (by Argo CD's tracking annotation or instance label) that exist on blue
// and not on green, reading only object metadata, page by page with
// retries, heartbeating. A kind one cluster does not serve is skipped.
func (a *Activities) FindOnlyOnBlue(ctx context.Context, in OnlyOnBlueInput) (OnlyOnBlueResult, error) {
	blue, err := a.clients(ctx, in.Blue)
	if err != nil {
		return OnlyOnBlueResult{}, err
	}
	green, err := a.clients(ctx, in.Green)
	if err != nil {
		return OnlyOnBlueResult{}, err
	}
	apps := map[string]bool{}
	for _, n := range in.Applications {
		apps[n] = true
	}
	var res OnlyOnBlueResult
	for _, tr := range trackedResources {
		gvr := tr.gvr
		err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]metav1.PartialObjectMetadata, string, error) {
			var items []metav1.PartialObjectMetadata
			var cont string
			err := a.retryAPI(ctx, "list "+gvr.Resource+" of "+in.Blue.Name, func(ctx context.Context) error {
				l, err := blue.Metadata.Resource(gvr).List(ctx, o)
				if err != nil {
					return err
				}
				items, cont = l.Items, l.Continue
				return nil
			})
			return items, cont, err
		}, func(items []metav1.PartialObjectMetadata) error {
			for i := range items {
				app := trackedBy(&items[i], apps)
				if app == "" {
					continue
				}
				res.Tracked++
				o := &items[i]
				var found bool
				err := a.retryAPI(ctx, "read "+gvr.Resource+" "+o.Namespace+"/"+o.Name+" of "+in.Green.Name, func(ctx context.Context) error {
					_, err := green.Metadata.Resource(gvr).Namespace(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
					switch {
					case err == nil:
						found = true
					case apierrors.IsNotFound(err):
						found = false
					default:
						return err
					}
					return nil
				})
				if err != nil {
					return err
				}
				if !found {
					res.Objects = append(res.Objects, OnlyOnBlueObject{Application: app, Object: objectName(gvr, tr.kind, o)})
				}
			}
			activitylog.Heartbeat(ctx, Progress{Step: "only-on-blue " + gvr.Resource, Objects: res.Tracked})
			return nil
		})
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			continue
		}
		if err != nil {
			return OnlyOnBlueResult{}, kubeError(err, "compare %s of blue %s and green %s", gvr.Resource, in.Blue.Name, in.Green.Name)
		}
	}
	sort.Slice(res.Objects, func(i, j int) bool {
		if res.Objects[i].Application != res.Objects[j].Application {
			return res.Objects[i].Application < res.Objects[j].Application
		}
		return res.Objects[i].Object < res.Objects[j].Object
	})
	a.log(ctx).Info("Compared what Argo CD tracks on blue with green", "blue", in.Blue.Name, "green", in.Green.Name, "tracked", res.Tracked, "onlyOnBlue", len(res.Objects))
	return res, nil
}

// trackedBy is the application of apps that tracks o, or "".
func trackedBy(o *metav1.PartialObjectMetadata, apps map[string]bool) string {
	if id := o.Annotations[ArgoTrackingAnnotation]; id != "" {
		if app, _, ok := strings.Cut(id, ":"); ok && apps[app] {
			return app
		}
		return ""
	}
	if app := o.Labels[ArgoInstanceLabel]; apps[app] {
		return app
	}
	return ""
}

func objectName(gvr schema.GroupVersionResource, kind string, o *metav1.PartialObjectMetadata) string {
	gv := gvr.Version
	if gvr.Group != "" {
		gv = gvr.Group + "/" + gvr.Version
	}
	return fmt.Sprintf("%s %s %s/%s", gv, kind, o.Namespace, o.Name)
}
