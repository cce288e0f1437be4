package sandbox

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Names of blue's Karpenter estate, as Karpenter's getting-started guide
// sets it up.
const (
	// KarpenterDiscoveryKey tags the subnets and security groups an
	// EC2NodeClass selects; its value is the cluster name.
	KarpenterDiscoveryKey = "karpenter.sh/discovery"
	KarpenterNodePool     = "default"
	KarpenterNodeClass    = "default"
	// KarpenterAMIAlias is the EC2NodeClass's AMI selector.
	KarpenterAMIAlias = "al2023@latest"
	// KarpenterCPULimit is the NodePool's limit on provisioned CPU.
	KarpenterCPULimit = "100"
)

// Karpenter resources (v1), read through the dynamic client. Both are
// cluster-scoped.
var (
	NodePoolGVR     = schema.GroupVersionResource{Group: "karpenter.sh", Version: "v1", Resource: "nodepools"}
	EC2NodeClassGVR = schema.GroupVersionResource{Group: "karpenter.k8s.aws", Version: "v1", Resource: "ec2nodeclasses"}
)

// KarpenterSeed is blue's Karpenter discovery: the subnets and security
// groups tagged DiscoveryKey=DiscoveryValue in EC2, and the NodePool and
// EC2NodeClass on blue's apiserver that use them (SeedKarpenter).
type KarpenterSeed struct {
	DiscoveryKey     string   `json:"discoveryKey"`
	DiscoveryValue   string   `json:"discoveryValue"`
	SubnetIDs        []string `json:"subnetIDs"`
	SecurityGroupIDs []string `json:"securityGroupIDs"`
	NodePool         string   `json:"nodePool"`
	NodeClass        string   `json:"nodeClass"`
}

// seedKarpenter tags blue's subnets and its security group with
// karpenter.sh/discovery=blue. It runs after seedNetwork; tagging again
// leaves the same tags.
func seedKarpenter(ctx context.Context, cfg aws.Config, s *Seed) error {
	k := &s.Karpenter
	k.DiscoveryKey, k.DiscoveryValue = KarpenterDiscoveryKey, BlueCluster
	k.NodePool, k.NodeClass = KarpenterNodePool, KarpenterNodeClass
	k.SubnetIDs = slices.Clone(s.SubnetIDs)
	k.SecurityGroupIDs = []string{s.SecurityGroupID}
	if len(k.SubnetIDs) == 0 || s.SecurityGroupID == "" {
		return fmt.Errorf("no subnets or security group to tag (subnets %v, security group %q)", k.SubnetIDs, s.SecurityGroupID)
	}
	resources := append(slices.Clone(k.SubnetIDs), k.SecurityGroupIDs...)
	if _, err := ec2.NewFromConfig(cfg).CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: resources,
		Tags:      []ec2types.Tag{{Key: aws.String(k.DiscoveryKey), Value: aws.String(k.DiscoveryValue)}},
	}); err != nil {
		return fmt.Errorf("tag %v with %s=%s: %w", resources, k.DiscoveryKey, k.DiscoveryValue, err)
	}
	return nil
}

// KarpenterCRDs are the CustomResourceDefinitions of Karpenter's NodePool
// (karpenter.sh) and EC2NodeClass (karpenter.k8s.aws), v1 and
// cluster-scoped, with a status subresource. Their schema keeps spec and
// status as given (x-kubernetes-preserve-unknown-fields): the sandbox
// stores Karpenter's objects, no Karpenter validates them.
func KarpenterCRDs() []*apiextv1.CustomResourceDefinition {
	return []*apiextv1.CustomResourceDefinition{
		karpenterCRD(NodePoolGVR, "nodepool", "NodePool"),
		karpenterCRD(EC2NodeClassGVR, "ec2nodeclass", "EC2NodeClass", "ec2nc", "ec2ncs"),
	}
}

func karpenterCRD(gvr schema.GroupVersionResource, singular, kind string, shortNames ...string) *apiextv1.CustomResourceDefinition {
	preserve := func() apiextv1.JSONSchemaProps {
		return apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr(true)}
	}
	return &apiextv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: gvr.Resource + "." + gvr.Group},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: gvr.Group,
			Names: apiextv1.CustomResourceDefinitionNames{
				Plural: gvr.Resource, Singular: singular, Kind: kind, ListKind: kind + "List",
				ShortNames: shortNames, Categories: []string{"karpenter"},
			},
			Scope: apiextv1.ClusterScoped,
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: gvr.Version, Served: true, Storage: true,
				Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextv1.JSONSchemaProps{"spec": preserve(), "status": preserve()},
				}},
			}},
		},
	}
}

