// Package eks holds the activities that read, build and retire EKS clusters
// through aws-sdk-go-v2: describe blue, upgrade insights, create green as a
// copy of blue at the target version, and delete a cluster once nothing
// points at it.
//
// The activities hold narrow interfaces over the SDK clients (EKSAPI,
// SSMAPI), obtained per region from a ClientFactory, so tests drive them
// with fakes or point them at moto through awsconf.Static.
package eks

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// EKSAPI is the part of *eks.Client the activities use.
type EKSAPI interface {
	DescribeCluster(ctx context.Context, in *awseks.DescribeClusterInput, optFns ...func(*awseks.Options)) (*awseks.DescribeClusterOutput, error)
	ListClusters(ctx context.Context, in *awseks.ListClustersInput, optFns ...func(*awseks.Options)) (*awseks.ListClustersOutput, error)
	TagResource(ctx context.Context, in *awseks.TagResourceInput, optFns ...func(*awseks.Options)) (*awseks.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *awseks.UntagResourceInput, optFns ...func(*awseks.Options)) (*awseks.UntagResourceOutput, error)
	CreateCluster(ctx context.Context, in *awseks.CreateClusterInput, optFns ...func(*awseks.Options)) (*awseks.CreateClusterOutput, error)
	DeleteCluster(ctx context.Context, in *awseks.DeleteClusterInput, optFns ...func(*awseks.Options)) (*awseks.DeleteClusterOutput, error)
	DescribeClusterVersions(ctx context.Context, in *awseks.DescribeClusterVersionsInput, optFns ...func(*awseks.Options)) (*awseks.DescribeClusterVersionsOutput, error)

	UpdateClusterVersion(ctx context.Context, in *awseks.UpdateClusterVersionInput, optFns ...func(*awseks.Options)) (*awseks.UpdateClusterVersionOutput, error)
	UpdateNodegroupVersion(ctx context.Context, in *awseks.UpdateNodegroupVersionInput, optFns ...func(*awseks.Options)) (*awseks.UpdateNodegroupVersionOutput, error)
	UpdateNodegroupConfig(ctx context.Context, in *awseks.UpdateNodegroupConfigInput, optFns ...func(*awseks.Options)) (*awseks.UpdateNodegroupConfigOutput, error)
	UpdateAddon(ctx context.Context, in *awseks.UpdateAddonInput, optFns ...func(*awseks.Options)) (*awseks.UpdateAddonOutput, error)
	ListUpdates(ctx context.Context, in *awseks.ListUpdatesInput, optFns ...func(*awseks.Options)) (*awseks.ListUpdatesOutput, error)
	DescribeUpdate(ctx context.Context, in *awseks.DescribeUpdateInput, optFns ...func(*awseks.Options)) (*awseks.DescribeUpdateOutput, error)

	ListNodegroups(ctx context.Context, in *awseks.ListNodegroupsInput, optFns ...func(*awseks.Options)) (*awseks.ListNodegroupsOutput, error)
	DescribeNodegroup(ctx context.Context, in *awseks.DescribeNodegroupInput, optFns ...func(*awseks.Options)) (*awseks.DescribeNodegroupOutput, error)
	CreateNodegroup(ctx context.Context, in *awseks.CreateNodegroupInput, optFns ...func(*awseks.Options)) (*awseks.CreateNodegroupOutput, error)
	DeleteNodegroup(ctx context.Context, in *awseks.DeleteNodegroupInput, optFns ...func(*awseks.Options)) (*awseks.DeleteNodegroupOutput, error)

	ListFargateProfiles(ctx context.Context, in *awseks.ListFargateProfilesInput, optFns ...func(*awseks.Options)) (*awseks.ListFargateProfilesOutput, error)
	DescribeFargateProfile(ctx context.Context, in *awseks.DescribeFargateProfileInput, optFns ...func(*awseks.Options)) (*awseks.DescribeFargateProfileOutput, error)
	DeleteFargateProfile(ctx context.Context, in *awseks.DeleteFargateProfileInput, optFns ...func(*awseks.Options)) (*awseks.DeleteFargateProfileOutput, error)

	ListAddons(ctx context.Context, in *awseks.ListAddonsInput, optFns ...func(*awseks.Options)) (*awseks.ListAddonsOutput, error)
	DescribeAddon(ctx context.Context, in *awseks.DescribeAddonInput, optFns ...func(*awseks.Options)) (*awseks.DescribeAddonOutput, error)
	DescribeAddonVersions(ctx context.Context, in *awseks.DescribeAddonVersionsInput, optFns ...func(*awseks.Options)) (*awseks.DescribeAddonVersionsOutput, error)
	CreateAddon(ctx context.Context, in *awseks.CreateAddonInput, optFns ...func(*awseks.Options)) (*awseks.CreateAddonOutput, error)
	DeleteAddon(ctx context.Context, in *awseks.DeleteAddonInput, optFns ...func(*awseks.Options)) (*awseks.DeleteAddonOutput, error)

	ListAccessEntries(ctx context.Context, in *awseks.ListAccessEntriesInput, optFns ...func(*awseks.Options)) (*awseks.ListAccessEntriesOutput, error)
	DescribeAccessEntry(ctx context.Context, in *awseks.DescribeAccessEntryInput, optFns ...func(*awseks.Options)) (*awseks.DescribeAccessEntryOutput, error)
	CreateAccessEntry(ctx context.Context, in *awseks.CreateAccessEntryInput, optFns ...func(*awseks.Options)) (*awseks.CreateAccessEntryOutput, error)
	ListAssociatedAccessPolicies(ctx context.Context, in *awseks.ListAssociatedAccessPoliciesInput, optFns ...func(*awseks.Options)) (*awseks.ListAssociatedAccessPoliciesOutput, error)
	AssociateAccessPolicy(ctx context.Context, in *awseks.AssociateAccessPolicyInput, optFns ...func(*awseks.Options)) (*awseks.AssociateAccessPolicyOutput, error)

	ListPodIdentityAssociations(ctx context.Context, in *awseks.ListPodIdentityAssociationsInput, optFns ...func(*awseks.Options)) (*awseks.ListPodIdentityAssociationsOutput, error)
	DescribePodIdentityAssociation(ctx context.Context, in *awseks.DescribePodIdentityAssociationInput, optFns ...func(*awseks.Options)) (*awseks.DescribePodIdentityAssociationOutput, error)
	CreatePodIdentityAssociation(ctx context.Context, in *awseks.CreatePodIdentityAssociationInput, optFns ...func(*awseks.Options)) (*awseks.CreatePodIdentityAssociationOutput, error)
	DeletePodIdentityAssociation(ctx context.Context, in *awseks.DeletePodIdentityAssociationInput, optFns ...func(*awseks.Options)) (*awseks.DeletePodIdentityAssociationOutput, error)

	ListInsights(ctx context.Context, in *awseks.ListInsightsInput, optFns ...func(*awseks.Options)) (*awseks.ListInsightsOutput, error)
	DescribeInsight(ctx context.Context, in *awseks.DescribeInsightInput, optFns ...func(*awseks.Options)) (*awseks.DescribeInsightOutput, error)
}

