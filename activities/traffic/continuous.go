package traffic

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// CloudFront continuous deployment: a staging copy of the primary
// distribution serves green while the primary keeps serving blue, a
// continuous deployment policy attached to the primary sends a share of the
// requests (at most CloudFront's 15 %) to the staging copy, and the
// promotion copies the staging configuration onto the primary. The order
// of the calls follows what CloudFront accepts: a staging distribution that
// a policy names can be neither disabled nor deleted, and a policy that a
// primary uses cannot be deleted, so the cleanup detaches the policy,
// deletes it, then disables and deletes the staging distribution.

// MaxStagingWeight is CloudFront's cap on the share of requests (percent) a
// weight-based continuous deployment policy sends to the staging
// distribution.
const MaxStagingWeight = 15

// StartStagingInput starts a continuous deployment of the target's
// CloudFront distribution (the primary).
type StartStagingInput struct {
	Target Target `json:"target"`
	// MigrationID names the staging distribution's caller reference, so a
	// retry finds the copy the first attempt made.
	MigrationID string `json:"migrationId"`
	// Weight is the percentage of requests sent to the staging
	// distribution, 1 to MaxStagingWeight.
	Weight int `json:"weight"`
}

// StagingState is a running continuous deployment: what EnsureStaging made
// and every later step acts on.
type StagingState struct {
	PrimaryID     string `json:"primaryId"`
	StagingID     string `json:"stagingId"`
	StagingDomain string `json:"stagingDomain"`
	PolicyID      string `json:"policyId"`
	// BlueOriginID is the origin the primary serves; GreenOriginID the one
	// the staging distribution serves (and the primary once promoted).
	BlueOriginID  string `json:"blueOriginId"`
	GreenOriginID string `json:"greenOriginId"`
	// Weight is the percentage of requests the policy sends to staging.
	Weight int `json:"weight"`
}

// StagingWeightInput changes the staging distribution's share of requests.
type StagingWeightInput struct {
	Staging StagingState `json:"staging"`
	// Weight in percent, 0 to MaxStagingWeight.
	Weight int `json:"weight"`
}

// StagingProgress is the heartbeat of the continuous deployment activities.
type StagingProgress struct {
	Step      string `json:"step"`
	PrimaryID string `json:"primaryId,omitempty"`
	StagingID string `json:"stagingId,omitempty"`
	PolicyID  string `json:"policyId,omitempty"`
	// Waiting lists the distributions not Deployed yet at the last poll.
	Waiting []string `json:"waiting,omitempty"`
	Polls   int      `json:"polls,omitempty"`
}

func stagingCallerReference(migrationID string) string {
	return "cutover-staging-" + migrationID
}

func (st StagingState) origins() CloudFrontOrigins {
	return CloudFrontOrigins{DistributionID: st.PrimaryID, BlueOriginID: st.BlueOriginID, GreenOriginID: st.GreenOriginID}
}

func (st StagingState) progress(step string) StagingProgress {
	return StagingProgress{Step: step, PrimaryID: st.PrimaryID, StagingID: st.StagingID, PolicyID: st.PolicyID}
}

// check reports a state EnsureStaging cannot have returned.
func (st StagingState) check() error {
	switch {
	case st.PrimaryID == "":
		return invalidf("continuous deployment: primaryId is empty")
	case st.StagingID == "":
		return invalidf("continuous deployment of %s: stagingId is empty", st.PrimaryID)
	case st.PolicyID == "":
		return invalidf("continuous deployment of %s: policyId is empty", st.PrimaryID)
	case st.BlueOriginID == "" || st.GreenOriginID == "" || st.BlueOriginID == st.GreenOriginID:
		return invalidf("continuous deployment of %s: blue and green origins %q and %q must be two different origins",
			st.PrimaryID, st.BlueOriginID, st.GreenOriginID)
	}
	return nil
}

func checkStagingWeight(w, lowest int) error {
	if w < lowest || w > MaxStagingWeight {
		return invalidf("staging weight %d%%: must be between %d and %d (CloudFront sends at most %d%% of requests to a staging distribution)",
			w, lowest, MaxStagingWeight, MaxStagingWeight)
	}
	return nil
}

