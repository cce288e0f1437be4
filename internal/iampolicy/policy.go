// Package iampolicy builds the IAM policy the cutover worker needs for the
// migrations it runs, as data, from their migration specs and fleets
// (`cutover iam-policy -f`): EKS actions on the clusters they name (and on
// clusters tagged as cutover's), Route53 on their hosted zones, CloudFront
// on their distributions, IAM trust edits only on roles tagged for it,
// service-linked roles and PassRole only for EKS. What no document uses is
// left out. deploy/iam/cutover-worker-policy.json is its output for
// deploy/examples, and deploy/iam_test.go checks every AWS call of the
// activities against it.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/activities/eks"
)

// Tags the policy's conditions name.
const (
	// TrustTagKey marks an IAM role whose trust policy cutover may edit
	// (IRSA: a statement for green's OIDC issuer is added, blue's is
	// removed once blue is retired). Tag each such role
	// cutover.dev/trust-managed=true; cutover's GetRole and
	// UpdateAssumeRolePolicy are refused on other roles.
	TrustTagKey   = eks.TagTrustManaged
	TrustTagValue = "true"
	// ManagedByTagKey is the tag cutover puts on what it creates (green,
	// its node groups, add-ons, access entries, Pod Identity associations,
	// OIDC providers), with ManagedByTagValue.
	ManagedByTagKey   = eks.TagManagedBy
	ManagedByTagValue = "cutover"
	// KarpenterDiscoveryTag is the only tag cutover sets on subnets and
	// security groups.
	KarpenterDiscoveryTag = "karpenter.sh/discovery"
)

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document; Action, Resource and the
// condition values are always lists.
type Statement struct {
	// Sid says what the statement is for (IAM allows only letters and digits).
	Sid       string    `json:"Sid"`
	Effect    string    `json:"Effect"`
	Action    []string  `json:"Action"`
	Resource  []string  `json:"Resource"`
	Condition Condition `json:"Condition,omitempty"`
}

// Condition is a statement's Condition block: operator → key → values.
type Condition map[string]map[string][]string

// Options are what the documents do not say: where the worker runs.
type Options struct {
	// Account is the 12-digit AWS account ID of the clusters, zones and
	// distributions, or a placeholder such as "${AccountId}" for a template.
	Account string
	// Partition of the ARNs: "aws" (default), "aws-cn", "aws-us-gov", ...
	Partition string
	// EKSScope says how the clusters cutover builds are scoped: ScopeNames
	// (default) by name (green's, a fleet member's generations); ScopeTags
	// by their tag, cutover.dev/managed-by=cutover, on any cluster (and
	// node group, add-on, ...) of the scope's regions, for a worker that
	// also runs migrations no document names; ScopeBoth both. Clusters
	// cutover did not build (blue) are always named, and creating one is
	// always limited to green's name and the tag.
	EKSScope string
}

// EKS scopes.
const (
	ScopeNames = "names"
	ScopeTags  = "tags"
	ScopeBoth  = "both"
)

