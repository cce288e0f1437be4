// Package awsconf builds aws-sdk-go-v2 configurations per region. In
// production it loads the default chain (IRSA / Pod Identity, env, profile);
// in the sandbox every client is pointed at the moto server through
// BaseEndpoint with static test credentials.
package awsconf

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Provider returns the AWS configuration for a region.
type Provider interface {
	ForRegion(ctx context.Context, region string) (aws.Config, error)
}

// Default loads the SDK's default configuration chain once per region.
// Endpoint, when set (CUTOVER_AWS_ENDPOINT), sends every call there: the
// sandbox's moto server, or a VPC endpoint proxy.
type Default struct {
	Endpoint string

	mu    sync.Mutex
	cache map[string]aws.Config
}

// ForRegion implements Provider.
func (d *Default) ForRegion(ctx context.Context, region string) (aws.Config, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache[region]; ok {
		return c, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if d.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(d.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config for region %s: %w", region, err)
	}
	if d.cache == nil {
		d.cache = map[string]aws.Config{}
	}
	d.cache[region] = cfg
	return cfg, nil
}

// Static points every region at one endpoint with fixed credentials; the
// sandbox and tests use it with moto.
type Static struct {
	Endpoint string
}

// ForRegion implements Provider.
func (s Static) ForRegion(_ context.Context, region string) (aws.Config, error) {
	return aws.Config{
		Region:           region,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: 3,
	}, nil
}
