package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cutover-dev/cutover/internal/clusters"
)

// fakeCluster is an in-memory cluster behind the same Clients the
// activities use: client-go's kubernetes/fake clientset with a list reactor
// that honours Limit/Continue (the stock fake returns everything at once),
// and minimal metadata and dynamic clients that page the same way. Pages
// are served from pre-sorted slices without deep copies, so the benchmark
// measures the scan, not the fake.
type fakeCluster struct {
	typed       map[schema.GroupVersionResource][]kruntime.Object
	meta        map[schema.GroupVersionResource][]metav1.PartialObjectMetadata
	apps        []unstructured.Unstructured
	lists       atomic.Int64
	unpaged     atomic.Int64
	unpagedWhat atomic.Value
	maxPage     atomic.Int64
	clients     *Clients
	resLists    []*metav1.APIResourceList
}

func (f *fakeCluster) page(opts metav1.ListOptions, n int) (start, end int, cont string) {
	f.lists.Add(1)
	if opts.Limit <= 0 {
		f.unpaged.Add(1)
		return 0, n, ""
	}
	if opts.Continue != "" {
		start, _ = strconv.Atoi(opts.Continue)
	}
	end = min(n, start+int(opts.Limit))
	if end < n {
		cont = strconv.Itoa(end)
	}
	if int64(end-start) > f.maxPage.Load() {
		f.maxPage.Store(int64(end - start))
	}
	return start, end, cont
}

// fakeKube overrides discovery: the stock fake discovery serves no resources.
type fakeKube struct {
	*fake.Clientset
	disc *fakeDiscovery
	f    *fakeCluster
}

func (k *fakeKube) Discovery() discovery.DiscoveryInterface { return k.disc }

// CoreV1 serves Nodes itself: client-go's fake drops Limit and Continue from
// cluster-scoped list actions (NewRootListActionWithOptions overwrites
// ListOptions with the selectors only), so the reactor cannot page nodes.
func (k *fakeKube) CoreV1() corev1client.CoreV1Interface {
	return fakeCoreV1{CoreV1Interface: k.Clientset.CoreV1(), f: k.f}
}

type fakeCoreV1 struct {
	corev1client.CoreV1Interface
	f *fakeCluster
}

func (c fakeCoreV1) Nodes() corev1client.NodeInterface {
	return fakeNodes{NodeInterface: c.CoreV1Interface.Nodes(), f: c.f}
}

type fakeNodes struct {
	corev1client.NodeInterface
	f *fakeCluster
}

func (n fakeNodes) List(_ context.Context, opts metav1.ListOptions) (*corev1.NodeList, error) {
	items := n.f.typed[schema.GroupVersionResource{Version: "v1", Resource: "nodes"}]
	s, e, cont := n.f.page(opts, len(items))
	l := &corev1.NodeList{ListMeta: metav1.ListMeta{Continue: cont}}
	for _, o := range items[s:e] {
		l.Items = append(l.Items, *o.(*corev1.Node))
	}
	return l, nil
}

type fakeDiscovery struct {
	*fakediscovery.FakeDiscovery
	lists []*metav1.APIResourceList
}

func (d *fakeDiscovery) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return d.lists, nil
}
func (d *fakeDiscovery) ServerVersion() (*version.Info, error) {
	return &version.Info{Major: "1", Minor: "31", GitVersion: "v1.31.14-eks-bench"}, nil
}
func (d *fakeDiscovery) RESTClient() rest.Interface { return nil } // no /metrics in the fake

type fakeMetadata struct{ f *fakeCluster }

func (m fakeMetadata) Resource(gvr schema.GroupVersionResource) metadata.Getter {
	return fakeMetadataResource{f: m.f, gvr: gvr}
}

type fakeMetadataResource struct {
	metadata.ResourceInterface // only List is implemented
	f                          *fakeCluster
	gvr                        schema.GroupVersionResource
}

func (r fakeMetadataResource) Namespace(string) metadata.ResourceInterface { return r }
func (r fakeMetadataResource) List(_ context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	items := r.f.meta[r.gvr]
	s, e, cont := r.f.page(opts, len(items))
	return &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{Continue: cont}, Items: items[s:e]}, nil
}

type fakeDynamic struct {
	dynamic.Interface
	f *fakeCluster
}

func (d fakeDynamic) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return fakeDynamicResource{f: d.f}
}

type fakeDynamicResource struct {
	dynamic.NamespaceableResourceInterface // only List is implemented
	f                                      *fakeCluster
}

