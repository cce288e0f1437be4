package traffic

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cutover-dev/cutover/internal/failures"
)

func cloudFrontSpec(t Target) (CloudFrontOrigins, error) {
	if t.CloudFront == nil {
		return CloudFrontOrigins{}, invalidf("traffic target: provider is cloudfront but cloudfront is not set")
	}
	c := *t.CloudFront
	switch {
	case c.DistributionID == "":
		return c, invalidf("traffic.cloudfront.distributionId: required")
	case c.BlueOriginID == "":
		return c, invalidf("traffic.cloudfront.blueOriginId: required")
	case c.GreenOriginID == "":
		return c, invalidf("traffic.cloudfront.greenOriginId: required")
	case c.BlueOriginID == c.GreenOriginID:
		return c, invalidf("traffic.cloudfront: blue and green origin IDs are both %q", c.BlueOriginID)
	}
	return c, nil
}

func findOrigin(cfg *cftypes.DistributionConfig, id string) *cftypes.Origin {
	if cfg.Origins == nil {
		return nil
	}
	for i := range cfg.Origins.Items {
		if aws.ToString(cfg.Origins.Items[i].Id) == id {
			return &cfg.Origins.Items[i]
		}
	}
	return nil
}

// behaviorTargets reports whether the default or any path cache behavior
// targets the origin.
func behaviorTargets(cfg *cftypes.DistributionConfig, origin string) bool {
	if cfg.DefaultCacheBehavior != nil && aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId) == origin {
		return true
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			if aws.ToString(b.TargetOriginId) == origin {
				return true
			}
		}
	}
	return false
}

func defaultOrigin(cfg *cftypes.DistributionConfig) string {
	if cfg.DefaultCacheBehavior == nil {
		return ""
	}
	return aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId)
}

func getDistributionConfig(ctx context.Context, api CloudFrontAPI, id string) (*cftypes.DistributionConfig, string, error) {
	out, err := api.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
	if err != nil {
		return nil, "", awsError(err, "read CloudFront distribution %s", id)
	}
	if out.DistributionConfig == nil {
		return nil, "", notFoundf("CloudFront distribution %s has no configuration", id)
	}
	return out.DistributionConfig, aws.ToString(out.ETag), nil
}

func getCloudFrontWeights(ctx context.Context, api CloudFrontAPI, c CloudFrontOrigins) (Weights, error) {
	cfg, _, err := getDistributionConfig(ctx, api, c.DistributionID)
	if err != nil {
		return Weights{}, err
	}
	switch def := defaultOrigin(cfg); def {
	case c.GreenOriginID:
		if behaviorTargets(cfg, c.BlueOriginID) {
			logger(ctx).Warn("Default cache behavior is on green but a path behavior still targets blue",
				"distribution", c.DistributionID, "blueOrigin", c.BlueOriginID)
		}
		return Weights{Green: 100}, nil
	case c.BlueOriginID:
		return Weights{Blue: 100}, nil
	default:
		return Weights{}, conflictf("CloudFront distribution %s: the default cache behavior targets origin %q, neither blue (%q) nor green (%q)",
			c.DistributionID, def, c.BlueOriginID, c.GreenOriginID)
	}
}

// setCloudFrontOrigin points every cache behavior that targets one side at
// the other: green when green is 100, blue when it is 0. It re-reads and
// retries when the distribution changed between the read and the write.
func (a *Activities) setCloudFrontOrigin(ctx context.Context, api CloudFrontAPI, c CloudFrontOrigins, green int) (Change, error) {
	if green != 0 && green != 100 {
		return Change{}, invalidf("CloudFront switches all traffic at once: green weight must be 0 or 100, not %d", green)
	}
	want := Weights{Blue: 100 - green, Green: green}
	from, to := c.BlueOriginID, c.GreenOriginID
	if green == 0 {
		from, to = c.GreenOriginID, c.BlueOriginID
	}
	wrote, err := a.editDistribution(ctx, api, c.DistributionID, "switch to origin "+to, func(cfg *cftypes.DistributionConfig) ([]string, error) {
		return switchOrigin(cfg, c, from, to)
	})
	if err != nil {
		return Change{}, err
	}
	if !wrote {
		logger(ctx).Info("CloudFront origin already in place", "distribution", c.DistributionID, "origin", to)
		return Change{Provider: ProviderCloudFront, ID: c.DistributionID, Weights: want, Noop: true}, nil
	}
	logger(ctx).Info("CloudFront origin switched", "distribution", c.DistributionID, "from", from, "to", to)
	return Change{Provider: ProviderCloudFront, ID: c.DistributionID, Weights: want}, nil
}

