package traffic

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// WaitProgress is the heartbeat of WaitTrafficPropagated. After a retry the
// activity reads it back and carries on counting.
type WaitProgress struct {
	Provider string `json:"provider"`
	// ID is the Route53 change ID or the CloudFront distribution ID.
	ID string `json:"id"`
	// Status last seen: PENDING/INSYNC or InProgress/Deployed.
	Status string `json:"status,omitempty"`
	// Polls counts status reads over all attempts.
	Polls int `json:"polls"`
	// Since is when the first attempt started waiting (RFC 3339).
	Since string `json:"since"`
}

// Final statuses.
const (
	route53InSync      = string(r53types.ChangeStatusInsync)
	cloudFrontDeployed = "Deployed"
)

func resumeWait(ctx context.Context, c Change) WaitProgress {
	fresh := WaitProgress{Provider: c.Provider, ID: c.ID, Since: time.Now().UTC().Format(time.RFC3339)}
	p, ok := activitylog.Resume[WaitProgress](ctx)
	if !ok || p.ID != c.ID || p.Provider != c.Provider {
		return fresh
	}
	logger(ctx).Info("Resuming the propagation wait from the last heartbeat", "provider", p.Provider, "id", p.ID,
		"status", p.Status, "polls", p.Polls, "since", p.Since)
	if p.Since == "" {
		p.Since = fresh.Since
	}
	return p
}

func (a *Activities) waitPropagated(ctx context.Context, c Change) error {
	if c.Noop {
		logger(ctx).Info("Nothing to wait for: the traffic change was a no-op", "provider", c.Provider)
		return nil
	}
	if c.ID == "" {
		return invalidf("traffic change of provider %q has no ID to wait for", c.Provider)
	}
	var poll func(context.Context) (done bool, status string, err error)
	switch c.Provider {
	case ProviderRoute53:
		api, err := a.clients.Route53(ctx)
		if err != nil {
			return err
		}
		poll = func(ctx context.Context) (bool, string, error) {
			out, err := api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(c.ID)})
			if err != nil {
				return false, "", awsError(err, "read Route53 change %s", c.ID)
			}
			if out.ChangeInfo == nil {
				return false, "", nil
			}
			s := string(out.ChangeInfo.Status)
			return s == route53InSync, s, nil
		}
	case ProviderCloudFront:
		api, err := a.clients.CloudFront(ctx)
		if err != nil {
			return err
		}
		poll = func(ctx context.Context) (bool, string, error) {
			out, err := api.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(c.ID)})
			if err != nil {
				return false, "", awsError(err, "read CloudFront distribution %s", c.ID)
			}
			if out.Distribution == nil {
				return false, "", nil
			}
			s := aws.ToString(out.Distribution.Status)
			return s == cloudFrontDeployed, s, nil
		}
	default:
		return unknownProvider(c.Provider)
	}

	p := resumeWait(ctx, c)
	for {
		done, status, err := poll(ctx)
		if err != nil {
			return err
		}
		p.Polls++
		if status != p.Status {
			logger(ctx).Info("Traffic change status", "provider", c.Provider, "id", c.ID, "status", status, "polls", p.Polls)
		}
		p.Status = status
		activitylog.Heartbeat(ctx, p)
		if done {
			logger(ctx).Info("Traffic change propagated", "provider", c.Provider, "id", c.ID,
				"status", status, "polls", p.Polls, "since", p.Since)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(a.pollInterval):
		}
	}
}