// stagingAPI is the CloudFront client with the continuous deployment calls.
func (a *Activities) stagingAPI(ctx context.Context) (CloudFrontStagingAPI, error) {
	api, err := a.clients.CloudFront(ctx)
	if err != nil {
		return nil, err
	}
	s, ok := api.(CloudFrontStagingAPI)
	if !ok {
		return nil, failures.New(failures.NotImplemented, "the CloudFront client %T has no continuous deployment calls", api)
	}
	return s, nil
}

// stagingAPIFor checks the state of a running continuous deployment and
// returns the client its activities act through.
func (a *Activities) stagingAPIFor(ctx context.Context, st StagingState) (CloudFrontStagingAPI, error) {
	if err := st.check(); err != nil {
		return nil, err
	}
	return a.stagingAPI(ctx)
}

// EnsureStaging starts a continuous deployment: it copies the primary into
// a staging distribution (caller reference from the migration ID, so a
// retry gets the same copy), points the staging distribution's default
// behavior and the behaviors on blue's origin at green's origin (creating
// it from greenOriginDomain when missing), creates a SingleWeight policy
// at in.Weight (or adopts the one the primary already has, or the one
// naming the staging distribution, setting its weight), attaches it to the
// primary and waits until both distributions are Deployed. A primary with
// another continuous deployment policy is a Conflict.
func (a *Activities) EnsureStaging(ctx context.Context, in StartStagingInput) (StagingState, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if in.Target.Provider != ProviderCloudFront {
		return StagingState{}, invalidf("continuous deployment needs traffic provider %q, not %q", ProviderCloudFront, in.Target.Provider)
	}
	c, err := cloudFrontSpec(in.Target)
	if err != nil {
		return StagingState{}, err
	}
	if strings.TrimSpace(in.MigrationID) == "" {
		return StagingState{}, invalidf("continuous deployment of %s: migrationId is empty", c.DistributionID)
	}
	if err := checkStagingWeight(in.Weight, 1); err != nil {
		return StagingState{}, err
	}
	api, err := a.stagingAPI(ctx)
	if err != nil {
		return StagingState{}, err
	}
	st := StagingState{PrimaryID: c.DistributionID, BlueOriginID: c.BlueOriginID, GreenOriginID: c.GreenOriginID, Weight: in.Weight}

	activitylog.Heartbeat(ctx, st.progress("copying the primary"))
	staging, err := a.copyPrimary(ctx, api, c.DistributionID, stagingCallerReference(in.MigrationID))
	if err != nil {
		return StagingState{}, err
	}
	st.StagingID, st.StagingDomain = aws.ToString(staging.Id), aws.ToString(staging.DomainName)

	activitylog.Heartbeat(ctx, st.progress("pointing the staging distribution at green"))
	if _, err := a.editDistribution(ctx, api, st.StagingID, "point staging distribution at green", func(cfg *cftypes.DistributionConfig) ([]string, error) {
		if !aws.ToBool(cfg.Staging) {
			return nil, conflictf("CloudFront distribution %s, the copy of %s, is not a staging distribution", st.StagingID, st.PrimaryID)
		}
		sc := c
		sc.DistributionID = st.StagingID
		return switchOrigin(cfg, sc, c.BlueOriginID, c.GreenOriginID)
	}); err != nil {
		return StagingState{}, err
	}

	activitylog.Heartbeat(ctx, st.progress("creating the continuous deployment policy"))
	st.PolicyID, err = a.ensurePolicy(ctx, api, st)
	if err != nil {
		return StagingState{}, err
	}

	activitylog.Heartbeat(ctx, st.progress("attaching the policy to the primary"))
	if _, err := a.editDistribution(ctx, api, st.PrimaryID, "attach continuous deployment policy", func(cfg *cftypes.DistributionConfig) ([]string, error) {
		switch cur := aws.ToString(cfg.ContinuousDeploymentPolicyId); cur {
		case st.PolicyID:
			return nil, nil
		case "":
			cfg.ContinuousDeploymentPolicyId = aws.String(st.PolicyID)
			return []string{"continuous deployment policy " + st.PolicyID}, nil
		default:
			return nil, conflictf("CloudFront distribution %s already has continuous deployment policy %s, not cutover's %s", st.PrimaryID, cur, st.PolicyID)
		}
	}); err != nil {
		return StagingState{}, err
	}

	if err := a.waitDeployed(ctx, api, st.progress("waiting for both distributions"), st.PrimaryID, st.StagingID); err != nil {
		return StagingState{}, err
	}
	logger(ctx).Info("Continuous deployment started", "primary", st.PrimaryID, "staging", st.StagingID,
		"stagingDomain", st.StagingDomain, "policy", st.PolicyID, "weight", st.Weight)
	return st, nil
}

