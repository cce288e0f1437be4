package kube

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/cutover-dev/cutover/internal/finding"
)

func (c *testCluster) ingressWithLastApplied(t *testing.T, ns, name, appliedAPIVersion string) {
	t.Helper()
	pt := networkingv1.PathTypePrefix
	last := `{"apiVersion":"` + appliedAPIVersion + `","kind":"Ingress","metadata":{"annotations":{},"name":"` + name + `","namespace":"` + ns + `"},"spec":{"backend":{"serviceName":"` + name + `","servicePort":80}}}`
	must(c.cs.NetworkingV1().Ingresses(ns).Create(ctxT(t), &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{LastAppliedAnnotation: last}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: name + ".example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
		}}}},
	}, metav1.CreateOptions{}))
}

func (c *testCluster) helmRelease(t *testing.T, ns, name string, version int, status, manifest string) {
	t.Helper()
	rel := map[string]any{
		"name": name, "namespace": ns, "version": version,
		"info":     map[string]any{"status": status},
		"chart":    map[string]any{"metadata": map[string]any{"name": name, "version": "1.2.0"}},
		"manifest": manifest,
	}
	data := must(EncodeHelmRelease(rel))
	must(c.cs.CoreV1().Secrets(ns).Create(ctxT(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1." + name + ".v" + itoa(version), Namespace: ns,
			Labels: map[string]string{"owner": "helm", "name": name, "status": status, "version": itoa(version)}},
		Type: HelmReleaseSecretType,
		Data: map[string][]byte{"release": data},
	}, metav1.CreateOptions{}))
}

func itoa(i int) string { return strconv.Itoa(i) }

func (c *testCluster) pdb(t *testing.T, ns, name, app string, maxUnavailable, minAvailable *intstr.IntOrString) {
	t.Helper()
	must(c.cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctxT(t), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: maxUnavailable, MinAvailable: minAvailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
	}, metav1.CreateOptions{}))
}

