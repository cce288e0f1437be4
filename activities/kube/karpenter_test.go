package kube

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func discoveryTerm(value string) map[string]any {
	return map[string]any{"tags": map[string]any{KarpenterDiscoveryKey: value}}
}

func TestRetargetTerms(t *testing.T) {
	withName := func(value string) map[string]any {
		return map[string]any{"tags": map[string]any{KarpenterDiscoveryKey: value, "Name": "private-*"}}
	}
	tests := []struct {
		name  string
		in    []any
		want  []any
		added bool
	}{
		{"blue's term gets green's beside it", []any{discoveryTerm("blue")}, []any{discoveryTerm("blue"), discoveryTerm("green")}, true},
		{"other tags are kept in the twin", []any{withName("blue")}, []any{withName("blue"), withName("green")}, true},
		{"twins go right after their term", []any{discoveryTerm("blue"), map[string]any{"id": "sg-1"}, withName("blue")},
			[]any{discoveryTerm("blue"), discoveryTerm("green"), map[string]any{"id": "sg-1"}, withName("blue"), withName("green")}, true},
		{"already there", []any{discoveryTerm("blue"), discoveryTerm("green")}, []any{discoveryTerm("blue"), discoveryTerm("green")}, false},
		{"already there, elsewhere", []any{discoveryTerm("green"), discoveryTerm("blue")}, []any{discoveryTerm("green"), discoveryTerm("blue")}, false},
		{"a duplicated term gets one twin", []any{discoveryTerm("blue"), discoveryTerm("blue")}, []any{discoveryTerm("blue"), discoveryTerm("green"), discoveryTerm("blue")}, true},
		{"another value", []any{discoveryTerm("team-x")}, []any{discoveryTerm("team-x")}, false},
		{"by ID or name", []any{map[string]any{"id": "subnet-1"}, map[string]any{"name": "nodes"}}, []any{map[string]any{"id": "subnet-1"}, map[string]any{"name": "nodes"}}, false},
		{"not a term", []any{"junk", discoveryTerm("blue")}, []any{"junk", discoveryTerm("blue"), discoveryTerm("green")}, true},
		{"none", nil, []any{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.DeepCopyJSONValue(tt.in)
			got, added := retargetTerms(tt.in, "blue", "green")
			if !reflect.DeepEqual(got, tt.want) || added != tt.added {
				t.Fatalf("retargetTerms = %v (added %v), want %v (added %v)", got, added, tt.want, tt.added)
			}
			if tt.in != nil && !reflect.DeepEqual(tt.in, before) {
				t.Fatalf("the input changed: %v", tt.in)
			}
		})
	}
}

// karpenterCRD is a v1 cluster-scoped CRD that keeps its spec as given (no
// Karpenter validates it here).
func karpenterCRD(gvr schema.GroupVersionResource, kind string) *apiextv1.CustomResourceDefinition {
	preserve := true
	obj := apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
	return &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: gvr.Resource + "." + gvr.Group},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: gvr.Group, Scope: apiextv1.ClusterScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: gvr.Resource, Kind: kind, ListKind: kind + "List"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{Name: gvr.Version, Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{"spec": obj}}}}},
		},
	}
}

func installKarpenterCRDs(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ctx := ctxT(t)
	cs := must(apiextclient.NewForConfig(cfg))
	for _, crd := range []*apiextv1.CustomResourceDefinition{karpenterCRD(EC2NodeClasses, "EC2NodeClass"), karpenterCRD(NodePools, "NodePool")} {
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

func nodeClass(name string, subnets, groups []any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"role": "KarpenterNodeRole-blue", "amiSelectorTerms": []any{map[string]any{"alias": "al2023@latest"}},
			"subnetSelectorTerms": subnets, "securityGroupSelectorTerms": groups},
	}}
}

