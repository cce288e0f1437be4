// Package traffic holds the activities that move users between blue and
// green: Route53 weighted records, CloudFront origin switches and
// continuous deployments (a staging distribution taking a share of the
// requests, then promoted), waiting for the change to propagate, and the
// CloudWatch alarm and HTTP probe checks read while a step bakes.
//
// The activities hold narrow interfaces over the SDK clients (Route53API,
// CloudFrontAPI, CloudWatchAPI) obtained from a ClientFactory, so tests
// drive them with fakes or point them at moto through awsconf.Static.
// Route53 and CloudFront are global services: their clients are always
// built for us-east-1.
package traffic

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/probe"
)

// Traffic providers: Target.Provider, Change.Provider and the provider of a
// trafficguard.Guard.
const (
	ProviderRoute53    = "route53"
	ProviderCloudFront = "cloudfront"
)

// Target is where traffic is shifted. Its JSON has the shape of the spec's
// traffic section (the workflow copies it), so a payload recorded in
// history reads the same whatever the spec's Go types are called.
type Target struct {
	Provider   string             `json:"provider"`
	Region     string             `json:"region"`
	Route53    *Route53Records    `json:"route53,omitempty"`
	CloudFront *CloudFrontOrigins `json:"cloudfront,omitempty"`
}

// Route53Records names the weighted record pair. Empty fields with a
// default get it (RecordType "CNAME", set identifiers "blue" and "green",
// TTL 60).
type Route53Records struct {
	HostedZoneID string `json:"hostedZoneId,omitempty"`
	// RecordName, e.g. "app.example.com".
	RecordName string `json:"recordName,omitempty"`
	// RecordType: "CNAME" or "A" (alias).
	RecordType string `json:"recordType,omitempty"`
	// BlueSetIdentifier of blue's weighted record.
	BlueSetIdentifier string `json:"blueSetIdentifier,omitempty"`
	// GreenSetIdentifier of green's weighted record.
	GreenSetIdentifier string `json:"greenSetIdentifier,omitempty"`
	// GreenTarget is green's load balancer DNS name.
	GreenTarget string `json:"greenTarget,omitempty"`
	// GreenTargetFrom is the spec's green entry point; the workflow
	// discovers GreenTarget from it, the activities only carry it.
	GreenTargetFrom *EntryPoint `json:"greenTargetFrom,omitempty"`
	// GreenTargetZoneID is the canonical hosted zone of green's load
	// balancer, for an alias record, when cutover discovered it
	// (ResolveLoadBalancer); empty: the alias zone blue's record uses.
	GreenTargetZoneID string `json:"greenTargetZoneId,omitempty"`
	// TTL of the records in seconds.
	TTL int64 `json:"ttl,omitempty"`
	// AfterMigration is the spec's choice for a converted simple record
	// ("weighted" or "simple"); the workflow acts on it, the activities
	// only carry it.
	AfterMigration string `json:"afterMigration,omitempty"`
}

// CloudFrontOrigins names the distribution and its origins.
type CloudFrontOrigins struct {
	DistributionID string `json:"distributionId,omitempty"`
	// BlueOriginID is the origin the default behavior uses today.
	BlueOriginID string `json:"blueOriginId,omitempty"`
	// GreenOriginID is the origin to switch to.
	GreenOriginID string `json:"greenOriginId,omitempty"`
	// GreenOriginDomain creates the green origin when it does not exist.
	GreenOriginDomain string `json:"greenOriginDomain,omitempty"`
	// GreenOriginFrom is green's entry point the workflow discovers
	// GreenOriginDomain from after the restore: preflight does not
	// require green's origin or its domain, and the switch points an
	// existing green origin at the discovered domain.
	GreenOriginFrom *EntryPoint `json:"greenOriginFrom,omitempty"`
	// Mode is the spec's choice ("switch" or "continuousDeployment"); the
	// workflow acts on it (SetTrafficWeights always switches origins).
	Mode string `json:"mode,omitempty"`
}

