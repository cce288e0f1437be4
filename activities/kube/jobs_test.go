package kube

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/testsuite"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedappsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestValidateSingletonSelectorsJobs(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  []SingletonSelector
		err  string
	}{
		{name: "none"},
		{name: "equality, set and existence", sel: []SingletonSelector{{Namespace: "shop", Selector: "app=consumer"}, {Selector: "tier in (queue,cron),!canary"}}},
		{name: "empty selector", sel: []SingletonSelector{{Namespace: "shop", Selector: "app=a"}, {Namespace: "shop", Selector: "  "}}, err: "jobs.singletons[1].selector: required"},
		{name: "does not parse", sel: []SingletonSelector{{Namespace: "shop", Selector: "app in (a"}}, err: "jobs.singletons[0].selector: \"app in (a\" is not a label selector"},
		{name: "bad operator", sel: []SingletonSelector{{Selector: "app=a"}, {Selector: "app=a"}, {Selector: "app=~x"}}, err: "jobs.singletons[2].selector"},
		{name: "bad namespace", sel: []SingletonSelector{{Namespace: "Shop_1", Selector: "app=a"}}, err: "jobs.singletons[0].namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSingletonSelectors(tc.sel)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if failures.TypeOf(err) != failures.Validation || !failures.IsDefinitive(err) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want a definitive Validation error containing %q", err, tc.err)
			}
		})
	}
	// HoldJobs refuses before it reaches the cluster (the resolver knows none).
	a := New(staticResolver{})
	_, err := a.HoldJobs(context.Background(), HoldJobsInput{Cluster: clusters.Ref{Name: "green"}, Migration: "m",
		Singletons: []SingletonSelector{{Namespace: "shop", Selector: "app=consumer"}, {Namespace: "shop", Selector: "app==("}}})
	if failures.TypeOf(err) != failures.Validation || !strings.Contains(err.Error(), "jobs.singletons[1].selector") {
		t.Fatalf("HoldJobs with a bad selector: err = %v, want Validation naming jobs.singletons[1].selector", err)
	}
	if _, err := a.HoldJobs(context.Background(), HoldJobsInput{Cluster: clusters.Ref{Name: "green"}, CronJobs: true}); failures.TypeOf(err) != failures.Validation {
		t.Fatalf("HoldJobs without a migration: err = %v, want Validation", err)
	}
	if _, err := a.ReleaseJobs(context.Background(), ReleaseJobsInput{Cluster: clusters.Ref{Name: "green"}, Migration: "m",
		Objects: []HeldObject{{Kind: "CronJob", Namespace: "shop", Name: "a"}, {Kind: "DaemonSet", Namespace: "shop", Name: "b"}}}); failures.TypeOf(err) != failures.Validation || !strings.Contains(err.Error(), "objects[1].kind") {
		t.Fatalf("ReleaseJobs of a DaemonSet: err = %v, want Validation naming objects[1].kind", err)
	}
}

func TestDecideHoldJobs(t *testing.T) {
	cron := func(suspended bool, by, before string) jobState {
		return jobState{HeldObject: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly"}, suspended: suspended, heldBy: by, heldBefore: before}
	}
	deploy := func(replicas int32, by, before string) jobState {
		return jobState{HeldObject: HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "consumer"}, replicas: replicas, heldBy: by, heldBefore: before}
	}
	nightly := HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly"}
	consumer := func(n int32) HeldObject {
		return HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "consumer", ReplicasBefore: n}
	}
	for _, tc := range []struct {
		name   string
		s      jobState
		action holdAction
		want   HeldObject
		err    string
	}{
		{name: "running CronJob", s: cron(false, "", ""), action: holdWrite, want: nightly},
		{name: "CronJob suspended by someone", s: cron(true, "", ""), action: holdAlready, want: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly", SuspendedBefore: true}},
		{name: "CronJob this migration holds", s: cron(true, "m1", `{"suspend":false}`), action: holdKept, want: nightly},
		{name: "CronJob this migration holds, resumed since", s: cron(false, "m1", `{"suspend":false}`), action: holdAgain, want: nightly},
		{name: "CronJob another migration holds", s: cron(true, "m0", `{"suspend":false}`), action: holdForeign,
			want: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly", SuspendedBefore: true, HeldBy: "m0"}},
		{name: "running Deployment", s: deploy(2, "", ""), action: holdWrite, want: consumer(2)},
		{name: "Deployment at zero", s: deploy(0, "", ""), action: holdAlready, want: consumer(0)},
		{name: "Deployment held: the recorded value, not zero", s: deploy(0, "m1", `{"replicas":2}`), action: holdKept, want: consumer(2)},
		{name: "Deployment held, scaled up since", s: deploy(5, "m1", `{"replicas":2}`), action: holdAgain, want: consumer(2)},
		{name: "Deployment held by another migration", s: deploy(0, "m0", `{"replicas":3}`), action: holdForeign,
			want: HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "consumer", HeldBy: "m0"}},
		{name: "record is not JSON", s: deploy(0, "m1", `2`), err: "not cutover's record"},
		{name: "record of another kind", s: deploy(0, "m1", `{"suspend":false}`), err: "not cutover's record"},
		{name: "record of negative replicas", s: deploy(0, "m1", `{"replicas":-1}`), err: "not cutover's record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			action, got, err := decideHold(tc.s, "m1")
			if tc.err != "" {
				if failures.TypeOf(err) != failures.InvalidParameter || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), AnnotationHeldBefore) {
					t.Fatalf("err = %v, want InvalidParameter naming %s", err, AnnotationHeldBefore)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if action != tc.action || got != tc.want {
				t.Errorf("decideHold = %v, %+v; want %v, %+v", action, got, tc.action, tc.want)
			}
		})
	}
}