// SSMAPI is the part of *ssm.Client the activities use (the EKS-optimized
// AMI release parameters).
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ClientFactory gives the clients for a region.
type ClientFactory interface {
	EKS(ctx context.Context, region string) (EKSAPI, error)
	SSM(ctx context.Context, region string) (SSMAPI, error)
	// IAM is global; region only picks the endpoint's signing region.
	IAM(ctx context.Context, region string) (IAMAPI, error)
}

// WeightReader reads the share of traffic a cluster receives, as the
// traffic activities recorded it (Route53 weight or CloudFront origin). It
// is implemented by the traffic package (traffic.WeightReader).
type WeightReader = trafficguard.WeightReader

// Defaults.
const (
	DefaultPollInterval = 30 * time.Second
	// DefaultGuardReadBudget is how long the retire guard retries a weight
	// read that fails transiently within one attempt.
	DefaultGuardReadBudget = 30 * time.Second
	// DefaultSSMRoot is where AWS publishes the EKS-optimized AMI parameters.
	DefaultSSMRoot = "/aws/service"
)

// Activities are the EKS activities. Build them with New or NewFromAWS.
type Activities struct {
	clients ClientFactory
	weights WeightReader

	pollInterval time.Duration
	guardBudget  time.Duration
	ssmRoot      string
}

