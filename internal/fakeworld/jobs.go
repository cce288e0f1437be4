package fakeworld

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The job-holding activities of the fake world. Every cluster (blue, a
// green) runs the CronJob shop/nightly-report (not suspended) and the
// Deployment shop/consumer (2 replicas), which every singleton selector of
// namespace shop (or of every namespace) selects. HoldJobs holds them on
// the cluster for the migration, ReleaseJobs puts them back; HeldJobs tells
// a workflow test what is held where.

// The fake clusters' objects, as they are when nobody holds them.
var (
	fakeNightlyReport = kube.HeldObject{Kind: "CronJob", Namespace: "shop", Name: "nightly-report"}
	fakeConsumer      = kube.HeldObject{Kind: "Deployment", Namespace: "shop", Name: "consumer", ReplicasBefore: 2}
)

// fakeHold is one held object: the value before the hold and who holds it.
type fakeHold struct {
	obj       kube.HeldObject
	migration string
}

// heldJobs holds each world's held objects by cluster name, then by kind,
// namespace and name.
var heldJobs = struct {
	sync.Mutex
	of map[*World]map[string]map[string]fakeHold
}{of: map[*World]map[string]map[string]fakeHold{}}

func fakeJobKey(o kube.HeldObject) string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// HoldJobs implements the kube activity: the cluster's CronJob (when its
// namespace is held) and its consumer (when a singleton selector looks in
// shop) are held for the migration, with the value they had before; those
// another migration holds are AlreadyHeld.
func (a *Activities) HoldJobs(_ context.Context, in kube.HoldJobsInput) (kube.HoldJobsResult, error) {
	w := a.w
	if err := w.record("HoldJobs", in); err != nil {
		return kube.HoldJobsResult{}, err
	}
	if strings.TrimSpace(in.Migration) == "" {
		return kube.HoldJobsResult{}, failures.New(failures.Validation, "migration: required")
	}
	if err := kube.ValidateSingletonSelectors(in.Singletons); err != nil {
		return kube.HoldJobsResult{}, err
	}
	var objs []kube.HeldObject
	if in.CronJobs && (len(in.Namespaces) == 0 || slices.Contains(in.Namespaces, fakeNightlyReport.Namespace)) {
		objs = append(objs, fakeNightlyReport)
	}
	if slices.ContainsFunc(in.Singletons, func(s kube.SingletonSelector) bool {
		return s.Namespace == "" || s.Namespace == fakeConsumer.Namespace
	}) {
		objs = append(objs, fakeConsumer)
	}
	heldJobs.Lock()
	defer heldJobs.Unlock()
	if heldJobs.of[w] == nil {
		heldJobs.of[w] = map[string]map[string]fakeHold{}
	}
	held := heldJobs.of[w][in.Cluster.Name]
	if held == nil {
		held = map[string]fakeHold{}
		heldJobs.of[w][in.Cluster.Name] = held
	}
	var res kube.HoldJobsResult
	for _, o := range objs {
		h, ok := held[fakeJobKey(o)]
		switch {
		case !ok:
			held[fakeJobKey(o)] = fakeHold{obj: o, migration: in.Migration}
			res.Held = append(res.Held, o)
		case h.migration == in.Migration:
			res.Held = append(res.Held, h.obj)
		default:
			// Held by another migration: suspended, or at zero replicas.
			res.AlreadyHeld = append(res.AlreadyHeld, kube.HeldObject{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
				SuspendedBefore: o.Kind == "CronJob", HeldBy: h.migration})
		}
	}
	return res, nil
}

// ReleaseJobs implements the kube activity: what the migration holds gets
// its value back; an object another migration holds is Changed, one of
// unknown name Gone, and one nobody holds is Released when it is at the
// value asked for (an earlier attempt released it), Changed when not.
func (a *Activities) ReleaseJobs(_ context.Context, in kube.ReleaseJobsInput) (kube.ReleaseJobsResult, error) {
	w := a.w
	if err := w.record("ReleaseJobs", in); err != nil {
		return kube.ReleaseJobsResult{}, err
	}
	if strings.TrimSpace(in.Migration) == "" {
		return kube.ReleaseJobsResult{}, failures.New(failures.Validation, "migration: required")
	}
	for i, o := range in.Objects {
		if o.Kind != "CronJob" && o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			return kube.ReleaseJobsResult{}, failures.New(failures.Validation, "release jobs: objects[%d].kind: %q is not CronJob, Deployment or StatefulSet", i, o.Kind)
		}
	}
	heldJobs.Lock()
	defer heldJobs.Unlock()
	held := heldJobs.of[w][in.Cluster.Name]
	var res kube.ReleaseJobsResult
	for _, o := range in.Objects {
		o.HeldBy = ""
		h, ok := held[fakeJobKey(o)]
		switch {
		case ok && h.migration == in.Migration:
			delete(held, fakeJobKey(o))
			res.Released = append(res.Released, h.obj)
		case ok:
			res.Changed = append(res.Changed, o)
		case o == fakeNightlyReport || o == fakeConsumer:
			res.Released = append(res.Released, o)
		case fakeJobKey(o) == fakeJobKey(fakeNightlyReport) || fakeJobKey(o) == fakeJobKey(fakeConsumer):
			res.Changed = append(res.Changed, o)
		default:
			res.Gone = append(res.Gone, o)
		}
	}
	return res, nil
}

// HeldJobs returns the objects held on a cluster (by any migration), with
// the values they had before, sorted by kind, namespace and name.
func (w *World) HeldJobs(cluster string) []kube.HeldObject {
	heldJobs.Lock()
	defer heldJobs.Unlock()
	var out []kube.HeldObject
	for _, h := range heldJobs.of[w][cluster] {
		out = append(out, h.obj)
	}
	slices.SortFunc(out, func(x, y kube.HeldObject) int {
		return strings.Compare(fakeJobKey(x), fakeJobKey(y))
	})
	return out
}