// argoApplication installs a minimal Argo CD Application CRD (schema-less,
// no status subresource) and creates an Application whose status lists
// the given managed resources.
func (c *testCluster) argoApplication(t *testing.T, ns, name string, resources []any) {
	t.Helper()
	ctx := ctxT(t)
	dyn := must(dynamic.NewForConfig(c.cfg))
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "applications.argoproj.io"},
		"spec": map[string]any{
			"group": "argoproj.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "applications", "singular": "application", "kind": "Application", "listKind": "ApplicationList"},
			"versions": []any{map[string]any{"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	c.namespace(t, ns)
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"project": "default", "source": map[string]any{"repoURL": "https://git.example.com/shop.git", "path": "deploy"}},
		"status":   map[string]any{"resources": resources},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dyn.Resource(ArgoCDApplications).Namespace(ns).Create(ctx, app, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create Argo CD application (CRD not established?): %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const shopManifest = `---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 2
---
# Source: shop/templates/pdb.yaml
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: shop
spec:
  minAvailable: 1
---
# Source: shop/templates/cronjob.yaml
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: shop-report
  namespace: shop
spec:
  schedule: "0 * * * *"
`

// TestPreflightBlue runs PreflightBlue against a real kube-apiserver holding
// removed-API declarations in every place preflight looks, a PDB that never
// allows evictions, a skewed node and a crash-looping pod.
func TestPreflightBlue(t *testing.T) {
	blue := startCluster(t, "blue")
	ctx := ctxT(t)
	blue.namespace(t, "shop")
	blue.node(t, "ip-10-0-1-1", "v1.31.14-eks-1234", true)
	blue.node(t, "ip-10-0-1-2", "v1.27.16-eks-1234", true)
	blue.node(t, "ip-10-0-1-3", "v1.31.14-eks-1234", false)

	// Removed APIs: last-applied annotation, Helm release (current and superseded), Argo CD.
	blue.ingressWithLastApplied(t, "shop", "web", "extensions/v1beta1")
	blue.helmRelease(t, "shop", "shop", 3, "deployed", shopManifest)
	blue.helmRelease(t, "shop", "shop", 2, "superseded", "---\n# Source: shop/templates/old.yaml\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: old\n")
	blue.argoApplication(t, "argocd", "shop", []any{
		map[string]any{"group": "autoscaling", "version": "v2beta2", "kind": "HorizontalPodAutoscaler", "namespace": "shop", "name": "web", "status": "Synced"},
		map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web", "status": "Synced"},
	})
	// A client calls flowcontrol v1beta3 (served by 1.31, removed in 1.32): the metric records it.
	_, metricErr := blue.cs.Discovery().RESTClient().Get().AbsPath("/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas").DoRaw(ctx)

	// Disruption budgets.
	blue.deployment(t, "shop", "api", 2, 2)
	zero, three, one := intstr.FromInt32(0), intstr.FromInt32(3), intstr.FromInt32(1)
	blue.pdb(t, "shop", "api-strict", "api", &zero, nil)
	blue.statefulSet(t, "shop", "db", 3, 3)
	blue.pdb(t, "shop", "db", "db", nil, &three)
	blue.deployment(t, "shop", "cart", 2, 2)
	blue.pdb(t, "shop", "cart", "cart", &one, nil)
	blue.deployment(t, "shop", "lonely", 2, 2)

	// A crash-looping pod.
	pod := must(blue.cs.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-1", Namespace: "shop"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "shop/worker:1"}}},
	}, metav1.CreateOptions{}))
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "worker", Image: "shop/worker:1", RestartCount: 7,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	must(blue.cs.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}))

	a := blue.activities(WithPageSize(2)) // tiny pages: every list really paginates
	in := PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: "1.32", ArgoCDNamespace: "argocd"}
	res, err := a.PreflightBlue(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	dump(t, res.Findings)
	if res.ObjectsScanned < 20 {
		t.Errorf("ObjectsScanned = %d, want the cluster's objects", res.ObjectsScanned)
	}

	want := func(check, source, object string, sev finding.Severity, msgParts ...string) {
		t.Helper()
		for _, f := range res.Findings {
			if f.Check != check || f.Object != object || (source != "" && f.Source != source) {
				continue
			}
			if f.Severity != sev {
				t.Errorf("%s %s: severity %s, want %s", check, object, f.Severity, sev)
			}
			for _, p := range msgParts {
				if !strings.Contains(f.Message+" | "+f.Fix, p) {
					t.Errorf("%s %s: message %q (fix %q) lacks %q", check, object, f.Message, f.Fix, p)
				}
			}
			if f.Cluster != "blue" {
				t.Errorf("%s %s: cluster %q", check, object, f.Cluster)
			}
			return
		}
		t.Errorf("no %s finding from %q for %q", check, source, object)
	}

	t.Run("removed API in last-applied annotation", func(t *testing.T) {
		want(CheckRemovedAPI, SourceLastApplied, "extensions/v1beta1 Ingress shop/web", finding.Error,
			"annotation kubectl.kubernetes.io/last-applied-configuration of ingresses.networking.k8s.io shop/web",
			"already removed in Kubernetes 1.22", "replacement: networking.k8s.io/v1", "Change apiVersion to networking.k8s.io/v1")
	})
	t.Run("removed API in Helm release", func(t *testing.T) {
		want(CheckRemovedAPI, SourceHelm, "policy/v1beta1 PodDisruptionBudget shop/shop", finding.Error,
			"Helm release shop/shop revision 3", "secret shop/sh.helm.release.v1.shop.v3", "template shop/templates/pdb.yaml",
			"removed in Kubernetes 1.25", "replacement: policy/v1", "helm-mapkubeapis")
		want(CheckRemovedAPI, SourceHelm, "batch/v1beta1 CronJob shop/shop-report", finding.Error, "template shop/templates/cronjob.yaml", "replacement: batch/v1")
		for _, f := range res.Findings {
			if strings.Contains(f.Object, "extensions/v1beta1 Deployment") && (f.Check != CheckHelmRevisionAPI || f.Severity != finding.Info) {
				t.Errorf("superseded Helm revision reported as live: %+v", f)
			}
		}
		want(CheckHelmRevisionAPI, SourceHelm, "extensions/v1beta1 Deployment shop/old", finding.Info, "not live", "revision(s) 2 (superseded)")
	})
	t.Run("removed API managed by Argo CD", func(t *testing.T) {
		want(CheckRemovedAPI, SourceArgoCD, "autoscaling/v2beta2 HorizontalPodAutoscaler shop/web", finding.Error,
			"status.resources of Argo CD Application argocd/shop", "replacement: autoscaling/v2")
	})
	t.Run("removed API requested by a client (apiserver metric)", func(t *testing.T) {
		if metricErr != nil {
			t.Fatalf("GET flowcontrol v1beta3 on a 1.31 apiserver: %v", metricErr)
		}
		want(CheckRemovedAPI, SourceMetric, "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas", finding.Error,
			"removed in Kubernetes 1.32, which this migration to 1.32 crosses", "replacement: flowcontrol.apiserver.k8s.io/v1", "audit log")
	})
	t.Run("PDB with maxUnavailable 0", func(t *testing.T) {
		want(CheckPDBBlocksEviction, "", "policy/v1 PodDisruptionBudget shop/api-strict", finding.Error, "maxUnavailable is 0", "deployment api")
		want(CheckPDBBlocksEviction, "", "policy/v1 PodDisruptionBudget shop/db", finding.Error, "minAvailable 3 requires all 3 pods", "statefulset db")
		for _, f := range findingsOf(res.Findings, CheckPDBBlocksEviction) {
			if strings.HasSuffix(f.Object, "shop/cart") {
				t.Errorf("PDB with maxUnavailable 1 reported: %+v", f)
			}
		}
		want(CheckWorkloadWithoutPDB, "", "apps/v1 Deployment shop/lonely", finding.Warning, "has no PodDisruptionBudget")
	})
	t.Run("nodes and pods", func(t *testing.T) {
		want(CheckNodeSkew, "", "v1 Node ip-10-0-1-2", finding.Error, "4 minor versions behind the control plane", "at most 3")
		want(CheckNodeSkewTarget, "", "v1 Node ip-10-0-1-2", finding.Warning, "5 minor versions behind the target 1.32")
		want(CheckNodeNotReady, "", "v1 Node ip-10-0-1-3", finding.Warning, "Ready=False")
		want(CheckPodCrashLoop, "", "v1 Pod shop/worker-1", finding.Warning, "CrashLoopBackOff (7 restarts)")
	})
	t.Run("blocking under the default policy", func(t *testing.T) {
		blocking := finding.Policy{BlockOn: "error"}.Blocking(res.Findings)
		if len(blocking) < 6 {
			t.Errorf("%d blocking findings, want the removed APIs, PDBs and skew", len(blocking))
		}
	})
	t.Run("in a Temporal activity (heartbeats, activity logger)", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		val, err := env.ExecuteActivity(a.PreflightBlue, in)
		if err != nil {
			t.Fatal(err)
		}
		var got PreflightResult
		if err := val.Get(&got); err != nil {
			t.Fatal(err)
		}
		if len(got.Findings) != len(res.Findings) {
			t.Errorf("activity run: %d findings, direct call %d", len(got.Findings), len(res.Findings))
		}
	})
}