var (
	accountRE     = regexp.MustCompile(`^[0-9]{12}$`)
	placeholderRE = regexp.MustCompile(`^\$\{[A-Za-z][A-Za-z0-9:]*\}$`)
	partitionRE   = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// ValidRegion says r can be a region of the policy's ARNs: a region name,
// "*" or a placeholder.
func ValidRegion(r string) bool {
	return regionRE.MatchString(r) || r == "*" || placeholderRE.MatchString(r)
}

// OptionError is a bad Options field.
type OptionError struct {
	// Option is the field's name as a flag of `cutover iam-policy` ("account").
	Option string
	Reason string
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Reason }

func (o Options) check() error {
	switch {
	case o.Account == "":
		return &OptionError{"account", "is required (the 12-digit ID of the AWS account the clusters are in, or a placeholder like ${AccountId})"}
	case !accountRE.MatchString(o.Account) && !placeholderRE.MatchString(o.Account):
		return &OptionError{"account", fmt.Sprintf("%q is neither a 12-digit AWS account ID nor a placeholder like ${AccountId}", o.Account)}
	case o.EKSScope != "" && o.EKSScope != ScopeNames && o.EKSScope != ScopeTags && o.EKSScope != ScopeBoth:
		return &OptionError{"eks-scope", fmt.Sprintf("must be %s, %s or %s, got %q", ScopeNames, ScopeTags, ScopeBoth, o.EKSScope)}
	case o.Partition != "" && !partitionRE.MatchString(o.Partition):
		return &OptionError{"partition", fmt.Sprintf("%q is not an AWS partition (aws, aws-cn, aws-us-gov, ...)", o.Partition)}
	}
	return nil
}

// The actions of each part of the policy. Every method of the activities'
// AWS interfaces is one of them (deploy/iam_test.go checks it).
var (
	// eksClusterActions are scoped to clusters and their sub-resources.
	eksClusterActions = []string{
		"eks:DescribeCluster", "eks:TagResource", "eks:UntagResource", "eks:DeleteCluster",
		"eks:UpdateClusterVersion", "eks:ListUpdates", "eks:DescribeUpdate",
		"eks:ListNodegroups", "eks:DescribeNodegroup", "eks:CreateNodegroup", "eks:DeleteNodegroup",
		"eks:UpdateNodegroupVersion", "eks:UpdateNodegroupConfig",
		"eks:ListFargateProfiles", "eks:DescribeFargateProfile", "eks:DeleteFargateProfile",
		"eks:ListAddons", "eks:DescribeAddon", "eks:CreateAddon", "eks:DeleteAddon", "eks:UpdateAddon",
		"eks:ListAccessEntries", "eks:DescribeAccessEntry", "eks:CreateAccessEntry",
		"eks:ListAssociatedAccessPolicies", "eks:AssociateAccessPolicy",
		"eks:ListPodIdentityAssociations", "eks:DescribePodIdentityAssociation",
		"eks:CreatePodIdentityAssociation", "eks:DeletePodIdentityAssociation",
		"eks:ListInsights", "eks:DescribeInsight",
	}
	// unscopedReads are the reads AWS authorizes on "*" only: they name no
	// resource (EKS lists and version catalogues, EC2 Describe*, IAM
	// lists, ELBv2 DescribeLoadBalancers), or, for CloudWatch
	// DescribeAlarms, return composite alarms only when allowed on "*".
	unscopedReads = []string{
		"eks:ListClusters", "eks:DescribeAddonVersions", "eks:DescribeClusterVersions",
		"ec2:DescribeSubnets", "ec2:DescribeImages", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeTags",
		"iam:ListRoles", "iam:ListOpenIDConnectProviders",
	}
)

// Build makes the policy of scope s.
func Build(s Scope, o Options) (Document, error) {
	if err := o.check(); err != nil {
		return Document{}, err
	}
	if len(s.Blues) == 0 && len(s.Built) == 0 {
		return Document{}, fmt.Errorf("the documents name no EKS cluster")
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if o.EKSScope == "" {
		o.EKSScope = ScopeNames
	}
	b := builder{s: s, o: o}
	return Document{Version: "2012-10-17", Statement: b.statements()}, nil
}

type builder struct {
	s Scope
	o Options
}

func (b builder) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", b.o.Partition, service, region, b.o.Account, resource)
}

// dnsSuffix is the partition's domain (EKS OIDC issuers, service principals of KMS).
func (b builder) dnsSuffix() string {
	if b.o.Partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// clusterARNs are a cluster's ARN and its sub-resources' (everything after
// the cluster name is a wildcard: node group, add-on, access entry, Pod
// Identity association and Fargate profile names and IDs).
func (b builder) clusterARNs(region, name string) []string {
	out := []string{b.arn("eks", region, "cluster/"+name)}
	for _, sub := range []string{"nodegroup", "addon", "access-entry", "podidentityassociation", "fargateprofile"} {
		out = append(out, b.arn("eks", region, sub+"/"+name+"/*"))
	}
	return out
}

// actions drops the writes of a read-only (dry-run) scope.
func (b builder) actions(as ...string) []string {
	if b.s.Writes {
		return as
	}
	return slices.DeleteFunc(slices.Clone(as), func(a string) bool { return !isRead(a) })
}

// isRead says an action only reads (List*, Describe*, Get*).
func isRead(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, p := range []string{"List", "Describe", "Get"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (b builder) statements() []Statement {
	s, regions := b.s, b.s.Regions()
	var out []Statement
	add := func(st Statement) {
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			return
		}
		st.Effect = "Allow"
		st.Resource = sortedSet(st.Resource)
		out = append(out, st)
	}
	perRegion := func(f func(region string) []string) []string {
		var rs []string
		for _, r := range regions {
			rs = append(rs, f(r)...)
		}
		return rs
	}

	reads := slices.Clone(unscopedReads)
	if s.Alarms {
		reads = append(reads, "cloudwatch:DescribeAlarms")
	}
	if s.LoadBalancers || s.RetiresBlue {
		reads = append(reads, "elasticloadbalancing:DescribeLoadBalancers")
	}
	if s.RetiresBlue {
		// Blue's load balancers and their target groups, waited for
		// before blue is deleted (kube.RetireLoadBalancers).
		reads = append(reads, "elasticloadbalancing:DescribeTargetGroups")
	}
	if s.StagingDistributions {
		reads = append(reads, "cloudfront:ListContinuousDeploymentPolicies")
	}
	if s.Writes && s.DeletesVolumes {
		// Each retained volume's state and tags, read before it is
		// deleted (eks.RetireRetainedVolumes).
		reads = append(reads, "ec2:DescribeVolumes")
	}
	add(Statement{Sid: "ReadsAWSAuthorizesOnlyOnAllResources", Action: reads, Resource: []string{"*"}})

	named := mergeRegions(nil, s.Blues)
	if b.o.EKSScope != ScopeTags {
		named = mergeRegions(named, s.Built)
	}
	named = clusterNames(named)
	var namedARNs []string
	for _, r := range sortedKeys(named) {
		for _, n := range named[r] {
			namedARNs = append(namedARNs, b.clusterARNs(r, n)...)
		}
	}
	add(Statement{Sid: "EKSNamedClusters", Action: b.actions(eksClusterActions...), Resource: namedARNs})
	if b.o.EKSScope != ScopeNames {
		add(Statement{Sid: "EKSClustersTaggedManagedByCutover", Action: b.actions(eksClusterActions...),
			Resource:  perRegion(func(r string) []string { return b.clusterARNs(r, "*") }),
			Condition: Condition{"StringEquals": {"aws:ResourceTag/" + ManagedByTagKey: {ManagedByTagValue}}}})
	}
	if s.Writes && s.BuildsGreen {
		var greens []string
		creates := clusterNames(s.Creates)
		for _, r := range sortedKeys(creates) {
			for _, n := range creates[r] {
				greens = append(greens, b.arn("eks", r, "cluster/"+n))
			}
		}
		add(Statement{Sid: "EKSCreateGreenClustersTaggedManagedByCutover", Action: []string{"eks:CreateCluster"}, Resource: greens,
			Condition: Condition{"StringEquals": {"aws:RequestTag/" + ManagedByTagKey: {ManagedByTagValue}}}})
	}
	var hubs []string
	for _, r := range sortedKeys(s.Hubs) {
		for _, n := range s.Hubs[r] {
			hubs = append(hubs, b.arn("eks", r, "cluster/"+n))
		}
	}
	add(Statement{Sid: "EKSDescribeArgoCDHubClusters", Action: []string{"eks:DescribeCluster"}, Resource: hubs})

	if s.Writes && s.RetiresBlue {
		// The control-plane log group EKS leaves behind a retired blue
		// (eks.DeleteControlPlaneLogGroup): blue's, or a generation's a
		// fleet built.
		retired := clusterNames(mergeRegions(mergeRegions(nil, s.Blues), s.Built))
		var groups []string
		for _, r := range sortedKeys(retired) {
			for _, n := range retired[r] {
				groups = append(groups, b.arn("logs", r, "log-group:/aws/eks/"+n+"/cluster:*"))
			}
		}
		add(Statement{Sid: "LogsDeleteRetiredClustersControlPlaneLogGroups", Action: []string{"logs:DeleteLogGroup"}, Resource: groups})
	}

	if s.Writes && s.DeletesVolumes {
		// Only volumes the EBS CSI driver provisioned for a
		// PersistentVolume: the activity also checks the tag names the
		// very PV, and that the volume is detached.
		add(Statement{Sid: "EC2DeleteRetainedVolumesEBSCSIProvisioned", Action: []string{"ec2:DeleteVolume"},
			Resource:  perRegion(func(r string) []string { return []string{b.arn("ec2", r, "volume/*")} }),
			Condition: Condition{"Null": {"aws:ResourceTag/" + eks.TagCreatedForPV: {"false"}}}})
	}

	roles := b.arn("iam", "", "role/*")
	if s.Writes {
		// Cluster roles (CreateCluster), node roles (CreateNodegroup),
		// add-on service account roles, Pod Identity roles.
		add(Statement{Sid: "PassRolesToEKSOnly", Action: []string{"iam:PassRole"}, Resource: []string{roles},
			Condition: Condition{"StringEquals": {"iam:PassedToService": {"eks.amazonaws.com", "pods.eks.amazonaws.com"}}}})
	}
	if s.Writes && s.BuildsGreen {
		add(Statement{Sid: "EKSServiceLinkedRolesOnly", Action: []string{"iam:CreateServiceLinkedRole"},
			Resource: []string{
				b.arn("iam", "", "role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"),
				b.arn("iam", "", "role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup"),
			},
			Condition: Condition{"StringEquals": {"iam:AWSServiceName": {"eks.amazonaws.com", "eks-nodegroup.amazonaws.com"}}}})
		// Green copies blue's secrets encryption: EKS checks the key and
		// creates its grant with the caller's permissions.
		add(Statement{Sid: "KMSKeysOfEKSSecretsEncryptionThroughEKSOnly", Action: []string{"kms:DescribeKey", "kms:CreateGrant"},
			Resource:  perRegion(func(r string) []string { return []string{b.arn("kms", r, "key/*")} }),
			Condition: Condition{"StringLike": {"kms:ViaService": perRegion(func(r string) []string { return []string{"eks." + r + "." + b.dnsSuffix()} })}}})
		add(Statement{Sid: "IRSATrustPoliciesOfRolesTaggedTrustManaged", Action: []string{"iam:GetRole", "iam:UpdateAssumeRolePolicy"},
			Resource:  []string{roles},
			Condition: Condition{"StringEquals": {"aws:ResourceTag/" + TrustTagKey: {TrustTagValue}}}})
	}
	providers := perRegion(func(r string) []string {
		return []string{b.arn("iam", "", "oidc-provider/oidc.eks."+r+"."+b.dnsSuffix()+"/id/*")}
	})
	add(Statement{Sid: "IRSAReadEKSOIDCProviders", Action: []string{"iam:GetOpenIDConnectProvider"}, Resource: providers})
	if s.Writes && s.BuildsGreen {
		add(Statement{Sid: "IRSACreateGreenOIDCProvidersTaggedManagedByCutover",
			Action: []string{"iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"}, Resource: providers,
			Condition: Condition{
				"StringEquals":              {"aws:RequestTag/" + ManagedByTagKey: {ManagedByTagValue}},
				"ForAllValues:StringEquals": {"aws:TagKeys": {ManagedByTagKey, eks.TagMigration, eks.TagCluster}},
			}})
		add(Statement{Sid: "IRSATagAdoptedOIDCProviders", Action: []string{"iam:TagOpenIDConnectProvider"}, Resource: providers,
			Condition: Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {eks.TagAdoptedBy}}}})
		add(Statement{Sid: "IRSADeleteOIDCProvidersCutoverCreated", Action: []string{"iam:DeleteOpenIDConnectProvider"}, Resource: providers,
			Condition: Condition{"StringEquals": {"aws:ResourceTag/" + ManagedByTagKey: {ManagedByTagValue}}}})
	}
	if s.Writes {
		add(Statement{Sid: "EC2LaunchTemplateVersionsOfNodeGroups", Action: []string{"ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplateVersions"},
			Resource: perRegion(func(r string) []string { return []string{b.arn("ec2", r, "launch-template/*")} })})
	}
	if s.Writes && s.KarpenterTags {
		add(Statement{Sid: "EC2KarpenterDiscoveryTagOnly", Action: []string{"ec2:CreateTags", "ec2:DeleteTags"},
			Resource: perRegion(func(r string) []string {
				return []string{b.arn("ec2", r, "subnet/*"), b.arn("ec2", r, "security-group/*")}
			}),
			Condition: Condition{
				"ForAllValues:StringEquals": {"aws:TagKeys": {KarpenterDiscoveryTag}},
				"Null":                      {"aws:TagKeys": {"false"}},
			}})
	}
	add(Statement{Sid: "SSMEKSOptimizedAMIReleases", Action: []string{"ssm:GetParameter"},
		Resource: perRegion(func(r string) []string {
			return []string{
				fmt.Sprintf("arn:%s:ssm:%s::parameter/aws/service/eks/optimized-ami/*", b.o.Partition, r),
				fmt.Sprintf("arn:%s:ssm:%s::parameter/aws/service/bottlerocket/*", b.o.Partition, r),
			}
		})})

	var zones []string
	for _, z := range s.HostedZones {
		zones = append(zones, fmt.Sprintf("arn:%s:route53:::hostedzone/%s", b.o.Partition, z))
	}
	add(Statement{Sid: "Route53NamedHostedZones", Action: b.actions("route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"), Resource: zones})
	if len(zones) > 0 && s.Writes {
		add(Statement{Sid: "Route53ChangeStatus", Action: []string{"route53:GetChange"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::change/*", b.o.Partition)}})
	}

	var dists []string
	for _, d := range s.Distributions {
		dists = append(dists, b.arn("cloudfront", "", "distribution/"+d))
	}
	cf := []string{"cloudfront:GetDistribution", "cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution"}
	if s.StagingDistributions {
		cf = append(cf, "cloudfront:CopyDistribution", "cloudfront:UpdateDistributionWithStagingConfig")
	}
	add(Statement{Sid: "CloudFrontNamedDistributions", Action: b.actions(cf...), Resource: dists})
	if len(dists) > 0 && s.StagingDistributions && s.Writes {
		// CopyDistribution creates the staging distribution
		// (cloudfront:CreateDistribution), whose ID is only known then:
		// it is read, updated, promoted and deleted by an ID no spec has.
		add(Statement{Sid: "CloudFrontStagingDistributionsIDKnownOnlyOnceCopied",
			Action: []string{"cloudfront:CreateDistribution", "cloudfront:GetDistribution", "cloudfront:GetDistributionConfig",
				"cloudfront:UpdateDistribution", "cloudfront:UpdateDistributionWithStagingConfig", "cloudfront:DeleteDistribution"},
			Resource: []string{b.arn("cloudfront", "", "distribution/*")}})
		add(Statement{Sid: "CloudFrontContinuousDeploymentPolicies",
			Action: []string{"cloudfront:CreateContinuousDeploymentPolicy", "cloudfront:GetContinuousDeploymentPolicy",
				"cloudfront:UpdateContinuousDeploymentPolicy", "cloudfront:DeleteContinuousDeploymentPolicy"},
			Resource: []string{b.arn("cloudfront", "", "continuous-deployment-policy/*")}})
	}
	return out
}

// clusterNames copies names by region, dropping each name a pattern of
// its region matches ("shop-prod-1-31" when "shop-prod-1-*" is there).
func clusterNames(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for r, names := range m {
		for _, n := range sortedSet(names) {
			if !slices.ContainsFunc(names, func(p string) bool { return p != n && strings.Contains(p, "*") && Match(p, n) }) {
				out[r] = append(out[r], n)
			}
		}
	}
	return out
}

// Match reports whether s matches an IAM wildcard pattern: '*' any run of
// characters, '?' any one.
func Match(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if Match(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

func sortedKeys(m map[string][]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Encode writes d as indented JSON, the form of the checked-in policy.
func Encode(w io.Writer, d Document) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Size is the policy's length without whitespace, the measure of IAM's
// quotas (6,144 characters for a managed policy, 10,240 for all inline
// policies of a role).
func Size(d Document) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return 0
	}
	return len(bytes.TrimSpace(buf.Bytes()))
}

// ManagedPolicyMaxSize is IAM's quota on a managed policy (characters,
// whitespace not counted).
const ManagedPolicyMaxSize = 6144