// copyPrimary copies the primary into a staging distribution, or gets the
// copy an earlier call with the same caller reference made.
func (a *Activities) copyPrimary(ctx context.Context, api CloudFrontStagingAPI, primary, ref string) (*cftypes.Distribution, error) {
	var copied *cftypes.Distribution
	err := a.etagAttempts(ctx, "CloudFront distribution "+primary, func(attempt int) error {
		cfg, etag, err := getDistributionConfig(ctx, api, primary)
		if err != nil {
			return err
		}
		if aws.ToBool(cfg.Staging) {
			return invalidf("CloudFront distribution %s is a staging distribution: continuous deployment starts from a primary", primary)
		}
		out, err := api.CopyDistribution(ctx, &cloudfront.CopyDistributionInput{
			PrimaryDistributionId: aws.String(primary),
			CallerReference:       aws.String(ref),
			Staging:               aws.Bool(true),
			Enabled:               aws.Bool(true),
			IfMatch:               aws.String(etag),
		})
		if err != nil {
			return stale(err, awsError(err, "copy CloudFront distribution %s into a staging distribution", primary))
		}
		if out.Distribution == nil || aws.ToString(out.Distribution.Id) == "" {
			return failures.New(failures.Conflict, "CloudFront CopyDistribution of %s returned no distribution", primary)
		}
		logger(ctx).Info("Staging distribution in place", "primary", primary, "staging", aws.ToString(out.Distribution.Id),
			"domain", aws.ToString(out.Distribution.DomainName), "callerReference", ref, "attempt", attempt)
		copied = out.Distribution
		return nil
	})
	return copied, err
}

// editDistribution reads the distribution's configuration, lets edit change
// it, and writes it back with the ETag it read; when another writer changed
// the distribution in between (PreconditionFailed) it reads it again, up to
// updateAttempts times. edit returns what it changed: nothing means no
// write. It reports whether it wrote.
func (a *Activities) editDistribution(ctx context.Context, api CloudFrontAPI, id, what string,
	edit func(*cftypes.DistributionConfig) ([]string, error)) (bool, error) {
	wrote := false
	err := a.etagAttempts(ctx, "CloudFront distribution "+id, func(attempt int) error {
		cfg, etag, err := getDistributionConfig(ctx, api, id)
		if err != nil {
			return err
		}
		changed, err := edit(cfg)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			logger(ctx).Info("CloudFront distribution already as wanted", "distribution", id, "change", what)
			return nil
		}
		if _, err := api.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{
			Id: aws.String(id), IfMatch: aws.String(etag), DistributionConfig: cfg,
		}); err != nil {
			return stale(err, awsError(err, "%s: update CloudFront distribution %s", what, id))
		}
		logger(ctx).Info("CloudFront distribution updated", "distribution", id, "change", what, "changes", changed, "attempt", attempt)
		wrote = true
		return nil
	})
	return wrote, err
}

