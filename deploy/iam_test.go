package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/iampolicy"
)

// The checked-in policy is `make iam-policy`: the generator's output for
// every document in deploy/examples, for an account given as a template
// placeholder.
const (
	policyFile     = "iam/cutover-worker-policy.json"
	policyAccount  = "${AccountId}"
	exampleAccount = "111122223333"
)

// examplesPolicy builds the policy of the given documents of deploy/examples
// (all of them when none is named) for account.
func examplesPolicy(t *testing.T, account string, names ...string) iampolicy.Document {
	t.Helper()
	if len(names) == 0 {
		files, _ := filepath.Glob(filepath.Join("examples", "*.json"))
		fleets, _ := filepath.Glob(filepath.Join("examples", "fleet", "*.json"))
		names = append(files, fleets...)
		if len(names) < 5 {
			t.Fatalf("found %d documents in deploy/examples", len(names))
		}
	} else {
		for i, n := range names {
			names[i] = filepath.Join("examples", n)
		}
	}
	var scope iampolicy.Scope
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := iampolicy.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		scope.Merge(s)
	}
	doc, err := iampolicy.Build(scope, iampolicy.Options{Account: account})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestIAMPolicyIsGenerated: the checked-in policy is what the generator
// makes of deploy/examples today, so neither drifts from the other.
func TestIAMPolicyIsGenerated(t *testing.T) {
	var want bytes.Buffer
	if err := iampolicy.Encode(&want, examplesPolicy(t, policyAccount)); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want.Bytes()) {
		t.Errorf("deploy/%s is not the generator's output for deploy/examples: run `make iam-policy` and review the diff", policyFile)
	}
}

func eksARN(region, resource string) string {
	return "arn:aws:eks:" + region + ":" + exampleAccount + ":" + resource
}

func arn(service, region, resource string) string {
	return "arn:aws:" + service + ":" + region + ":" + exampleAccount + ":" + resource
}

func req(action, resource string, kv ...string) iampolicy.Request {
	r := iampolicy.Request{Action: action, Resource: resource}
	for i := 0; i+1 < len(kv); i += 2 {
		if r.Context == nil {
			r.Context = map[string][]string{}
		}
		r.Context[kv[i]] = append(r.Context[kv[i]], strings.Split(kv[i+1], ",")...)
	}
	return r
}

