package sandbox_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedKarpenter: blue's subnets and security group carry the
// karpenter.sh/discovery tag in EC2, and blue's apiserver has Karpenter's
// cluster-scoped CRDs and the EC2NodeClass and NodePool of the
// getting-started guide, whose selectors find exactly those subnets and
// that security group in EC2. Seeding the objects again changes nothing.
func TestSeedKarpenter(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	k := s.Karpenter
	want := sandbox.KarpenterSeed{
		DiscoveryKey: "karpenter.sh/discovery", DiscoveryValue: sandbox.BlueCluster,
		SubnetIDs: s.SubnetIDs, SecurityGroupIDs: []string{s.SecurityGroupID}, NodePool: "default", NodeClass: "default",
	}
	if !reflect.DeepEqual(k, want) || len(k.SubnetIDs) != 3 {
		t.Fatalf("Karpenter seed %+v, want %+v", k, want)
	}
	cfg, _ := m.AWS().ForRegion(ctx, m.Region)
	ec := ec2.NewFromConfig(cfg)
	// What Karpenter resolves from selector terms {tags: {key: value}}.
	selected := func(tags map[string]any) (subnets, groups []string) {
		t.Helper()
		var filters []ec2types.Filter
		for key, v := range tags {
			filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + key), Values: []string{v.(string)}})
		}
		sn, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sn.Subnets {
			subnets = append(subnets, aws.ToString(x.SubnetId))
		}
		sg, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sg.SecurityGroups {
			if aws.ToString(x.GroupName) != sandbox.SecurityGroup {
				t.Errorf("security group %s (%s) carries the discovery tag", aws.ToString(x.GroupId), aws.ToString(x.GroupName))
			}
			groups = append(groups, aws.ToString(x.GroupId))
		}
		slices.Sort(subnets)
		slices.Sort(groups)
		return subnets, groups
	}
	wantSubnets := slices.Sorted(slices.Values(s.SubnetIDs))
	if subnets, groups := selected(map[string]any{k.DiscoveryKey: k.DiscoveryValue}); !slices.Equal(subnets, wantSubnets) || !slices.Equal(groups, k.SecurityGroupIDs) {
		t.Errorf("tagged %s=%s in EC2: subnets %v, security groups %v; want %v and %v", k.DiscoveryKey, k.DiscoveryValue, subnets, groups, wantSubnets, k.SecurityGroupIDs)
	}

	blue := sandboxtest.Kube(t, sandbox.BlueCluster)
	names, err := sandbox.InstallCRDs(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	ext := apiextclient.NewForConfigOrDie(blue.RESTConfig())
	for _, name := range []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"} {
		crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil || !slices.Contains(names, name) {
			t.Fatalf("CRD %s: %v (installed %v)", name, err, names)
		}
		v := crd.Spec.Versions
		if crd.Spec.Scope != "Cluster" || len(v) != 1 || v[0].Name != "v1" || !v[0].Served || !v[0].Storage || v[0].Subresources == nil || v[0].Subresources.Status == nil {
			t.Errorf("CRD %s: scope %s versions %+v", name, crd.Spec.Scope, v)
		}
	}
	objs := &sandbox.KubeSeed{}
	if err := sandbox.SeedKarpenter(ctx, blue, s, objs); err != nil {
		t.Fatal(err)
	}
	again := &sandbox.KubeSeed{}
	if err := sandbox.SeedKarpenter(ctx, blue, s, again); err != nil {
		t.Fatalf("seeding Karpenter again: %v", err)
	}
	if !slices.Equal(objs.NodePools, []string{"default"}) || !slices.Equal(objs.EC2NodeClasses, []string{"default"}) || !reflect.DeepEqual(objs, again) {
		t.Errorf("Karpenter objects %+v, again %+v", objs, again)
	}

	dyn := dynamic.NewForConfigOrDie(blue.RESTConfig())
	nc, err := dyn.Resource(sandbox.EC2NodeClassGVR).Get(ctx, k.NodeClass, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if role, _, _ := unstructured.NestedString(nc.Object, "spec", "role"); role != "cutover-blue-node-role" || nc.GetNamespace() != "" {
		t.Errorf("EC2NodeClass role %q namespace %q", role, nc.GetNamespace())
	}
	if amis, _, _ := unstructured.NestedSlice(nc.Object, "spec", "amiSelectorTerms"); !reflect.DeepEqual(amis, []any{map[string]any{"alias": "al2023@latest"}}) {
		t.Errorf("EC2NodeClass amiSelectorTerms %v", amis)
	}
	for _, field := range []string{"subnetSelectorTerms", "securityGroupSelectorTerms"} {
		terms, _, _ := unstructured.NestedSlice(nc.Object, "spec", field)
		if len(terms) != 1 {
			t.Fatalf("EC2NodeClass %s %v", field, terms)
		}
		tags, _, _ := unstructured.NestedMap(terms[0].(map[string]any), "tags")
		subnets, groups := selected(tags)
		if !reflect.DeepEqual(tags, map[string]any{"karpenter.sh/discovery": "blue"}) || !slices.Equal(subnets, wantSubnets) || !slices.Equal(groups, k.SecurityGroupIDs) {
			t.Errorf("EC2NodeClass %s %v selects subnets %v and security groups %v", field, tags, subnets, groups)
		}
	}
	np, err := dyn.Resource(sandbox.NodePoolGVR).Get(ctx, k.NodePool, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _ := unstructured.NestedMap(np.Object, "spec", "template", "spec", "nodeClassRef")
	if !reflect.DeepEqual(ref, map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}) {
		t.Errorf("NodePool nodeClassRef %v", ref)
	}
	reqs, _, _ := unstructured.NestedSlice(np.Object, "spec", "template", "spec", "requirements")
	wantReqs := []any{
		map[string]any{"key": "karpenter.sh/capacity-type", "operator": "In", "values": []any{"on-demand", "spot"}},
		map[string]any{"key": "kubernetes.io/arch", "operator": "In", "values": []any{"amd64"}},
	}
	if !reflect.DeepEqual(reqs, wantReqs) {
		t.Errorf("NodePool requirements %v", reqs)
	}
	cpu, _, _ := unstructured.NestedString(np.Object, "spec", "limits", "cpu")
	policy, _, _ := unstructured.NestedString(np.Object, "spec", "disruption", "consolidationPolicy")
	if cpu != "100" || policy != "WhenEmptyOrUnderutilized" {
		t.Errorf("NodePool limits cpu %q, consolidationPolicy %q", cpu, policy)
	}
	for _, o := range []*unstructured.Unstructured{nc, np} {
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		if len(conds) != 1 || conds[0].(map[string]any)["type"] != "Ready" || conds[0].(map[string]any)["status"] != "True" {
			t.Errorf("%s %s status conditions %v, want Ready", o.GetKind(), o.GetName(), conds)
		}
	}
}