// Weights are the percentages of traffic on each side.
type Weights struct {
	Blue  int `json:"blue"`
	Green int `json:"green"`
}

// SetWeightsInput sets green's share (blue gets the rest).
type SetWeightsInput struct {
	Target Target `json:"target"`
	Green  int    `json:"green"`
}

// Change is a submitted traffic change to wait for.
type Change struct {
	Provider string `json:"provider"`
	// ID is the Route53 change ID or the CloudFront distribution ID.
	ID string `json:"id"`
	// Weights requested.
	Weights Weights `json:"weights"`
	// Noop is true when the weights were already in place.
	Noop bool `json:"noop"`
}

// HealthInput is what to read while a step bakes.
type HealthInput struct {
	Region string        `json:"region"`
	Alarms []string      `json:"alarms,omitempty"`
	Probes []probe.Probe `json:"probes,omitempty"`
	// ReadBudget is how long a reading that cannot be taken (throttled,
	// 5xx, timeout) is retried before it counts as unhealthy
	// (traffic.healthReadBudget). 0: read once, a failed read is an error.
	ReadBudget duration.Duration `json:"readBudget,omitempty"`
}

// AlarmState is one CloudWatch alarm.
type AlarmState struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// HealthResult is healthy only when no alarm is in ALARM and every probe passed.
type HealthResult struct {
	Healthy bool           `json:"healthy"`
	Reasons []string       `json:"reasons,omitempty"`
	Alarms  []AlarmState   `json:"alarms,omitempty"`
	Probes  []probe.Result `json:"probes,omitempty"`
}

// GlobalRegion is the region of the Route53 and CloudFront clients.
const GlobalRegion = "us-east-1"

// Route53API is the part of *route53.Client the activities use.
type Route53API interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

// CloudFrontAPI is the part of *cloudfront.Client the activities use.
type CloudFrontAPI interface {
	GetDistribution(ctx context.Context, in *cloudfront.GetDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetDistributionOutput, error)
	GetDistributionConfig(ctx context.Context, in *cloudfront.GetDistributionConfigInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
	UpdateDistribution(ctx context.Context, in *cloudfront.UpdateDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error)
}

// CloudFrontStagingAPI is the part of *cloudfront.Client the continuous
// deployment activities (continuous.go) use besides CloudFrontAPI. It is an
// interface of its own so the CloudFrontAPI fakes of the other activities
// stay small: the activities ask the CloudFront client of the
// ClientFactory for it, and *cloudfront.Client has it.
type CloudFrontStagingAPI interface {
	CloudFrontAPI
	CopyDistribution(ctx context.Context, in *cloudfront.CopyDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CopyDistributionOutput, error)
	DeleteDistribution(ctx context.Context, in *cloudfront.DeleteDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.DeleteDistributionOutput, error)
	UpdateDistributionWithStagingConfig(ctx context.Context, in *cloudfront.UpdateDistributionWithStagingConfigInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionWithStagingConfigOutput, error)
	CreateContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.CreateContinuousDeploymentPolicyInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CreateContinuousDeploymentPolicyOutput, error)
	GetContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.GetContinuousDeploymentPolicyInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetContinuousDeploymentPolicyOutput, error)
	UpdateContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.UpdateContinuousDeploymentPolicyInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateContinuousDeploymentPolicyOutput, error)
	DeleteContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.DeleteContinuousDeploymentPolicyInput, optFns ...func(*cloudfront.Options)) (*cloudfront.DeleteContinuousDeploymentPolicyOutput, error)
	ListContinuousDeploymentPolicies(ctx context.Context, in *cloudfront.ListContinuousDeploymentPoliciesInput, optFns ...func(*cloudfront.Options)) (*cloudfront.ListContinuousDeploymentPoliciesOutput, error)
}

var _ CloudFrontStagingAPI = (*cloudfront.Client)(nil)