// callsOfTheExamples are the calls the activities make for the migrations
// of deploy/examples, as IAM sees them (the resource each action is
// authorized on, from the Service Authorization Reference, and the
// condition keys the request carries). Every method of the activities'
// AWS interfaces must be here.
func callsOfTheExamples() map[string][]iampolicy.Request {
	const (
		blue     = "shop-prod"      // route53-weighted.json's blue, eu-west-1
		green    = "shop-prod-1-31" // and its green
		fleetGen = "tools-prod-1-33-7fk2q"
		hub      = "platform-mgmt" // cloudfront-continuous-deployment.json's Argo CD hub
		euw1     = "eu-west-1"
	)
	cluster := func(name string) string { return eksARN(euw1, "cluster/"+name) }
	tagged := []string{"aws:RequestTag/" + iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue}
	calls := map[string][]iampolicy.Request{
		"eks:ListClusters":            {req("eks:ListClusters", "*")},
		"eks:DescribeAddonVersions":   {req("eks:DescribeAddonVersions", "*")},
		"eks:DescribeClusterVersions": {req("eks:DescribeClusterVersions", "*")},
		"eks:CreateCluster":           {req("eks:CreateCluster", cluster(green), tagged...), req("eks:CreateCluster", cluster(fleetGen), tagged...)},
		"eks:DescribeCluster":         {req("eks:DescribeCluster", cluster(blue)), req("eks:DescribeCluster", cluster(green)), req("eks:DescribeCluster", cluster(fleetGen)), req("eks:DescribeCluster", cluster(hub))},
		"eks:DeleteCluster":           {req("eks:DeleteCluster", cluster(blue)), req("eks:DeleteCluster", cluster(green))},
		"eks:TagResource":             {req("eks:TagResource", cluster(green))},
		"eks:UntagResource":           {req("eks:UntagResource", cluster(green))},
		"eks:UpdateClusterVersion":    {req("eks:UpdateClusterVersion", cluster(blue))},
		"eks:ListUpdates":             {req("eks:ListUpdates", cluster(blue))},
		"eks:DescribeUpdate":          {req("eks:DescribeUpdate", cluster(blue))},
		"eks:ListNodegroups":          {req("eks:ListNodegroups", cluster(blue))},
		"eks:CreateNodegroup":         {req("eks:CreateNodegroup", cluster(green))},
		"eks:DescribeNodegroup":       {req("eks:DescribeNodegroup", eksARN(euw1, "nodegroup/"+blue+"/general/8ec7a4c1-1f5e-4c19-b1f6-0d1b2c3d4e5f"))},
		"eks:DeleteNodegroup":         {req("eks:DeleteNodegroup", eksARN(euw1, "nodegroup/"+green+"/general/8ec7a4c1"))},
		"eks:UpdateNodegroupVersion":  {req("eks:UpdateNodegroupVersion", eksARN(euw1, "nodegroup/"+blue+"/general/8ec7a4c1"))},
		"eks:UpdateNodegroupConfig":   {req("eks:UpdateNodegroupConfig", eksARN(euw1, "nodegroup/"+blue+"/general/8ec7a4c1"))},
		"eks:ListFargateProfiles":     {req("eks:ListFargateProfiles", cluster(blue))},
		"eks:DescribeFargateProfile":  {req("eks:DescribeFargateProfile", eksARN(euw1, "fargateprofile/"+blue+"/fp-default/1ab2"))},
		"eks:DeleteFargateProfile":    {req("eks:DeleteFargateProfile", eksARN(euw1, "fargateprofile/"+blue+"/fp-default/1ab2"))},
		"eks:ListAddons":              {req("eks:ListAddons", cluster(blue))},
		"eks:CreateAddon":             {req("eks:CreateAddon", cluster(green))},
		"eks:DescribeAddon":           {req("eks:DescribeAddon", eksARN(euw1, "addon/"+blue+"/vpc-cni/3ac8"))},
		"eks:UpdateAddon":             {req("eks:UpdateAddon", eksARN(euw1, "addon/"+blue+"/coredns/3ac8"))},
		"eks:DeleteAddon":             {req("eks:DeleteAddon", eksARN(euw1, "addon/"+blue+"/vpc-cni/3ac8"))},
		"eks:ListAccessEntries":       {req("eks:ListAccessEntries", cluster(blue))},
		"eks:CreateAccessEntry":       {req("eks:CreateAccessEntry", cluster(green))},
		"eks:DescribeAccessEntry":     {req("eks:DescribeAccessEntry", eksARN(euw1, "access-entry/"+blue+"/role/"+exampleAccount+"/ops/5ec8"))},
		"eks:ListAssociatedAccessPolicies": {
			req("eks:ListAssociatedAccessPolicies", eksARN(euw1, "access-entry/"+blue+"/role/"+exampleAccount+"/ops/5ec8"))},
		"eks:AssociateAccessPolicy":          {req("eks:AssociateAccessPolicy", eksARN(euw1, "access-entry/"+green+"/role/"+exampleAccount+"/ops/5ec8"))},
		"eks:ListPodIdentityAssociations":    {req("eks:ListPodIdentityAssociations", cluster(blue))},
		"eks:CreatePodIdentityAssociation":   {req("eks:CreatePodIdentityAssociation", cluster(green))},
		"eks:DescribePodIdentityAssociation": {req("eks:DescribePodIdentityAssociation", eksARN(euw1, "podidentityassociation/"+blue+"/a-0123456789abcdef0"))},
		"eks:DeletePodIdentityAssociation":   {req("eks:DeletePodIdentityAssociation", eksARN(euw1, "podidentityassociation/"+green+"/a-0123456789abcdef0"))},
		"eks:ListInsights":                   {req("eks:ListInsights", cluster(blue))},
		"eks:DescribeInsight":                {req("eks:DescribeInsight", cluster(blue))},

		"ssm:GetParameter": {
			req("ssm:GetParameter", "arn:aws:ssm:"+euw1+"::parameter/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"),
			req("ssm:GetParameter", "arn:aws:ssm:"+euw1+"::parameter/aws/service/bottlerocket/aws-k8s-1.31/x86_64/latest/image_id"),
		},

		"ec2:DescribeSubnets":                {req("ec2:DescribeSubnets", "*")},
		"ec2:DescribeImages":                 {req("ec2:DescribeImages", "*")},
		"ec2:DescribeLaunchTemplateVersions": {req("ec2:DescribeLaunchTemplateVersions", "*")},
		"ec2:DescribeTags":                   {req("ec2:DescribeTags", "*")},
		"ec2:DescribeVolumes":                {req("ec2:DescribeVolumes", "*")},
		"ec2:DeleteVolume": {
			req("ec2:DeleteVolume", arn("ec2", euw1, "volume/vol-0abc1234def567890"), "aws:ResourceTag/"+eks.TagCreatedForPV, "pvc-3f1c2b9e-0d7a-4f7e-9c55-6a1b2c3d4e5f")},
		"ec2:CreateLaunchTemplateVersion":    {req("ec2:CreateLaunchTemplateVersion", arn("ec2", euw1, "launch-template/lt-0abc1234def567890"))},
		"ec2:DeleteLaunchTemplateVersions":   {req("ec2:DeleteLaunchTemplateVersions", arn("ec2", euw1, "launch-template/lt-0abc1234def567890"))},
		"ec2:CreateTags": {
			req("ec2:CreateTags", arn("ec2", euw1, "subnet/subnet-0abc1234"), "aws:TagKeys", iampolicy.KarpenterDiscoveryTag),
			req("ec2:CreateTags", arn("ec2", euw1, "security-group/sg-0abc1234"), "aws:TagKeys", iampolicy.KarpenterDiscoveryTag),
		},
		"ec2:DeleteTags": {req("ec2:DeleteTags", arn("ec2", euw1, "subnet/subnet-0abc1234"), "aws:TagKeys", iampolicy.KarpenterDiscoveryTag)},

		"iam:ListRoles":                  {req("iam:ListRoles", "*")},
		"iam:ListOpenIDConnectProviders": {req("iam:ListOpenIDConnectProviders", "*")},
		"iam:GetRole": {
			req("iam:GetRole", arn("iam", "", "role/shop-payments-irsa"), "aws:ResourceTag/"+iampolicy.TrustTagKey, iampolicy.TrustTagValue)},
		"iam:UpdateAssumeRolePolicy": {
			req("iam:UpdateAssumeRolePolicy", arn("iam", "", "role/shop-payments-irsa"), "aws:ResourceTag/"+iampolicy.TrustTagKey, iampolicy.TrustTagValue)},
		"iam:GetOpenIDConnectProvider": {
			req("iam:GetOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"))},
		"iam:CreateOpenIDConnectProvider": {
			req("iam:CreateOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210"),
				"aws:RequestTag/"+iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue,
				"aws:TagKeys", iampolicy.ManagedByTagKey+","+eks.TagMigration+","+eks.TagCluster)},
		"iam:TagOpenIDConnectProvider": {
			req("iam:TagOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"),
				"aws:TagKeys", eks.TagAdoptedBy)},
		"iam:DeleteOpenIDConnectProvider": {
			req("iam:DeleteOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210"),
				"aws:ResourceTag/"+iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue)},
		"iam:PassRole": {
			req("iam:PassRole", arn("iam", "", "role/shop-prod-cluster"), "iam:PassedToService", "eks.amazonaws.com"),
			req("iam:PassRole", arn("iam", "", "role/shop-payments-pod-identity"), "iam:PassedToService", "pods.eks.amazonaws.com"),
		},
		"iam:CreateServiceLinkedRole": {
			req("iam:CreateServiceLinkedRole", arn("iam", "", "role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup"),
				"iam:AWSServiceName", "eks-nodegroup.amazonaws.com")},

		"route53:ListResourceRecordSets":   {req("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ")},
		"route53:ChangeResourceRecordSets": {req("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ")},
		"route53:GetChange":                {req("route53:GetChange", "arn:aws:route53:::change/C2682N5HXP0BZ4")},

		"cloudfront:GetDistribution":                     {req("cloudfront:GetDistribution", arn("cloudfront", "", "distribution/E1ABCDEF234567"))},
		"cloudfront:GetDistributionConfig":               {req("cloudfront:GetDistributionConfig", arn("cloudfront", "", "distribution/E1ABCDEF234567"))},
		"cloudfront:UpdateDistribution":                  {req("cloudfront:UpdateDistribution", arn("cloudfront", "", "distribution/E1ABCDEF234567"))},
		"cloudfront:CopyDistribution":                    {req("cloudfront:CopyDistribution", arn("cloudfront", "", "distribution/E2WEBPROD12345")), req("cloudfront:CreateDistribution", arn("cloudfront", "", "distribution/E3STAGING67890"))},
		"cloudfront:DeleteDistribution":                  {req("cloudfront:DeleteDistribution", arn("cloudfront", "", "distribution/E3STAGING67890"))},
		"cloudfront:UpdateDistributionWithStagingConfig": {req("cloudfront:UpdateDistributionWithStagingConfig", arn("cloudfront", "", "distribution/E2WEBPROD12345"))},
		"cloudfront:CreateContinuousDeploymentPolicy":    {req("cloudfront:CreateContinuousDeploymentPolicy", arn("cloudfront", "", "continuous-deployment-policy/4f3c"))},
		"cloudfront:GetContinuousDeploymentPolicy":       {req("cloudfront:GetContinuousDeploymentPolicy", arn("cloudfront", "", "continuous-deployment-policy/4f3c"))},
		"cloudfront:UpdateContinuousDeploymentPolicy":    {req("cloudfront:UpdateContinuousDeploymentPolicy", arn("cloudfront", "", "continuous-deployment-policy/4f3c"))},
		"cloudfront:DeleteContinuousDeploymentPolicy":    {req("cloudfront:DeleteContinuousDeploymentPolicy", arn("cloudfront", "", "continuous-deployment-policy/4f3c"))},
		"cloudfront:ListContinuousDeploymentPolicies":    {req("cloudfront:ListContinuousDeploymentPolicies", "*")},
		"cloudwatch:DescribeAlarms":                      {req("cloudwatch:DescribeAlarms", "*")},
		"elasticloadbalancing:DescribeLoadBalancers":     {req("elasticloadbalancing:DescribeLoadBalancers", "*")},
		"elasticloadbalancing:DescribeTargetGroups":      {req("elasticloadbalancing:DescribeTargetGroups", "*")},
		"logs:DeleteLogGroup":                            {req("logs:DeleteLogGroup", arn("logs", euw1, "log-group:/aws/eks/shop-prod/cluster:*"))},
		"kms:CreateGrant (EKS secrets encryption, no interface)": {
			req("kms:CreateGrant", arn("kms", euw1, "key/1234abcd-12ab-34cd-56ef-1234567890ab"), "kms:ViaService", "eks."+euw1+".amazonaws.com")},
	}
	return calls
}