// TestPreflightCleanCluster: a healthy blue with current APIs everywhere
// yields no blocking finding (and no removed-API finding at all).
func TestPreflightCleanCluster(t *testing.T) {
	blue := startCluster(t, "clean")
	ctx := ctxT(t)
	blue.namespace(t, "shop")
	blue.node(t, "ip-10-0-2-1", "v1.31.14-eks-1234", true)
	blue.node(t, "ip-10-0-2-2", "v1.30.8-eks-1234", true)
	blue.deployment(t, "shop", "web", 3, 3)
	one, half := intstr.FromInt32(1), intstr.FromString("50%")
	blue.pdb(t, "shop", "web", "web", &one, nil)
	blue.statefulSet(t, "shop", "db", 3, 3)
	blue.pdb(t, "shop", "db", "db", nil, &half)
	blue.ingressWithLastApplied(t, "shop", "web", "networking.k8s.io/v1")
	blue.helmRelease(t, "shop", "web", 1, "deployed", "---\n# Source: web/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n# Source: web/templates/pdb.yaml\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n")
	blue.argoApplication(t, "argocd", "web", []any{map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web"}})

	a := blue.activities()
	res, err := a.PreflightBlue(ctx, PreflightInput{Cluster: blue.ref, TargetVersion: "1.32", ArgoCDNamespace: "argocd"})
	if err != nil {
		t.Fatal(err)
	}
	dump(t, res.Findings)
	if b := (finding.Policy{BlockOn: "error"}).Blocking(res.Findings); len(b) != 0 {
		t.Errorf("clean cluster has %d blocking findings", len(b))
	}
	if r := findingsOf(res.Findings, CheckRemovedAPI); len(r) != 0 {
		t.Errorf("clean cluster has removed-API findings: %+v", r)
	}
	if res.ObjectsScanned == 0 {
		t.Error("nothing scanned")
	}
}

// TestPreflightReportsWhatCutoverDoesNotCopy: self-managed nodes and
// aws-auth identities are findings, not surprises after blue is gone.
func TestPreflightReportsWhatCutoverDoesNotCopy(t *testing.T) {
	blue := startCluster(t, "uncopied")
	ctx := ctxT(t)
	blue.node(t, "ip-10-0-3-1", "v1.30.8-eks-1234", true) // no node group label: self-managed
	blue.node(t, "ip-10-0-3-2", "v1.30.8-eks-1234", true)
	n := must(blue.cs.CoreV1().Nodes().Get(ctx, "ip-10-0-3-2", metav1.GetOptions{}))
	n.Labels = map[string]string{"eks.amazonaws.com/nodegroup": "general"}
	must(blue.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}))
	must(blue.cs.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "aws-auth", Namespace: "kube-system"},
		Data: map[string]string{
			"mapRoles": "- rolearn: arn:aws:iam::123456789012:role/eks-node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n" +
				"- rolearn: arn:aws:iam::123456789012:role/ci-deploy\n  username: ci\n  groups: [system:masters]\n",
			"mapUsers": "- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n  groups: [view]\n",
		}}, metav1.CreateOptions{}))
	res, err := blue.activities().PreflightBlue(ctx, PreflightInput{Cluster: blue.ref, TargetVersion: "1.31"})
	if err != nil {
		t.Fatal(err)
	}
	self := findingsOf(res.Findings, CheckSelfManagedNode)
	if len(self) != 1 || !strings.Contains(self[0].Object, "ip-10-0-3-1") || self[0].Severity != finding.Warning {
		t.Errorf("self-managed nodes %+v", self)
	}
	auth := findingsOf(res.Findings, CheckAWSAuthIdentity)
	if len(auth) != 2 || !strings.Contains(auth[0].Message, "ci-deploy") || !strings.Contains(auth[1].Message, "user/alice") {
		t.Fatalf("aws-auth identities (node roles aside) %+v", auth)
	}
	for _, f := range auth {
		if f.Severity != finding.Info {
			t.Errorf("aws-auth %s: severity %s, want info (the mapping is carried to green)", f.Object, f.Severity)
		}
		for _, part := range []string{"carries it to green's aws-auth", "authenticationMode is API", "access entry"} {
			if !strings.Contains(f.Message, part) {
				t.Errorf("aws-auth %s: message %q lacks %q", f.Object, f.Message, part)
			}
		}
	}
	if !strings.Contains(auth[0].Message, `as "ci" (groups system:masters)`) {
		t.Errorf("aws-auth ci-deploy: message %q lacks the username and groups", auth[0].Message)
	}

	// aws-auth data that does not parse would fail the copy to green:
	// an error finding naming the key.
	cm := must(blue.cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{}))
	cm.Data["mapUsers"] = "- userarn: [not, an, arn\n"
	must(blue.cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{}))
	res, err = blue.activities().PreflightBlue(ctx, PreflightInput{Cluster: blue.ref, TargetVersion: "1.31"})
	if err != nil {
		t.Fatal(err)
	}
	auth = findingsOf(res.Findings, CheckAWSAuthIdentity)
	if len(auth) != 2 || !strings.Contains(auth[0].Message, "ci-deploy") || auth[0].Severity != finding.Info ||
		auth[1].Severity != finding.Error || !strings.Contains(auth[1].Message, "aws-auth mapUsers does not parse") {
		t.Errorf("aws-auth with an unparsable mapUsers: %+v, want ci-deploy (info) and an error naming mapUsers", auth)
	}
}
