package argocd

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	synccommon "github.com/argoproj/gitops-engine/pkg/sync/common"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Restore modes.
const (
	ModeRetarget = "retarget"
	ModeCopy     = "copy"
)

// RestoreArgoApplications points blue's Applications (or copies of them) at green.
func (a *Activities) RestoreArgoApplications(ctx context.Context, in RestoreInput) (RestoreResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if in.Namespace == "" {
		return RestoreResult{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	sel, err := labels.Parse(in.Selector)
	if err != nil {
		return RestoreResult{}, failures.New(failures.Validation, "argocd.selector: %v", err)
	}
	if in.Blue.Name == "" || in.Green.Name == "" {
		return RestoreResult{}, failures.New(failures.Validation, "argocd: blue and green clusters are required")
	}
	if in.Blue == in.Green {
		return RestoreResult{}, failures.New(failures.Validation, "argocd: blue and green are the same cluster %s", in.Blue)
	}
	switch in.Mode {
	case ModeRetarget:
		if in.ArgoCluster.Name == "" {
			in.ArgoCluster = in.Blue
		}
		return a.retarget(ctx, in, sel)
	case ModeCopy:
		return a.copyApps(ctx, in, sel)
	default:
		return RestoreResult{}, failures.New(failures.Validation, "argocd.mode: %q is not retarget or copy", in.Mode)
	}
}

// target recognises the destinations that mean one cluster.
type target struct {
	servers map[string]bool // normalised
	names   map[string]bool
}

func newTarget(host string, inCluster bool, secrets []clusterSecret) target {
	t := target{servers: map[string]bool{normServer(host): true}, names: map[string]bool{}}
	if inCluster {
		t.servers[normServer(InClusterServer)] = true
		t.names[InClusterName] = true
	}
	for _, s := range secrets {
		if t.servers[s.server] && s.name != "" {
			t.names[s.name] = true
		}
	}
	return t
}

// matches reports whether d points at the cluster. Argo CD uses server when
// it is set, else name.
func (t target) matches(d argov1.ApplicationDestination) bool {
	if d.Server != "" {
		return t.servers[normServer(d.Server)]
	}
	return d.Name != "" && t.names[d.Name]
}

// syncing reports whether an operation is requested or running.
func syncing(app *argov1.Application) bool {
	if app.Operation != nil {
		return true
	}
	os := app.Status.OperationState
	return os != nil && (os.Phase == synccommon.OperationRunning || os.Phase == synccommon.OperationTerminating)
}

func syncOperation(prune bool) *argov1.Operation {
	return &argov1.Operation{
		Sync:        &argov1.SyncOperation{Prune: prune},
		InitiatedBy: argov1.OperationInitiator{Username: ManagedBy},
	}
}

func destJSON(d argov1.ApplicationDestination) string {
	b, _ := json.Marshal(&d)
	return string(b)
}

func listApps(ctx context.Context, c client.Client, ns string, sel labels.Selector) ([]argov1.Application, error) {
	var list argov1.ApplicationList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}

func appSetOwner(app *argov1.Application) string {
	for _, o := range app.OwnerReferences {
		if o.Kind == "ApplicationSet" {
			return o.Name
		}
	}
	return ""
}

// argoBlueGreen is the client of the cluster Argo CD runs on and the REST
// configurations (API servers) of blue and green.
func (a *Activities) argoBlueGreen(ctx context.Context, argo, blue, green clusters.Ref) (client.Client, *rest.Config, *rest.Config, error) {
	c, _, err := a.cluster(ctx, argo)
	if err != nil {
		return nil, nil, nil, err
	}
	_, blueCfg, err := a.cluster(ctx, blue)
	if err != nil {
		return nil, nil, nil, err
	}
	_, greenCfg, err := a.cluster(ctx, green)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, blueCfg, greenCfg, nil
}

// retarget moves the Applications of the Argo CD on ArgoCluster from blue to green.
func (a *Activities) retarget(ctx context.Context, in RestoreInput, sel labels.Selector) (RestoreResult, error) {
	log := a.log(ctx)
	res := RestoreResult{Applications: []string{}}
	argoC, blueCfg, greenCfg, err := a.argoBlueGreen(ctx, in.ArgoCluster, in.Blue, in.Green)
	if err != nil {
		return res, err
	}
	if normServer(blueCfg.Host) == normServer(greenCfg.Host) {
		return res, failures.New(failures.Validation, "argocd: blue %s and green %s have the same API server %s", in.Blue.Name, in.Green.Name, blueCfg.Host)
	}
	apps, err := listApps(ctx, argoC, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	secrets, err := listClusterSecrets(ctx, argoC, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	blueT := newTarget(blueCfg.Host, in.ArgoCluster == in.Blue, secrets)
	greenInCluster := in.ArgoCluster == in.Green
	greenT := newTarget(greenCfg.Host, greenInCluster, secrets)

	// ApplicationSets: the ones that concern blue are retargeted through
	// their template or generators, and their applications with them.
	sets, err := listAppSets(ctx, argoC, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD ApplicationSets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	secretObjs, err := listClusterSecretObjects(ctx, argoC, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.ArgoCluster.Name)
	}
	var allApps argov1.ApplicationList
	if len(sets) > 0 {
		if err := argoC.List(ctx, &allApps, client.InNamespace(in.Namespace)); err != nil {
			return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.ArgoCluster.Name)
		}
	}
	setEnv := &appSetEnv{c: argoC, in: in, blueT: blueT, greenT: greenT, blueSecret: secretOf(secretObjs, blueT), apps: allApps.Items}
	selectedSets, concerned := map[string]bool{}, map[string]bool{}
	for i := range sets {
		selectedSets[sets[i].Name] = true
		if setEnv.concernsBlue(&sets[i]) {
			concerned[sets[i].Name] = true
		}
	}

	var toMove, already []string
	var fromAppSet []string
	for i := range apps {
		app := &apps[i]
		d := app.Spec.Destination
		owner := appSetOwner(app)
		if concerned[owner] {
			continue // handled through its ApplicationSet
		}
		switch {
		case greenT.matches(d):
			already = append(already, app.Name)
		case blueT.matches(d):
			if owner != "" {
				why := "which the selector does not select"
				if selectedSets[owner] {
					why = "which cutover cannot retarget"
				}
				fromAppSet = append(fromAppSet, app.Name+" (ApplicationSet "+owner+", "+why+")")
				continue
			}
			toMove = append(toMove, app.Name)
		default:
			why := "targets " + d.Server + d.Name
			res.Skipped = append(res.Skipped, app.Name+": "+why)
			log.Info("Skipping an Argo CD application that targets neither blue nor green", "app", app.Name, "blue", in.Blue.Name, "green", in.Green.Name, "server", d.Server, "name", d.Name)
		}
	}
	if len(fromAppSet) > 0 {
		return res, failures.New(failures.Conflict,
			"argocd: applications generated by an ApplicationSet would be reverted by it; select the ApplicationSet so that cutover retargets it, or retarget its template by hand: %s", strings.Join(fromAppSet, ", "))
	}
	if len(toMove)+len(already)+len(concerned) == 0 {
		log.Warn("No Argo CD application targets blue", "argoCluster", in.ArgoCluster.Name, "blue", in.Blue.Name, "namespace", in.Namespace, "selector", in.Selector, "matched", len(apps))
		return res, nil
	}

	// Green's destination, as a server URL or as the name of its cluster Secret.
	greenServer, greenName := strings.TrimRight(greenCfg.Host, "/"), ""
	if greenInCluster {
		greenServer, greenName = InClusterServer, InClusterName
	} else {
		s, err := a.ensureClusterSecret(ctx, argoC, in.Namespace, in.Green, greenCfg, secrets)
		if err != nil {
			return res, err
		}
		greenName = s.name
		if s.ours {
			res.ClusterSecret = s.secretName
		}
		greenT.names[greenName] = true
		if len(concerned) > 0 {
			var sec corev1.Secret
			if err := argoC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: s.secretName}, &sec); err != nil {
				return res, apiError(err, "get green's Argo CD cluster secret %s/%s", in.Namespace, s.secretName)
			}
			setEnv.greenSecret = &sec
		}
	}
	newDest := func(d argov1.ApplicationDestination) argov1.ApplicationDestination {
		if d.Server != "" {
			d.Server, d.Name = greenServer, ""
		} else {
			d.Name = greenName
		}
		return d
	}
	setEnv.greenT, setEnv.greenServer, setEnv.greenName, setEnv.newDest = greenT, greenServer, greenName, newDest
	plans, skippedSets, err := setEnv.planAll(sets)
	if err != nil {
		return res, err
	}
	for _, p := range skippedSets {
		res.Skipped = append(res.Skipped, "ApplicationSet "+p.name+": "+p.skip+", retarget it by hand")
		log.Warn("Leaving an Argo CD ApplicationSet that cutover cannot retarget", "applicationSet", p.name, "blue", in.Blue.Name, "why", p.skip)
		for _, app := range owned(allApps.Items, p.name) {
			if blueT.matches(app.Spec.Destination) {
				res.Skipped = append(res.Skipped, app.Name+": generated by ApplicationSet "+p.name+", retarget it by hand")
			}
		}
	}
	// The projects of the ApplicationSets' templates must permit green too.
	permitApps, permitNames := slices.Clone(apps), slices.Clone(toMove)
	for _, p := range plans {
		if !isParam(p.project) {
			n := "ApplicationSet " + p.name
			permitApps = append(permitApps, argov1.Application{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: argov1.ApplicationSpec{Project: p.project}})
			permitNames = append(permitNames, n)
		}
	}

	// Projects must permit green before the applications point at it.
	if err := a.permitGreen(ctx, argoC, in, permitApps, permitNames, blueT, newDest); err != nil {
		return res, err
	}
	changedSets, err := a.applyAppSets(ctx, setEnv, plans)
	if err != nil {
		return res, err
	}
	for _, n := range changedSets {
		res.Changed = append(res.Changed, "ApplicationSet "+n)
	}

	now := a.opts.Now().UTC().Format(time.RFC3339)
	pending, _ := json.Marshal(argov1.SyncOperation{Prune: in.Prune})
	for _, name := range toMove {
		var changed, requested bool
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			changed, requested = false, false
			var cur argov1.Application
			if err := argoC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &cur); err != nil {
				return err
			}
			orig := cur.DeepCopy()
			d := cur.Spec.Destination
			if greenT.matches(d) {
				return nil // moved by a concurrent attempt
			}
			if !blueT.matches(d) {
				return failures.New(failures.Conflict, "argocd: application %s changed its destination to %s while being retargeted", name, destJSON(d))
			}
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnotationPreviousDestination] = destJSON(d)
			cur.Annotations[AnnotationRetargetedAt] = now
			cur.Spec.Destination = newDest(d)
			if syncing(&cur) {
				cur.Annotations[AnnotationPendingSync] = string(pending)
			} else {
				delete(cur.Annotations, AnnotationPendingSync)
				cur.Operation = syncOperation(in.Prune)
				requested = true
			}
			changed = true
			return argoC.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			log.Warn("Argo CD application disappeared before it was retargeted", "app", name, "argoCluster", in.ArgoCluster.Name)
			continue
		}
		if err != nil {
			return res, apiError(err, "retarget Argo CD application %s/%s", in.Namespace, name)
		}
		if changed {
			res.Changed = append(res.Changed, name)
			log.Info("Retargeted Argo CD application to green", "app", name, "blue", in.Blue.Name, "green", in.Green.Name, "syncRequested", requested)
		}
		if requested {
			res.SyncRequested = append(res.SyncRequested, name)
		}
		already = append(already, name)
	}

	// Applications retargeted by an earlier attempt: request the sync that
	// attempt could not, or that a crash lost.
	for _, name := range already {
		if slices.Contains(res.Changed, name) {
			continue
		}
		requested, err := a.requestSyncIfIdle(ctx, argoC, in.Namespace, name, &in.Prune, false)
		if err != nil && !apierrors.IsNotFound(err) {
			return res, apiError(err, "request sync of Argo CD application %s/%s", in.Namespace, name)
		}
		if requested {
			res.SyncRequested = append(res.SyncRequested, name)
		}
	}
	if len(plans) > 0 {
		generated, err := a.waitAppSets(ctx, setEnv, plans)
		if err != nil {
			return res, err
		}
		already = append(already, generated...)
		for _, p := range plans {
			res.ApplicationSets = append(res.ApplicationSets, p.name)
		}
	}
	res.Applications = already
	sort.Strings(res.Applications)
	res.Applications = slices.Compact(res.Applications)
	sort.Strings(res.Changed)
	sort.Strings(res.SyncRequested)
	log.Info("Argo CD applications target green", "argoCluster", in.ArgoCluster.Name, "green", in.Green.Name,
		"applications", len(res.Applications), "changed", len(res.Changed), "syncRequested", len(res.SyncRequested), "skipped", len(res.Skipped))
	return res, nil
}