// TestIAMPolicyCoversTheCalls: every method of the narrow AWS interfaces
// the activities are built on is a call listed above, and the policy of
// deploy/examples allows each on the resource it acts on, with the
// conditions its request carries: a new call cannot ship without its
// permission, and a permission cannot be scoped so tight the call fails.
func TestIAMPolicyCoversTheCalls(t *testing.T) {
	doc := examplesPolicy(t, exampleAccount)
	calls := callsOfTheExamples()
	apis := map[string][]reflect.Type{
		"eks":                  {reflect.TypeFor[eks.EKSAPI](), reflect.TypeFor[clusters.EKSDescriber]()},
		"ssm":                  {reflect.TypeFor[eks.SSMAPI]()},
		"ec2":                  {reflect.TypeFor[eks.EC2API](), reflect.TypeFor[eks.EBSAPI]()},
		"iam":                  {reflect.TypeFor[eks.IAMAPI]()},
		"route53":              {reflect.TypeFor[traffic.Route53API]()},
		"cloudfront":           {reflect.TypeFor[traffic.CloudFrontAPI](), reflect.TypeFor[traffic.CloudFrontStagingAPI]()},
		"cloudwatch":           {reflect.TypeFor[traffic.CloudWatchAPI]()},
		"elasticloadbalancing": {reflect.TypeFor[traffic.ELBv2API](), reflect.TypeFor[kube.ELBv2API]()},
		"logs":                 {reflect.TypeFor[eks.LogsAPI]()},
	}
	n := 0
	for service, types := range apis {
		for _, typ := range types {
			for i := range typ.NumMethod() {
				action := service + ":" + typ.Method(i).Name
				n++
				if len(calls[action]) == 0 {
					t.Errorf("%s (called through %s) has no call in callsOfTheExamples: add the resource it acts on and its condition keys", action, typ)
				}
			}
		}
	}
	if n < 60 {
		t.Fatalf("only %d API methods found; the interfaces moved?", n)
	}
	// PassRole is not a method: CreateCluster, CreateNodegroup, CreateAddon
	// and CreatePodIdentityAssociation pass roles.
	if len(calls["iam:PassRole"]) == 0 {
		t.Error("no iam:PassRole call listed")
	}
	for name, reqs := range calls {
		for _, r := range reqs {
			if _, ok := iampolicy.Allows(doc, r); !ok {
				t.Errorf("%s: the policy refuses %s", name, r)
			}
		}
	}
}