// CloudWatchAPI is the part of *cloudwatch.Client the activities use.
type CloudWatchAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// ClientFactory gives the clients. Route53 and CloudFront are global;
// CloudWatch alarms live in a region.
type ClientFactory interface {
	Route53(ctx context.Context) (Route53API, error)
	CloudFront(ctx context.Context) (CloudFrontAPI, error)
	CloudWatch(ctx context.Context, region string) (CloudWatchAPI, error)
}

// Defaults.
const (
	// DefaultPollInterval is how often WaitTrafficPropagated polls; it is
	// well under the propagate activity's 30s heartbeat timeout.
	DefaultPollInterval = 10 * time.Second
	// DefaultUpdateAttempts bounds the CloudFront read-modify-write loop when
	// another writer changes the distribution between our read and write
	// (PreconditionFailed).
	DefaultUpdateAttempts = 5
)

// Activities are the traffic activities. Build them with New or NewFromAWS.
// Every exported method is registered as an activity.
type Activities struct {
	clients        ClientFactory
	pollInterval   time.Duration
	updateAttempts int
	probes         probe.Runner
	// healthRetryWait is the first wait before a health reading is taken
	// again; waits double up to 10s.
	healthRetryWait time.Duration
}

// Option configures Activities.
type Option func(*Activities)

// WithPollInterval sets how often WaitTrafficPropagated polls (tests use milliseconds).
func WithPollInterval(d time.Duration) Option {
	return func(a *Activities) {
		if d > 0 {
			a.pollInterval = d
		}
	}
}

// WithUpdateAttempts sets how many times a CloudFront update is re-read and
// retried after a PreconditionFailed (ETag race) before the activity fails
// with a retryable error.
func WithUpdateAttempts(n int) Option {
	return func(a *Activities) {
		if n > 0 {
			a.updateAttempts = n
		}
	}
}

// WithHealthRetryWait sets the first wait before a health reading that
// could not be taken is taken again (default 1s; tests use milliseconds).
func WithHealthRetryWait(d time.Duration) Option {
	return func(a *Activities) {
		if d > 0 {
			a.healthRetryWait = d
		}
	}
}

// WithProbeRunner sets the runner of the HTTP probes in CheckTrafficHealth.
func WithProbeRunner(r probe.Runner) Option {
	return func(a *Activities) { a.probes = r }
}

