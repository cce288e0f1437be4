package argocd

import (
	"context"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestRepointed(t *testing.T) {
	const green = "https://green.example.com:6443"
	secrets := []clusterSecret{
		{secretName: "green-prod", name: "green-prod", server: normServer(green)},
		{secretName: "staging", name: "staging", server: "https://staging.example.com"},
	}
	toT := newTarget(green, false, secrets)
	inCluster := func(ns string) argov1.ApplicationDestination {
		return argov1.ApplicationDestination{Server: InClusterServer, Namespace: ns}
	}
	for _, tc := range []struct {
		name string
		in   argov1.ApplicationDestination
		want argov1.ApplicationDestination
		ok   bool
	}{
		{"server", argov1.ApplicationDestination{Server: green, Namespace: "shop"}, inCluster("shop"), true},
		{"server with slash and case", argov1.ApplicationDestination{Server: "HTTPS://Green.example.com:6443/", Namespace: "shop"}, inCluster("shop"), true},
		{"name of green's secret", argov1.ApplicationDestination{Name: "green-prod", Namespace: "web"}, inCluster("web"), true},
		{"server wins over name", argov1.ApplicationDestination{Server: "https://staging.example.com", Name: "green-prod", Namespace: "x"},
			argov1.ApplicationDestination{Server: "https://staging.example.com", Name: "green-prod", Namespace: "x"}, false},
		{"other cluster's name", argov1.ApplicationDestination{Name: "staging", Namespace: "x"}, argov1.ApplicationDestination{Name: "staging", Namespace: "x"}, false},
		{"in-cluster is From, not To", inCluster("local"), inCluster("local"), false},
		{"in-cluster name", argov1.ApplicationDestination{Name: InClusterName, Namespace: "y"}, argov1.ApplicationDestination{Name: InClusterName, Namespace: "y"}, false},
		{"wildcard", argov1.ApplicationDestination{Server: "*", Namespace: "*"}, argov1.ApplicationDestination{Server: "*", Namespace: "*"}, false},
		{"empty", argov1.ApplicationDestination{}, argov1.ApplicationDestination{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := repointed(tc.in, toT)
			if got != tc.want || ok != tc.ok {
				t.Errorf("repointed(%+v) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCopierRepointsTemplatesAndProjects(t *testing.T) {
	const green = "https://green.example.com"
	k := copier{from: clusters.Ref{Name: "blue"}, migration: "m1",
		fromT: newTarget("https://blue.example.com", true, []clusterSecret{{name: "blue", server: normServer("https://blue.example.com")}}),
		toT:   newTarget(green, false, []clusterSecret{{name: "green", server: normServer(green)}})}
	app := &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "argocd", Labels: map[string]string{"team": "shop"},
			Annotations: map[string]string{"keep": "yes", AnnotationPreviousDestination: "{}", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
			Finalizers:  []string{ResourcesFinalizer}, ResourceVersion: "12", UID: "u-1",
			OwnerReferences: []metav1.OwnerReference{{Kind: "ApplicationSet", Name: "x", UID: "u-2"}}},
		Spec:      argov1.ApplicationSpec{Project: "shop", Destination: argov1.ApplicationDestination{Name: "green", Namespace: "web"}},
		Operation: &argov1.Operation{Sync: &argov1.SyncOperation{}},
		Status:    argov1.ApplicationStatus{Sync: argov1.SyncStatus{Status: argov1.SyncStatusCodeSynced}},
	}
	got := k.application(app)
	want := &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "argocd", Labels: map[string]string{"team": "shop"},
			Annotations: map[string]string{"keep": "yes", AnnotationCopiedBy: "m1", AnnotationCopiedFrom: "blue"},
			Finalizers:  []string{ResourcesFinalizer}},
		Spec: argov1.ApplicationSpec{Project: "shop", Destination: argov1.ApplicationDestination{Server: InClusterServer, Namespace: "web"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("application copy\n%+v\nwant\n%+v", got, want)
	}
	if app.Spec.Destination.Name != "green" {
		t.Errorf("the source was changed: %+v", app.Spec.Destination)
	}

	set := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "argocd"}}
	set.Spec.Template.Spec.Destination = argov1.ApplicationDestination{Server: green + "/", Namespace: "{{name}}"}
	if d := k.applicationSet(set).Spec.Template.Spec.Destination; d != (argov1.ApplicationDestination{Server: InClusterServer, Namespace: "{{name}}"}) {
		t.Errorf("ApplicationSet template destination %+v", d)
	}
	templated := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "argocd"}}
	templated.Spec.Template.Spec.Destination = argov1.ApplicationDestination{Server: "{{server}}", Namespace: "x"}
	if d := k.applicationSet(templated).Spec.Template.Spec.Destination; d.Server != "{{server}}" {
		t.Errorf("a templated destination was rewritten: %+v", d)
	}

	// A list generator: blue's elements go (blue is retired), green's
	// become in-cluster, the others stay as they were.
	listed := &argov1.ApplicationSet{ObjectMeta: metav1.ObjectMeta{Name: "listed", Namespace: "argocd"}}
	listed.Spec.Generators = []argov1.ApplicationSetGenerator{{List: &argov1.ListGenerator{Elements: []apiextensionsv1.JSON{
		{Raw: []byte(`{"cluster":"in-cluster","url":"https://kubernetes.default.svc","env":"blue"}`)},
		{Raw: []byte(`{"cluster":"blue","url":"https://blue.example.com"}`)},
		{Raw: []byte(`{"cluster":"green","url":"https://green.example.com/","env":"prod"}`)},
		{Raw: []byte(`{"cluster":"staging","url":"https://staging.example.com"}`)},
	}}}}
	var els []string
	for _, el := range k.applicationSet(listed).Spec.Generators[0].List.Elements {
		els = append(els, canonicalRaw(el.Raw))
	}
	wantEls := []string{`{"cluster":"in-cluster","env":"prod","url":"https://kubernetes.default.svc"}`, `{"cluster":"staging","url":"https://staging.example.com"}`}
	if !reflect.DeepEqual(els, wantEls) {
		t.Errorf("list elements of the copy %v, want %v", els, wantEls)
	}
	if n := len(listed.Spec.Generators[0].List.Elements); n != 4 {
		t.Errorf("the source's list was changed: %d elements", n)
	}

	proj := &argov1.AppProject{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "argocd"},
		Spec: argov1.AppProjectSpec{Destinations: []argov1.ApplicationDestination{
			{Server: green, Namespace: "*"}, {Name: "green", Namespace: "shop"}, {Server: "*", Namespace: "*"}, {Server: "https://other", Namespace: "a"}}}}
	wantDest := []argov1.ApplicationDestination{
		{Server: InClusterServer, Namespace: "*"}, {Server: InClusterServer, Namespace: "shop"}, {Server: "*", Namespace: "*"}, {Server: "https://other", Namespace: "a"}}
	if d := k.project(proj).Spec.Destinations; !reflect.DeepEqual(d, wantDest) {
		t.Errorf("project destinations %+v, want %+v", d, wantDest)
	}
}