// requestSyncIfIdle requests a sync of an application cutover moved (it has
// AnnotationPreviousDestination) when no operation is requested or running
// and it is not Synced to its current destination, or when a sync is
// pending (AnnotationPendingSync). prune nil means the pending annotation's
// (or false). onlyPending limits it to pending syncs.
func (a *Activities) requestSyncIfIdle(ctx context.Context, c client.Client, ns, name string, prune *bool, onlyPending bool) (bool, error) {
	requested := false
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		requested = false
		var cur argov1.Application
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cur); err != nil {
			return err
		}
		if cur.Annotations[AnnotationPreviousDestination] == "" || syncing(&cur) {
			return nil
		}
		pendingRaw, pending := cur.Annotations[AnnotationPendingSync]
		if !pending && (onlyPending || syncedTo(&cur)) {
			return nil
		}
		p := false
		if pending {
			var op argov1.SyncOperation
			if json.Unmarshal([]byte(pendingRaw), &op) == nil {
				p = op.Prune
			}
		}
		if prune != nil {
			p = *prune
		}
		orig := cur.DeepCopy()
		delete(cur.Annotations, AnnotationPendingSync)
		cur.Operation = syncOperation(p)
		requested = true
		return c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
	if err == nil && requested {
		a.log(ctx).Info("Requested a sync of Argo CD application", "app", name, "namespace", ns)
	}
	return requested, err
}

