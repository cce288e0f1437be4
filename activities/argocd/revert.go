package argocd

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RevertInput puts applications that retarget moved to green back on the
// destination they had (blue). It is what a rollback runs.
type RevertInput struct {
	ArgoCluster clusters.Ref `json:"argoCluster"`
	Namespace   string       `json:"namespace"`
	// Selector limits the applications, as in RestoreInput.
	Selector string `json:"selector,omitempty"`
	// Applications limits the revert to these names; empty means every
	// application carrying cutover's previous-destination annotation.
	// ApplicationSets (selected by Selector) are reverted whatever it holds.
	Applications []string `json:"applications,omitempty"`
	Prune        bool     `json:"prune"`
	// Green is the cluster retarget moved the applications to. Its Argo CD
	// cluster Secret loses the labels retarget copied from blue's; when
	// empty, every cluster Secret in Namespace carrying
	// AnnotationAddedLabels does. A pointer, so the payloads recorded
	// before it existed read back the same.
	Green *clusters.Ref `json:"green,omitempty"`
}

// RevertResult lists what was put back.
type RevertResult struct {
	Reverted []string `json:"reverted"`
	// SyncRequested are the reverted applications whose sync was requested
	// (the others were mid-operation; Argo CD syncs them after it).
	SyncRequested []string `json:"syncRequested,omitempty"`
	// ApplicationSets lists the ApplicationSets whose template destination
	// or list elements were put back.
	ApplicationSets []string `json:"applicationSets,omitempty"`
	// Labels lists the labels removed from cluster Secrets, as
	// "secret: key".
	Labels []string `json:"labels,omitempty"`
	// Projects lists the AppProjects green's destinations were taken out of.
	Projects []string `json:"projects,omitempty"`
}

// RevertArgoApplications moves every application cutover retargeted back
// to its previous destination, removes cutover's annotations and requests
// a sync. An application without the annotation is left alone, so a second
// run changes nothing. ApplicationSets get their template destination and
// list elements back, and green's cluster Secret loses the labels retarget
// copied to it (see revertAppSets).
func (a *Activities) RevertArgoApplications(ctx context.Context, in RevertInput) (RevertResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := RevertResult{Reverted: []string{}}
	sel := labels.Everything()
	if in.Selector != "" {
		s, err := labels.Parse(in.Selector)
		if err != nil {
			return res, failures.New(failures.Validation, "argocd.selector: %v", err)
		}
		sel = s
	}
	c, _, err := a.cluster(ctx, in.ArgoCluster)
	if err != nil {
		return res, err
	}
	apps, err := listApps(ctx, c, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	log := a.log(ctx)
	for i := range apps {
		name := apps[i].Name
		if len(in.Applications) > 0 && !slices.Contains(in.Applications, name) {
			continue
		}
		if apps[i].Annotations[AnnotationPreviousDestination] == "" {
			continue
		}
		var reverted, requested bool
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			reverted, requested = false, false
			var cur argov1.Application
			if err := c.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &cur); err != nil {
				return err
			}
			prev := cur.Annotations[AnnotationPreviousDestination]
			if prev == "" {
				return nil // reverted by a concurrent attempt
			}
			var d argov1.ApplicationDestination
			if err := json.Unmarshal([]byte(prev), &d); err != nil {
				return failures.New(failures.Conflict, "argocd: application %s: annotation %s is not a destination: %v", name, AnnotationPreviousDestination, err)
			}
			orig := cur.DeepCopy()
			cur.Spec.Destination = d
			delete(cur.Annotations, AnnotationPreviousDestination)
			delete(cur.Annotations, AnnotationRetargetedAt)
			delete(cur.Annotations, AnnotationPendingSync)
			if !syncing(&cur) {
				cur.Operation = syncOperation(in.Prune)
				requested = true
			}
			reverted = true
			return c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return res, apiError(err, "revert Argo CD application %s/%s", in.Namespace, name)
		}
		if reverted {
			res.Reverted = append(res.Reverted, name)
			log.Info("Reverted Argo CD application to its previous destination", "app", name, "argoCluster", in.ArgoCluster.Name, "syncRequested", requested)
			activitylog.Heartbeat(ctx, res)
		}
		if requested {
			res.SyncRequested = append(res.SyncRequested, name)
		}
	}
	if err := a.revertAppSets(ctx, c, in, sel, &res); err != nil {
		return res, err
	}
	projects, err := a.unpermitGreen(ctx, c, in.Namespace)
	if err != nil {
		return res, apiError(err, "take green out of the Argo CD projects in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	res.Projects = projects
	sort.Strings(res.Reverted)
	sort.Strings(res.SyncRequested)
	return res, nil
}
