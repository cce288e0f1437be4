package sandbox

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Names of blue's Pod Identity and access estate.
const (
	// PodIdentityRoleName is the role ServiceAccount payments/worker assumes
	// through EKS Pod Identity.
	PodIdentityRoleName       = "cutover-payments-worker"
	PodIdentityNamespace      = "payments"
	PodIdentityServiceAccount = "worker"
	// CIRoleName is the CI system's role, with an access entry on blue.
	CIRoleName = "cutover-ci-deploy"
	// CIGroup is the Kubernetes group of the CI role's access entry.
	CIGroup = "cutover:deployers"
	// CIAccessPolicy is associated with the CI role's entry, scoped to
	// namespaces shop and payments.
	CIAccessPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
)

// podIdentityTrust is the trust policy of a role for EKS Pod Identity, as
// the EKS user guide writes it.
const podIdentityTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

// PodIdentitySeed is blue's Pod Identity association and the CI role's
// access entry.
type PodIdentitySeed struct {
	RoleARN        string `json:"roleARN"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	AssociationID  string `json:"associationID"`
	// CIRoleARN has an access entry on blue (group CIGroup, CIAccessPolicy
	// on shop and payments).
	CIRoleARN string `json:"ciRoleARN"`
}

// seedPodIdentity creates, after seedEKS, the role of ServiceAccount
// payments/worker (trusting pods.eks.amazonaws.com) with its Pod Identity
// association on blue, and the CI role with an access entry on blue. The
// emulated EKS refuses principals that IAM does not know, so the roles come
// first.
func seedPodIdentity(ctx context.Context, cfg aws.Config, s *Seed) error {
	api := iam.NewFromConfig(cfg)
	p := &s.PodIdentity
	p.Namespace, p.ServiceAccount = PodIdentityNamespace, PodIdentityServiceAccount
	ciTrust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, s.AccountID)
	for _, r := range []struct {
		name, trust string
		arn         *string
	}{
		{PodIdentityRoleName, podIdentityTrust, &p.RoleARN},
		{CIRoleName, ciTrust, &p.CIRoleARN},
	} {
		out, err := api.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust),
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
		})
		if err != nil {
			return fmt.Errorf("role %s: %w", r.name, err)
		}
		*r.arn = aws.ToString(out.Role.Arn)
	}
	c := eks.NewFromConfig(cfg)
	out, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(BlueCluster), Namespace: aws.String(p.Namespace), ServiceAccount: aws.String(p.ServiceAccount),
		RoleArn: aws.String(p.RoleARN), Tags: map[string]string{"team": "platform"},
	})
	if err != nil {
		return fmt.Errorf("Pod Identity association %s/%s: %w", p.Namespace, p.ServiceAccount, err)
	}
	p.AssociationID = aws.ToString(out.Association.AssociationId)
	if _, err := c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{
		ClusterName: aws.String(BlueCluster), PrincipalArn: aws.String(p.CIRoleARN), KubernetesGroups: []string{CIGroup},
	}); err != nil {
		return fmt.Errorf("access entry %s: %w", CIRoleName, err)
	}
	if _, err := c.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{
		ClusterName: aws.String(BlueCluster), PrincipalArn: aws.String(p.CIRoleARN), PolicyArn: aws.String(CIAccessPolicy),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"shop", "payments"}},
	}); err != nil {
		return fmt.Errorf("access policy of %s: %w", CIRoleName, err)
	}
	return nil
}
