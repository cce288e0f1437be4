package traffic

import (
	"context"

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
	var lastErr error
	for attempt := 1; attempt <= a.updateAttempts; attempt++ {
		cfg, etag, err := getDistributionConfig(ctx, api, c.DistributionID)
		if err != nil {
			return Change{}, err
		}
		changed, err := switchOrigin(cfg, c, from, to)
		if err != nil {
			return Change{}, err
		}
		if len(changed) == 0 {
			logger(ctx).Info("CloudFront origin already in place", "distribution", c.DistributionID, "origin", to)
			return Change{Provider: ProviderCloudFront, ID: c.DistributionID, Weights: want, Noop: true}, nil
		}
		_, err = api.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{
			Id:                 aws.String(c.DistributionID),
			IfMatch:            aws.String(etag),
			DistributionConfig: cfg,
		})
		if err == nil {
			logger(ctx).Info("CloudFront origin switched", "distribution", c.DistributionID,
				"from", from, "to", to, "changes", changed, "attempt", attempt)
			return Change{Provider: ProviderCloudFront, ID: c.DistributionID, Weights: want}, nil
		}
		lastErr = awsError(err, "update CloudFront distribution %s to origin %s", c.DistributionID, to)
		if !hasCode(err, "PreconditionFailed", "InvalidIfMatchVersion") {
			return Change{}, lastErr
		}
		logger(ctx).Warn("CloudFront distribution changed under us, reading it again",
			"distribution", c.DistributionID, "attempt", attempt, "error", err)
	}
	// Still racing: let Temporal retry the activity later.
	return Change{}, failures.Wrap(failures.ResourceInUse, lastErr,
		"CloudFront distribution %s kept changing during %d update attempts", c.DistributionID, a.updateAttempts)
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
