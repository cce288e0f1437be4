package sandbox_test

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSandboxArgoCDOnHub: Up with ArgoCDOnHub starts a third cluster, hub,
// with the CRDs, that the sandbox resolver reaches with EKS tokens though
// no EKS cluster "hub" exists in moto. The hub's argocd namespace holds
// the cluster secrets of blue (labelled cutover.dev/env=prod) and green
// (not), the AppProject, the Applications deploying to blue, the Argo CD
// install and the ApplicationSets edge (clusters generator) and batch
// (list generator naming blue's server); blue has no argocd namespace but
// runs the ApplicationSets' workloads edge/edge and batch/batch-worker,
// ready. The seed lists say so. Down stops all eight processes.
func TestSandboxArgoCDOnHub(t *testing.T) {
	ctx := context.Background()
	o := sandboxtest.Options(t)
	o.ArgoCDOnHub = true
	upCtx, cancel := context.WithTimeout(ctx, sandboxtest.StartTimeout)
	defer cancel()
	sb, err := sandbox.Up(upCtx, o)
	if err != nil {
		t.Fatalf("sandbox up with the hub: %v", err)
	}
	t.Cleanup(func() { _ = sb.Down() })
	if sb.Hub == nil || sb.Hub.Name != sandbox.HubCluster {
		t.Fatalf("hub %+v", sb.Hub)
	}
	procs := sb.Processes()
	var names []string
	for _, p := range procs {
		names = append(names, p.Name)
	}
	if len(procs) != 8 || !slices.Contains(names, "etcd-hub") || !slices.Contains(names, "kube-apiserver-hub") {
		t.Fatalf("processes %v, want 8 with the hub's etcd and kube-apiserver", names)
	}

	// The hub through the resolver, on EKS tokens.
	rc, err := sb.Resolver().RESTConfig(ctx, clusters.Ref{Name: sandbox.HubCluster, Region: sb.Seed.Region})
	if err != nil {
		t.Fatalf("resolve hub: %v", err)
	}
	hubDyn := dynamic.NewForConfigOrDie(rc)
	hub := kubernetes.NewForConfigOrDie(rc)
	if _, err := hub.CoreV1().Namespaces().Get(ctx, sandbox.ArgoCDNamespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("hub's argocd namespace through the resolver: %v", err)
	}
	if st := sb.Hub.TokenStats(); st.Accepted == 0 {
		t.Errorf("the resolver reached the hub without an EKS token: %+v", st)
	}
	if _, err := hubDyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("hub's ApplicationSet CRD: %v", err)
	}

	// Cluster secrets: blue's labelled prod, green's not.
	for name, env := range map[string]string{"cluster-blue": sandbox.EnvProd, "cluster-green": ""} {
		sec, err := hub.CoreV1().Secrets(sandbox.ArgoCDNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("hub's secret %s: %v", name, err)
			continue
		}
		if sec.Labels["argocd.argoproj.io/secret-type"] != "cluster" || sec.Labels[sandbox.EnvLabel] != env {
			t.Errorf("hub's secret %s labels %v, want %s=%q", name, sec.Labels, sandbox.EnvLabel, env)
		}
	}
	if _, err := hubDyn.Resource(sandbox.AppProjectGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, "shop", metav1.GetOptions{}); err != nil {
		t.Errorf("hub's AppProject shop: %v", err)
	}
	for _, n := range []string{"shop", "payments", "monitoring"} {
		a, err := hubDyn.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Errorf("hub's Application %s: %v", n, err)
			continue
		}
		if d, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "name"); d != "blue" {
			t.Errorf("Application %s destination %q, want blue", n, d)
		}
	}
	if _, err := hub.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationController, metav1.GetOptions{}); err != nil {
		t.Errorf("hub's application controller: %v", err)
	}
	if d, err := hub.AppsV1().Deployments(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationSetController, metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 1 {
		t.Errorf("hub's ApplicationSet controller: %v", err)
	}
	edge, err := hubDyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, "edge", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("hub's ApplicationSet edge: %v", err)
	}
	gens, _, _ := unstructured.NestedSlice(edge.Object, "spec", "generators")
	if sel, _, _ := unstructured.NestedStringMap(gens[0].(map[string]any), "clusters", "selector", "matchLabels"); len(gens) != 1 || sel[sandbox.EnvLabel] != sandbox.EnvProd {
		t.Errorf("edge generators %v", gens)
	}
	if n, _, _ := unstructured.NestedString(edge.Object, "spec", "template", "metadata", "name"); n != "{{name}}-edge" {
		t.Errorf("edge template name %q", n)
	}
	if d, _, _ := unstructured.NestedStringMap(edge.Object, "spec", "template", "spec", "destination"); d["name"] != "{{name}}" || d["namespace"] != "edge" {
		t.Errorf("edge destination %v", d)
	}
	batch, err := hubDyn.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, "batch", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("hub's ApplicationSet batch: %v", err)
	}
	gens, _, _ = unstructured.NestedSlice(batch.Object, "spec", "generators")
	els, _, _ := unstructured.NestedSlice(gens[0].(map[string]any), "list", "elements")
	if len(els) != 1 || els[0].(map[string]any)["cluster"] != "blue" || els[0].(map[string]any)["url"] != sb.Blue.Server {
		t.Errorf("batch elements %v, want blue at %s", els, sb.Blue.Server)
	}
	if d, _, _ := unstructured.NestedStringMap(batch.Object, "spec", "template", "spec", "destination"); d["server"] != "{{url}}" || d["namespace"] != "batch" {
		t.Errorf("batch destination %v", d)
	}

	// Blue: no Argo CD, the ApplicationSets' workloads.
	blue, _ := sb.Blue.Clientset()
	if _, err := blue.CoreV1().Namespaces().Get(ctx, sandbox.ArgoCDNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("blue's argocd namespace: %v, want none", err)
	}
	if l, err := dynamic.NewForConfigOrDie(sb.Blue.RESTConfig()).Resource(sandbox.ApplicationGVR).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("blue's Applications: %v %d, want none", err, len(l.Items))
	}
	for ns, name := range map[string]string{"edge": "edge", "batch": "batch-worker"} {
		d, err := blue.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("blue's Deployment %s/%s: %v", ns, name, err)
			continue
		}
		if d.Status.AvailableReplicas != *d.Spec.Replicas || d.Annotations["argocd.argoproj.io/tracking-id"] != "blue-"+ns+":apps/Deployment:"+ns+"/"+name {
			t.Errorf("blue's Deployment %s/%s: available %d of %d, tracking %q", ns, name, d.Status.AvailableReplicas, *d.Spec.Replicas, d.Annotations["argocd.argoproj.io/tracking-id"])
		}
	}
	if _, err := blue.CoreV1().ServiceAccounts("shop").Get(ctx, "orders", metav1.GetOptions{}); err != nil {
		t.Errorf("blue's IRSA ServiceAccount shop/orders: %v", err)
	}

	objs := sb.BlueObjects
	if objs.ArgoCDCluster != sandbox.HubCluster || !slices.Equal(objs.ApplicationSets, []string{"argocd/edge", "argocd/batch"}) ||
		slices.Contains(objs.Namespaces, "argocd") || !slices.Contains(objs.Namespaces, "edge") || !slices.Contains(objs.Namespaces, "batch") ||
		!slices.Contains(objs.Deployments, "edge/edge") || !slices.Contains(objs.Deployments, "batch/batch-worker") ||
		!slices.Contains(objs.Deployments, "argocd/"+sandbox.ArgoCDApplicationSetController) || len(objs.Applications) != 3 {
		t.Errorf("seed lists %+v", objs)
	}

	if err := sb.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for _, p := range procs {
		if err := syscall.Kill(-p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: process group %d still exists after Down (kill -0: %v)", p.Name, p.PID, err)
		}
	}
}