// ensurePolicy returns the ID of the policy sending st.Weight % of the
// requests to the staging distribution: the primary's own policy when it
// names the staging distribution, else the policy that names it, else a new
// one.
func (a *Activities) ensurePolicy(ctx context.Context, api CloudFrontStagingAPI, st StagingState) (string, error) {
	cfg, _, err := getDistributionConfig(ctx, api, st.PrimaryID)
	if err != nil {
		return "", err
	}
	id := aws.ToString(cfg.ContinuousDeploymentPolicyId)
	if id != "" {
		out, err := api.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(id)})
		if err != nil {
			return "", awsError(err, "read continuous deployment policy %s of CloudFront distribution %s", id, st.PrimaryID)
		}
		if !slices.Contains(policyDNSNames(out.ContinuousDeploymentPolicy), st.StagingDomain) {
			return "", conflictf("CloudFront distribution %s already has continuous deployment policy %s, which routes to %v, not to cutover's staging distribution %s (%s)",
				st.PrimaryID, id, policyDNSNames(out.ContinuousDeploymentPolicy), st.StagingID, st.StagingDomain)
		}
	} else if id, err = findPolicy(ctx, api, st.StagingDomain); err != nil {
		return "", err
	}
	if id != "" {
		logger(ctx).Info("Adopting the continuous deployment policy of the staging distribution", "policy", id, "staging", st.StagingID)
		if _, err := a.setPolicyWeight(ctx, api, id, st.Weight); err != nil {
			return "", err
		}
		return id, nil
	}
	out, err := api.CreateContinuousDeploymentPolicy(ctx, &cloudfront.CreateContinuousDeploymentPolicyInput{
		ContinuousDeploymentPolicyConfig: &cftypes.ContinuousDeploymentPolicyConfig{
			StagingDistributionDnsNames: &cftypes.StagingDistributionDnsNames{Quantity: aws.Int32(1), Items: []string{st.StagingDomain}},
			Enabled:                     aws.Bool(true),
			TrafficConfig:               weightTraffic(st.Weight, nil),
		},
	})
	if err != nil {
		return "", awsError(err, "create continuous deployment policy for staging distribution %s", st.StagingID)
	}
	if out.ContinuousDeploymentPolicy == nil || aws.ToString(out.ContinuousDeploymentPolicy.Id) == "" {
		return "", failures.New(failures.Conflict, "CloudFront CreateContinuousDeploymentPolicy returned no policy")
	}
	id = aws.ToString(out.ContinuousDeploymentPolicy.Id)
	logger(ctx).Info("Continuous deployment policy created", "policy", id, "staging", st.StagingID, "weight", st.Weight)
	return id, nil
}

// findPolicy returns the ID of the policy naming the staging domain, "" if
// none does.
func findPolicy(ctx context.Context, api CloudFrontStagingAPI, domain string) (string, error) {
	var marker *string
	for {
		out, err := api.ListContinuousDeploymentPolicies(ctx, &cloudfront.ListContinuousDeploymentPoliciesInput{Marker: marker})
		if err != nil {
			return "", awsError(err, "list continuous deployment policies")
		}
		list := out.ContinuousDeploymentPolicyList
		if list == nil {
			return "", nil
		}
		for _, s := range list.Items {
			if slices.Contains(policyDNSNames(s.ContinuousDeploymentPolicy), domain) {
				return aws.ToString(s.ContinuousDeploymentPolicy.Id), nil
			}
		}
		if aws.ToString(list.NextMarker) == "" {
			return "", nil
		}
		marker = list.NextMarker
	}
}

func policyDNSNames(p *cftypes.ContinuousDeploymentPolicy) []string {
	if p == nil || p.ContinuousDeploymentPolicyConfig == nil || p.ContinuousDeploymentPolicyConfig.StagingDistributionDnsNames == nil {
		return nil
	}
	return p.ContinuousDeploymentPolicyConfig.StagingDistributionDnsNames.Items
}

// weightTraffic is a SingleWeight traffic configuration at percent %,
// keeping the session stickiness it had.
func weightTraffic(percent int, sticky *cftypes.SessionStickinessConfig) *cftypes.TrafficConfig {
	return &cftypes.TrafficConfig{
		Type: cftypes.ContinuousDeploymentPolicyTypeSingleWeight,
		SingleWeightConfig: &cftypes.ContinuousDeploymentSingleWeightConfig{
			Weight:                  aws.Float32(float32(percent) / 100),
			SessionStickinessConfig: sticky,
		},
	}
}

// policyWeight is the share of requests (percent) the policy sends to the
// staging distribution: 0 when it is disabled or routes by header.
func policyWeight(cfg *cftypes.ContinuousDeploymentPolicyConfig) int {
	if cfg == nil || !aws.ToBool(cfg.Enabled) || cfg.TrafficConfig == nil ||
		cfg.TrafficConfig.Type != cftypes.ContinuousDeploymentPolicyTypeSingleWeight || cfg.TrafficConfig.SingleWeightConfig == nil {
		return 0
	}
	return int(math.Round(float64(aws.ToFloat32(cfg.TrafficConfig.SingleWeightConfig.Weight)) * 100))
}