func TestDecideReleaseJobs(t *testing.T) {
	deploy := func(replicas int32, by, before string) jobState {
		return jobState{HeldObject: HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "consumer"}, replicas: replicas, heldBy: by, heldBefore: before}
	}
	consumer := func(n int32) HeldObject {
		return HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "consumer", ReplicasBefore: n}
	}
	cron := jobState{HeldObject: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly"}, suspended: true, heldBy: "m1", heldBefore: `{"suspend":false}`}
	for _, tc := range []struct {
		name   string
		s      jobState
		in     HeldObject
		action releaseAction
		want   HeldObject
	}{
		{name: "held: put back the recorded value", s: deploy(0, "m1", `{"replicas":2}`), in: consumer(2), action: releaseWrite, want: consumer(2)},
		{name: "the record wins over the input", s: deploy(0, "m1", `{"replicas":3}`), in: consumer(2), action: releaseWrite, want: consumer(3)},
		{name: "held CronJob", s: cron, in: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly"}, action: releaseWrite, want: HeldObject{Kind: kindCronJob, Namespace: "shop", Name: "nightly"}},
		{name: "scaled by someone since the hold", s: deploy(1, "m1", `{"replicas":2}`), in: consumer(2), action: releaseChanged, want: consumer(2)},
		{name: "released by an earlier attempt", s: deploy(2, "", ""), in: consumer(2), action: releaseDone, want: consumer(2)},
		{name: "record removed and scaled by someone", s: deploy(4, "", ""), in: consumer(2), action: releaseChanged, want: consumer(2)},
		{name: "record removed, still at zero", s: deploy(0, "", ""), in: consumer(2), action: releaseChanged, want: consumer(2)},
		{name: "another migration holds it now", s: deploy(0, "m2", `{"replicas":2}`), in: consumer(2), action: releaseChanged, want: consumer(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			action, got, err := decideRelease(tc.s, tc.in, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if action != tc.action || got != tc.want {
				t.Errorf("decideRelease = %v, %+v; want %v, %+v", action, got, tc.action, tc.want)
			}
		})
	}
	if _, _, err := decideRelease(deploy(0, "m1", "{}"), consumer(2), "m1"); failures.TypeOf(err) != failures.InvalidParameter {
		t.Errorf("empty record: err = %v, want InvalidParameter", err)
	}
}

func TestJobsPatches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		patch func() ([]byte, error)
		want  string
	}{
		{"hold a CronJob", func() ([]byte, error) {
			return holdPatch(jobState{HeldObject: HeldObject{Kind: kindCronJob}, resourceVersion: "41"}, "m1", HeldObject{Kind: kindCronJob})
		}, `{"metadata":{"annotations":{"cutover.dev/held-before":"{\"suspend\":false}","cutover.dev/held-by":"m1"},"resourceVersion":"41"},"spec":{"suspend":true}}`},
		{"hold a StatefulSet", func() ([]byte, error) {
			return holdPatch(jobState{HeldObject: HeldObject{Kind: kindStatefulSet}, resourceVersion: "7"}, "m1", HeldObject{Kind: kindStatefulSet, ReplicasBefore: 3})
		}, `{"metadata":{"annotations":{"cutover.dev/held-before":"{\"replicas\":3}","cutover.dev/held-by":"m1"},"resourceVersion":"7"},"spec":{"replicas":0}}`},
		{"release a CronJob", func() ([]byte, error) {
			return releasePatch(jobState{HeldObject: HeldObject{Kind: kindCronJob}, resourceVersion: "42"}, HeldObject{Kind: kindCronJob})
		}, `{"metadata":{"annotations":{"cutover.dev/held-before":null,"cutover.dev/held-by":null},"resourceVersion":"42"},"spec":{"suspend":false}}`},
		{"release a Deployment", func() ([]byte, error) {
			return releasePatch(jobState{HeldObject: HeldObject{Kind: kindDeployment}, resourceVersion: "8"}, HeldObject{Kind: kindDeployment, ReplicasBefore: 2})
		}, `{"metadata":{"annotations":{"cutover.dev/held-before":null,"cutover.dev/held-by":null},"resourceVersion":"8"},"spec":{"replicas":2}}`},
	} {
		got, err := tc.patch()
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s (%v)\nwant %s", tc.name, got, err, tc.want)
		}
	}
	// The record a hold writes reads back as what it held.
	p, _ := holdPatch(jobState{HeldObject: HeldObject{Kind: kindDeployment}}, "m1", HeldObject{Kind: kindDeployment, ReplicasBefore: 4})
	var written struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(p, &written); err != nil {
		t.Fatal(err)
	}
	s := jobState{HeldObject: HeldObject{Kind: kindDeployment, Namespace: "shop", Name: "c"}, heldBy: "m1", heldBefore: written.Metadata.Annotations[AnnotationHeldBefore]}
	if o, err := s.recorded(); err != nil || o.ReplicasBefore != 4 {
		t.Errorf("record reads back %+v, %v", o, err)
	}
}

