package kube

// Jobs must not run twice while blue and green both run the workloads: after
// green is restored from blue, green's CronJobs and its singletons (the
// Deployments and StatefulSets a spec names, e.g. a queue consumer that must
// run once) are held (suspended, scaled to zero) until a traffic step, which
// releases them on green and holds them on blue; a rollback releases what
// was held. Each hold is recorded on the object itself (who holds it and
// the value it had), so a retried hold reports the value it had before the
// first attempt, and a release puts exactly that back.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The annotations of a held object.
const (
	// AnnotationHeldBy names the migration that holds the object.
	AnnotationHeldBy = "cutover.dev/held-by"
	// AnnotationHeldBefore is the JSON of the value the object had before
	// the hold: {"suspend":false} for a CronJob, {"replicas":2} for a
	// Deployment or StatefulSet.
	AnnotationHeldBefore = "cutover.dev/held-before"
)

// The kinds of held objects.
const (
	kindCronJob     = "CronJob"
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
)

// SingletonSelector selects, by label, the Deployments and StatefulSets of
// a namespace that must run in one cluster only.
type SingletonSelector struct {
	// Namespace is where to look; empty means every namespace but the
	// system ones (kube-system, kube-public, kube-node-lease).
	Namespace string `json:"namespace"`
	// Selector is a label selector ("app=consumer", "tier in (queue)").
	Selector string `json:"selector"`
}

// HoldJobsInput names what to hold on a cluster.
type HoldJobsInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Namespaces are those whose CronJobs are held; empty means every
	// namespace but the system ones.
	Namespaces []string `json:"namespaces,omitempty"`
	// CronJobs: hold the CronJobs of Namespaces.
	CronJobs bool `json:"cronJobs"`
	// Singletons select the Deployments and StatefulSets to scale to zero.
	Singletons []SingletonSelector `json:"singletons,omitempty"`
	// Migration names the migration in the objects' annotations.
	Migration string `json:"migration"`
}

// HeldObject is a CronJob, Deployment or StatefulSet and what it was before
// a migration held it.
type HeldObject struct {
	// Kind is "CronJob", "Deployment" or "StatefulSet".
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// SuspendedBefore is a CronJob's spec.suspend before the hold.
	SuspendedBefore bool `json:"suspendedBefore,omitempty"`
	// ReplicasBefore is a Deployment's or StatefulSet's spec.replicas
	// before the hold.
	ReplicasBefore int32 `json:"replicasBefore,omitempty"`
	// HeldBy names the other migration that holds an object reported
	// AlreadyHeld.
	HeldBy string `json:"heldBy,omitempty"`
}

func (o HeldObject) label() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// key identifies the object, whatever its values.
func (o HeldObject) key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// HoldJobsResult lists what is held, sorted by kind, namespace and name.
type HoldJobsResult struct {
	// Held are held by this migration (by this call or an earlier one),
	// with the value each had before the first hold.
	Held []HeldObject `json:"held,omitempty"`
	// AlreadyHeld were suspended or at zero replicas before, or are held by
	// another migration (HeldBy): not this migration's, left as they are,
	// and ReleaseJobs does not touch them.
	AlreadyHeld []HeldObject `json:"alreadyHeld,omitempty"`
}

// ReleaseJobsInput names the objects a migration held on a cluster (its
// HoldJobsResult.Held) to release.
type ReleaseJobsInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Objects   []HeldObject `json:"objects"`
	Migration string       `json:"migration"`
}

// ReleaseJobsResult says what happened to each object, in the input's order.
type ReleaseJobsResult struct {
	// Released have their value from before the hold back (by this call
	// or an earlier one).
	Released []HeldObject `json:"released,omitempty"`
	// Gone were deleted since.
	Gone []HeldObject `json:"gone,omitempty"`
	// Changed: someone changed the suspend or replicas since the hold, or
	// took the hold over; left as it is.
	Changed []HeldObject `json:"changed,omitempty"`
}

// jobsConflictBackoff paces the re-reads after an optimistic-concurrency
// conflict on a held object (a controller or a person wrote it between our
// read and our patch).
var jobsConflictBackoff = wait.Backoff{Steps: 8, Duration: 50 * time.Millisecond, Factor: 2, Jitter: 0.2}

