package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// testBlue is blue as the tests know it.
var testBlue = BlueIdentity{
	Name:       "blue",
	Endpoint:   "https://0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com",
	ARN:        "arn:aws:eks:eu-west-1:123456789012:cluster/blue",
	OIDCIssuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F/",
}

const (
	testBlueHost   = "0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"
	testBlueIssuer = "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F"
)

func hitKinds(hits []blueHit) []string {
	out := []string{}
	for _, h := range hits {
		out = append(out, h.kind)
	}
	sort.Strings(out)
	return out
}

func TestBlueRefsMatcher(t *testing.T) {
	m := newBlueMatcher(testBlue)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"server: https://0a1b2c3d4e5f.gr7.eu-west-1.eks.amazonaws.com", []string{"endpoint"}},
		{"host=" + testBlueHost + ":443", []string{"endpoint"}},
		{"HTTPS://" + strings.ToUpper(testBlueHost) + "/api", []string{"endpoint"}},
		{"x" + testBlueHost, []string{}},
		{testBlueHost + ".example.com", []string{}},
		{"context: arn:aws:eks:eu-west-1:123456789012:cluster/blue\n", []string{"arn"}},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/blue-2", []string{}},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/blue and cluster: blue", []string{"arn", "name"}},
		{"issuer: https://" + testBlueIssuer, []string{"oidc-issuer"}},
		{"provider: " + strings.ToLower(testBlueIssuer) + "\n", []string{"oidc-issuer"}},
		{"arn:aws:iam::123456789012:oidc-provider/" + testBlueIssuer, []string{"oidc-issuer"}},
		{"https://" + testBlueIssuer + "0", []string{}},
		{"cluster: blue", []string{"name"}},
		{"cluster=blue", []string{"name"}},
		{"clusterName: blue\n", []string{"name"}},
		{"--cluster-name blue --region eu-west-1", []string{"name"}},
		{"cluster/blue", []string{"name"}},
		{"CLUSTER_NAME=blue", []string{"name"}},
		{`{"cluster":"BLUE"}`, []string{"name"}},
		{"blue", []string{"name"}},
		{"blueprint", []string{}},
		{"strategy: blue-green", []string{}},
		{"green-blue", []string{}},
		{"bluebird true-blue myblue blue2", []string{}},
		{"the blueprint of blue-green, then cluster: blue", []string{"name"}},
		{"api_server: https://" + testBlueHost + "\nexternal_labels: {cluster: blue}", []string{"endpoint", "name"}},
		{"", []string{}},
	} {
		if got := hitKinds(m.find(tc.text)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("find(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}

	// Only what is known is looked for; an endpoint without its scheme is a host.
	only := newBlueMatcher(BlueIdentity{Endpoint: strings.ToLower(testBlueHost)})
	if got := hitKinds(only.find("cluster: blue, https://" + testBlueHost)); !reflect.DeepEqual(got, []string{"endpoint"}) {
		t.Errorf("endpoint-only matcher found %v", got)
	}
	if !newBlueMatcher(BlueIdentity{}).empty() {
		t.Error("an empty identity matches something")
	}

	// The hit's offsets are the text's, whatever comes before it.
	text := "ünïcode first, then cluster=blue"
	hits := m.find(text)
	if len(hits) != 1 || text[hits[0].start:hits[0].end] != "blue" {
		t.Errorf("hits of %q = %+v", text, hits)
	}
}

func TestBlueRefsExcerptAndBounds(t *testing.T) {
	m := newBlueMatcher(testBlue)
	long := strings.Repeat("padding ", 40) + "\n  url: https://" + testBlueHost + "/metrics\n" + strings.Repeat("tail ", 40)
	hits := m.find(long)
	if len(hits) != 1 {
		t.Fatalf("hits = %+v", hits)
	}
	ex := excerpt(long, hits[0].start, hits[0].end)
	if !strings.Contains(ex, testBlueHost) || !strings.HasPrefix(ex, "…") || !strings.HasSuffix(ex, "…") || strings.Contains(ex, "\n") || len(ex) > 100 {
		t.Errorf("excerpt = %q (%d bytes)", ex, len(ex))
	}
	if ex := excerpt("cluster: blue", 9, 13); ex != "cluster: blue" {
		t.Errorf("short excerpt = %q", ex)
	}

	// Past the first MiB of a value nothing is read.
	big := strings.Repeat("a", maxBlueValueBytes) + " cluster: blue"
	if hits := m.find(boundValue(big)); len(hits) != 0 {
		t.Errorf("a match past 1 MiB was found: %+v", hits)
	}
	if hits := m.find(boundValue(big[len(big)-maxBlueValueBytes:])); len(hits) != 1 {
		t.Errorf("a match inside 1 MiB was not found: %+v", hits)
	}
	if got := trimPartialRune([]byte("ab\xc3")); string(got) != "ab" {
		t.Errorf("trimPartialRune = %q", got)
	}

	// The result stops at MaxBlueReferences.
	s := &blueScan{m: m, seen: map[string]bool{}, in: FindBlueReferencesInput{Blue: testBlue}}
	var err error
	for i := 0; i < MaxBlueReferences+5 && err == nil; i++ {
		err = s.value(fmt.Sprintf("v1 ConfigMap shop/cm-%03d", i), "data.k", "cluster: blue", BlueRefOther, false)
	}
	if !errors.Is(err, errBlueRefsFull) || len(s.refs) != MaxBlueReferences || !s.truncated {
		t.Errorf("after %d adds: err %v, %d references, truncated %v", MaxBlueReferences+5, err, len(s.refs), s.truncated)
	}
	// A duplicate is not a new reference.
	s2 := &blueScan{m: m, seen: map[string]bool{}}
	_ = s2.value("o", "f", "cluster: blue", BlueRefOther, false)
	_ = s2.value("o", "f", "blue again", BlueRefOther, false)
	if len(s2.refs) != 1 {
		t.Errorf("duplicates kept: %+v", s2.refs)
	}
}

func TestBlueRefsFieldPath(t *testing.T) {
	for k, want := range map[string]string{"server": "spec.server", "remote-write": "spec.remote-write", "a.b/c": `spec["a.b/c"]`} {
		if got := fieldPath("spec", k); got != want {
			t.Errorf("fieldPath(spec, %q) = %q, want %q", k, got, want)
		}
	}
}

// namespacedCRD is a namespaced v1 CRD that keeps its spec as given.
func namespacedCRD(gvr schema.GroupVersionResource, kind string) *apiextv1.CustomResourceDefinition {
	crd := karpenterCRD(gvr, kind)
	crd.Spec.Scope = apiextv1.NamespaceScoped
	return crd
}

func installCRDs(t *testing.T, cfg *rest.Config, crds ...*apiextv1.CustomResourceDefinition) {
	t.Helper()
	ctx := ctxT(t)
	cs := must(apiextclient.NewForConfig(cfg))
	for _, crd := range crds {
		must(cs.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}))
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := must(cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{}))
			ok := false
			for _, c := range got.Status.Conditions {
				ok = ok || (c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not Established", crd.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// refKey is what the test compares of a reference.
func refKey(r BlueReference) string {
	return r.Object + " | " + r.Field + " | " + r.Match + " | " + r.Category
}

func refKeys(rs []BlueReference) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, refKey(r))
	}
	return out
}

