package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/workflows"
)

// cronSuspended reads, on k's apiserver, whether each of blue's seeded
// CronJobs is suspended there.
func cronSuspended(ctx context.Context, t *testing.T, k *sandbox.Kube, names []string) map[string]bool {
	t.Helper()
	cs, err := k.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, name := range names {
		ns, n, _ := strings.Cut(name, "/")
		cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("CronJob %s on %s: %v", name, k.Name, err)
		}
		out[name] = cj.Spec.Suspend != nil && *cj.Spec.Suspend
	}
	return out
}

// assertJobsOn checks that blue's CronJobs run on exactly one cluster:
// not suspended on runs, suspended on the other. It waits up to a minute
// for the move (it follows the traffic step).
func assertJobsOn(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, runs, when string) {
	t.Helper()
	names := sb.BlueObjects.CronJobs
	deadline := time.Now().Add(time.Minute)
	for {
		blue, green := cronSuspended(ctx, t, sb.Blue, names), cronSuspended(ctx, t, sb.Green, names)
		ok := true
		for _, n := range names {
			if blue[n] != (runs == "green") || green[n] != (runs == "blue") {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: CronJobs suspended on blue %v, on green %v; want them to run on %s only", when, blue, green, runs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// assertVeleroReadOnlyDuringRestore: the simulator saw green's backup
// storage location ReadOnly while it ran the restore, and it is ReadWrite
// again now.
func assertVeleroReadOnlyDuringRestore(ctx context.Context, t *testing.T, d *demo.Demo) {
	t.Helper()
	restore := "cutover-" + d.Spec.Name + "-to-" + d.Spec.Green.ClusterName
	if got := d.Simulator.RestoreBSLMode(restore); got != "ReadOnly" {
		t.Errorf("green's backup storage location was %q during restore %s, want ReadOnly", got, restore)
	}
	dyn, err := dynamic.NewForConfig(d.Sandbox.Green.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	bsl, err := dyn.Resource(sandbox.BackupStorageLocationGVR).Namespace(sandbox.VeleroNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mode, _, _ := unstructured.NestedString(bsl.Object, "spec", "accessMode"); mode != "" && mode != "ReadWrite" {
		t.Errorf("green's backup storage location is %s after the restore, want ReadWrite again", mode)
	}
}

// assertArgoCDMoved: after blue's retirement green runs its own Argo CD
// (installed at blue's version), whose applications point at green itself
// and are Synced, and blue's Argo CD is stopped.
func assertArgoCDMoved(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, rep workflows.MigrationReport) {
	t.Helper()
	gcs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gcs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, "argocd-application-controller", metav1.GetOptions{}); err != nil {
		t.Errorf("green has no Argo CD application controller: %v", err)
	}
	bcs, err := sb.Blue.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if sts, err := bcs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, "argocd-application-controller", metav1.GetOptions{}); err != nil {
		t.Errorf("blue's Argo CD application controller: %v", err)
	} else if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
		t.Errorf("blue's Argo CD application controller has %v replicas, want 0 (stopped before blue was deleted)", sts.Spec.Replicas)
	}
	dyn, err := dynamic.NewForConfig(sb.Green.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	apps, err := dyn.Resource(gvr).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps.Items) != len(sb.BlueObjects.Applications) {
		t.Errorf("green's Argo CD has %d applications, blue's had %d", len(apps.Items), len(sb.BlueObjects.Applications))
	}
	for _, a := range apps.Items {
		server, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "server")
		sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		if server != "https://kubernetes.default.svc" || sync != "Synced" {
			t.Errorf("green's application %s targets %q, %q; want in-cluster and Synced", a.GetName(), server, sync)
		}
	}
	if !strings.Contains(rep.ArgoCD, "moved to green") {
		t.Errorf("report says %q about Argo CD", rep.ArgoCD)
	}
}

// assertStillPointsAtBlue: the report lists blue's Prometheus external
// label, restored onto green, as a monitoring reference for a person.
func assertStillPointsAtBlue(t *testing.T, rep workflows.MigrationReport) {
	t.Helper()
	for _, r := range rep.StillPointsAtBlue {
		if r.Object == "v1 ConfigMap monitoring/"+sandbox.PrometheusConfig && r.Category == "monitoring" && r.Match == "name" && r.Fix != "" {
			return
		}
	}
	t.Errorf("the report's still-points-at-blue list %+v lacks monitoring/%s", rep.StillPointsAtBlue, sandbox.PrometheusConfig)
}