// ValidateSingletonSelectors checks each selector: a namespace that can
// exist, and a label selector that parses and selects something narrower
// than everything. The error is a definitive Validation error naming the
// entry (jobs.singletons[i].selector).
func ValidateSingletonSelectors(sel []SingletonSelector) error {
	for i, s := range sel {
		if s.Namespace != "" {
			if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
				return failures.New(failures.Validation, "jobs.singletons[%d].namespace: %q is not a namespace name: %s", i, s.Namespace, strings.Join(errs, "; "))
			}
		}
		if strings.TrimSpace(s.Selector) == "" {
			return failures.New(failures.Validation, "jobs.singletons[%d].selector: required (an empty selector would select every Deployment and StatefulSet)", i)
		}
		if _, err := labels.Parse(s.Selector); err != nil {
			return failures.New(failures.Validation, "jobs.singletons[%d].selector: %q is not a label selector: %v", i, s.Selector, err)
		}
	}
	return nil
}

// heldBefore is the record of AnnotationHeldBefore.
type heldBefore struct {
	Suspend  *bool  `json:"suspend,omitempty"`
	Replicas *int32 `json:"replicas,omitempty"`
}

// jobState is what a hold or a release reads of an object.
type jobState struct {
	HeldObject
	resourceVersion string
	heldBy          string
	heldBefore      string
	suspended       bool  // a CronJob's spec.suspend
	replicas        int32 // a workload's spec.replicas
}

// held reports whether the object is suspended or at zero replicas.
func (s jobState) held() bool {
	if s.Kind == kindCronJob {
		return s.suspended
	}
	return s.replicas == 0
}

// current is the object with its current value as its Before value.
func (s jobState) current() HeldObject {
	o := HeldObject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
	if s.Kind == kindCronJob {
		o.SuspendedBefore = s.suspended
	} else {
		o.ReplicasBefore = s.replicas
	}
	return o
}

// recorded is the object with the Before value of its AnnotationHeldBefore.
func (s jobState) recorded() (HeldObject, error) {
	o := HeldObject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
	var b heldBefore
	if err := json.Unmarshal([]byte(s.heldBefore), &b); err != nil {
		return o, failures.New(failures.InvalidParameter, "%s: annotation %s is not cutover's record: %v", o.label(), AnnotationHeldBefore, err)
	}
	switch {
	case s.Kind == kindCronJob && b.Suspend != nil:
		o.SuspendedBefore = *b.Suspend
	case s.Kind != kindCronJob && b.Replicas != nil && *b.Replicas >= 0:
		o.ReplicasBefore = *b.Replicas
	default:
		return o, failures.New(failures.InvalidParameter, "%s: annotation %s is not cutover's record: %s", o.label(), AnnotationHeldBefore, s.heldBefore)
	}
	return o, nil
}

// holdAction is what a hold does with an object.
type holdAction int

const (
	// holdWrite: hold it and record its value.
	holdWrite holdAction = iota
	// holdKept: this migration holds it already.
	holdKept
	// holdAgain: this migration holds it, but someone resumed it since:
	// hold it again, keeping the record of the first hold.
	holdAgain
	// holdAlready: suspended or at zero, not by this migration.
	holdAlready
	// holdForeign: another migration holds it.
	holdForeign
)

// decideHold decides what a hold of migration does with s, and returns the
// object as the result reports it.
func decideHold(s jobState, migration string) (holdAction, HeldObject, error) {
	switch s.heldBy {
	case migration:
		o, err := s.recorded()
		if err != nil {
			return 0, o, err
		}
		if s.held() {
			return holdKept, o, nil
		}
		return holdAgain, o, nil
	case "":
		if s.held() {
			return holdAlready, s.current(), nil
		}
		return holdWrite, s.current(), nil
	default:
		o := s.current()
		o.HeldBy = s.heldBy
		return holdForeign, o, nil
	}
}

// releaseAction is what a release does with an object.
type releaseAction int

const (
	// releaseWrite: put the recorded value back and remove the record.
	releaseWrite releaseAction = iota
	// releaseDone: not held, and at the value it had before the hold: an
	// earlier attempt released it.
	releaseDone
	// releaseChanged: someone changed it since the hold; leave it.
	releaseChanged
)