// setPolicyWeight makes the policy an enabled SingleWeight policy at
// percent %, reading it again after a PreconditionFailed. It reports
// whether it wrote.
func (a *Activities) setPolicyWeight(ctx context.Context, api CloudFrontStagingAPI, id string, percent int) (bool, error) {
	wrote := false
	err := a.etagAttempts(ctx, "continuous deployment policy "+id, func(attempt int) error {
		out, err := api.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(id)})
		if err != nil {
			return awsError(err, "read continuous deployment policy %s", id)
		}
		if out.ContinuousDeploymentPolicy == nil || out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig == nil {
			return notFoundf("continuous deployment policy %s has no configuration", id)
		}
		cfg := out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig
		t := cfg.TrafficConfig
		if aws.ToBool(cfg.Enabled) && t != nil && t.Type == cftypes.ContinuousDeploymentPolicyTypeSingleWeight && policyWeight(cfg) == percent {
			logger(ctx).Info("Staging weight already in place", "policy", id, "weight", percent)
			return nil
		}
		var sticky *cftypes.SessionStickinessConfig
		if t != nil && t.SingleWeightConfig != nil {
			sticky = t.SingleWeightConfig.SessionStickinessConfig
		}
		from := policyWeight(cfg)
		cfg.Enabled = aws.Bool(true)
		cfg.TrafficConfig = weightTraffic(percent, sticky)
		if _, err := api.UpdateContinuousDeploymentPolicy(ctx, &cloudfront.UpdateContinuousDeploymentPolicyInput{
			Id: aws.String(id), IfMatch: out.ETag, ContinuousDeploymentPolicyConfig: cfg,
		}); err != nil {
			return stale(err, awsError(err, "set continuous deployment policy %s to %d%%", id, percent))
		}
		logger(ctx).Info("Staging weight set", "policy", id, "from", from, "to", percent, "attempt", attempt)
		wrote = true
		return nil
	})
	return wrote, err
}

// waitDeployed polls the distributions until each is Deployed,
// heartbeating p after every round.
func (a *Activities) waitDeployed(ctx context.Context, api CloudFrontAPI, p StagingProgress, ids ...string) error {
	pending := slices.Clone(ids)
	for {
		var still []string
		for _, id := range pending {
			out, err := api.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(id)})
			if err != nil {
				return awsError(err, "read CloudFront distribution %s", id)
			}
			if out.Distribution == nil || aws.ToString(out.Distribution.Status) != cloudFrontDeployed {
				still = append(still, id)
			}
		}
		p.Polls++
		p.Waiting = still
		activitylog.Heartbeat(ctx, p)
		if len(still) == 0 {
			logger(ctx).Info("CloudFront distributions deployed", "distributions", ids, "polls", p.Polls)
			return nil
		}
		pending = still
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(a.pollInterval):
		}
	}
}

// primaryState reads the primary and says where it stands: promoted (its
// default behavior on green's origin), and the continuous deployment
// policy attached to it.
func primaryState(ctx context.Context, api CloudFrontAPI, st StagingState) (promoted bool, policy string, err error) {
	cfg, _, err := getDistributionConfig(ctx, api, st.PrimaryID)
	if err != nil {
		return false, "", err
	}
	switch def := defaultOrigin(cfg); def {
	case st.GreenOriginID:
		promoted = true
	case st.BlueOriginID:
	default:
		return false, "", conflictf("CloudFront distribution %s: the default cache behavior targets origin %q, neither blue (%q) nor green (%q)",
			st.PrimaryID, def, st.BlueOriginID, st.GreenOriginID)
	}
	return promoted, aws.ToString(cfg.ContinuousDeploymentPolicyId), nil
}