// TestIAMPolicyRefusesTheRest: each document's own policy refuses what
// the least privilege means to keep out of reach: other clusters,
// zones and distributions, creating an untagged cluster, trust edits on an
// untagged role, service-linked roles of other services, roles passed to
// other services, tags other than Karpenter's, and every write of a dry
// run. The statements on "*" are reads only.
func TestIAMPolicyRefusesTheRest(t *testing.T) {
	const euw1 = "eu-west-1"
	cluster := func(name string) string { return eksARN(euw1, "cluster/"+name) }
	managed := []string{"aws:ResourceTag/" + iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue}
	weighted := []iampolicy.Request{
		req("eks:DeleteCluster", cluster("payments-prod")),
		req("eks:DeleteCluster", eksARN("us-east-1", "cluster/shop-prod")),
		req("logs:DeleteLogGroup", arn("logs", euw1, "log-group:/aws/eks/payments-prod/cluster:*")),
		req("logs:DeleteLogGroup", arn("logs", euw1, "log-group:/aws/lambda/shop-prod:*")),
		req("eks:DeleteCluster", cluster("payments-prod"), managed...), // --eks-scope names: tags do not widen it
		req("eks:DeleteNodegroup", eksARN(euw1, "nodegroup/payments-prod/general/8ec7")),
		req("eks:CreateCluster", cluster("shop-prod-1-31")), // without cutover's tag
		req("eks:CreateCluster", cluster("shop-prod-1-31"), "aws:RequestTag/"+iampolicy.ManagedByTagKey, "someone-else"),
		req("eks:CreateCluster", cluster("payments-prod-1-31"), "aws:RequestTag/"+iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue),
		req("eks:AssociateAccessPolicy", eksARN(euw1, "access-entry/payments-prod/role/"+exampleAccount+"/ops/5ec8")),
		req("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z9OTHERZONE0000000000"),
		req("route53:ChangeResourceRecordSets", "*"),
		req("cloudfront:UpdateDistribution", arn("cloudfront", "", "distribution/E1ABCDEF234567")),
		req("iam:UpdateAssumeRolePolicy", arn("iam", "", "role/shop-payments-irsa")),
		req("iam:UpdateAssumeRolePolicy", arn("iam", "", "role/admin"), "aws:ResourceTag/"+iampolicy.TrustTagKey, "false"),
		req("iam:GetRole", arn("iam", "", "role/admin")),
		req("iam:CreateServiceLinkedRole", arn("iam", "", "role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"),
			"iam:AWSServiceName", "elasticloadbalancing.amazonaws.com"),
		req("iam:CreateServiceLinkedRole", arn("iam", "", "role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS")),
		req("iam:PassRole", arn("iam", "", "role/admin"), "iam:PassedToService", "lambda.amazonaws.com"),
		req("iam:PassRole", arn("iam", "", "role/admin")),
		req("iam:DeleteOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF")),
		req("iam:CreateOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/FEDC"), "aws:TagKeys", "Name"),
		req("iam:CreateOpenIDConnectProvider", arn("iam", "", "oidc-provider/token.actions.githubusercontent.com"),
			"aws:RequestTag/"+iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue, "aws:TagKeys", iampolicy.ManagedByTagKey),
		req("iam:TagOpenIDConnectProvider", arn("iam", "", "oidc-provider/oidc.eks."+euw1+".amazonaws.com/id/0123"), "aws:TagKeys", "owner"),
		req("ec2:CreateTags", arn("ec2", euw1, "subnet/subnet-0abc1234"), "aws:TagKeys", "Name"),
		req("ec2:CreateTags", arn("ec2", euw1, "subnet/subnet-0abc1234"), "aws:TagKeys", iampolicy.KarpenterDiscoveryTag+",kubernetes.io/role/elb"),
		req("ec2:CreateTags", arn("ec2", euw1, "subnet/subnet-0abc1234")),
		req("ec2:CreateTags", arn("ec2", euw1, "instance/i-0abc1234"), "aws:TagKeys", iampolicy.KarpenterDiscoveryTag),
		// A volume the EBS CSI driver did not provision (no created-for tag).
		req("ec2:DeleteVolume", arn("ec2", euw1, "volume/vol-0abc1234def567890"), "aws:ResourceTag/Name", "db-backup"),
		req("ec2:DeleteSnapshot", arn("ec2", euw1, "snapshot/snap-0abc1234def567890"), "aws:ResourceTag/"+eks.TagCreatedForPV, "pvc-1"),
		req("ssm:GetParameter", "arn:aws:ssm:"+euw1+":"+exampleAccount+":parameter/prod/db-password"),
		req("kms:CreateGrant", arn("kms", euw1, "key/1234abcd-12ab-34cd-56ef-1234567890ab")),
		req("kms:Decrypt", arn("kms", euw1, "key/1234abcd-12ab-34cd-56ef-1234567890ab"), "kms:ViaService", "eks."+euw1+".amazonaws.com"),
		req("eks:DescribeCluster", cluster("platform-mgmt")), // only the document naming it as hub reaches it
	}
	cases := []struct {
		doc     string
		refused []iampolicy.Request
	}{
		{"route53-weighted.json", weighted},
		{"cloudfront-origin-switch.json", []iampolicy.Request{
			req("cloudfront:UpdateDistribution", arn("cloudfront", "", "distribution/E9OTHERDIST0001")),
			req("cloudfront:CopyDistribution", arn("cloudfront", "", "distribution/E1ABCDEF234567")), // origin switch only
			req("cloudfront:CreateContinuousDeploymentPolicy", arn("cloudfront", "", "continuous-deployment-policy/4f3c")),
			req("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"),
			req("eks:DeleteCluster", eksARN("us-east-1", "cluster/shop-prod")),
			req("ec2:DeleteVolume", arn("ec2", "us-east-1", "volume/vol-0abc1234def567890"), "aws:ResourceTag/"+eks.TagCreatedForPV, "pvc-1"), // retire.volumes keep
		}},
		{"cloudfront-continuous-deployment.json", []iampolicy.Request{
			req("eks:DeleteCluster", eksARN(euw1, "cluster/platform-mgmt")), // the hub is only described
			req("eks:ListAccessEntries", eksARN(euw1, "cluster/platform-mgmt")),
			req("cloudfront:UpdateContinuousDeploymentPolicy", "*"),
		}},
		{"dry-run.json", []iampolicy.Request{
			req("eks:CreateCluster", cluster("shop-prod-1-31"), "aws:RequestTag/"+iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue),
			req("eks:DeleteCluster", cluster("shop-prod")),
			req("eks:UpdateClusterVersion", cluster("shop-prod")),
			req("logs:DeleteLogGroup", arn("logs", euw1, "log-group:/aws/eks/shop-prod/cluster:*")),
			req("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"),
			req("iam:PassRole", arn("iam", "", "role/shop-prod-cluster"), "iam:PassedToService", "eks.amazonaws.com"),
			req("ec2:CreateLaunchTemplateVersion", arn("ec2", euw1, "launch-template/lt-0abc1234def567890")),
			req("ec2:DeleteVolume", arn("ec2", euw1, "volume/vol-0abc1234def567890"), "aws:ResourceTag/"+eks.TagCreatedForPV, "pvc-1"),
		}},
	}
	for _, c := range cases {
		t.Run(c.doc, func(t *testing.T) {
			doc := examplesPolicy(t, exampleAccount, c.doc)
			for _, r := range c.refused {
				if sid, ok := iampolicy.Allows(doc, r); ok {
					t.Errorf("%s's policy allows %s (statement %s)", c.doc, r, sid)
				}
			}
			for _, st := range doc.Statement {
				if !slices.Contains(st.Resource, "*") {
					continue
				}
				for _, a := range st.Action {
					_, name, _ := strings.Cut(a, ":")
					if !strings.HasPrefix(name, "List") && !strings.HasPrefix(name, "Describe") && !strings.HasPrefix(name, "Get") {
						t.Errorf("statement %s allows %s on every resource", st.Sid, a)
					}
				}
			}
		})
	}
	// The dry run's policy still reads what preflight reads.
	dry := examplesPolicy(t, exampleAccount, "dry-run.json")
	for _, r := range []iampolicy.Request{
		req("eks:DescribeCluster", cluster("shop-prod")),
		req("eks:ListNodegroups", cluster("shop-prod")),
		req("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"),
	} {
		if _, ok := iampolicy.Allows(dry, r); !ok {
			t.Errorf("dry-run.json's policy refuses %s", r)
		}
	}
}