// decideRelease decides what a release of migration does with s, asked to
// release want, and returns the object as the result reports it (with the
// value it is released to).
func decideRelease(s jobState, want HeldObject, migration string) (releaseAction, HeldObject, error) {
	want.HeldBy = ""
	if s.heldBy == migration {
		o, err := s.recorded()
		if err != nil {
			return 0, o, err
		}
		if !s.held() {
			return releaseChanged, o, nil
		}
		return releaseWrite, o, nil
	}
	if s.heldBy == "" && s.current() == want {
		return releaseDone, want, nil
	}
	return releaseChanged, want, nil
}

// holdPatch is the JSON merge patch that holds s and records before. It
// carries the resourceVersion read, so a write in between is a Conflict.
func holdPatch(s jobState, migration string, before HeldObject) ([]byte, error) {
	var rec heldBefore
	spec := map[string]any{}
	if s.Kind == kindCronJob {
		rec.Suspend = &before.SuspendedBefore
		spec["suspend"] = true
	} else {
		rec.Replicas = &before.ReplicasBefore
		spec["replicas"] = 0
	}
	record, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": s.resourceVersion,
			"annotations":     map[string]any{AnnotationHeldBy: migration, AnnotationHeldBefore: string(record)},
		},
		"spec": spec,
	})
}

// releasePatch is the JSON merge patch that puts before back and removes
// the hold's annotations, guarded by the resourceVersion read.
func releasePatch(s jobState, before HeldObject) ([]byte, error) {
	spec := map[string]any{}
	if s.Kind == kindCronJob {
		spec["suspend"] = before.SuspendedBefore
	} else {
		spec["replicas"] = before.ReplicasBefore
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": s.resourceVersion,
			"annotations":     map[string]any{AnnotationHeldBy: nil, AnnotationHeldBefore: nil},
		},
		"spec": spec,
	})
}

// readJob reads the object o names; found is false when it does not exist.
func readJob(ctx context.Context, c *Clients, o HeldObject) (jobState, bool, error) {
	s := jobState{HeldObject: HeldObject{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}}
	var meta metav1.Object
	var err error
	switch o.Kind {
	case kindCronJob:
		var cj *batchv1.CronJob
		if cj, err = c.Kube.BatchV1().CronJobs(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
			meta, s.suspended = cj, ptrOr(cj.Spec.Suspend, false)
		}
	case kindDeployment:
		var d *appsv1.Deployment
		if d, err = c.Kube.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
			meta, s.replicas = d, ptrOr(d.Spec.Replicas, 1)
		}
	case kindStatefulSet:
		var st *appsv1.StatefulSet
		if st, err = c.Kube.AppsV1().StatefulSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
			meta, s.replicas = st, ptrOr(st.Spec.Replicas, 1)
		}
	default:
		return s, false, failures.New(failures.Validation, "%s: unknown kind (want %s, %s or %s)", o.label(), kindCronJob, kindDeployment, kindStatefulSet)
	}
	if apierrors.IsNotFound(err) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	s.resourceVersion = meta.GetResourceVersion()
	s.heldBy = meta.GetAnnotations()[AnnotationHeldBy]
	s.heldBefore = meta.GetAnnotations()[AnnotationHeldBefore]
	return s, true, nil
}

// patchJob applies a JSON merge patch to the object o names.
func patchJob(ctx context.Context, c *Clients, o HeldObject, patch []byte) error {
	opts := metav1.PatchOptions{FieldManager: "cutover"}
	var err error
	switch o.Kind {
	case kindCronJob:
		_, err = c.Kube.BatchV1().CronJobs(o.Namespace).Patch(ctx, o.Name, types.MergePatchType, patch, opts)
	case kindDeployment:
		_, err = c.Kube.AppsV1().Deployments(o.Namespace).Patch(ctx, o.Name, types.MergePatchType, patch, opts)
	case kindStatefulSet:
		_, err = c.Kube.AppsV1().StatefulSets(o.Namespace).Patch(ctx, o.Name, types.MergePatchType, patch, opts)
	default:
		err = failures.New(failures.Validation, "%s: unknown kind", o.label())
	}
	return err
}