// TestRetargetKarpenterNodeClasses runs against a real kube-apiserver:
// first without Karpenter's CRDs, then with EC2NodeClasses as blue's
// restore leaves them.
func TestRetargetKarpenterNodeClasses(t *testing.T) {
	green := startCluster(t, "green")
	ctx := ctxT(t)
	a := green.activities(WithPageSize(2))
	in := KarpenterNodeClassesInput{Cluster: green.ref, From: "blue", To: "green"}

	start := time.Now()
	res, err := a.RetargetKarpenterNodeClasses(ctx, in)
	if err != nil || !reflect.DeepEqual(res, KarpenterNodeClassesResult{}) {
		t.Fatalf("without the CRD: %+v, %v; want Installed=false and nothing else", res, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("without the CRD the call took %v: the 404 was retried", d)
	}

	installKarpenterCRDs(t, green.cfg)
	dyn := must(dynamic.NewForConfig(green.cfg))
	classes := dyn.Resource(EC2NodeClasses)
	for _, nc := range []*unstructured.Unstructured{
		nodeClass("default", []any{discoveryTerm("blue")}, []any{discoveryTerm("blue"), map[string]any{"id": "sg-0123"}}),
		nodeClass("gpu", []any{map[string]any{"tags": map[string]any{KarpenterDiscoveryKey: "blue", "tier": "private"}}}, []any{map[string]any{"id": "sg-0123"}}),
		nodeClass("pinned", []any{map[string]any{"id": "subnet-1"}}, []any{map[string]any{"id": "sg-0123"}}),
		nodeClass("done", []any{discoveryTerm("blue"), discoveryTerm("green")}, []any{discoveryTerm("green")}),
	} {
		must(classes.Create(ctx, nc, metav1.CreateOptions{}))
	}
	for _, name := range []string{"default", "spot", "gpu"} {
		must(dyn.Resource(NodePools).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": map[string]any{"name": name},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}}}},
		}}, metav1.CreateOptions{}))
	}

	res, err = a.RetargetKarpenterNodeClasses(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := KarpenterNodeClassesResult{Updated: []string{"default", "gpu"}, Unchanged: []string{"done", "pinned"}, NodePools: 3, Installed: true}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	spec := func(name string) map[string]any {
		o := must(classes.Get(ctx, name, metav1.GetOptions{}))
		return o.Object["spec"].(map[string]any)
	}
	if got, want := spec("default")["subnetSelectorTerms"], []any{discoveryTerm("blue"), discoveryTerm("green")}; !reflect.DeepEqual(got, want) {
		t.Errorf("default's subnet terms = %v, want %v", got, want)
	}
	if got, want := spec("default")["securityGroupSelectorTerms"], []any{discoveryTerm("blue"), discoveryTerm("green"), map[string]any{"id": "sg-0123"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("default's security group terms = %v, want %v", got, want)
	}
	if got, want := spec("gpu")["subnetSelectorTerms"], []any{
		map[string]any{"tags": map[string]any{KarpenterDiscoveryKey: "blue", "tier": "private"}},
		map[string]any{"tags": map[string]any{KarpenterDiscoveryKey: "green", "tier": "private"}},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("gpu's subnet terms = %v, want %v", got, want)
	}
	if got := spec("default")["role"]; got != "KarpenterNodeRole-blue" {
		t.Errorf("default's role = %v, want it kept", got)
	}

	// Again: nothing changes, not even a resourceVersion.
	rv := must(classes.Get(ctx, "default", metav1.GetOptions{})).GetResourceVersion()
	again, err := a.RetargetKarpenterNodeClasses(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (KarpenterNodeClassesResult{Unchanged: []string{"default", "done", "gpu", "pinned"}, NodePools: 3, Installed: true}); !reflect.DeepEqual(again, want) {
		t.Fatalf("second run %+v, want %+v", again, want)
	}
	if got := must(classes.Get(ctx, "default", metav1.GetOptions{})).GetResourceVersion(); got != rv {
		t.Fatalf("the second run wrote default (resourceVersion %s -> %s)", rv, got)
	}

	_, err = a.RetargetKarpenterNodeClasses(ctx, KarpenterNodeClassesInput{Cluster: green.ref, From: "blue", To: "blue"})
	if failures.TypeOf(err) != failures.Validation {
		t.Fatalf("from = to: err = %v, want Validation", err)
	}
}

// TestRetargetKarpenterNodeClassesConflict: an update that loses an
// optimistic-concurrency race is redone on a fresh read.
func TestRetargetKarpenterNodeClassesConflict(t *testing.T) {
	scheme := runtime.NewScheme()
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
		EC2NodeClasses: "EC2NodeClassList", NodePools: "NodePoolList",
	}, nodeClass("default", []any{discoveryTerm("blue")}, []any{discoveryTerm("blue")}))
	var updates atomic.Int32
	dyn.PrependReactor("update", "ec2nodeclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
		if updates.Add(1) == 1 {
			return true, nil, apierrors.NewConflict(EC2NodeClasses.GroupResource(), "default", nil)
		}
		return false, nil, nil
	})
	ref := clusters.Ref{Name: "green", Region: "us-east-1"}
	a := New(staticResolver{"green": &rest.Config{Host: "https://green.invalid"}}, WithClientFactory(func(*rest.Config) (*Clients, error) {
		return &Clients{Dynamic: dyn}, nil
	}))
	res, err := a.RetargetKarpenterNodeClasses(context.Background(), KarpenterNodeClassesInput{Cluster: ref, From: "blue", To: "green"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Updated, []string{"default"}) || updates.Load() != 2 {
		t.Fatalf("result %+v after %d updates, want default updated on the second", res, updates.Load())
	}
	o, err := dyn.Resource(EC2NodeClasses).Get(context.Background(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	terms, _, _ := unstructured.NestedSlice(o.Object, "spec", "subnetSelectorTerms")
	if !reflect.DeepEqual(terms, []any{discoveryTerm("blue"), discoveryTerm("green")}) {
		t.Fatalf("terms = %v", terms)
	}
}
