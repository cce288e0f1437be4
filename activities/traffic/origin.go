package traffic

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CurrentOriginInput names a CloudFront distribution.
type CurrentOriginInput struct {
	DistributionID string `json:"distributionId"`
}

// CurrentOrigin is the origin a distribution's default cache behavior
// targets.
type CurrentOrigin struct {
	OriginID   string `json:"originId"`
	DomainName string `json:"domainName"`
	// Origins are every origin ID of the distribution.
	Origins []string `json:"origins"`
}

// CurrentCloudFrontOrigin reads which origin the default cache behavior
// targets now: with traffic.cloudfront.greenOriginFrom that origin is
// blue's, so a fleet member need not name it each quarter. It only reads.
func (a *Activities) CurrentCloudFrontOrigin(ctx context.Context, in CurrentOriginInput) (CurrentOrigin, error) {
	if in.DistributionID == "" {
		return CurrentOrigin{}, invalidf("current CloudFront origin: distribution ID is empty")
	}
	api, err := a.clients.CloudFront(ctx)
	if err != nil {
		return CurrentOrigin{}, err
	}
	cfg, _, err := getDistributionConfig(ctx, api, in.DistributionID)
	if err != nil {
		return CurrentOrigin{}, err
	}
	def := defaultOrigin(cfg)
	if def == "" {
		return CurrentOrigin{}, conflictf("CloudFront distribution %s has no default cache behavior origin", in.DistributionID)
	}
	out := CurrentOrigin{OriginID: def, Origins: []string{}}
	if o := findOrigin(cfg, def); o != nil {
		out.DomainName = aws.ToString(o.DomainName)
	} else {
		return out, conflictf("CloudFront distribution %s: the default cache behavior targets origin %q, which the distribution does not have", in.DistributionID, def)
	}
	if cfg.Origins != nil {
		for _, o := range cfg.Origins.Items {
			out.Origins = append(out.Origins, aws.ToString(o.Id))
		}
	}
	logger(ctx).Info("Read the CloudFront distribution's current origin", "distribution", in.DistributionID, "origin", def, "domain", out.DomainName)
	return out, nil
}
