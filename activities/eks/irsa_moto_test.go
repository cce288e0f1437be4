package eks

// IRSA against moto: IAM's real wire protocol (query API, URL-encoded trust
// policies, OIDC providers) and the emulated EKS's per-cluster OIDC issuers.

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// recordingIAM counts the trust policy writes made through it.
type recordingIAM struct {
	IAMAPI
	mu     sync.Mutex
	writes []string
}

func (r *recordingIAM) UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, o ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error) {
	r.mu.Lock()
	r.writes = append(r.writes, aws.ToString(in.RoleName))
	r.mu.Unlock()
	return r.IAMAPI.UpdateAssumeRolePolicy(ctx, in, o...)
}

func (r *recordingIAM) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes)
}

type recordingIAMClients struct {
	ClientFactory
	rec *recordingIAM
}

func (c recordingIAMClients) IAM(ctx context.Context, region string) (IAMAPI, error) {
	api, err := c.ClientFactory.IAM(ctx, region)
	if err != nil {
		return nil, err
	}
	c.rec.IAMAPI = api
	return c.rec, nil
}

func TestIRSAMoto(t *testing.T) {
	ctx := context.Background()
	moto := sandboxtest.Moto(t)
	cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	ekc, iamc := awseks.NewFromConfig(cfg), iam.NewFromConfig(cfg)
	issuer := func(name string) string {
		t.Helper()
		if _, err := ekc.CreateCluster(ctx, &awseks.CreateClusterInput{
			Name: aws.String(name), Version: aws.String(motoBlueVersion), RoleArn: aws.String(motoClusterRole),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0a1", "subnet-0b2"}},
		}); err != nil {
			t.Fatal(err)
		}
		out, err := ekc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Cluster.Identity.Oidc.Issuer)
	}
	blueIssuer, greenIssuer := issuer("irsa-blue"), issuer("irsa-green")
	if blueIssuer == "" || blueIssuer == greenIssuer {
		t.Fatalf("moto gives blue issuer %q and green %q; the sandbox's EKS emulation gives each cluster its own", blueIssuer, greenIssuer)
	}
	blueHost, greenHost := strings.TrimPrefix(blueIssuer, "https://"), strings.TrimPrefix(greenIssuer, "https://")
	bp, err := iamc.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(blueIssuer), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"},
	})
	if err != nil {
		t.Fatal(err)
	}
	blueARN := aws.ToString(bp.OpenIDConnectProviderArn)
	account := strings.Split(blueARN, ":")[4]
	gh, err := iamc.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://" + githubHP), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	stmt := func(provider, host, op string, sub any) string {
		s := irsaStatement(host, op, sub)
		return strings.ReplaceAll(s, "arn:aws:iam::"+irsaAccount+":oidc-provider/"+host, provider)
	}
	roles := map[string]string{
		"irsa-vpc-cni": policyDoc(stmt(blueARN, blueHost, "StringEquals", "system:serviceaccount:kube-system:aws-node")),
		"irsa-orders":  policyDoc(ec2Statement, stmt(blueARN, blueHost, "StringLike", []string{"system:serviceaccount:shop:orders", "system:serviceaccount:shop:orders-*"})),
		"irsa-github":  policyDoc(stmt(aws.ToString(gh.OpenIDConnectProviderArn), githubHP, "StringLike", "repo:acme/shop:*")),
		"irsa-nodes":   policyDoc(ec2Statement),
	}
	for _, n := range sortedKeys(roles) {
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(roles[n])}); err != nil {
			t.Fatal(err)
		}
	}
	trust := func(role string) string {
		t.Helper()
		out, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := decodePolicyDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}

	rec := &recordingIAM{}
	a := NewFromAWS(moto.AWS(), nil)
	a.clients = recordingIAMClients{ClientFactory: a.clients, rec: rec}
	a.pollInterval = 0
	env := newActivityEnv(t, a)
	blue, green := clusters.Ref{Name: "irsa-blue", Region: moto.Region}, clusters.Ref{Name: "irsa-green", Region: moto.Region}

	dry, err := run[IRSAPlan](t, env, a.PlanIRSATrust, PlanIRSAInput{Migration: "irsa-moto", Blue: blue})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun() || !slices.Equal(dry.RolesToChange(), []string{"irsa-orders", "irsa-vpc-cni"}) || dry.Blue.ARN != blueARN || !dry.Blue.Exists {
		t.Fatalf("dry run %+v", dry)
	}
	plan, err := run[IRSAPlan](t, env, a.PlanIRSATrust, PlanIRSAInput{Migration: "irsa-moto", Blue: blue, Green: green})
	if err != nil {
		t.Fatal(err)
	}
	greenARN := "arn:aws:iam::" + account + ":oidc-provider/" + greenHost
	if plan.Green.ARN != greenARN || plan.Green.Exists || !slices.Equal(plan.RolesToChange(), []string{"irsa-orders", "irsa-vpc-cni"}) {
		t.Fatalf("plan %+v", plan)
	}
	if r := plan.Roles[0]; !slices.Equal(r.Subjects, []string{"system:serviceaccount:shop:orders", "system:serviceaccount:shop:orders-*"}) || len(r.Add) != 1 {
		t.Errorf("irsa-orders %+v", r)
	}
	if rec.count() != 0 {
		t.Fatal("the plan wrote")
	}

	ensure := func() EnsureOIDCProviderResult {
		t.Helper()
		res, err := run[EnsureOIDCProviderResult](t, env, a.EnsureGreenOIDCProvider, EnsureOIDCProviderInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if res.ARN != greenARN || !res.Created || res.Adopted {
			t.Fatalf("ensure green's provider %+v", res)
		}
		return res
	}
	prov := ensure()
	if again := ensure(); again != prov {
		t.Fatalf("ensure again %+v", again)
	}
	gp, err := iamc.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(greenARN)})
	if err != nil {
		t.Fatal(err)
	}
	if tags := tagMap(gp.Tags); tags[TagMigration] != "irsa-moto" || tags[TagManagedBy] != "cutover" || !slices.Equal(gp.ClientIDList, []string{"sts.amazonaws.com"}) {
		t.Errorf("green's provider tags %v clients %v", tags, gp.ClientIDList)
	}

	apply := func() ApplyIRSAResult {
		t.Helper()
		res, err := run[ApplyIRSAResult](t, env, a.ApplyIRSATrust, ApplyIRSAInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Added) != 2 || res.Added[0].RoleName != "irsa-orders" || res.Added[1].RoleName != "irsa-vpc-cni" || len(res.Failed) != 0 {
			t.Fatalf("apply %+v", res)
		}
		return res
	}
	applied := apply()
	if rec.count() != 2 {
		t.Errorf("%d trust policy writes, want 2", rec.count())
	}
	for role, sub := range map[string]string{"irsa-vpc-cni": `"` + greenHost + `:sub":"system:serviceaccount:kube-system:aws-node"`, "irsa-orders": `"` + greenHost + `:sub":["system:serviceaccount:shop:orders","system:serviceaccount:shop:orders-*"]`} {
		doc := trust(role)
		if !strings.Contains(doc, `"Federated":"`+greenARN+`"`) || !strings.Contains(doc, sub) || !strings.Contains(doc, `"`+greenHost+`:aud":"sts.amazonaws.com"`) || !strings.Contains(doc, blueARN) {
			t.Errorf("%s after apply: %s", role, doc)
		}
	}
	if again := apply(); !reflect.DeepEqual(again.Added, applied.Added) || rec.count() != 2 {
		t.Fatalf("apply again %+v, %d writes", again, rec.count())
	}
	for _, n := range []string{"irsa-github", "irsa-nodes"} {
		if !sameJSON(trust(n), roles[n]) {
			t.Errorf("%s was changed: %s", n, trust(n))
		}
	}

	rev, err := run[RevertIRSAResult](t, env, a.RevertIRSATrust, RevertIRSAInput{Migration: "irsa-moto", Region: moto.Region, Added: applied.Added, GreenProviderARN: prov.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rev.Removed, applied.Added) || !rev.ProviderDeleted || len(rev.Findings) != 0 {
		t.Fatalf("revert %+v", rev)
	}
	for n, doc := range roles {
		if !sameJSON(trust(n), doc) {
			t.Errorf("%s after revert:\n%s\nwant\n%s", n, trust(n), doc)
		}
	}
	if _, err := iamc.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(greenARN)}); !isIAMCode(err, "NoSuchEntity") {
		t.Errorf("green's provider after revert: %v", err)
	}
	if rev, err := a.RevertIRSATrust(ctx, RevertIRSAInput{Migration: "irsa-moto", Region: moto.Region, Added: applied.Added, GreenProviderARN: prov.ARN}); err != nil || len(rev.Removed) != 0 || len(rev.AlreadyGone) != 2 {
		t.Fatalf("revert again %+v %v", rev, err)
	}

	// Forward again, then blue is retired.
	ensure()
	apply()
	ret, err := run[RetireBlueIRSAResult](t, env, a.RetireBlueIRSATrust, RetireBlueIRSAInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if len(ret.Updated) != 2 || !ret.ProviderDeleted || len(ret.Failed) != 0 || len(ret.Findings) != 0 {
		t.Fatalf("retire blue %+v", ret)
	}
	for _, n := range []string{"irsa-orders", "irsa-vpc-cni"} {
		if doc := trust(n); strings.Contains(doc, blueARN) || !strings.Contains(doc, greenARN) {
			t.Errorf("%s after retiring blue: %s", n, doc)
		}
	}
	if doc := trust("irsa-orders"); !strings.Contains(doc, "ec2.amazonaws.com") {
		t.Errorf("irsa-orders lost its EC2 statement: %s", doc)
	}
	list, err := iamc.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, p := range list.OpenIDConnectProviderList {
		arns = append(arns, aws.ToString(p.Arn))
	}
	if slices.Contains(arns, blueARN) || !slices.Contains(arns, greenARN) {
		t.Errorf("providers after retiring blue: %v", arns)
	}
	ret, err = a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil || len(ret.Updated) != 0 || !ret.ProviderAlreadyGone {
		t.Fatalf("retire blue again %+v %v", ret, err)
	}
	t.Logf("%d trust policy writes in all", rec.count())
}