func TestImageTag(t *testing.T) {
	for in, want := range map[string]string{
		"quay.io/argoproj/argocd:v2.14.21":                 "v2.14.21",
		"quay.io/argoproj/argocd:v2.14.21@sha256:0123abcd": "v2.14.21",
		"quay.io/argoproj/argocd@sha256:0123abcd":          "",
		"registry.local:5000/argocd":                       "",
		"registry.local:5000/argoproj/argocd:v2.13.0":      "v2.13.0",
		"argocd": "",
	} {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseManifestAndOrder(t *testing.T) {
	objs, err := ParseManifest([]byte(`
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: argocd-application-controller
---
# a comment only
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: applications.argoproj.io
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: argocd-server
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, objString(o))
	}
	if got := strings.Join(names, ","); got != "StatefulSet argocd-application-controller,ConfigMap argocd-cm,CustomResourceDefinition applications.argoproj.io,ServiceAccount argocd-server" {
		t.Errorf("parsed %s", got)
	}
	crds, rest := installOrder(objs)
	if len(crds) != 1 || crds[0].GetName() != "applications.argoproj.io" {
		t.Errorf("CRDs %v", crds)
	}
	if len(rest) != 3 || rest[2].GetKind() != "StatefulSet" {
		t.Errorf("the application controller is not last: %v", rest)
	}
	if _, err := ParseManifest([]byte("kind: ConfigMap\nmetadata:\n  name: x\n")); err == nil {
		t.Error("an object without apiVersion parsed")
	}
	if _, err := ParseManifest([]byte("a: [b\n")); err == nil {
		t.Error("broken YAML parsed")
	}
}

func TestPointSubjects(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": "ClusterRoleBinding", "subjects": []any{
		map[string]any{"kind": "ServiceAccount", "name": "argocd-server", "namespace": "argocd"},
		map[string]any{"kind": "Group", "name": "admins"},
	}}}
	pointSubjects(u, "gitops")
	s, _, _ := unstructured.NestedSlice(u.Object, "subjects")
	if s[0].(map[string]any)["namespace"] != "gitops" || s[1].(map[string]any)["namespace"] != nil {
		t.Errorf("subjects %v", s)
	}
}

// TestFetchInstallManifest serves GitHub's raw host from a test server: a
// manifest, a 404 (definitive NotFound naming the version) and a 503
// (transient).
func TestFetchInstallManifest(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/argoproj/argo-cd/v2.14.21/manifests/install.yaml":
			_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n"))
		case "/argoproj/argo-cd/v2.99.0/manifests/install.yaml":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	saved := manifestClient
	manifestClient = &http.Client{Timeout: manifestTimeout, Transport: rewriteHost{target: target, next: tr}}
	defer func() { manifestClient = saved }()

	ctx := context.Background()
	b, err := FetchInstallManifest(ctx, "v2.14.21")
	if err != nil || !strings.Contains(string(b), "argocd-cm") {
		t.Fatalf("fetch: %q, %v", b, err)
	}
	_, err = FetchInstallManifest(ctx, "v0.0.1")
	if failures.TypeOf(err) != failures.NotFound || !strings.Contains(err.Error(), "v0.0.1") || !failures.IsDefinitive(err) {
		t.Errorf("404: %v, want a definitive NotFound naming the version", err)
	}
	_, err = FetchInstallManifest(ctx, "v2.99.0")
	if failures.TypeOf(err) != failures.Transient {
		t.Errorf("503: %v (%s), want Transient", err, failures.TypeOf(err))
	}
}

type rewriteHost struct {
	target *url.URL
	next   http.RoundTripper
}

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "raw.githubusercontent.com" {
		return nil, &url.Error{Op: "GET", URL: req.URL.String(), Err: http.ErrNotSupported}
	}
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	return r.next.RoundTrip(req)
}
