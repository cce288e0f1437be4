package workflows

import (
	"github.com/cutover-dev/cutover/activities/traffic"
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
	m.progress("Checking the traffic records, distribution and alarms")
	res, err := short[traffic.CheckResult](ctx, readOptions, trafA.CheckTrafficPrerequisites, traffic.CheckInput{Target: m.target, Alarms: m.spec.Traffic.Alarms,
		ConvertPlain: m.target.Provider == traffic.ProviderRoute53 && m.plainRecordsOn(ctx)})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	return nil
}