// TestIAMPolicyScopeByTags: with --eks-scope tags the clusters cutover
// built are reached by their tag, not their names; blue stays named.
func TestIAMPolicyScopeByTags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("examples", "fleet", "quarterly.json"))
	if err != nil {
		t.Fatal(err)
	}
	scope, err := iampolicy.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iampolicy.Build(scope, iampolicy.Options{Account: exampleAccount, EKSScope: iampolicy.ScopeTags})
	if err != nil {
		t.Fatal(err)
	}
	gen := eksARN("eu-west-1", "cluster/anything-1-33")
	managed := []string{"aws:ResourceTag/" + iampolicy.ManagedByTagKey, iampolicy.ManagedByTagValue}
	for _, c := range []struct {
		r    iampolicy.Request
		want bool
	}{
		{req("eks:DeleteCluster", gen, managed...), true},
		{req("eks:DeleteCluster", gen), false},
		{req("eks:DeleteCluster", eksARN("eu-west-1", "cluster/tools-prod")), true}, // a logical cluster's untagged original
		{req("eks:DeleteCluster", eksARN("ap-south-1", "cluster/anything-1-33"), managed...), false},
	} {
		if _, ok := iampolicy.Allows(doc, c.r); ok != c.want {
			t.Errorf("--eks-scope tags: %s allowed=%v, want %v", c.r, ok, c.want)
		}
	}
}
