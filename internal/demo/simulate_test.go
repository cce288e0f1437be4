package demo

import (
	"context"
	"log/slog"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestClusterResourceRestored(t *testing.T) {
	obj := func(spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	}
	for _, c := range []struct {
		name            string
		restore, backup map[string]any
		want            bool
	}{
		{"backup of named namespaces", map[string]any{}, map[string]any{"includedNamespaces": []any{"shop"}}, false},
		{"backup of every namespace", map[string]any{}, map[string]any{}, true},
		{"backup of *", map[string]any{}, map[string]any{"includedNamespaces": []any{"*"}}, true},
		{"backup includes them", map[string]any{}, map[string]any{"includedNamespaces": []any{"shop"}, "includeClusterResources": true}, true},
		{"restore asks, backup holds them", map[string]any{"includeClusterResources": true}, map[string]any{"includeClusterResources": true}, true},
		{"restore asks, backup lacks them", map[string]any{"includeClusterResources": true}, map[string]any{"includedNamespaces": []any{"shop"}}, false},
		{"restore excludes them", map[string]any{"includeClusterResources": false}, map[string]any{"includeClusterResources": true}, false},
		{"backup excludes them", map[string]any{}, map[string]any{"includeClusterResources": false}, false},
		{"backup names the resource", map[string]any{}, map[string]any{"includedNamespaces": []any{"shop"}, "includedClusterScopedResources": []any{"nodepools.karpenter.sh"}}, true},
		{"backup names it without group", map[string]any{}, map[string]any{"includedClusterScopedResources": []any{"nodepools"}}, true},
		{"backup names every cluster-scoped resource", map[string]any{}, map[string]any{"includedNamespaces": []any{"shop"}, "includedClusterScopedResources": []any{"*"}}, true},
		{"backup names another resource", map[string]any{}, map[string]any{"includedClusterScopedResources": []any{"ec2nodeclasses.karpenter.k8s.aws"}}, false},
		{"backup excludes the resource", map[string]any{}, map[string]any{"includedClusterScopedResources": []any{"*"}, "excludedClusterScopedResources": []any{"nodepools.karpenter.sh"}}, false},
		{"restore excludes a named resource", map[string]any{"includeClusterResources": false}, map[string]any{"includedClusterScopedResources": []any{"*"}}, false},
	} {
		if got := clusterResourceRestored(obj(c.restore), obj(c.backup), sandbox.NodePoolGVR.GroupResource()); got != c.want {
			t.Errorf("%s: restored = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSimulatedRestoreCopies: a simulated Velero restore copies blue's
// CronJob into green, and blue's Karpenter NodePool and EC2NodeClass only
// when the backup names them in includedClusterScopedResources, with
// blue's spec and without blue's status or server-set metadata.
func TestSimulatedRestoreCopies(t *testing.T) {
	ctx := context.Background()
	blueK, greenK := sandboxtest.Kube(t, sandbox.BlueCluster), sandboxtest.Kube(t, sandbox.GreenCluster)
	for _, k := range []*sandbox.Kube{blueK, greenK} {
		if _, err := sandbox.InstallCRDs(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := sandbox.SeedVelero(ctx, greenK); err != nil {
		t.Fatal(err)
	}
	objs, err := sandbox.SeedBlue(ctx, blueK, greenK)
	if err != nil {
		t.Fatal(err)
	}
	seed := &sandbox.Seed{SubnetIDs: []string{"subnet-1", "subnet-2", "subnet-3"}, AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, Karpenter: sandbox.KarpenterSeed{
		DiscoveryKey: sandbox.KarpenterDiscoveryKey, DiscoveryValue: sandbox.BlueCluster, SubnetIDs: []string{"subnet-1", "subnet-2", "subnet-3"},
		SecurityGroupIDs: []string{"sg-1"}, NodePool: sandbox.KarpenterNodePool, NodeClass: sandbox.KarpenterNodeClass,
	}}
	if err := sandbox.SeedKarpenter(ctx, blueK, seed, objs); err != nil {
		t.Fatal(err)
	}
	blue, err := connect(blueK)
	if err != nil {
		t.Fatal(err)
	}
	green, err := connect(greenK)
	if err != nil {
		t.Fatal(err)
	}
	sim := &Simulator{Blue: blueK, Green: greenK, GreenVersion: "1.31", Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	restore := func(name string, backupSpec map[string]any) {
		t.Helper()
		backup := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "velero.io/v1", "kind": "Backup",
			"metadata": map[string]any{"name": name, "namespace": sandbox.VeleroNamespace}, "spec": backupSpec,
		}}
		if _, err := blue.dyn.Resource(backupGVR).Namespace(sandbox.VeleroNamespace).Create(ctx, backup, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		r := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "velero.io/v1", "kind": "Restore",
			"metadata": map[string]any{"name": name, "namespace": sandbox.VeleroNamespace},
			"spec":     map[string]any{"backupName": name, "includedNamespaces": []any{"shop"}},
		}}
		if _, err := green.dyn.Resource(restoreGVR).Namespace(sandbox.VeleroNamespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := sim.velero(ctx, blue, green); err != nil {
			t.Fatal(err)
		}
		got, err := green.dyn.Resource(restoreGVR).Namespace(sandbox.VeleroNamespace).Get(ctx, name, metav1.GetOptions{})
		if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); err != nil || phase != "Completed" {
			t.Fatalf("restore %s: phase %q (%v)", name, phase, err)
		}
	}

	// Named namespaces only: the CronJob, no cluster-scoped objects.
	restore("shop-only", map[string]any{"includedNamespaces": []any{"shop"}})
	bcj, err := blue.cs.BatchV1().CronJobs("shop").Get(ctx, "nightly-report", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gcj, err := green.cs.BatchV1().CronJobs("shop").Get(ctx, "nightly-report", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("green's CronJob shop/nightly-report: %v", err)
	}
	if !reflect.DeepEqual(gcj.Spec, bcj.Spec) || !reflect.DeepEqual(gcj.Labels, bcj.Labels) || gcj.UID == bcj.UID {
		t.Errorf("green's CronJob %+v, blue's %+v", gcj, bcj)
	}
	for _, gvr := range []schema.GroupVersionResource{sandbox.NodePoolGVR, sandbox.EC2NodeClassGVR} {
		if l, err := green.dyn.Resource(gvr).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
			t.Fatalf("a backup of named namespaces restored green's %s: %v %d", gvr.Resource, err, len(l.Items))
		}
	}

	// With Karpenter's resources named: its objects, blue's spec only.
	restore("with-cluster", map[string]any{"includedNamespaces": []any{"shop"},
		"includedClusterScopedResources": []any{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"}})
	for _, c := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{{sandbox.NodePoolGVR, sandbox.KarpenterNodePool}, {sandbox.EC2NodeClassGVR, sandbox.KarpenterNodeClass}} {
		b, err := blue.dyn.Resource(c.gvr).Get(ctx, c.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := green.dyn.Resource(c.gvr).Get(ctx, c.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("green's %s %s: %v", c.gvr.Resource, c.name, err)
		}
		if !reflect.DeepEqual(g.Object["spec"], b.Object["spec"]) || b.Object["status"] == nil {
			t.Errorf("green's %s %s spec %v, blue's %v (blue's status %v)", c.gvr.Resource, c.name, g.Object["spec"], b.Object["spec"], b.Object["status"])
		}
		if _, has := g.Object["status"]; has || g.GetUID() == b.GetUID() || g.GetAnnotations()["velero.io/restore-name"] == "" {
			t.Errorf("green's %s %s carries blue's server-set fields or status: %v", c.gvr.Resource, c.name, g.Object)
		}
	}
	// A restore processed again (as after a simulator restart) finds
	// everything there and completes.
	r, err := green.dyn.Resource(restoreGVR).Namespace(sandbox.VeleroNamespace).Get(ctx, "with-cluster", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(r.Object, "InProgress", "status", "phase")
	if _, err := green.dyn.Resource(restoreGVR).Namespace(sandbox.VeleroNamespace).Update(ctx, r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sim.velero(ctx, blue, green); err != nil {
		t.Fatalf("restore processed again: %v", err)
	}
}