// sameDest reports whether a status destination is the spec destination.
func sameDest(status, spec argov1.ApplicationDestination) bool {
	if status.Namespace != spec.Namespace {
		return false
	}
	if spec.Server != "" && normServer(status.Server) == normServer(spec.Server) {
		return true
	}
	return spec.Name != "" && status.Name == spec.Name
}

// syncedTo reports whether the application is Synced to its current destination.
func syncedTo(app *argov1.Application) bool {
	return app.Status.Sync.Status == argov1.SyncStatusCodeSynced && sameDest(app.Status.Sync.ComparedTo.Destination, app.Spec.Destination)
}

// permitGreen adds green to the destinations of the projects of the moved
// applications wherever they permit blue by server or name (wildcards
// already permit green).
func (a *Activities) permitGreen(ctx context.Context, c client.Client, in RestoreInput, apps []argov1.Application, moved []string, blueT target, newDest func(argov1.ApplicationDestination) argov1.ApplicationDestination) error {
	projects := map[string]bool{}
	for i := range apps {
		if slices.Contains(moved, apps[i].Name) {
			p := apps[i].Spec.Project
			if p == "" {
				p = "default"
			}
			projects[p] = true
		}
	}
	names := make([]string, 0, len(projects))
	for p := range projects {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			var proj argov1.AppProject
			if err := c.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: p}, &proj); err != nil {
				return err
			}
			orig := proj.DeepCopy()
			var add []argov1.ApplicationDestination
			for _, d := range proj.Spec.Destinations {
				if !blueT.matches(d) {
					continue
				}
				nd := newDest(d)
				if !slices.ContainsFunc(proj.Spec.Destinations, func(x argov1.ApplicationDestination) bool {
					return x.Server == nd.Server && x.Name == nd.Name && x.Namespace == nd.Namespace
				}) && !slices.ContainsFunc(add, func(x argov1.ApplicationDestination) bool {
					return x.Server == nd.Server && x.Name == nd.Name && x.Namespace == nd.Namespace
				}) {
					add = append(add, nd)
				}
			}
			if len(add) == 0 {
				return nil
			}
			proj.Spec.Destinations = append(proj.Spec.Destinations, add...)
			// What was added, so the rollback takes exactly that away.
			recorded := addedDestinations(&proj)
			for _, d := range add {
				if !slices.ContainsFunc(recorded, sameDestination(d)) {
					recorded = append(recorded, d)
				}
			}
			b, err := json.Marshal(recorded)
			if err != nil {
				return err
			}
			if proj.Annotations == nil {
				proj.Annotations = map[string]string{}
			}
			proj.Annotations[AnnotationAddedDestinations] = string(b)
			if err := c.Patch(ctx, &proj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
			a.log(ctx).Info("Permitted green in Argo CD project", "project", p, "green", in.Green.Name, "destinations", len(add))
			return nil
		})
		if apierrors.IsNotFound(err) {
			a.log(ctx).Warn("Argo CD project of a retargeted application does not exist", "project", p, "argoCluster", in.ArgoCluster.Name)
			continue
		}
		if err != nil {
			return apiError(err, "permit green in Argo CD project %s/%s", in.Namespace, p)
		}
	}
	return nil
}