// Option configures Activities.
type Option func(*Activities)

// WithPollInterval sets how often long waits poll EKS (tests use milliseconds).
func WithPollInterval(d time.Duration) Option {
	return func(a *Activities) {
		if d > 0 {
			a.pollInterval = d
		}
	}
}

// WithGuardReadBudget sets how long the retire guard retries a traffic
// weight read that fails transiently (throttling, 5xx, timeouts) before the
// attempt fails retryably (default DefaultGuardReadBudget).
func WithGuardReadBudget(d time.Duration) Option {
	return func(a *Activities) {
		if d > 0 {
			a.guardBudget = d
		}
	}
}

// WithSSMRoot replaces "/aws/service" in the AMI release parameter names
// (/aws/service/eks/optimized-ami/..., /aws/service/bottlerocket/...). moto
// reserves the /aws prefix, so the sandbox publishes them under its own root.
func WithSSMRoot(root string) Option {
	return func(a *Activities) {
		if root != "" {
			a.ssmRoot = root
		}
	}
}

// New returns the EKS activities over the given clients. weights may be nil
// when no retire guard is ever used; a retire with a guard then refuses.
func New(clients ClientFactory, weights WeightReader, opts ...Option) *Activities {
	a := &Activities{
		clients:      clients,
		weights:      weights,
		pollInterval: DefaultPollInterval,
		guardBudget:  DefaultGuardReadBudget,
		ssmRoot:      DefaultSSMRoot,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// NewFromAWS returns the EKS activities over real SDK clients built from p.
func NewFromAWS(p awsconf.Provider, weights WeightReader, opts ...Option) *Activities {
	return New(NewClientFactory(p), weights, opts...)
}

// NewClientFactory builds SDK clients from an awsconf.Provider, one per
// region, cached.
func NewClientFactory(p awsconf.Provider) ClientFactory {
	return &sdkClients{p: p, eks: map[string]*awseks.Client{}, ssm: map[string]*ssm.Client{}}
}

type sdkClients struct {
	p   awsconf.Provider
	mu  sync.Mutex
	eks map[string]*awseks.Client
	ssm map[string]*ssm.Client
	iam map[string]*iam.Client // see irsa.go
	ec2 map[string]*ec2.Client // see launchtemplates.go
}

func (c *sdkClients) EKS(ctx context.Context, region string) (EKSAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.eks[region]; ok {
		return cl, nil
	}
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	cl := awseks.NewFromConfig(cfg)
	c.eks[region] = cl
	return cl, nil
}

func (c *sdkClients) SSM(ctx context.Context, region string) (SSMAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.ssm[region]; ok {
		return cl, nil
	}
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	cl := ssm.NewFromConfig(cfg)
	c.ssm[region] = cl
	return cl, nil
}

func (a *Activities) eksClient(ctx context.Context, region string) (EKSAPI, error) {
	if region == "" {
		return nil, invalidf("cluster region is empty")
	}
	c, err := a.clients.EKS(ctx, region)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (a *Activities) ssmClient(ctx context.Context, region string) (SSMAPI, error) {
	c, err := a.clients.SSM(ctx, region)
	if err != nil {
		return nil, err
	}
	return c, nil
}