// labelled workloads for the singleton selectors.
func jobsDeployment(t *testing.T, c *testCluster, ns, name string, replicas int32, lbl map[string]string) {
	t.Helper()
	must(c.cs.AppsV1().Deployments(ns).Create(ctxT(t), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{Replicas: i32(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name)},
	}, metav1.CreateOptions{}))
}

func jobsStatefulSet(t *testing.T, c *testCluster, ns, name string, replicas int32, lbl map[string]string) {
	t.Helper()
	must(c.cs.AppsV1().StatefulSets(ns).Create(ctxT(t), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: appsv1.StatefulSetSpec{Replicas: i32(replicas), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name)},
	}, metav1.CreateOptions{}))
}

func jobsCronJob(t *testing.T, c *testCluster, ns, name string, suspend *bool) {
	t.Helper()
	must(c.cs.BatchV1().CronJobs(ns).Create(ctxT(t), &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: batchv1.CronJobSpec{
		Schedule: "0 2 * * *", Suspend: suspend,
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "run", Image: "busybox"}}}}}},
	}}, metav1.CreateOptions{}))
}

// TestHoldAndReleaseJobs holds and releases on a real kube-apiserver,
// asserting the CronJobs' suspend and the workloads' replicas on the
// apiserver at each step: a hold, its retry (the values before the first
// hold kept), another migration's hold, objects suspended or at zero by
// someone else, a release with an object changed and one deleted since the
// hold, the release's retry, and a hold again of an object someone resumed.
func TestHoldAndReleaseJobs(t *testing.T) {
	c := startCluster(t, "green")
	ctx := ctxT(t)
	for _, ns := range []string{"shop", "batch", "web"} {
		c.namespace(t, ns)
	}
	singleton := map[string]string{"cutover.dev/singleton": "true"}
	yes := true
	jobsCronJob(t, c, "shop", "nightly-report", nil)
	jobsCronJob(t, c, "batch", "cleanup", &yes) // suspended by its owners
	jobsCronJob(t, c, "batch", "export", nil)
	jobsCronJob(t, c, "kube-system", "system-job", nil)
	jobsDeployment(t, c, "shop", "consumer", 2, singleton)
	jobsDeployment(t, c, "shop", "idle", 0, singleton) // at zero already
	jobsDeployment(t, c, "shop", "frontend", 3, map[string]string{"app": "frontend"})
	jobsStatefulSet(t, c, "shop", "ledger", 1, singleton)
	jobsDeployment(t, c, "web", "mailer", 1, singleton) // matches, but in another namespace than the selector's

	in := HoldJobsInput{Cluster: c.ref, CronJobs: true, Migration: "shop-to-1-31",
		Singletons: []SingletonSelector{{Namespace: "shop", Selector: "cutover.dev/singleton=true"}, {Namespace: "shop", Selector: "cutover.dev/singleton in (true)"}}}
	a := c.activities(WithPageSize(1))

	suspended := func(t *testing.T, ns, name string) (bool, *batchv1.CronJob) {
		t.Helper()
		cj := must(c.cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{}))
		return ptrOr(cj.Spec.Suspend, false), cj
	}
	replicas := func(t *testing.T, kind, ns, name string) (int32, metav1.Object) {
		t.Helper()
		if kind == kindStatefulSet {
			s := must(c.cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{}))
			return *s.Spec.Replicas, s
		}
		d := must(c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}))
		return *d.Spec.Replicas, d
	}
	wantHeld := []HeldObject{
		{Kind: kindCronJob, Namespace: "batch", Name: "export"},
		{Kind: kindCronJob, Namespace: "shop", Name: "nightly-report"},
		{Kind: kindDeployment, Namespace: "shop", Name: "consumer", ReplicasBefore: 2},
		{Kind: kindStatefulSet, Namespace: "shop", Name: "ledger", ReplicasBefore: 1},
	}
	wantAlready := []HeldObject{
		{Kind: kindCronJob, Namespace: "batch", Name: "cleanup", SuspendedBefore: true},
		{Kind: kindDeployment, Namespace: "shop", Name: "idle"},
	}

	var first HoldJobsResult
	t.Run("hold", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		val, err := env.ExecuteActivity(a.HoldJobs, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := val.Get(&first); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first.Held, wantHeld) {
			t.Errorf("Held = %+v\nwant %+v", first.Held, wantHeld)
		}
		if !reflect.DeepEqual(first.AlreadyHeld, wantAlready) {
			t.Errorf("AlreadyHeld = %+v\nwant %+v", first.AlreadyHeld, wantAlready)
		}
		for _, cj := range []struct{ ns, name string }{{"shop", "nightly-report"}, {"batch", "export"}} {
			got, obj := suspended(t, cj.ns, cj.name)
			if !got || obj.Annotations[AnnotationHeldBy] != "shop-to-1-31" || obj.Annotations[AnnotationHeldBefore] != `{"suspend":false}` {
				t.Errorf("CronJob %s/%s: suspend %v, annotations %v", cj.ns, cj.name, got, obj.Annotations)
			}
		}
		if got, obj := suspended(t, "batch", "cleanup"); !got || obj.Annotations[AnnotationHeldBy] != "" {
			t.Errorf("someone's suspended CronJob: suspend %v, annotations %v", got, obj.Annotations)
		}
		if got, obj := suspended(t, "kube-system", "system-job"); got || len(obj.Annotations) != 0 {
			t.Errorf("kube-system's CronJob was held: suspend %v, annotations %v", got, obj.Annotations)
		}
		for _, w := range []struct {
			kind, ns, name string
			replicas       int32
			before         string
		}{
			{kindDeployment, "shop", "consumer", 0, `{"replicas":2}`},
			{kindStatefulSet, "shop", "ledger", 0, `{"replicas":1}`},
			{kindDeployment, "shop", "idle", 0, ""},
			{kindDeployment, "shop", "frontend", 3, ""},
			{kindDeployment, "web", "mailer", 1, ""},
		} {
			got, obj := replicas(t, w.kind, w.ns, w.name)
			if got != w.replicas || obj.GetAnnotations()[AnnotationHeldBefore] != w.before {
				t.Errorf("%s %s/%s: replicas %d, annotations %v; want %d, record %q", w.kind, w.ns, w.name, got, obj.GetAnnotations(), w.replicas, w.before)
			}
		}
	})

	t.Run("a retry writes nothing and keeps the values before", func(t *testing.T) {
		_, cj := suspended(t, "shop", "nightly-report")
		_, d := replicas(t, kindDeployment, "shop", "consumer")
		res, err := a.HoldJobs(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, first) {
			t.Errorf("retry = %+v\nfirst = %+v", res, first)
		}
		if _, cj2 := suspended(t, "shop", "nightly-report"); cj2.ResourceVersion != cj.ResourceVersion {
			t.Error("the retry wrote the CronJob again")
		}
		if _, d2 := replicas(t, kindDeployment, "shop", "consumer"); d2.GetResourceVersion() != d.GetResourceVersion() {
			t.Error("the retry wrote the Deployment again")
		}
	})

	t.Run("another migration finds them held", func(t *testing.T) {
		other := in
		other.Migration = "shop-to-1-32"
		res, err := a.HoldJobs(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Held) != 0 || len(res.AlreadyHeld) != 6 {
			t.Fatalf("other migration: %+v", res)
		}
		for _, o := range res.AlreadyHeld {
			owned := o.HeldBy == "shop-to-1-31"
			if (o.Name == "cleanup" || o.Name == "idle") == owned {
				t.Errorf("other migration: %+v", o)
			}
		}
		rel, err := a.ReleaseJobs(ctx, ReleaseJobsInput{Cluster: c.ref, Objects: first.Held, Migration: "shop-to-1-32"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rel.Released)+len(rel.Gone) != 0 || !reflect.DeepEqual(rel.Changed, first.Held) {
			t.Errorf("another migration's release = %+v, want all Changed", rel)
		}
		if got, obj := suspended(t, "shop", "nightly-report"); !got || obj.Annotations[AnnotationHeldBy] != "shop-to-1-31" {
			t.Errorf("another migration's release touched the CronJob: suspend %v, %v", got, obj.Annotations)
		}
		if got, _ := replicas(t, kindDeployment, "shop", "consumer"); got != 0 {
			t.Errorf("another migration's release scaled the consumer to %d", got)
		}
	})

	// Someone scales the consumer by hand and deletes the ledger.
	d := must(c.cs.AppsV1().Deployments("shop").Get(ctx, "consumer", metav1.GetOptions{}))
	d.Spec.Replicas = i32(1)
	must(c.cs.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{}))
	if err := c.cs.AppsV1().StatefulSets("shop").Delete(ctx, "ledger", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rin := ReleaseJobsInput{Cluster: c.ref, Objects: first.Held, Migration: "shop-to-1-31"}
	want := ReleaseJobsResult{
		Released: wantHeld[:2],
		Changed:  []HeldObject{wantHeld[2]},
		Gone:     []HeldObject{wantHeld[3]},
	}
	t.Run("release", func(t *testing.T) {
		res, err := a.ReleaseJobs(ctx, rin)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("release = %+v\nwant %+v", res, want)
		}
		for _, name := range []string{"shop/nightly-report", "batch/export"} {
			ns, n, _ := strings.Cut(name, "/")
			if got, obj := suspended(t, ns, n); got || obj.Annotations[AnnotationHeldBy] != "" || obj.Annotations[AnnotationHeldBefore] != "" {
				t.Errorf("CronJob %s after the release: suspend %v, annotations %v", name, got, obj.Annotations)
			}
		}
		if got, _ := suspended(t, "batch", "cleanup"); !got {
			t.Error("the release resumed a CronJob someone else suspended")
		}
		if got, obj := replicas(t, kindDeployment, "shop", "consumer"); got != 1 || obj.GetAnnotations()[AnnotationHeldBy] != "shop-to-1-31" {
			t.Errorf("changed consumer: replicas %d, annotations %v; want left as it is", got, obj.GetAnnotations())
		}
		if got, _ := replicas(t, kindDeployment, "shop", "idle"); got != 0 {
			t.Errorf("the release scaled the idle Deployment to %d", got)
		}
	})

	t.Run("a retry of the release", func(t *testing.T) {
		_, cj := suspended(t, "shop", "nightly-report")
		res, err := a.ReleaseJobs(ctx, rin)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("retry = %+v\nwant %+v", res, want)
		}
		if _, cj2 := suspended(t, "shop", "nightly-report"); cj2.ResourceVersion != cj.ResourceVersion {
			t.Error("the retry wrote the CronJob again")
		}
	})

	t.Run("a resumed object is held again with its first value", func(t *testing.T) {
		res, err := a.HoldJobs(ctx, HoldJobsInput{Cluster: c.ref, Migration: "shop-to-1-31", Singletons: in.Singletons[:1]})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Held, []HeldObject{wantHeld[2]}) {
			t.Errorf("Held = %+v, want the consumer with 2 replicas before", res.Held)
		}
		if got, obj := replicas(t, kindDeployment, "shop", "consumer"); got != 0 || obj.GetAnnotations()[AnnotationHeldBefore] != `{"replicas":2}` {
			t.Errorf("consumer: replicas %d, annotations %v", got, obj.GetAnnotations())
		}
		rel, err := a.ReleaseJobs(ctx, ReleaseJobsInput{Cluster: c.ref, Objects: res.Held, Migration: "shop-to-1-31"})
		if err != nil || !reflect.DeepEqual(rel.Released, res.Held) {
			t.Fatalf("release = %+v, %v", rel, err)
		}
		if got, obj := replicas(t, kindDeployment, "shop", "consumer"); got != 2 || len(obj.GetAnnotations()) != 0 {
			t.Errorf("consumer after the release: replicas %d, annotations %v", got, obj.GetAnnotations())
		}
	})

	t.Run("only the named namespaces", func(t *testing.T) {
		res, err := a.HoldJobs(ctx, HoldJobsInput{Cluster: c.ref, CronJobs: true, Namespaces: []string{"kube-system", "missing"}, Migration: "ns-only"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Held, []HeldObject{{Kind: kindCronJob, Namespace: "kube-system", Name: "system-job"}}) || len(res.AlreadyHeld) != 0 {
			t.Errorf("hold of kube-system = %+v", res)
		}
		if got, _ := suspended(t, "shop", "nightly-report"); got {
			t.Error("a CronJob outside the named namespaces was held")
		}
	})
}