// AnnotationAddedDestinations on an AppProject lists, as JSON, the
// destinations retarget added to it for green.
const AnnotationAddedDestinations = "cutover.dev/added-destinations"

// addedDestinations reads the annotation (none when absent or unreadable).
func addedDestinations(p *argov1.AppProject) []argov1.ApplicationDestination {
	var out []argov1.ApplicationDestination
	if v := p.Annotations[AnnotationAddedDestinations]; v != "" {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil
		}
	}
	return out
}

func sameDestination(d argov1.ApplicationDestination) func(argov1.ApplicationDestination) bool {
	return func(x argov1.ApplicationDestination) bool {
		return x.Server == d.Server && x.Name == d.Name && x.Namespace == d.Namespace
	}
}

// unpermitGreen takes the destinations retarget added for green out of
// every AppProject of the namespace that records some, and the record.
func (a *Activities) unpermitGreen(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	var list argov1.AppProjectList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var done []string
	for i := range list.Items {
		name := list.Items[i].Name
		if list.Items[i].Annotations[AnnotationAddedDestinations] == "" {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			var proj argov1.AppProject
			if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &proj); err != nil {
				return err
			}
			added := addedDestinations(&proj)
			orig := proj.DeepCopy()
			proj.Spec.Destinations = slices.DeleteFunc(proj.Spec.Destinations, func(d argov1.ApplicationDestination) bool {
				return slices.ContainsFunc(added, sameDestination(d))
			})
			delete(proj.Annotations, AnnotationAddedDestinations)
			return c.Patch(ctx, &proj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, name)
		a.log(ctx).Info("Took green out of Argo CD project", "project", name)
	}
	return done, nil
}