func (r fakeDynamicResource) Namespace(string) dynamic.ResourceInterface { return r }
func (r fakeDynamicResource) List(_ context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	s, e, cont := r.f.page(opts, len(r.f.apps))
	l := &unstructured.UnstructuredList{Object: map[string]any{}, Items: r.f.apps[s:e]}
	l.SetContinue(cont)
	return l, nil
}

// add stores a typed object and its metadata.
func (f *fakeCluster) add(gvr schema.GroupVersionResource, obj kruntime.Object) {
	f.typed[gvr] = append(f.typed[gvr], obj)
	m, _ := meta.Accessor(obj)
	f.meta[gvr] = append(f.meta[gvr], metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), Labels: m.GetLabels(), Annotations: m.GetAnnotations(), UID: m.GetUID(),
	}})
}

func lastAppliedJSON(apiVersion, kind, ns, name string, spec any) string {
	b, _ := json.Marshal(map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]string{"app": name, "team": "shop"}}, "spec": spec})
	return string(b)
}

// newFakeCluster builds a cluster of exactly n objects (n >= 1000) of mixed
// kinds: nodes, pods (some crash-looping), Deployments, StatefulSets, PDBs
// (some with maxUnavailable 0), Services, ConfigMaps, Ingresses, Helm release
// Secrets (four revisions per release) and Argo CD Applications. About one in
// ten Ingresses and Deployments carries a removed API in its last-applied
// annotation and one in ten Helm releases declares a removed API.
func newFakeCluster(n int) *fakeCluster {
	f := &fakeCluster{typed: map[schema.GroupVersionResource][]kruntime.Object{}, meta: map[schema.GroupVersionResource][]metav1.PartialObjectMetadata{}}
	gvr := func(g, v, r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: v, Resource: r}
	}
	var (
		nodesR  = gvr("", "v1", "nodes")
		podsR   = gvr("", "v1", "pods")
		svcR    = gvr("", "v1", "services")
		cmR     = gvr("", "v1", "configmaps")
		secR    = gvr("", "v1", "secrets")
		depR    = gvr("apps", "v1", "deployments")
		stsR    = gvr("apps", "v1", "statefulsets")
		pdbR    = gvr("policy", "v1", "poddisruptionbudgets")
		ingR    = gvr("networking.k8s.io", "v1", "ingresses")
		pct     = func(p int) int { return n * p / 1000 }
		nNodes  = pct(5)
		nPods   = pct(300)
		nDeps   = pct(60)
		nSts    = pct(20)
		nPDBs   = pct(40)
		nSvc    = pct(150)
		nIng    = pct(100)
		nHelm   = pct(100) // secrets: 4 revisions per release
		nApps   = pct(25)
		nCM     = n - nNodes - nPods - nDeps - nSts - nPDBs - nSvc - nIng - nHelm - nApps
		ns      = func(i int) string { return "team-" + strconv.Itoa(i%40) }
		filler  = map[string]any{"replicas": 3, "template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/shop/app:1.2.3", "resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}}}}}}
		uid     = 0
		nextUID = func() string { uid++; return fmt.Sprintf("uid-%08d", uid) }
		objMeta = func(namespace, name string, ann map[string]string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Name: name, Namespace: namespace, UID: typesUID(nextUID()), Labels: map[string]string{"app": name}, Annotations: ann}
		}
	)
	for i := 0; i < nNodes; i++ {
		kv := "v1.31.14-eks-1"
		if i%10 == 9 {
			kv = "v1.27.16-eks-1"
		}
		f.add(nodesR, &corev1.Node{ObjectMeta: objMeta("", fmt.Sprintf("ip-10-0-%d-%d", i/250, i%250), nil),
			Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kv},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
	}
	for i := 0; i < nPods; i++ {
		p := &corev1.Pod{ObjectMeta: objMeta(ns(i), fmt.Sprintf("app-%d-abcde", i), nil),
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/shop/app:1.2.3"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true}}}}
		if i%100 == 0 {
			p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		}
		f.add(podsR, p)
	}
	for i := 0; i < nDeps; i++ {
		name, av := fmt.Sprintf("app-%d", i), "apps/v1"
		if i%10 == 3 {
			av = "extensions/v1beta1"
		}
		f.add(depR, &appsv1.Deployment{ObjectMeta: objMeta(ns(i), name, map[string]string{LastAppliedAnnotation: lastAppliedJSON(av, "Deployment", ns(i), name, filler)}),
			Spec: appsv1.DeploymentSpec{Replicas: i32(3), Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}}}})
	}
	for i := 0; i < nSts; i++ {
		name := fmt.Sprintf("db-%d", i)
		f.add(stsR, &appsv1.StatefulSet{ObjectMeta: objMeta(ns(i), name, nil),
			Spec: appsv1.StatefulSetSpec{Replicas: i32(3), Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}}}})
	}
	for i := 0; i < nPDBs; i++ {
		mu := intstr.FromInt32(1)
		if i%20 == 0 {
			mu = intstr.FromInt32(0)
		}
		f.add(pdbR, &policyv1.PodDisruptionBudget{ObjectMeta: objMeta(ns(i), fmt.Sprintf("app-%d", i), nil),
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &mu, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", i)}}}})
	}
	for i := 0; i < nSvc; i++ {
		name := fmt.Sprintf("svc-%d", i)
		f.add(svcR, &corev1.Service{ObjectMeta: objMeta(ns(i), name, map[string]string{LastAppliedAnnotation: lastAppliedJSON("v1", "Service", ns(i), name, map[string]any{"ports": []any{map[string]any{"port": 80}}})})})
	}
	for i := 0; i < nIng; i++ {
		name, av := fmt.Sprintf("web-%d", i), "networking.k8s.io/v1"
		if i%10 == 0 {
			av = "extensions/v1beta1"
		}
		f.add(ingR, &networkingv1.Ingress{ObjectMeta: objMeta(ns(i), name, map[string]string{LastAppliedAnnotation: lastAppliedJSON(av, "Ingress", ns(i), name, map[string]any{"rules": []any{map[string]any{"host": name + ".example.com"}}})})})
	}
	for i := 0; i < nCM; i++ {
		name := fmt.Sprintf("config-%d", i)
		f.add(cmR, &corev1.ConfigMap{ObjectMeta: objMeta(ns(i), name, map[string]string{LastAppliedAnnotation: lastAppliedJSON("v1", "ConfigMap", ns(i), name, nil)}),
			Data: map[string]string{"app.yaml": "log: info\nfeatures: [a, b, c]\n"}})
	}
	for i := 0; i < nHelm; i++ {
		rel, rev := fmt.Sprintf("rel-%d", i/4), i%4+1
		status := "superseded"
		if rev == 4 {
			status = "deployed"
		}
		pdbAPI := "policy/v1"
		if (i/4)%10 == 0 {
			pdbAPI = "policy/v1beta1"
		}
		manifest := fmt.Sprintf("---\n# Source: %[1]s/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %[1]s\nspec:\n  replicas: 3\n"+
			"---\n# Source: %[1]s/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: %[1]s\nspec:\n  ports:\n  - port: 80\n"+
			"---\n# Source: %[1]s/templates/pdb.yaml\napiVersion: %[2]s\nkind: PodDisruptionBudget\nmetadata:\n  name: %[1]s\nspec:\n  maxUnavailable: 1\n", rel, pdbAPI)
		data, err := EncodeHelmRelease(map[string]any{"name": rel, "namespace": ns(i / 4), "version": rev, "info": map[string]any{"status": status},
			"chart": map[string]any{"metadata": map[string]any{"name": rel, "version": "1.0." + strconv.Itoa(rev)}}, "manifest": manifest})
		if err != nil {
			panic(err)
		}
		f.add(secR, &corev1.Secret{ObjectMeta: objMeta(ns(i/4), fmt.Sprintf("sh.helm.release.v1.%s.v%d", rel, rev), nil),
			Type: HelmReleaseSecretType, Data: map[string][]byte{"release": data}})
		f.typed[secR][len(f.typed[secR])-1].(*corev1.Secret).Labels = map[string]string{"owner": "helm", "name": rel, "status": status, "version": strconv.Itoa(rev)}
	}
	for i := 0; i < nApps; i++ {
		var res []any
		for j := 0; j < 10; j++ {
			g, v, k := "apps", "v1", "Deployment"
			if j == 0 && i%10 == 0 {
				g, v, k = "autoscaling", "v2beta2", "HorizontalPodAutoscaler"
			}
			res = append(res, map[string]any{"group": g, "version": v, "kind": k, "namespace": ns(i), "name": fmt.Sprintf("app-%d-%d", i, j), "status": "Synced"})
		}
		f.apps = append(f.apps, unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": fmt.Sprintf("app-%d", i), "namespace": "argocd"}, "status": map[string]any{"resources": res}}})
	}
	for _, items := range f.meta {
		sort.SliceStable(items, func(i, j int) bool {
			return items[i].Namespace+"/"+items[i].Name < items[j].Namespace+"/"+items[j].Name
		})
	}

	// Discovery: the resources above, as an apiserver lists them.
	byGV := map[string][]metav1.APIResource{}
	for r := range f.meta {
		gv := r.GroupVersion().String()
		byGV[gv] = append(byGV[gv], metav1.APIResource{Name: r.Resource, Namespaced: r.Resource != "nodes", Verbs: []string{"get", "list", "watch"}})
	}
	for gv, rs := range byGV {
		f.resLists = append(f.resLists, &metav1.APIResourceList{GroupVersion: gv, APIResources: rs})
	}

	cs := fake.NewSimpleClientset()
	cs.PrependReactor("list", "*", func(action k8stesting.Action) (bool, kruntime.Object, error) {
		la := action.(k8stesting.ListActionImpl)
		items := f.typed[la.GetResource()]
		if sel := la.GetListRestrictions().Fields; sel != nil && !sel.Empty() {
			var kept []kruntime.Object
			for _, o := range items {
				if s, ok := o.(*corev1.Secret); ok && !sel.Matches(fields.Set{"type": string(s.Type)}) {
					continue
				}
				kept = append(kept, o)
			}
			items = kept
		}
		if ns := la.GetNamespace(); ns != "" {
			var kept []kruntime.Object
			for _, o := range items {
				if m, _ := meta.Accessor(o); m.GetNamespace() == ns {
					kept = append(kept, o)
				}
			}
			items = kept
		}
		if la.GetListOptions().Limit <= 0 {
			f.unpagedWhat.Store(la.GetResource().String())
		}
		s, e, cont := f.page(la.GetListOptions(), len(items))
		listGVK := la.GetKind()
		listGVK.Kind += "List"
		list, err := scheme.Scheme.New(listGVK)
		if err != nil {
			return true, nil, err
		}
		if err := meta.SetList(list, items[s:e]); err != nil {
			return true, nil, err
		}
		list.(metav1.ListInterface).SetContinue(cont)
		return true, list, nil
	})
	disc := &fakeDiscovery{FakeDiscovery: cs.Discovery().(*fakediscovery.FakeDiscovery), lists: f.resLists}
	f.clients = &Clients{Kube: &fakeKube{Clientset: cs, disc: disc, f: f}, Metadata: fakeMetadata{f}, Dynamic: fakeDynamic{f: f}}
	return f
}

func typesUID(s string) types.UID { return types.UID(s) }

// BenchmarkPreflightScan10k runs PreflightBlue over a cluster of 10,000
// objects of mixed kinds (see newFakeCluster), paging 500 objects at a time
// (Helm release Secrets 20 at a time). The cluster is fake: client-go's
// kubernetes/fake clientset with a paginating list reactor and in-memory
// metadata and dynamic clients behind the same Clients the activity uses
// with a real apiserver, so the figures cover the scan itself (annotation
// and Helm release decoding, PDB matching, findings) but not the network or
// the apiserver's encoding. It reports objects/s (the cluster's 10,000
// objects per scan), reads/s (ObjectsScanned: pods and workloads are read
// by their own check and again by the annotation scan), the peak heap in use
// (HeapInuse, sampled every millisecond while the scan runs; the fixture
// itself is about 40 MB of it) and fails if any list was not paginated or a
// page exceeded the limit.
func BenchmarkPreflightScan10k(b *testing.B) {
	const objects = 10000
	f := newFakeCluster(objects)
	ref := clusters.Ref{Name: "bench", Region: "us-east-1"}
	a := New(staticResolver{"bench": &rest.Config{Host: "https://bench.invalid"}},
		WithClientFactory(func(*rest.Config) (*Clients, error) { return f.clients, nil }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	in := PreflightInput{Cluster: ref, TargetVersion: "1.32", ArgoCDNamespace: "argocd"}
	ctx := context.Background()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()

	b.ResetTimer()
	scanned, findings := 0, 0
	for i := 0; i < b.N; i++ {
		res, err := a.PreflightBlue(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		scanned += res.ObjectsScanned
		findings = len(res.Findings)
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	close(stop)
	wg.Wait()

	if f.unpaged.Load() > 0 {
		b.Fatalf("%d list calls without a Limit (last: %v)", f.unpaged.Load(), f.unpagedWhat.Load())
	}
	if f.maxPage.Load() > 500 {
		b.Fatalf("a page held %d objects, more than the limit", f.maxPage.Load())
	}
	b.ReportMetric(float64(objects*b.N)/elapsed.Seconds(), "objects/s")
	b.ReportMetric(float64(scanned)/elapsed.Seconds(), "reads/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-over-fixture-MB")
	b.ReportMetric(float64(findings), "findings")
}

// kubernetes.Interface is satisfied by the override.
var _ kubernetes.Interface = &fakeKube{}