// racingDeployments makes the first Patch of a Deployment lose a race:
// just before it, someone scales the Deployment to 3 through another client.
type racingDeployments struct {
	typedappsv1.DeploymentInterface
	other   kubernetes.Interface
	patches *atomic.Int32
}

func (d racingDeployments) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, o metav1.PatchOptions, sub ...string) (*appsv1.Deployment, error) {
	if d.patches.Add(1) == 1 {
		cur, err := d.other.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		cur.Spec.Replicas = i32(3)
		if _, err := d.other.AppsV1().Deployments("shop").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
	}
	return d.DeploymentInterface.Patch(ctx, name, pt, data, o, sub...)
}

type racingApps struct {
	typedappsv1.AppsV1Interface
	other   kubernetes.Interface
	patches *atomic.Int32
}

func (a racingApps) Deployments(ns string) typedappsv1.DeploymentInterface {
	return racingDeployments{a.AppsV1Interface.Deployments(ns), a.other, a.patches}
}

type racingKube struct {
	kubernetes.Interface
	patches *atomic.Int32
}

func (k racingKube) AppsV1() typedappsv1.AppsV1Interface {
	return racingApps{k.Interface.AppsV1(), k.Interface, k.patches}
}

// TestHoldJobsLostRace: a hold whose patch loses a race with someone
// scaling the Deployment is redone on a fresh read, and records the value
// the Deployment had just before the hold (3), not the one first read (2).
func TestHoldJobsLostRace(t *testing.T) {
	c := startCluster(t, "green")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	jobsDeployment(t, c, "shop", "consumer", 2, map[string]string{"role": "consumer"})
	var patches atomic.Int32
	a := c.activities(WithClientFactory(func(cfg *rest.Config) (*Clients, error) {
		cl, err := DefaultClientFactory(cfg)
		if err != nil {
			return nil, err
		}
		cl.Kube = racingKube{cl.Kube, &patches}
		return cl, nil
	}))
	res, err := a.HoldJobs(ctx, HoldJobsInput{Cluster: c.ref, Migration: "m1", Singletons: []SingletonSelector{{Namespace: "shop", Selector: "role=consumer"}}})
	if err != nil {
		t.Fatal(err)
	}
	if patches.Load() != 2 {
		t.Errorf("%d patches, want 2 (the first lost the race)", patches.Load())
	}
	if !reflect.DeepEqual(res.Held, []HeldObject{{Kind: kindDeployment, Namespace: "shop", Name: "consumer", ReplicasBefore: 3}}) {
		t.Errorf("Held = %+v, want the consumer with 3 replicas before", res.Held)
	}
	d := must(c.cs.AppsV1().Deployments("shop").Get(ctx, "consumer", metav1.GetOptions{}))
	if *d.Spec.Replicas != 0 || d.Annotations[AnnotationHeldBefore] != `{"replicas":3}` {
		t.Errorf("consumer: replicas %d, annotations %v", *d.Spec.Replicas, d.Annotations)
	}
}