// copyApps creates blue's Applications in green's own Argo CD.
func (a *Activities) copyApps(ctx context.Context, in RestoreInput, sel labels.Selector) (RestoreResult, error) {
	log := a.log(ctx)
	res := RestoreResult{Applications: []string{}}
	blueC, blueCfg, err := a.cluster(ctx, in.Blue)
	if err != nil {
		return res, err
	}
	greenC, _, err := a.cluster(ctx, in.Green)
	if err != nil {
		return res, err
	}
	var ns corev1.Namespace
	if err := greenC.Get(ctx, client.ObjectKey{Name: in.Namespace}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			return res, failures.New(failures.NotFound, "argocd: namespace %s does not exist on green %s: install Argo CD there before copying applications", in.Namespace, in.Green.Name)
		}
		return res, apiError(err, "get namespace %s on %s", in.Namespace, in.Green.Name)
	}
	apps, err := listApps(ctx, blueC, in.Namespace, sel)
	if err != nil {
		return res, apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.Blue.Name)
	}
	secrets, err := listClusterSecrets(ctx, blueC, in.Namespace)
	if err != nil {
		return res, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.Blue.Name)
	}
	blueT := newTarget(blueCfg.Host, true, secrets)

	var create []*argov1.Application
	var conflicts []string
	projects := map[string]bool{}
	for i := range apps {
		app := &apps[i]
		if !blueT.matches(app.Spec.Destination) {
			res.Skipped = append(res.Skipped, app.Name+": targets "+app.Spec.Destination.Server+app.Spec.Destination.Name)
			log.Info("Skipping an Argo CD application that does not target blue", "app", app.Name, "blue", in.Blue.Name, "server", app.Spec.Destination.Server, "name", app.Spec.Destination.Name)
			continue
		}
		want := copyApp(app, in.Blue)
		var cur argov1.Application
		err := greenC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: app.Name}, &cur)
		switch {
		case apierrors.IsNotFound(err):
			create = append(create, want)
			if want.Spec.Project != "" && want.Spec.Project != "default" {
				projects[want.Spec.Project] = true
			}
		case err != nil:
			return res, apiError(err, "get Argo CD application %s/%s on %s", in.Namespace, app.Name, in.Green.Name)
		default:
			if diff := specDiff(&cur.Spec, &want.Spec); diff != "" {
				conflicts = append(conflicts, app.Name+" (differs in "+diff+")")
				continue
			}
			log.Info("Adopting identical Argo CD application on green", "app", app.Name, "green", in.Green.Name)
			res.Applications = append(res.Applications, app.Name)
		}
	}
	if len(conflicts) > 0 {
		return res, failures.New(failures.Conflict, "argocd: applications already exist on green %s with a different spec: %s", in.Green.Name, strings.Join(conflicts, ", "))
	}
	if err := a.copyProjects(ctx, blueC, greenC, in, projects, blueT); err != nil {
		return res, err
	}
	for _, want := range create {
		want.Operation = syncOperation(in.Prune)
		if err := greenC.Create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				var cur argov1.Application
				if gerr := greenC.Get(ctx, client.ObjectKeyFromObject(want), &cur); gerr == nil && specDiff(&cur.Spec, &want.Spec) == "" {
					res.Applications = append(res.Applications, want.Name)
					continue
				}
				return res, failures.New(failures.Conflict, "argocd: application %s was created on green %s concurrently with a different spec", want.Name, in.Green.Name)
			}
			return res, apiError(err, "create Argo CD application %s/%s on %s", in.Namespace, want.Name, in.Green.Name)
		}
		log.Info("Copied Argo CD application to green", "app", want.Name, "blue", in.Blue.Name, "green", in.Green.Name)
		res.Applications = append(res.Applications, want.Name)
		res.Changed = append(res.Changed, want.Name)
		res.SyncRequested = append(res.SyncRequested, want.Name)
	}
	sort.Strings(res.Applications)
	sort.Strings(res.Changed)
	sort.Strings(res.SyncRequested)
	log.Info("Argo CD applications copied to green", "blue", in.Blue.Name, "green", in.Green.Name,
		"applications", len(res.Applications), "created", len(res.Changed), "skipped", len(res.Skipped))
	return res, nil
}