// sortHeld sorts objects by kind, namespace and name.
func sortHeld(objs []HeldObject) {
	sort.Slice(objs, func(i, j int) bool {
		x, y := objs[i], objs[j]
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		return x.Name < y.Name
	})
}

// HoldJobs suspends (spec.suspend: true) the CronJobs of the namespaces and
// scales (spec.replicas: 0) the Deployments and StatefulSets the singleton
// selectors match, recording on each object the migration and its value
// before (annotations cutover.dev/held-by and cutover.dev/held-before). An
// object already suspended or at zero, or held by another migration, is
// AlreadyHeld and left as it is. A retry, or a second call of the same
// migration, writes nothing more and reports the same objects with the
// values they had before the first hold; an object of the migration's hold
// that someone resumed since is held again. Every write is a merge patch
// guarded by the resourceVersion read, redone on a fresh read when it loses
// a race.
func (a *Activities) HoldJobs(ctx context.Context, in HoldJobsInput) (HoldJobsResult, error) {
	var res HoldJobsResult
	if strings.TrimSpace(in.Migration) == "" {
		return res, failures.New(failures.Validation, "migration: required")
	}
	if in.Cluster.Name == "" {
		return res, failures.New(failures.Validation, "hold jobs: cluster is required")
	}
	if err := ValidateSingletonSelectors(in.Singletons); err != nil {
		return res, err
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	activitylog.Heartbeat(ctx, Progress{Step: "hold-jobs", Detail: "list " + in.Cluster.Name})
	objs, err := a.jobsToHold(ctx, c, in)
	if err != nil {
		return res, err
	}
	for i, o := range objs {
		activitylog.Heartbeat(ctx, Progress{Step: "hold-jobs", Objects: i, Detail: o.label()})
		var action holdAction
		var got HeldObject
		gone, err := a.writeJob(ctx, c, in.Cluster, o, "hold", i, func(s jobState) ([]byte, error) {
			var err error
			if action, got, err = decideHold(s, in.Migration); err != nil || (action != holdWrite && action != holdAgain) {
				return nil, err
			}
			return holdPatch(s, in.Migration, got)
		})
		if err != nil {
			return res, err
		}
		switch {
		case gone:
			log.Info("Object deleted before it was held", "cluster", in.Cluster.Name, "object", o.label())
		case action == holdWrite:
			log.Info("Held", "cluster", in.Cluster.Name, "object", o.label(), "migration", in.Migration, "suspendedBefore", got.SuspendedBefore, "replicasBefore", got.ReplicasBefore)
			res.Held = append(res.Held, got)
		case action == holdAgain:
			log.Warn("Someone resumed an object this migration holds: held again", "cluster", in.Cluster.Name, "object", o.label(), "migration", in.Migration)
			res.Held = append(res.Held, got)
		case action == holdKept:
			res.Held = append(res.Held, got)
		case action == holdForeign:
			log.Warn("Object held by another migration: left as it is", "cluster", in.Cluster.Name, "object", o.label(), "heldBy", got.HeldBy, "migration", in.Migration)
			res.AlreadyHeld = append(res.AlreadyHeld, got)
		default:
			log.Info("Object already suspended or at zero replicas: left as it is", "cluster", in.Cluster.Name, "object", o.label())
			res.AlreadyHeld = append(res.AlreadyHeld, got)
		}
	}
	log.Info("Held jobs", "cluster", in.Cluster.Name, "migration", in.Migration, "held", len(res.Held), "alreadyHeld", len(res.AlreadyHeld))
	return res, nil
}

// jobsToHold lists the CronJobs and the singletons of in, each once, sorted.
func (a *Activities) jobsToHold(ctx context.Context, c *Clients, in HoldJobsInput) ([]HeldObject, error) {
	seen := map[string]bool{}
	var out []HeldObject
	add := func(o HeldObject) {
		if !seen[o.key()] {
			seen[o.key()] = true
			out = append(out, o)
		}
	}
	// list pages through one list; a transient failure lists it again.
	list := func(what string, fn func(ctx context.Context) ([]HeldObject, error)) error {
		var found []HeldObject
		err := a.retryAPI(ctx, what+" on "+in.Cluster.Name, func(ctx context.Context) error {
			var err error
			found, err = fn(ctx)
			return err
		})
		if err != nil {
			return kubeError(err, "%s on cluster %s", what, in.Cluster)
		}
		for _, o := range found {
			add(o)
		}
		return nil
	}
	// scope is where to list: one namespace, or every namespace but the
	// system ones.
	scope := func(ns string) (string, func(string) bool) {
		if ns != "" {
			return ns, func(string) bool { return true }
		}
		return metav1.NamespaceAll, func(n string) bool { return !systemNamespaces[n] }
	}
	if in.CronJobs {
		namespaces := in.Namespaces
		if len(namespaces) == 0 {
			namespaces = []string{""}
		}
		for _, n := range namespaces {
			ns, keep := scope(n)
			if err := list("list CronJobs of "+nsName(ns), func(ctx context.Context) ([]HeldObject, error) {
				var found []HeldObject
				err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
					func(ctx context.Context, o metav1.ListOptions) ([]batchv1.CronJob, string, error) {
						l, err := c.Kube.BatchV1().CronJobs(ns).List(ctx, o)
						if err != nil {
							return nil, "", err
						}
						return l.Items, l.Continue, nil
					}, func(items []batchv1.CronJob) error {
						for i := range items {
							if keep(items[i].Namespace) {
								found = append(found, HeldObject{Kind: kindCronJob, Namespace: items[i].Namespace, Name: items[i].Name})
							}
						}
						return nil
					})
				return found, err
			}); err != nil {
				return nil, err
			}
		}
	}
	for i, sel := range in.Singletons {
		ns, keep := scope(sel.Namespace)
		base := metav1.ListOptions{LabelSelector: sel.Selector}
		if err := list(fmt.Sprintf("list singletons[%d] (%s) of %s", i, sel.Selector, nsName(ns)), func(ctx context.Context) ([]HeldObject, error) {
			var found []HeldObject
			err := eachPage(ctx, a.opts.pageSize, base,
				func(ctx context.Context, o metav1.ListOptions) ([]appsv1.Deployment, string, error) {
					l, err := c.Kube.AppsV1().Deployments(ns).List(ctx, o)
					if err != nil {
						return nil, "", err
					}
					return l.Items, l.Continue, nil
				}, func(items []appsv1.Deployment) error {
					for i := range items {
						if keep(items[i].Namespace) {
							found = append(found, HeldObject{Kind: kindDeployment, Namespace: items[i].Namespace, Name: items[i].Name})
						}
					}
					return nil
				})
			if err != nil {
				return nil, err
			}
			err = eachPage(ctx, a.opts.pageSize, base,
				func(ctx context.Context, o metav1.ListOptions) ([]appsv1.StatefulSet, string, error) {
					l, err := c.Kube.AppsV1().StatefulSets(ns).List(ctx, o)
					if err != nil {
						return nil, "", err
					}
					return l.Items, l.Continue, nil
				}, func(items []appsv1.StatefulSet) error {
					for i := range items {
						if keep(items[i].Namespace) {
							found = append(found, HeldObject{Kind: kindStatefulSet, Namespace: items[i].Namespace, Name: items[i].Name})
						}
					}
					return nil
				})
			return found, err
		}); err != nil {
			return nil, err
		}
	}
	sortHeld(out)
	return out, nil
}