// SetStagingWeight sets the share of requests the policy sends to the
// staging distribution and waits until the primary has deployed it. It is
// idempotent. A weight above MaxStagingWeight is a non-retryable
// InvalidParameter; a primary already promoted, or whose policy is not the
// state's (detached by a rollback), is a Conflict.
func (a *Activities) SetStagingWeight(ctx context.Context, in StagingWeightInput) (StagingState, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	st := in.Staging
	if err := checkStagingWeight(in.Weight, 0); err != nil {
		return StagingState{}, err
	}
	api, err := a.stagingAPIFor(ctx, st)
	if err != nil {
		return StagingState{}, err
	}
	activitylog.Heartbeat(ctx, st.progress("setting the staging weight"))
	promoted, policy, err := primaryState(ctx, api, st)
	if err != nil {
		return StagingState{}, err
	}
	if promoted {
		return StagingState{}, conflictf("CloudFront distribution %s is already promoted (default behavior on %q): its staging weight no longer applies",
			st.PrimaryID, st.GreenOriginID)
	}
	if policy != st.PolicyID {
		return StagingState{}, conflictf("CloudFront distribution %s has continuous deployment policy %q, not %s (detached by a rollback?)",
			st.PrimaryID, policy, st.PolicyID)
	}
	if _, err := a.setPolicyWeight(ctx, api, st.PolicyID, in.Weight); err != nil {
		return StagingState{}, err
	}
	st.Weight = in.Weight
	// Waited even when the weight was in place: after a retry it may not be
	// deployed yet.
	if err := a.waitDeployed(ctx, api, st.progress("waiting for the primary"), st.PrimaryID); err != nil {
		return StagingState{}, err
	}
	return st, nil
}

// PromoteStaging copies the staging configuration onto the primary
// (UpdateDistributionWithStagingConfig: the primary keeps its aliases and
// policy, CloudFront disables the policy) and waits until the primary is
// Deployed. A primary already on green's origin is promoted: it only waits.
// It returns the weights after the promotion (all on green).
func (a *Activities) PromoteStaging(ctx context.Context, st StagingState) (Weights, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	api, err := a.stagingAPIFor(ctx, st)
	if err != nil {
		return Weights{}, err
	}
	activitylog.Heartbeat(ctx, st.progress("promoting the staging distribution"))
	if err := a.promote(ctx, api, st); err != nil {
		return Weights{}, err
	}
	if err := a.waitDeployed(ctx, api, st.progress("waiting for the primary"), st.PrimaryID); err != nil {
		return Weights{}, err
	}
	return Weights{Green: 100}, nil
}

func (a *Activities) promote(ctx context.Context, api CloudFrontStagingAPI, st StagingState) error {
	return a.etagAttempts(ctx, "CloudFront distributions "+st.PrimaryID+" and "+st.StagingID, func(attempt int) error {
		pcfg, petag, err := getDistributionConfig(ctx, api, st.PrimaryID)
		if err != nil {
			return err
		}
		switch def := defaultOrigin(pcfg); def {
		case st.GreenOriginID:
			logger(ctx).Info("Staging configuration already promoted", "primary", st.PrimaryID, "origin", def)
			return nil
		case st.BlueOriginID:
		default:
			return conflictf("CloudFront distribution %s: the default cache behavior targets origin %q, neither blue (%q) nor green (%q)",
				st.PrimaryID, def, st.BlueOriginID, st.GreenOriginID)
		}
		if p := aws.ToString(pcfg.ContinuousDeploymentPolicyId); p != st.PolicyID {
			return conflictf("CloudFront distribution %s has continuous deployment policy %q, not %s: the staging distribution was detached, it is not promoted",
				st.PrimaryID, p, st.PolicyID)
		}
		scfg, setag, err := getDistributionConfig(ctx, api, st.StagingID)
		if err != nil {
			return err
		}
		if def := defaultOrigin(scfg); def != st.GreenOriginID {
			return conflictf("staging distribution %s serves origin %q, not green's %q: it is not promoted", st.StagingID, def, st.GreenOriginID)
		}
		if _, err := api.UpdateDistributionWithStagingConfig(ctx, &cloudfront.UpdateDistributionWithStagingConfigInput{
			Id:                    aws.String(st.PrimaryID),
			StagingDistributionId: aws.String(st.StagingID),
			IfMatch:               aws.String(petag + ", " + setag),
		}); err != nil {
			return stale(err, awsError(err, "promote staging distribution %s onto %s", st.StagingID, st.PrimaryID))
		}
		logger(ctx).Info("Staging configuration promoted", "primary", st.PrimaryID, "staging", st.StagingID, "attempt", attempt)
		return nil
	})
}