func TestBlueRefsOnGreen(t *testing.T) {
	g := startCluster(t, "green")
	ctx := ctxT(t)
	for _, ns := range []string{"monitoring", "shop", "argocd"} {
		g.namespace(t, ns)
	}
	cm := func(ns, name string, data map[string]string, bin map[string][]byte) {
		must(g.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data, BinaryData: bin}, metav1.CreateOptions{}))
	}
	cm("monitoring", "prometheus", map[string]string{
		"prometheus.yml":    "scrape_configs:\n- job_name: apiserver\n  kubernetes_sd_configs:\n  - role: endpoints\n    api_server: https://" + testBlueHost + "\n",
		"remote-write.yaml": "remote_write:\n- url: https://mimir.example.com/api/v1/push\nexternal_labels:\n  cluster: blue\n",
	}, nil)
	cm("monitoring", "grafana-datasources", nil, map[string][]byte{"datasources.yaml": []byte("jsonData:\n  assumeRoleArn: x\n  clusterArn: " + testBlue.ARN + "\n")})
	cm("monitoring", "binary-blob", nil, map[string][]byte{"blob.bin": append([]byte{0xff, 0xfe, 0x00}, []byte(testBlueHost)...)})
	cm("shop", "app-config", map[string]string{
		"settings.env": "CLUSTER_NAME=blue\nTHEME=blueprint\n",
		"notes.txt":    "blue-green deployment of the blueprint\n",
	}, nil)
	cm("shop", "theme", map[string]string{"colors": "primary: blueprint-navy\nstrategy: blue-green\n"}, nil)
	cm("shop", "ci-pipeline", map[string]string{"deploy.sh": "aws eks update-kubeconfig --name blue --region eu-west-1\n"}, nil)
	cm("kube-system", "blue-ref", map[string]string{"server": "https://" + testBlueHost}, nil)

	const secretText = "s3cr3t-token-value"
	sec := func(ns, name string, labels map[string]string, data map[string][]byte) {
		must(g.cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Data: data}, metav1.CreateOptions{}))
	}
	sec("shop", "deploy-creds", nil, map[string][]byte{
		"kubeconfig": []byte("clusters:\n- cluster:\n    server: https://" + testBlueHost + "\nusers:\n- user:\n    token: " + secretText + "\n"),
		"token":      []byte(secretText),
	})
	sec("argocd", "cluster-blue", map[string]string{"argocd.argoproj.io/secret-type": "cluster"}, map[string][]byte{
		"name": []byte("blue"), "server": []byte("https://" + testBlueHost), "config": []byte(`{"bearerToken":"` + secretText + `"}`),
	})
	sec("shop", "palette", nil, map[string][]byte{"theme": []byte("blueprint blue-green")})

	sa := func(ns, name string, ann map[string]string) {
		must(g.cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann}}, metav1.CreateOptions{}))
	}
	sa("shop", "orders", map[string]string{
		IRSARoleAnnotation:          "arn:aws:iam::123456789012:role/blue",
		"cutover.dev/copied-from":   testBlue.ARN,
		"cutover.dev/issuer-before": testBlue.OIDCIssuer,
	})
	sa("shop", "metrics", map[string]string{
		"example.com/oidc-issuer": testBlue.OIDCIssuer,
		"example.com/team":        "blue",
	})

	base := []BlueReference{
		{Object: "v1 ConfigMap monitoring/grafana-datasources", Field: "binaryData.datasources.yaml", Match: "arn", Category: "monitoring"},
		{Object: "v1 ConfigMap monitoring/prometheus", Field: "data.prometheus.yml", Match: "endpoint", Category: "monitoring"},
		{Object: "v1 ConfigMap monitoring/prometheus", Field: "data.remote-write.yaml", Match: "name", Category: "monitoring"},
		{Object: "v1 ConfigMap shop/app-config", Field: "data.settings.env", Match: "name", Category: "other"},
		{Object: "v1 ConfigMap shop/ci-pipeline", Field: "data.deploy.sh", Match: "name", Category: "ci-cd"},
		{Object: "v1 Secret argocd/cluster-blue", Field: "data.name", Match: "name", Category: "ci-cd"},
		{Object: "v1 Secret argocd/cluster-blue", Field: "data.server", Match: "endpoint", Category: "ci-cd"},
		{Object: "v1 Secret shop/deploy-creds", Field: "data.kubeconfig", Match: "endpoint", Category: "ci-cd"},
		{Object: "v1 ServiceAccount shop/metrics", Field: "metadata.annotations.example.com/oidc-issuer", Match: "oidc-issuer", Category: "identity"},
	}
	// Small pages, so every list pages.
	a := g.activities(WithPageSize(2), WithHelmPageSize(1))
	in := FindBlueReferencesInput{Cluster: g.ref, Blue: testBlue, ArgoCDNamespace: "argocd"}

	check := func(t *testing.T, got FindBlueReferencesResult, want []BlueReference) {
		t.Helper()
		wantKeys := refKeys(want)
		sort.Strings(wantKeys)
		if gk := refKeys(got.References); !reflect.DeepEqual(gk, wantKeys) {
			t.Errorf("references:\n  %s\nwant:\n  %s", strings.Join(gk, "\n  "), strings.Join(wantKeys, "\n  "))
		}
		if got.Truncated {
			t.Error("truncated")
		}
		raw := string(must(json.Marshal(got)))
		if strings.Contains(raw, secretText) {
			t.Errorf("the result shows a Secret's value: %s", raw)
		}
		for _, r := range got.References {
			if r.Fix == "" {
				t.Errorf("%s: no fix", refKey(r))
			}
			secret := strings.HasPrefix(r.Object, "v1 Secret ")
			if secret && r.Excerpt != "" {
				t.Errorf("%s: a Secret's reference has an excerpt %q", refKey(r), r.Excerpt)
			}
			if !secret && r.Excerpt == "" {
				t.Errorf("%s: no excerpt", refKey(r))
			}
		}
	}

	t.Run("without the CRDs", func(t *testing.T) {
		got, err := a.FindBlueReferences(ctxT(t), in)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, base)
		// 6 ConfigMaps, 3 Secrets and 2 ServiceAccounts outside kube-system.
		if got.Scanned < 11 {
			t.Errorf("scanned %d objects, want at least 11", got.Scanned)
		}
		for _, r := range got.References {
			if r.Object == "v1 ConfigMap monitoring/prometheus" && r.Match == "endpoint" && !strings.Contains(r.Excerpt, "api_server: https://"+testBlueHost) {
				t.Errorf("excerpt %q", r.Excerpt)
			}
		}
	})

	installCRDs(t, g.cfg,
		namespacedCRD(ArgoCDApplications, "Application"),
		namespacedCRD(ArgoCDApplicationSets, "ApplicationSet"),
		namespacedCRD(PrometheusResources, "Prometheus"))
	dc := must(dynamic.NewForConfig(g.cfg))
	create := func(gvr schema.GroupVersionResource, obj map[string]any) {
		u := &unstructured.Unstructured{Object: obj}
		must(dc.Resource(gvr).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{}))
	}
	create(ArgoCDApplications, map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "shop", "namespace": "argocd", "annotations": map[string]any{
			"cutover.dev/moved-from":          testBlue.ARN,
			"argocd.argoproj.io/tracking-id":  "blue:argoproj.io/Application:argocd/shop",
			"notifications.argoproj.io/notes": "blue-green rollout",
		}},
		"spec": map[string]any{
			"project":     "blue-green",
			"destination": map[string]any{"server": "https://" + strings.ToLower(testBlueHost), "namespace": "shop"},
			"source": map[string]any{"repoURL": "https://github.com/acme/blueprint.git", "path": "charts/shop",
				"helm": map[string]any{"values": "image: shop:1.2\nclusterName: blue\n"}},
		},
	})
	create(ArgoCDApplicationSets, map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
		"metadata": map[string]any{"name": "platform", "namespace": "argocd"},
		"spec": map[string]any{
			"generators": []any{map[string]any{"list": map[string]any{"elements": []any{map[string]any{"clusterArn": testBlue.ARN}}}}},
			"template": map[string]any{"spec": map[string]any{
				"destination": map[string]any{"name": "blue"},
				"source":      map[string]any{"kustomize": map[string]any{"images": []any{"registry.example.com/blue-app:1"}}},
			}},
		},
	})
	create(ArgoCDApplications, map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "elsewhere", "namespace": "shop"},
		"spec":     map[string]any{"destination": map[string]any{"name": "blue"}},
	})
	create(PrometheusResources, map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
		"metadata": map[string]any{"name": "k8s", "namespace": "monitoring"},
		"spec": map[string]any{
			"remoteWrite": []any{
				map[string]any{"url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"},
				map[string]any{"url": "https://mimir.example.com/push?cluster=blue"},
			},
			"externalLabels":              map[string]any{"cluster": "blue", "strategy": "blue-green"},
			"podMonitorNamespaceSelector": map[string]any{"matchLabels": map[string]any{"team": "blue"}},
		},
	})
	crs := []BlueReference{
		{Object: "argoproj.io/v1alpha1 Application argocd/shop", Field: "spec.destination.server", Match: "endpoint", Category: "ci-cd"},
		{Object: "argoproj.io/v1alpha1 Application argocd/shop", Field: "spec.source.helm.values", Match: "name", Category: "ci-cd"},
		{Object: "argoproj.io/v1alpha1 ApplicationSet argocd/platform", Field: "spec.generators[0].list.elements[0].clusterArn", Match: "arn", Category: "ci-cd"},
		{Object: "argoproj.io/v1alpha1 ApplicationSet argocd/platform", Field: "spec.template.spec.destination.name", Match: "name", Category: "ci-cd"},
		{Object: "monitoring.coreos.com/v1 Prometheus monitoring/k8s", Field: "spec.externalLabels.cluster", Match: "name", Category: "monitoring"},
		{Object: "monitoring.coreos.com/v1 Prometheus monitoring/k8s", Field: "spec.remoteWrite[1].url", Match: "name", Category: "monitoring"},
	}

	t.Run("with Argo CD and Prometheus", func(t *testing.T) {
		got, err := a.FindBlueReferences(ctxT(t), in)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, append(append([]BlueReference{}, base...), crs...))
		for _, r := range got.References {
			if r.Field == "spec.destination.server" && !strings.Contains(r.Fix, "deploy target") {
				t.Errorf("fix of %s: %q", refKey(r), r.Fix)
			}
			if r.Field == "spec.remoteWrite[1].url" && !strings.Contains(r.Fix, "remote-write URL") {
				t.Errorf("fix of %s: %q", refKey(r), r.Fix)
			}
		}
	})

	t.Run("one namespace", func(t *testing.T) {
		one := in
		one.Namespaces = []string{"shop"}
		got, err := a.FindBlueReferences(ctxT(t), one)
		if err != nil {
			t.Fatal(err)
		}
		var want []BlueReference
		for _, r := range append(append([]BlueReference{}, base...), crs...) {
			// Argo CD's objects are read in its namespace whatever the namespaces.
			if strings.Contains(r.Object, " shop/") || strings.Contains(r.Object, "argoproj.io") {
				want = append(want, r)
			}
		}
		check(t, got, want)
	})

	t.Run("nothing known of blue", func(t *testing.T) {
		got, err := a.FindBlueReferences(ctxT(t), FindBlueReferencesInput{Cluster: g.ref})
		if err != nil || len(got.References) != 0 || got.References == nil {
			t.Errorf("got %+v, %v", got, err)
		}
	})
}