func nsName(ns string) string {
	if ns == metav1.NamespaceAll {
		return "every namespace"
	}
	return "namespace " + ns
}

// ReleaseJobs puts back the value each object had before this migration
// held it (the value recorded on the object) and removes the hold's
// annotations. An object deleted since is Gone; one whose suspend or
// replicas someone changed since the hold, or that another migration holds
// now, is Changed and left as it is. A retry reports the objects an earlier
// attempt released as Released (not held, at their value from before).
// Every write is a merge patch guarded by the resourceVersion read, redone
// on a fresh read when it loses a race.
func (a *Activities) ReleaseJobs(ctx context.Context, in ReleaseJobsInput) (ReleaseJobsResult, error) {
	var res ReleaseJobsResult
	if strings.TrimSpace(in.Migration) == "" {
		return res, failures.New(failures.Validation, "migration: required")
	}
	if in.Cluster.Name == "" {
		return res, failures.New(failures.Validation, "release jobs: cluster is required")
	}
	for i, o := range in.Objects {
		if o.Kind != kindCronJob && o.Kind != kindDeployment && o.Kind != kindStatefulSet {
			return res, failures.New(failures.Validation, "release jobs: objects[%d].kind: %q is not %s, %s or %s", i, o.Kind, kindCronJob, kindDeployment, kindStatefulSet)
		}
		if o.Namespace == "" || o.Name == "" {
			return res, failures.New(failures.Validation, "release jobs: objects[%d]: namespace and name are required", i)
		}
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	for i, o := range in.Objects {
		activitylog.Heartbeat(ctx, Progress{Step: "release-jobs", Objects: i, Detail: o.label()})
		var action releaseAction
		var got HeldObject
		gone, err := a.writeJob(ctx, c, in.Cluster, o, "release", i, func(s jobState) ([]byte, error) {
			var err error
			if action, got, err = decideRelease(s, o, in.Migration); err != nil || action != releaseWrite {
				return nil, err
			}
			if got.SuspendedBefore != o.SuspendedBefore || got.ReplicasBefore != o.ReplicasBefore {
				log.Warn("The object's record of the hold differs from the input: released to the recorded value", "cluster", in.Cluster.Name, "object", o.label(),
					"recordedSuspended", got.SuspendedBefore, "recordedReplicas", got.ReplicasBefore, "inputSuspended", o.SuspendedBefore, "inputReplicas", o.ReplicasBefore)
			}
			return releasePatch(s, got)
		})
		if err != nil {
			return res, err
		}
		switch {
		case gone:
			log.Info("Held object was deleted", "cluster", in.Cluster.Name, "object", o.label())
			res.Gone = append(res.Gone, o)
		case action == releaseWrite:
			log.Info("Released", "cluster", in.Cluster.Name, "object", o.label(), "migration", in.Migration, "suspended", got.SuspendedBefore, "replicas", got.ReplicasBefore)
			res.Released = append(res.Released, got)
		case action == releaseDone:
			res.Released = append(res.Released, got)
		default:
			log.Warn("Held object changed since the hold: left as it is", "cluster", in.Cluster.Name, "object", o.label(), "migration", in.Migration)
			res.Changed = append(res.Changed, got)
		}
	}
	log.Info("Released jobs", "cluster", in.Cluster.Name, "migration", in.Migration, "released", len(res.Released), "gone", len(res.Gone), "changed", len(res.Changed))
	return res, nil
}

// writeJob reads o, asks decide for the patch to write (nil: nothing to
// write) and writes it guarded by the resourceVersion read, deciding again
// on a fresh read when the write loses a race. It reports whether o is
// gone; an object that kept changing is ResourceInUse, other errors are
// classified.
func (a *Activities) writeJob(ctx context.Context, c *Clients, cluster clusters.Ref, o HeldObject, verb string, i int, decide func(jobState) ([]byte, error)) (gone bool, err error) {
	step := verb + "-jobs"
	err = a.retryAPI(ctx, verb+" "+o.label(), func(ctx context.Context) error {
		return retry.OnError(jobsConflictBackoff, apierrors.IsConflict, func() error {
			s, found, err := readJob(ctx, c, o)
			if err != nil || !found {
				gone = !found && err == nil
				return err
			}
			patch, err := decide(s)
			if err != nil || patch == nil {
				return err
			}
			err = patchJob(ctx, c, o, patch)
			switch {
			case apierrors.IsNotFound(err):
				gone = true
				return nil
			case apierrors.IsConflict(err):
				a.log(ctx).Debug("Object changed meanwhile, deciding again on a fresh read", "cluster", cluster.Name, "object", o.label(), "step", step)
				activitylog.Heartbeat(ctx, Progress{Step: step, Objects: i, Detail: "conflict, again: " + o.label()})
			}
			return err
		})
	})
	if apierrors.IsConflict(err) {
		return gone, failures.Wrap(failures.ResourceInUse, err, "%s %s on cluster %s: it kept changing", verb, o.label(), cluster)
	}
	if err != nil {
		return gone, kubeError(err, "%s %s on cluster %s", verb, o.label(), cluster)
	}
	return gone, nil
}