// DetachStaging is the rollback of a continuous deployment that is not
// promoted: it removes the policy from the primary (which kept serving
// blue), so every request goes to the primary, and waits until the primary
// is Deployed. It is idempotent. It returns the weights after the detach:
// all on blue, unless the primary was already promoted (all on green: the
// rollback then is SetTrafficWeights to green 0 on the primary).
func (a *Activities) DetachStaging(ctx context.Context, st StagingState) (Weights, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	api, err := a.stagingAPIFor(ctx, st)
	if err != nil {
		return Weights{}, err
	}
	activitylog.Heartbeat(ctx, st.progress("detaching the policy from the primary"))
	if _, err := a.detach(ctx, api, st); err != nil {
		return Weights{}, err
	}
	if err := a.waitDeployed(ctx, api, st.progress("waiting for the primary"), st.PrimaryID); err != nil {
		return Weights{}, err
	}
	w, err := getCloudFrontWeights(ctx, api, st.origins())
	if err != nil {
		return Weights{}, err
	}
	if w.Green > 0 {
		logger(ctx).Warn("The primary was already promoted: detaching the policy leaves it on green", "primary", st.PrimaryID)
	}
	return w, nil
}

// detach removes the state's policy from the primary; another policy is
// left alone (with a warning).
func (a *Activities) detach(ctx context.Context, api CloudFrontAPI, st StagingState) (bool, error) {
	return a.editDistribution(ctx, api, st.PrimaryID, "detach continuous deployment policy", func(cfg *cftypes.DistributionConfig) ([]string, error) {
		switch cur := aws.ToString(cfg.ContinuousDeploymentPolicyId); cur {
		case "":
			return nil, nil
		case st.PolicyID:
			// An empty ID removes the policy; an absent one keeps it.
			cfg.ContinuousDeploymentPolicyId = aws.String("")
			return []string{"continuous deployment policy " + cur + " removed"}, nil
		default:
			logger(ctx).Warn("The primary has another continuous deployment policy; leaving it", "primary", st.PrimaryID,
				"policy", cur, "ours", st.PolicyID)
			return nil, nil
		}
	})
}

// CleanupStaging removes what EnsureStaging made, after a promotion or a
// rollback: it detaches the policy if still attached (waiting for the
// primary), deletes the policy, disables the staging distribution, waits
// until that is deployed, and deletes it. What is already gone is skipped,
// so it is idempotent. A distribution that is not a staging distribution
// is never disabled nor deleted (Conflict).
func (a *Activities) CleanupStaging(ctx context.Context, st StagingState) error {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if st.PrimaryID == "" || st.StagingID == "" || st.StagingID == st.PrimaryID {
		return invalidf("continuous deployment cleanup: primaryId %q and stagingId %q must be two distributions", st.PrimaryID, st.StagingID)
	}
	api, err := a.stagingAPI(ctx)
	if err != nil {
		return err
	}
	if st.PolicyID != "" {
		activitylog.Heartbeat(ctx, st.progress("detaching the policy from the primary"))
		detached, err := a.detach(ctx, api, st)
		switch {
		case failures.Is(err, failures.NotFound):
			logger(ctx).Warn("The primary distribution is gone; nothing to detach", "primary", st.PrimaryID, "error", err)
		case err != nil:
			return err
		case detached:
			if err := a.waitDeployed(ctx, api, st.progress("waiting for the primary"), st.PrimaryID); err != nil {
				return err
			}
		}
		activitylog.Heartbeat(ctx, st.progress("deleting the continuous deployment policy"))
		if err := a.deletePolicy(ctx, api, st.PolicyID); err != nil {
			return err
		}
	}
	activitylog.Heartbeat(ctx, st.progress("disabling the staging distribution"))
	if _, err := a.editDistribution(ctx, api, st.StagingID, "disable staging distribution", func(cfg *cftypes.DistributionConfig) ([]string, error) {
		if !aws.ToBool(cfg.Staging) {
			return nil, conflictf("CloudFront distribution %s is not a staging distribution: cutover does not delete it", st.StagingID)
		}
		if !aws.ToBool(cfg.Enabled) {
			return nil, nil
		}
		cfg.Enabled = aws.Bool(false)
		return []string{"disabled"}, nil
	}); err != nil {
		if failures.Is(err, failures.NotFound) {
			logger(ctx).Info("Staging distribution already deleted", "staging", st.StagingID)
			return nil
		}
		return err
	}
	return a.deleteStaging(ctx, api, st)
}

