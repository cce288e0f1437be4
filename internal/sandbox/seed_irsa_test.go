package sandbox_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedIRSA: blue's IAM OIDC provider and the roles trusting it are in
// moto, and cutover's IRSA plan finds exactly the three IRSA roles (the
// vpc-cni add-on's, shop/orders' and Argo CD's application controller's).
func TestSeedIRSA(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	r := s.IRSA
	host := strings.TrimPrefix(r.Issuer, "https://")
	if !strings.HasPrefix(r.Issuer, "https://oidc.eks."+s.Region+".amazonaws.com/id/") ||
		r.ProviderARN != "arn:aws:iam::"+s.AccountID+":oidc-provider/"+host {
		t.Fatalf("IRSA seed %+v", r)
	}
	if r.ArgoCDRoleARN != "arn:aws:iam::"+s.AccountID+":role/cutover-argocd-controller" || r.ArgoCDServiceAccount != "argocd/argocd-application-controller" {
		t.Errorf("Argo CD controller's IRSA role %s for %s", r.ArgoCDRoleARN, r.ArgoCDServiceAccount)
	}
	cfg, _ := m.AWS().ForRegion(ctx, m.Region)
	api := iam.NewFromConfig(cfg)
	p, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(r.ProviderARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(p.Url) != host || !slices.Equal(p.ClientIDList, []string{"sts.amazonaws.com"}) || !slices.Equal(p.ThumbprintList, []string{sandbox.EKSOIDCThumbprint}) {
		t.Errorf("blue's provider: url %s clients %v thumbprints %v", aws.ToString(p.Url), p.ClientIDList, p.ThumbprintList)
	}
	for role, want := range map[string]string{
		sandbox.AddonRoleName:     "system:serviceaccount:kube-system:aws-node",
		sandbox.WorkloadRoleName:  "system:serviceaccount:shop:orders",
		sandbox.ArgoCDRoleName:    "system:serviceaccount:argocd:argocd-application-controller",
		sandbox.UnrelatedRoleName: "repo:cutover-dev/shop:*",
	} {
		out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
		if err != nil {
			doc = aws.ToString(out.Role.AssumeRolePolicyDocument)
		}
		if !strings.Contains(doc, want) || strings.Contains(doc, r.ProviderARN) == (role == sandbox.UnrelatedRoleName) {
			t.Errorf("role %s trust policy %s", role, doc)
		}
	}

	plan, err := eks.NewFromAWS(m.AWS(), nil).PlanIRSATrust(ctx, eks.PlanIRSAInput{
		Migration: "seed", Blue: clusters.Ref{Name: sandbox.BlueCluster, Region: s.Region},
	})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, rp := range plan.Roles {
		roles = append(roles, rp.RoleName)
	}
	if !slices.Equal(roles, []string{sandbox.ArgoCDRoleName, sandbox.AddonRoleName, sandbox.WorkloadRoleName}) || plan.Blue.ARN != r.ProviderARN || !plan.Blue.Exists {
		t.Fatalf("IRSA plan on the seeded blue: roles %v, blue %+v", roles, plan.Blue)
	}
}
