package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of blue's IRSA estate.
const (
	// TrustManagedTag is activities/eks.TagTrustManaged (the sandbox
	// cannot import it): blue's IRSA roles carry it, value "true", as an
	// operator tags the roles whose trust cutover may edit.
	TrustManagedTag = "cutover.dev/trust-managed"
	// AddonRoleName is the role of blue's vpc-cni add-on
	// (serviceAccountRoleArn), assumed by kube-system/aws-node.
	AddonRoleName       = "cutover-blue-vpc-cni"
	AddonServiceAccount = "kube-system/aws-node"
	// WorkloadRoleName is the role a workload's ServiceAccount names in its
	// eks.amazonaws.com/role-arn annotation.
	WorkloadRoleName       = "cutover-shop-orders"
	WorkloadServiceAccount = "shop/orders"
	// ArgoCDRoleName is the role of Argo CD's application controller
	// (ServiceAccount ArgoCDServiceAccount), which Argo CD uses to reach
	// EKS clusters.
	ArgoCDRoleName       = "cutover-argocd-controller"
	ArgoCDServiceAccount = ArgoCDNamespace + "/argocd-application-controller"
	// UnrelatedRoleName trusts GitHub Actions' OIDC provider, not blue.
	UnrelatedRoleName = "cutover-github-deploy"
	// GitHubOIDCIssuer is GitHub Actions' OIDC issuer.
	GitHubOIDCIssuer = "https://token.actions.githubusercontent.com"
	// EKSOIDCThumbprint is the thumbprint of the root CA of the EKS OIDC
	// issuers' certificate chain, as IAM OIDC providers for EKS carry it.
	EKSOIDCThumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

// IRSASeed is blue's IRSA estate: the IAM OIDC provider for blue's issuer
// and the roles that trust it.
type IRSASeed struct {
	// Issuer is blue's OIDC issuer as DescribeCluster reports it.
	Issuer      string `json:"issuer"`
	ProviderARN string `json:"providerARN"`
	// AddonRoleARN is the vpc-cni add-on's serviceAccountRoleArn.
	AddonRoleARN        string `json:"addonRoleARN"`
	AddonServiceAccount string `json:"addonServiceAccount"`
	// WorkloadRoleARN is the role of ServiceAccount shop/orders.
	WorkloadRoleARN        string `json:"workloadRoleARN"`
	WorkloadServiceAccount string `json:"workloadServiceAccount"`
	// ArgoCDRoleARN is the role of ServiceAccount
	// argocd/argocd-application-controller.
	ArgoCDRoleARN        string `json:"argoCDRoleARN"`
	ArgoCDServiceAccount string `json:"argoCDServiceAccount"`
	// UnrelatedRoleARN trusts GitHub Actions' OIDC provider.
	UnrelatedRoleARN  string   `json:"unrelatedRoleARN"`
	GitHubProviderARN string   `json:"gitHubProviderARN"`
	RoleNames         []string `json:"roleNames"`
}

// seedIRSA creates the IAM OIDC provider for blue's issuer (read from
// DescribeCluster, so it runs after seedEKS), the vpc-cni add-on's role, a
// workload's role and Argo CD's application controller's role trusting it
// for their service accounts, as the EKS user guide writes them, and a
// role that trusts GitHub Actions' provider instead.
func seedIRSA(ctx context.Context, cfg aws.Config, s *Seed) error {
	out, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(BlueCluster)})
	if err != nil {
		return err
	}
	c := out.Cluster
	if c == nil || c.Identity == nil || c.Identity.Oidc == nil || aws.ToString(c.Identity.Oidc.Issuer) == "" {
		return fmt.Errorf("cluster %s reports no OIDC issuer (identity.oidc.issuer)", BlueCluster)
	}
	r := &s.IRSA
	r.Issuer = aws.ToString(c.Identity.Oidc.Issuer)
	r.AddonServiceAccount, r.WorkloadServiceAccount, r.ArgoCDServiceAccount = AddonServiceAccount, WorkloadServiceAccount, ArgoCDServiceAccount
	api := iam.NewFromConfig(cfg)
	if r.ProviderARN, err = createOIDCProvider(ctx, api, r.Issuer, EKSOIDCThumbprint, map[string]string{"alpha.eksctl.io/cluster-name": BlueCluster}); err != nil {
		return err
	}
	if r.GitHubProviderARN, err = createOIDCProvider(ctx, api, GitHubOIDCIssuer, "", nil); err != nil {
		return err
	}
	host := strings.TrimPrefix(r.Issuer, "https://")
	roles := []struct {
		name, trust, managed string
		inline               map[string]string
		arn                  *string
	}{
		{AddonRoleName, irsaTrust(r.ProviderARN, host, "StringEquals", serviceAccountSubject(AddonServiceAccount)),
			"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy", nil, &r.AddonRoleARN},
		{WorkloadRoleName, irsaTrust(r.ProviderARN, host, "StringEquals", serviceAccountSubject(WorkloadServiceAccount)), "",
			map[string]string{"orders-queue": fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:%s:%s:orders"}]}`, s.Region, s.AccountID)},
			&r.WorkloadRoleARN},
		{ArgoCDRoleName, irsaTrust(r.ProviderARN, host, "StringEquals", serviceAccountSubject(ArgoCDServiceAccount)), "",
			map[string]string{"describe-clusters": fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["eks:DescribeCluster","eks:ListClusters"],"Resource":"arn:aws:eks:%s:%s:cluster/*"}]}`, s.Region, s.AccountID)},
			&r.ArgoCDRoleARN},
		{UnrelatedRoleName, irsaTrust(r.GitHubProviderARN, strings.TrimPrefix(GitHubOIDCIssuer, "https://"), "StringLike", "repo:cutover-dev/shop:*"), "",
			nil, &r.UnrelatedRoleARN},
	}
	for _, ro := range roles {
		out, err := api.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(ro.name), AssumeRolePolicyDocument: aws.String(ro.trust),
			// Tagged as an operator tags the roles whose trust cutover
			// may edit (deploy/iam's policy allows no other).
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}, {Key: aws.String(TrustManagedTag), Value: aws.String("true")}},
		})
		if err != nil {
			return fmt.Errorf("role %s: %w", ro.name, err)
		}
		*ro.arn = aws.ToString(out.Role.Arn)
		r.RoleNames = append(r.RoleNames, ro.name)
		if ro.managed != "" {
			if _, err := api.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(ro.name), PolicyArn: aws.String(ro.managed)}); err != nil {
				return fmt.Errorf("attach %s to %s: %w", ro.managed, ro.name, err)
			}
		}
		for name, doc := range ro.inline {
			if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(ro.name), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
				return fmt.Errorf("policy %s of %s: %w", name, ro.name, err)
			}
		}
	}
	// Blue's vpc-cni add-on runs under its IRSA role, as EKS's guide sets
	// it up: green must get the add-on with the same role, which only
	// becomes ACTIVE once the role trusts green's issuer.
	if _, err := eks.NewFromConfig(cfg).CreateAddon(ctx, &eks.CreateAddonInput{
		ClusterName: aws.String(BlueCluster), AddonName: aws.String("vpc-cni"), ServiceAccountRoleArn: aws.String(r.AddonRoleARN),
	}); err != nil {
		return fmt.Errorf("create add-on vpc-cni on %s with role %s: %w", BlueCluster, r.AddonRoleARN, err)
	}
	return nil
}

func createOIDCProvider(ctx context.Context, api *iam.Client, issuer, thumbprint string, tags map[string]string) (string, error) {
	in := &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}}
	if thumbprint != "" {
		in.ThumbprintList = []string{thumbprint}
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := api.CreateOpenIDConnectProvider(ctx, in)
	if err != nil {
		return "", fmt.Errorf("IAM OIDC provider for %s: %w", issuer, err)
	}
	return aws.ToString(out.OpenIDConnectProviderArn), nil
}

// serviceAccountSubject is the token subject of "namespace/name".
func serviceAccountSubject(nsName string) string {
	ns, name, _ := strings.Cut(nsName, "/")
	return "system:serviceaccount:" + ns + ":" + name
}

// irsaTrust is a trust policy letting tokens of provider (issuer host
// host) with subject sub (under op) and audience sts.amazonaws.com assume
// the role.
func irsaTrust(provider, host, op, sub string) string {
	cond := map[string]map[string]string{"StringEquals": {host + ":aud": "sts.amazonaws.com"}}
	if cond[op] == nil {
		cond[op] = map[string]string{}
	}
	cond[op][host+":sub"] = sub
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]string{"Federated": provider},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": cond,
		}},
	})
	return string(b)
}

// SeedIRSAServiceAccounts gives blue's Kubernetes side the ServiceAccounts
// that assume the seeded IRSA roles, annotated eks.amazonaws.com/role-arn:
// the workload's (shop/orders) and Argo CD's application controller's
// (argocd/argocd-application-controller). The add-on's role is the
// add-on's serviceAccountRoleArn on the AWS side, as EKS manages its
// ServiceAccount.
func SeedIRSAServiceAccounts(ctx context.Context, blue *Kube, s *Seed) error {
	cs, err := blue.Clientset()
	if err != nil {
		return err
	}
	for _, sa := range []struct{ ref, role string }{
		{s.IRSA.WorkloadServiceAccount, s.IRSA.WorkloadRoleARN},
		{s.IRSA.ArgoCDServiceAccount, s.IRSA.ArgoCDRoleARN},
	} {
		ns, name, ok := strings.Cut(sa.ref, "/")
		if !ok || sa.role == "" {
			return fmt.Errorf("cluster %s: IRSA service account %q (role %q) is not namespace/name with a role", blue.Name, sa.ref, sa.role)
		}
		obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Annotations: map[string]string{"eks.amazonaws.com/role-arn": sa.role}}}
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create ServiceAccount %s: %w", blue.Name, sa.ref, err)
		}
	}
	return nil
}
