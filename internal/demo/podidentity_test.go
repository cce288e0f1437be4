package demo_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/internal/sandbox"
)

// assertGreenPodIdentity: reading the emulated AWS after the migration,
// green has blue's Pod Identity association (same namespace, service
// account and role, tagged with the migration) and the CI role's access
// entry with its group and namespaced policy.
func assertGreenPodIdentity(t *testing.T, ctx context.Context, cfg aws.Config, seed *sandbox.Seed, green, migration string) {
	t.Helper()
	eksc := awseks.NewFromConfig(cfg)
	p := seed.PodIdentity
	list, err := eksc.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(green), Namespace: aws.String(p.Namespace), ServiceAccount: aws.String(p.ServiceAccount),
	})
	if err != nil || len(list.Associations) != 1 {
		t.Fatalf("green's Pod Identity associations for %s/%s: %+v (%v), want one", p.Namespace, p.ServiceAccount, list, err)
	}
	a, err := eksc.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String(green), AssociationId: list.Associations[0].AssociationId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.Association.RoleArn) != p.RoleARN || a.Association.Tags["cutover.dev/migration"] != migration ||
		aws.ToString(a.Association.AssociationId) == p.AssociationID {
		t.Errorf("green's association %+v: want role %s, tagged %s, an ID of green's own", a.Association, p.RoleARN, migration)
	}
	e, err := eksc.DescribeAccessEntry(ctx, &awseks.DescribeAccessEntryInput{ClusterName: aws.String(green), PrincipalArn: aws.String(p.CIRoleARN)})
	if err != nil {
		t.Fatalf("green's access entry for the CI role %s: %v", p.CIRoleARN, err)
	}
	if !slices.Equal(e.AccessEntry.KubernetesGroups, []string{sandbox.CIGroup}) {
		t.Errorf("green's CI access entry groups %v, want [%s]", e.AccessEntry.KubernetesGroups, sandbox.CIGroup)
	}
	pols, err := eksc.ListAssociatedAccessPolicies(ctx, &awseks.ListAssociatedAccessPoliciesInput{ClusterName: aws.String(green), PrincipalArn: aws.String(p.CIRoleARN)})
	if err != nil || len(pols.AssociatedAccessPolicies) != 1 || aws.ToString(pols.AssociatedAccessPolicies[0].PolicyArn) != sandbox.CIAccessPolicy {
		t.Errorf("green's CI access policies %+v (%v), want %s", pols, err, sandbox.CIAccessPolicy)
	}
}