// deletePolicy deletes the policy; a policy already gone is deleted.
func (a *Activities) deletePolicy(ctx context.Context, api CloudFrontStagingAPI, id string) error {
	return a.etagAttempts(ctx, "continuous deployment policy "+id, func(attempt int) error {
		out, err := api.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(id)})
		if hasCode(err, "NoSuchContinuousDeploymentPolicy") {
			logger(ctx).Info("Continuous deployment policy already deleted", "policy", id)
			return nil
		}
		if err != nil {
			return awsError(err, "read continuous deployment policy %s", id)
		}
		_, err = api.DeleteContinuousDeploymentPolicy(ctx, &cloudfront.DeleteContinuousDeploymentPolicyInput{Id: aws.String(id), IfMatch: out.ETag})
		if err != nil && !hasCode(err, "NoSuchContinuousDeploymentPolicy") {
			return stale(err, awsError(err, "delete continuous deployment policy %s", id))
		}
		logger(ctx).Info("Continuous deployment policy deleted", "policy", id, "attempt", attempt)
		return nil
	})
}

// deleteStaging waits until the disabled staging distribution is deployed
// and deletes it (CloudFront deletes only a disabled, deployed
// distribution); a distribution already gone is deleted.
func (a *Activities) deleteStaging(ctx context.Context, api CloudFrontStagingAPI, st StagingState) error {
	p := st.progress("waiting for the disabled staging distribution")
	for {
		out, err := api.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(st.StagingID)})
		if hasCode(err, "NoSuchDistribution") {
			logger(ctx).Info("Staging distribution already deleted", "staging", st.StagingID)
			return nil
		}
		if err != nil {
			return awsError(err, "read CloudFront distribution %s", st.StagingID)
		}
		p.Polls++
		status := ""
		if d := out.Distribution; d != nil {
			status = aws.ToString(d.Status)
			if d.DistributionConfig != nil && aws.ToBool(d.DistributionConfig.Enabled) {
				return conflictf("staging distribution %s was enabled again while cutover deletes it", st.StagingID)
			}
		}
		if status == cloudFrontDeployed {
			_, err = api.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: aws.String(st.StagingID), IfMatch: out.ETag})
			if err == nil || hasCode(err, "NoSuchDistribution") {
				logger(ctx).Info("Staging distribution deleted", "staging", st.StagingID, "polls", p.Polls)
				return nil
			}
			if !hasCode(err, "PreconditionFailed", "DistributionNotDisabled") {
				return awsError(err, "delete staging distribution %s", st.StagingID)
			}
			logger(ctx).Warn("Staging distribution not deletable yet, reading it again", "staging", st.StagingID, "error", err)
			status = "not deletable yet"
		}
		p.Waiting = []string{st.StagingID + ": " + status}
		activitylog.Heartbeat(ctx, p)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(a.pollInterval):
		}
	}
}

// GetStagingWeights reads the split of a continuous deployment: green 100
// once the primary is promoted, the policy's weight on green while it is
// attached and enabled, else all on blue.
func (a *Activities) GetStagingWeights(ctx context.Context, st StagingState) (Weights, error) {
	api, err := a.stagingAPIFor(ctx, st)
	if err != nil {
		return Weights{}, err
	}
	promoted, policy, err := primaryState(ctx, api, st)
	if err != nil {
		return Weights{}, err
	}
	if promoted {
		return Weights{Green: 100}, nil
	}
	if policy == "" || policy != st.PolicyID {
		return Weights{Blue: 100}, nil
	}
	out, err := api.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(policy)})
	if err != nil {
		return Weights{}, awsError(err, "read continuous deployment policy %s", policy)
	}
	var cfg *cftypes.ContinuousDeploymentPolicyConfig
	if out.ContinuousDeploymentPolicy != nil {
		cfg = out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig
	}
	w := policyWeight(cfg)
	return Weights{Blue: 100 - w, Green: w}, nil
}
