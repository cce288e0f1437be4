package workflows

import (
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/workflow"
)

// changeTrafficPreflight versions checking, in preflight, that what the
// spec's traffic section names exists.
const changeTrafficPreflight = "traffic-preflight"

// checkTraffic asks, before anything is built, whether the hosted zone and
// blue's weighted record (or the distribution and its origins) and every
// alarm named in the spec exist and are as a migration starts from: a
// missing one is a finding with its field path, so the policy blocks on it
// now rather than at the first traffic step.
func (m *migration) checkTraffic(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changeTrafficPreflight, workflow.DefaultVersion, 1) != 1 {
		return nil
	}
	if err := m.discoverBlueOrigin(ctx); err != nil {
		return err
	}
	m.progress("Checking the traffic records, distribution and alarms")
	res, err := short[traffic.CheckResult](ctx, readOptions, trafA.CheckTrafficPrerequisites, traffic.CheckInput{Target: m.target, Alarms: m.spec.Traffic.Alarms,
		ConvertPlain: m.target.Provider == traffic.ProviderRoute53 && m.plainRecordsOn(ctx)})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	return nil
}

// discoverBlueOrigin: with traffic.cloudfront.greenOriginFrom and no
// blueOriginId, blue's origin is the one the default cache behavior
// targets now. Only such specs (a field older runs cannot have) reach
// the activity, so the change needs no version of its own.
func (m *migration) discoverBlueOrigin(ctx workflow.Context) error {
	cf := m.spec.Traffic.CloudFront
	if m.target.Provider != traffic.ProviderCloudFront || cf == nil || cf.GreenOriginFrom == nil || cf.BlueOriginID != "" {
		return nil
	}
	cur, err := short[traffic.CurrentOrigin](ctx, readOptions, trafA.CurrentCloudFrontOrigin, traffic.CurrentOriginInput{DistributionID: cf.DistributionID})
	if err != nil {
		return err
	}
	if cur.OriginID == cf.GreenOriginID {
		return failures.New(failures.PreflightBlocked, "traffic.cloudfront: distribution %s already serves green's origin %q; name blue's with traffic.cloudfront.blueOriginId", cf.DistributionID, cf.GreenOriginID)
	}
	c := *cf
	c.BlueOriginID = cur.OriginID
	m.spec.Traffic.CloudFront = &c // the retire guard names blue's origin too
	m.target.CloudFront.BlueOriginID = cur.OriginID
	m.logger.Info("Blue's CloudFront origin discovered", "distribution", cf.DistributionID, "origin", cur.OriginID, "domain", cur.DomainName)
	return nil
}
