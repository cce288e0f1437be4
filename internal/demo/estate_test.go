package demo_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/workflows"
)

// assertGreenEstate checks, by reading the emulated AWS and green's API
// after blue was retired, what green got of blue's estate around EKS:
// blue's aws-auth mappings, an access entry for the role Argo CD reaches
// green with, Karpenter discovery (the subnets and security group blue and
// green shared now carry green's value; green's EC2NodeClass selects both),
// blue's CronJob, and the parity rows that say so.
func assertGreenEstate(ctx context.Context, t *testing.T, cfg aws.Config, sb *sandbox.Sandbox, green string, rep workflows.MigrationReport) {
	t.Helper()
	gcs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}

	// aws-auth: the operators' role and the break-glass user, as blue maps them.
	cm, err := gcs.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{})
	if err != nil {
		t.Errorf("green's aws-auth: %v", err)
	} else {
		var roles, users []sandbox.AWSAuthMapping
		if err := yaml.Unmarshal([]byte(cm.Data["mapRoles"]), &roles); err != nil {
			t.Errorf("green's aws-auth mapRoles %q: %v", cm.Data["mapRoles"], err)
		}
		if err := yaml.Unmarshal([]byte(cm.Data["mapUsers"]), &users); err != nil {
			t.Errorf("green's aws-auth mapUsers %q: %v", cm.Data["mapUsers"], err)
		}
		if !slices.ContainsFunc(roles, func(m sandbox.AWSAuthMapping) bool {
			return m.RoleARN == sb.Seed.AWSAuth.OpsRoleARN && len(m.Groups) > 0
		}) {
			t.Errorf("green's aws-auth mapRoles %+v lacks %s", roles, sb.Seed.AWSAuth.OpsRoleARN)
		}
		if !slices.ContainsFunc(users, func(m sandbox.AWSAuthMapping) bool {
			return m.UserARN == sb.Seed.AWSAuth.BreakglassUserARN && slices.Contains(m.Groups, "system:masters")
		}) {
			t.Errorf("green's aws-auth mapUsers %+v lacks %s in system:masters", users, sb.Seed.AWSAuth.BreakglassUserARN)
		}
	}

	// Argo CD's IRSA role has an access entry on green with cluster admin.
	eksc := awseks.NewFromConfig(cfg)
	argoRole := sb.Seed.IRSA.ArgoCDRoleARN
	pols, err := eksc.ListAssociatedAccessPolicies(ctx, &awseks.ListAssociatedAccessPoliciesInput{ClusterName: aws.String(green), PrincipalArn: aws.String(argoRole)})
	if err != nil {
		t.Errorf("access entry of Argo CD's role %s on green: %v", argoRole, err)
	} else if !slices.ContainsFunc(pols.AssociatedAccessPolicies, func(p ekstypes.AssociatedAccessPolicy) bool {
		return aws.ToString(p.PolicyArn) == workflows.ArgoCDAccessPolicy && p.AccessScope != nil && p.AccessScope.Type == "cluster"
	}) {
		t.Errorf("Argo CD's role on green has policies %+v, want %s on the cluster", pols.AssociatedAccessPolicies, workflows.ArgoCDAccessPolicy)
	}

	// Karpenter: blue is gone, so what both used carries green's value.
	assertKarpenterDiscovery(ctx, t, cfg, sb.Seed, green, "after blue was retired")
	k := sb.Seed.Karpenter
	dyn, err := dynamic.NewForConfig(sb.Green.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := dyn.Resource(schema.GroupVersionResource{Group: "karpenter.k8s.aws", Version: "v1", Resource: "ec2nodeclasses"}).Get(ctx, k.NodeClass, metav1.GetOptions{})
	if err != nil {
		t.Errorf("green's EC2NodeClass %s: %v", k.NodeClass, err)
	} else {
		for _, field := range []string{"subnetSelectorTerms", "securityGroupSelectorTerms"} {
			terms, _, _ := unstructured.NestedSlice(nc.Object, "spec", field)
			var values []string
			for _, term := range terms {
				if v, ok, _ := unstructured.NestedString(term.(map[string]any), "tags", k.DiscoveryKey); ok {
					values = append(values, v)
				}
			}
			if !slices.Contains(values, k.DiscoveryValue) || !slices.Contains(values, green) {
				t.Errorf("green's EC2NodeClass %s selects %s by %v, want %s and %s", k.NodeClass, field, values, k.DiscoveryValue, green)
			}
		}
	}

	// Blue's CronJob runs on green on the same schedule.
	for _, name := range sb.BlueObjects.CronJobs {
		ns, n, _ := strings.Cut(name, "/")
		if cj, err := gcs.BatchV1().CronJobs(ns).Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("green's CronJob %s: %v", name, err)
		} else if cj.Spec.Schedule == "" {
			t.Errorf("green's CronJob %s has no schedule", name)
		}
	}

	// The parity table says all of it, row by row.
	if rep.Parity == nil {
		t.Fatal("no parity table")
	}
	want := map[string]string{
		"argocd-access " + argoRole:                       "",
		"aws-auth " + sb.Seed.AWSAuth.OpsRoleARN:          "",
		"aws-auth " + sb.Seed.AWSAuth.BreakglassUserARN:   "",
		"karpenter-nodeclass EC2NodeClass " + k.NodeClass: "",
	}
	for _, name := range sb.BlueObjects.CronJobs {
		want["cronjob "+name] = ""
	}
	for _, id := range k.SubnetIDs {
		want["karpenter-discovery subnet/"+id] = ""
	}
	for _, r := range rep.Parity.Rows {
		if _, ok := want[r.Check+" "+r.Object]; ok && r.OK {
			delete(want, r.Check+" "+r.Object)
		}
	}
	if len(want) > 0 {
		t.Errorf("parity lacks passed rows for %v; rows %+v", keys(want), rep.Parity.Rows)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// assertKarpenterDiscovery checks that every subnet and security group
// Karpenter discovered carries green's name in the discovery tag.
func assertKarpenterDiscovery(ctx context.Context, t *testing.T, cfg aws.Config, seed *sandbox.Seed, green, when string) {
	t.Helper()
	k := seed.Karpenter
	ids := append(slices.Clone(k.SubnetIDs), k.SecurityGroupIDs...)
	tags, err := ec2.NewFromConfig(cfg).DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: ids}, {Name: aws.String("key"), Values: []string{k.DiscoveryKey}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range tags.Tags {
		got[aws.ToString(tg.ResourceId)] = aws.ToString(tg.Value)
	}
	for _, id := range ids {
		if got[id] != green {
			t.Errorf("%s %s=%q %s, want %q", id, k.DiscoveryKey, got[id], when, green)
		}
	}
}