// SeedKarpenter creates blue's Karpenter configuration as the
// getting-started guide writes it: EC2NodeClass "default" (blue's node
// role, AMI alias al2023@latest, subnets and security groups selected by
// the discovery tag) and NodePool "default" on it (on-demand and spot,
// amd64, at most 100 CPUs, consolidation when empty or underutilized),
// each with the Ready status Karpenter's controller would report. The CRDs
// must be installed (InstallCRDs) and s seeded (SeedAWS); objects that
// exist are left as they are. Their names are added to objs.
func SeedKarpenter(ctx context.Context, blue *Kube, s *Seed, objs *KubeSeed) error {
	k := s.Karpenter
	if k.DiscoveryKey == "" || k.NodePool == "" || k.NodeClass == "" {
		return fmt.Errorf("cluster %s: the AWS seed has no Karpenter discovery (%+v)", blue.Name, k)
	}
	dyn, err := dynamic.NewForConfig(blue.RESTConfig())
	if err != nil {
		return err
	}
	discovery := []any{map[string]any{"tags": map[string]any{k.DiscoveryKey: k.DiscoveryValue}}}
	now := time.Now().UTC().Format(time.RFC3339)
	ready := func() []any {
		return []any{map[string]any{"type": "Ready", "status": "True", "reason": "Ready", "lastTransitionTime": now, "observedGeneration": int64(1)}}
	}
	var subnets []any
	for i, id := range k.SubnetIDs {
		sub := map[string]any{"id": id}
		if i < len(s.AZs) {
			sub["zone"] = s.AZs[i]
		}
		subnets = append(subnets, sub)
	}
	var groups []any
	for _, id := range k.SecurityGroupIDs {
		groups = append(groups, map[string]any{"id": id, "name": SecurityGroup})
	}
	for _, o := range []struct {
		gvr    schema.GroupVersionResource
		obj    *unstructured.Unstructured
		status map[string]any
		names  *[]string
	}{
		{EC2NodeClassGVR, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
			"metadata": map[string]any{"name": k.NodeClass},
			"spec": map[string]any{
				"role":                       NodeRole,
				"amiSelectorTerms":           []any{map[string]any{"alias": KarpenterAMIAlias}},
				"subnetSelectorTerms":        discovery,
				"securityGroupSelectorTerms": discovery,
			},
		}}, map[string]any{
			"subnets": subnets, "securityGroups": groups, "instanceProfile": BlueCluster + "_" + NodeRole,
			"conditions": ready(),
		}, &objs.EC2NodeClasses},
		{NodePoolGVR, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
			"metadata": map[string]any{"name": k.NodePool},
			"spec": map[string]any{
				"template": map[string]any{"spec": map[string]any{
					"nodeClassRef": map[string]any{"group": EC2NodeClassGVR.Group, "kind": "EC2NodeClass", "name": k.NodeClass},
					"requirements": []any{
						map[string]any{"key": "karpenter.sh/capacity-type", "operator": "In", "values": []any{"on-demand", "spot"}},
						map[string]any{"key": "kubernetes.io/arch", "operator": "In", "values": []any{"amd64"}},
					},
					"expireAfter": "720h",
				}},
				"limits":     map[string]any{"cpu": KarpenterCPULimit},
				"disruption": map[string]any{"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"},
			},
		}}, map[string]any{
			"resources":  map[string]any{"cpu": "0", "memory": "0", "nodes": "0", "pods": "0"},
			"conditions": ready(),
		}, &objs.NodePools},
	} {
		name, kind := o.obj.GetName(), o.obj.GetKind()
		created, err := dyn.Resource(o.gvr).Create(ctx, o.obj, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
		switch {
		case apierrors.IsAlreadyExists(err):
		case err != nil:
			return fmt.Errorf("cluster %s: create %s %s: %w", blue.Name, kind, name, err)
		default:
			// What Karpenter's controller would report: resolved and Ready.
			created.Object["status"] = o.status
			if _, err := dyn.Resource(o.gvr).UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: "cutover-sandbox"}); err != nil {
				return fmt.Errorf("cluster %s: %s %s status: %w", blue.Name, kind, name, err)
			}
		}
		*o.names = append(*o.names, name)
	}
	blue.log.Info("Seeded Karpenter configuration", "nodePool", k.NodePool, "nodeClass", k.NodeClass)
	return nil
}