// New returns the traffic activities over the given clients.
func New(clients ClientFactory, opts ...Option) *Activities {
	a := &Activities{
		clients:         clients,
		pollInterval:    DefaultPollInterval,
		updateAttempts:  DefaultUpdateAttempts,
		healthRetryWait: time.Second,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// NewFromAWS returns the traffic activities over real SDK clients built from p.
func NewFromAWS(p awsconf.Provider, opts ...Option) *Activities {
	return New(NewClientFactory(p), opts...)
}

// NewClientFactory builds SDK clients from an awsconf.Provider (Route53 and
// CloudFront in us-east-1, CloudWatch per region), cached.
func NewClientFactory(p awsconf.Provider) ClientFactory {
	return &sdkClients{p: p, cw: map[string]*cloudwatch.Client{}}
}

type sdkClients struct {
	p  awsconf.Provider
	mu sync.Mutex
	r5 *route53.Client
	cf *cloudfront.Client
	cw map[string]*cloudwatch.Client
}

func (c *sdkClients) Route53(ctx context.Context) (Route53API, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r5 == nil {
		cfg, err := c.p.ForRegion(ctx, GlobalRegion)
		if err != nil {
			return nil, fmt.Errorf("AWS config for Route53 (%s): %w", GlobalRegion, err)
		}
		c.r5 = route53.NewFromConfig(cfg)
	}
	return c.r5, nil
}

func (c *sdkClients) CloudFront(ctx context.Context) (CloudFrontAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cf == nil {
		cfg, err := c.p.ForRegion(ctx, GlobalRegion)
		if err != nil {
			return nil, fmt.Errorf("AWS config for CloudFront (%s): %w", GlobalRegion, err)
		}
		c.cf = cloudfront.NewFromConfig(cfg)
	}
	return c.cf, nil
}

func (c *sdkClients) CloudWatch(ctx context.Context, region string) (CloudWatchAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.cw[region]; ok {
		return cl, nil
	}
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	cl := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		// CloudWatch speaks awsQuery, awsJson1_0 and Smithy RPC v2 CBOR; the
		// SDK defaults to CBOR, which moto does not implement. awsQuery is
		// the long-standing protocol every endpoint answers, so production
		// and the sandbox use the same wire format.
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	c.cw[region] = cl
	return cl, nil
}

// GetTrafficWeights reads the current split.
func (a *Activities) GetTrafficWeights(ctx context.Context, t Target) (Weights, error) {
	switch t.Provider {
	case ProviderRoute53:
		r, err := route53Spec(t)
		if err != nil {
			return Weights{}, err
		}
		api, err := a.clients.Route53(ctx)
		if err != nil {
			return Weights{}, err
		}
		return getRoute53Weights(ctx, api, r)
	case ProviderCloudFront:
		cf, err := cloudFrontSpec(t)
		if err != nil {
			return Weights{}, err
		}
		api, err := a.clients.CloudFront(ctx)
		if err != nil {
			return Weights{}, err
		}
		return getCloudFrontWeights(ctx, api, cf)
	}
	return Weights{}, unknownProvider(t.Provider)
}

// SetProgress is the heartbeat of SetTrafficWeights.
type SetProgress struct {
	Step  string `json:"step"`
	Green int    `json:"green"`
	// ID of the submitted change, once submitted.
	ID string `json:"id,omitempty"`
}

// SetTrafficWeights submits a new split; it is idempotent: when the split
// is already in place nothing is sent and the Change is a Noop. It
// heartbeats from its first call to its last (in the background while a
// call blocks), so a worker that dies right after changing traffic is
// noticed within the heartbeat timeout and the retry, which finds the split
// in place, returns at once.
func (a *Activities) SetTrafficWeights(ctx context.Context, in SetWeightsInput) (Change, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	activitylog.Heartbeat(ctx, SetProgress{Step: "submitting", Green: in.Green})
	c, err := a.setWeights(ctx, in)
	if err == nil {
		activitylog.Heartbeat(ctx, SetProgress{Step: "submitted", Green: in.Green, ID: c.ID})
	}
	return c, err
}

func (a *Activities) setWeights(ctx context.Context, in SetWeightsInput) (Change, error) {
	if in.Green < 0 || in.Green > 100 {
		return Change{}, invalidf("green weight %d: must be between 0 and 100", in.Green)
	}
	switch in.Target.Provider {
	case ProviderRoute53:
		r, err := route53Spec(in.Target)
		if err != nil {
			return Change{}, err
		}
		api, err := a.clients.Route53(ctx)
		if err != nil {
			return Change{}, err
		}
		return setRoute53Weights(ctx, api, r, in.Green)
	case ProviderCloudFront:
		cf, err := cloudFrontSpec(in.Target)
		if err != nil {
			return Change{}, err
		}
		api, err := a.clients.CloudFront(ctx)
		if err != nil {
			return Change{}, err
		}
		return a.setCloudFrontOrigin(ctx, api, cf, in.Green)
	}
	return Change{}, unknownProvider(in.Target.Provider)
}

// WaitTrafficPropagated heartbeats until Route53 says INSYNC or CloudFront
// says Deployed. After a retry it carries on from the heartbeat details.
func (a *Activities) WaitTrafficPropagated(ctx context.Context, c Change) error {
	return a.waitPropagated(ctx, c)
}

// CheckTrafficHealth takes one health reading: the alarms and the probes.
// What cannot be read is retried for in.ReadBudget before it counts as
// unhealthy; it heartbeats meanwhile.
func (a *Activities) CheckTrafficHealth(ctx context.Context, in HealthInput) (HealthResult, error) {
	return a.checkHealth(ctx, in)
}