// staleWrite is a write CloudFront refused because the object changed
// since it was read (its ETag is stale).
type staleWrite struct{ err error }

func (s staleWrite) Error() string { return s.err.Error() }

// stale returns wrapped (the write's error as the activity reports it),
// marked as a stale write when the write lost an ETag race
// (PreconditionFailed, InvalidIfMatchVersion).
func stale(err, wrapped error) error {
	if hasCode(err, "PreconditionFailed", "InvalidIfMatchVersion") {
		return staleWrite{wrapped}
	}
	return wrapped
}

// etagAttempts runs try (read, decide, write with the ETag read) until it
// returns anything but a stale write: another writer that came between the
// read and the write makes it read again, up to updateAttempts times, and
// then the call fails with a retryable ResourceInUse, so Temporal retries
// the activity later. what names the object for the logs and the error.
func (a *Activities) etagAttempts(ctx context.Context, what string, try func(attempt int) error) error {
	var last error
	for attempt := 1; attempt <= a.updateAttempts; attempt++ {
		err := try(attempt)
		var s staleWrite
		if !errors.As(err, &s) {
			return err
		}
		last = s.err
		logger(ctx).Warn("CloudFront object changed under us, reading it again", "object", what, "attempt", attempt, "error", s.err)
	}
	return failures.Wrap(failures.ResourceInUse, last, "%s kept changing during %d attempts", what, a.updateAttempts)
}

// switchOrigin edits cfg in place: it creates the target origin from
// greenOriginDomain if needed (switching to green) and moves the default
// and path behaviors from one origin to the other. It returns what it
// changed; nothing means the distribution is already as wanted.
func switchOrigin(cfg *cftypes.DistributionConfig, c CloudFrontOrigins, from, to string) ([]string, error) {
	if cfg.DefaultCacheBehavior == nil {
		return nil, conflictf("CloudFront distribution %s has no default cache behavior", c.DistributionID)
	}
	var changed []string
	if findOrigin(cfg, to) == nil {
		if to != c.GreenOriginID {
			return nil, notFoundf("CloudFront distribution %s has no origin %q (blue) to switch back to", c.DistributionID, to)
		}
		if c.GreenOriginDomain == "" {
			return nil, notFoundf("CloudFront distribution %s has no origin %q and traffic.cloudfront.greenOriginDomain is empty, so it cannot be created",
				c.DistributionID, to)
		}
		blue := findOrigin(cfg, c.BlueOriginID)
		if blue == nil {
			return nil, notFoundf("CloudFront distribution %s has neither origin %q (blue) to copy nor %q (green)", c.DistributionID, c.BlueOriginID, to)
		}
		// Green is blue's origin (protocol, ports, timeouts, headers, OAC)
		// with green's ID and domain.
		g := *blue
		g.Id = aws.String(to)
		g.DomainName = aws.String(c.GreenOriginDomain)
		cfg.Origins.Items = append(cfg.Origins.Items, g)
		cfg.Origins.Quantity = aws.Int32(int32(len(cfg.Origins.Items)))
		changed = append(changed, "origin "+to+" created")
	} else if g := findOrigin(cfg, to); to == c.GreenOriginID && c.GreenOriginFrom != nil && c.GreenOriginDomain != "" && aws.ToString(g.DomainName) != c.GreenOriginDomain {
		// Green's origin from an earlier attempt names another load
		// balancer: it follows the one green's entry point has now.
		g.DomainName = aws.String(c.GreenOriginDomain)
		changed = append(changed, "origin "+to+" domain "+c.GreenOriginDomain)
	}
	switch def := defaultOrigin(cfg); def {
	case to:
	case from:
		cfg.DefaultCacheBehavior.TargetOriginId = aws.String(to)
		changed = append(changed, "default behavior")
	default:
		return nil, conflictf("CloudFront distribution %s: the default cache behavior targets origin %q, neither blue (%q) nor green (%q)",
			c.DistributionID, def, c.BlueOriginID, c.GreenOriginID)
	}
	if cfg.CacheBehaviors != nil {
		for i := range cfg.CacheBehaviors.Items {
			b := &cfg.CacheBehaviors.Items[i]
			if aws.ToString(b.TargetOriginId) == from {
				b.TargetOriginId = aws.String(to)
				changed = append(changed, "behavior "+aws.ToString(b.PathPattern))
			}
		}
	}
	return changed, nil
}