// copyApp is app as green's Argo CD should have it: same spec with the
// in-cluster destination, no status, operation or server-set metadata.
func copyApp(app *argov1.Application, blue clusters.Ref) *argov1.Application {
	spec := *app.Spec.DeepCopy()
	spec.Destination = argov1.ApplicationDestination{Server: InClusterServer, Namespace: app.Spec.Destination.Namespace}
	ann := map[string]string{}
	for k, v := range app.Annotations {
		if strings.HasPrefix(k, "cutover.dev/") || k == "kubectl.kubernetes.io/last-applied-configuration" || k == "argocd.argoproj.io/refresh" {
			continue
		}
		ann[k] = v
	}
	ann[AnnotationCopiedFrom] = blue.Name
	var lbls map[string]string
	if len(app.Labels) > 0 {
		lbls = make(map[string]string, len(app.Labels))
		for k, v := range app.Labels {
			lbls[k] = v
		}
	}
	return &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{
			Name:        app.Name,
			Namespace:   app.Namespace,
			Labels:      lbls,
			Annotations: ann,
			Finalizers:  slices.Clone(app.Finalizers),
		},
		Spec: spec,
	}
}

// specDiff names the top-level spec fields that differ ("" when equal).
func specDiff(a, b *argov1.ApplicationSpec) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if bytes.Equal(ja, jb) {
		return ""
	}
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var diff []string
	for k, v := range ma {
		if !jsonEqual(v, mb[k]) {
			diff = append(diff, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	sort.Strings(diff)
	return strings.Join(diff, ", ")
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

// copyProjects creates on green the projects the copied applications use
// that green lacks, their blue destinations made in-cluster. Existing
// projects are left as they are.
func (a *Activities) copyProjects(ctx context.Context, blueC, greenC client.Client, in RestoreInput, projects map[string]bool, blueT target) error {
	names := make([]string, 0, len(projects))
	for p := range projects {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		var cur argov1.AppProject
		err := greenC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: p}, &cur)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return apiError(err, "get Argo CD project %s/%s on %s", in.Namespace, p, in.Green.Name)
		}
		var src argov1.AppProject
		if err := blueC.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: p}, &src); err != nil {
			if apierrors.IsNotFound(err) {
				a.log(ctx).Warn("Argo CD project of a copied application does not exist on blue", "project", p, "blue", in.Blue.Name)
				continue
			}
			return apiError(err, "get Argo CD project %s/%s on %s", in.Namespace, p, in.Blue.Name)
		}
		spec := *src.Spec.DeepCopy()
		for i, d := range spec.Destinations {
			if blueT.matches(d) {
				if d.Server != "" {
					spec.Destinations[i].Server = InClusterServer
				} else {
					spec.Destinations[i].Name = InClusterName
				}
			}
		}
		proj := &argov1.AppProject{
			ObjectMeta: metav1.ObjectMeta{Name: p, Namespace: in.Namespace, Labels: src.Labels,
				Annotations: map[string]string{AnnotationCopiedFrom: in.Blue.Name}},
			Spec: spec,
		}
		if err := greenC.Create(ctx, proj); err != nil && !apierrors.IsAlreadyExists(err) {
			return apiError(err, "create Argo CD project %s/%s on %s", in.Namespace, p, in.Green.Name)
		}
		a.log(ctx).Info("Copied Argo CD project to green", "project", p, "blue", in.Blue.Name, "green", in.Green.Name)
	}
	return nil
}
