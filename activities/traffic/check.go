package traffic

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Check IDs of the findings of CheckTrafficPrerequisites.
const (
	// CheckZoneMissing: traffic.route53.hostedZoneId names no hosted zone.
	CheckZoneMissing = "traffic-zone-missing"
	// CheckRecordMissing: blue's weighted record does not exist.
	CheckRecordMissing = "traffic-record-missing"
	// CheckRecordNotWeighted: the record name has a simple record of the
	// type, or blue's or green's set identifier uses another routing policy.
	CheckRecordNotWeighted = "traffic-record-not-weighted"
	// CheckRecordConverted: a simple record that will be converted into the
	// weighted pair (information).
	CheckRecordConverted = "traffic-record-converted"
	// CheckWeightsNotInitial (warning): traffic is not all on blue today.
	CheckWeightsNotInitial = "traffic-weights-not-initial"
	// CheckDistributionMissing: traffic.cloudfront.distributionId names no distribution.
	CheckDistributionMissing = "traffic-distribution-missing"
	// CheckOriginMissing: blue's origin, or green's without a domain to
	// create it from, is not among the distribution's origins.
	CheckOriginMissing = "traffic-origin-missing"
	// CheckAlarmMissing: an alarm of traffic.alarms does not exist.
	CheckAlarmMissing = "traffic-alarm-missing"
	// CheckAlarmNoData (warning): an alarm is in INSUFFICIENT_DATA.
	CheckAlarmNoData = "traffic-alarm-no-data"
	// CheckAlarmFiring: an alarm is in ALARM.
	CheckAlarmFiring = "traffic-alarm-firing"
)

// FindingSource is the Source of every finding of CheckTrafficPrerequisites.
const FindingSource = "traffic"

// CheckInput is what CheckTrafficPrerequisites reads: the traffic target
// and the alarms watched while a step bakes (read in Target.Region, the
// region CheckTrafficHealth reads them in).
type CheckInput struct {
	Target Target   `json:"target"`
	Alarms []string `json:"alarms,omitempty"`
	// ConvertPlain: the workflow converts a simple record into the weighted
	// pair (ConvertToWeighted), so a simple record is reported as what will
	// happen, not as a blocking finding.
	ConvertPlain bool `json:"convertPlain,omitempty"`
}

// CheckResult lists what is missing or not as cutover needs it; no
// findings means everything the traffic section names exists.
type CheckResult struct {
	Findings []finding.Finding `json:"findings,omitempty"`
}

// CheckTrafficPrerequisites checks, before anything is created, that what
// the spec's traffic section names exists: the hosted zone and blue's
// weighted record (and that traffic is all on blue), or the distribution
// and its origins; and every alarm, none of them firing. It changes
// nothing. A definitive answer (no such zone, distribution or alarm) is a
// finding; a read that could not be taken (throttled, 5xx, timed out) is a
// retryable error, never a finding.
func (a *Activities) CheckTrafficPrerequisites(ctx context.Context, in CheckInput) (CheckResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	var fs []finding.Finding
	switch in.Target.Provider {
	case ProviderRoute53:
		r, err := route53Spec(in.Target)
		if err != nil {
			return CheckResult{}, err
		}
		api, err := a.clients.Route53(ctx)
		if err != nil {
			return CheckResult{}, err
		}
		got, err := checkRoute53(ctx, api, r, in.ConvertPlain)
		if err != nil {
			return CheckResult{}, err
		}
		fs = append(fs, got...)
	case ProviderCloudFront:
		c, err := cloudFrontSpec(in.Target)
		if err != nil {
			return CheckResult{}, err
		}
		api, err := a.clients.CloudFront(ctx)
		if err != nil {
			return CheckResult{}, err
		}
		got, err := checkCloudFront(ctx, api, c)
		if err != nil {
			return CheckResult{}, err
		}
		fs = append(fs, got...)
	default:
		return CheckResult{}, unknownProvider(in.Target.Provider)
	}
	if len(in.Alarms) > 0 {
		if in.Target.Region == "" {
			return CheckResult{}, invalidf("traffic.alarms: the target's region is empty but %d alarms are to be read", len(in.Alarms))
		}
		api, err := a.clients.CloudWatch(ctx, in.Target.Region)
		if err != nil {
			return CheckResult{}, err
		}
		got, err := checkAlarms(ctx, api, in.Target.Region, in.Alarms)
		if err != nil {
			return CheckResult{}, err
		}
		fs = append(fs, got...)
	}
	logger(ctx).Info("Traffic prerequisites checked", "provider", in.Target.Provider, "alarms", len(in.Alarms), "findings", len(fs))
	return CheckResult{Findings: fs}, nil
}

func trafficFinding(check string, sev finding.Severity, object, fix, format string, args ...any) finding.Finding {
	return finding.Finding{Check: check, Severity: sev, Object: object, Message: fmt.Sprintf(format, args...), Fix: fix, Source: FindingSource}
}

// checkRoute53 reads the records named RecordName (every type, so a wrong
// recordType can be told apart from a missing record).
func checkRoute53(ctx context.Context, api Route53API, r Route53Records, convert bool) ([]finding.Finding, error) {
	all, err := listRecords(ctx, api, r.HostedZoneID, r.RecordName, "")
	if failures.Is(err, failures.NotFound) {
		// ListResourceRecordSets' only not-found answer is NoSuchHostedZone.
		return []finding.Finding{trafficFinding(CheckZoneMissing, finding.Error, "Route53 hosted zone "+r.HostedZoneID,
			"Correct traffic.route53.hostedZoneId to the ID of the public hosted zone that holds "+r.RecordName+" (route53 list-hosted-zones-by-name), in the account cutover's role is in.",
			"traffic.route53.hostedZoneId: hosted zone %s does not exist", r.HostedZoneID)}, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []r53types.ResourceRecordSet
	var otherTypes []string
	for _, rr := range all {
		if string(rr.Type) == r.RecordType {
			recs = append(recs, rr)
		} else if !slices.Contains(otherTypes, string(rr.Type)) {
			otherTypes = append(otherTypes, string(rr.Type))
		}
	}
	object := fmt.Sprintf("Route53 record %s %s in hosted zone %s", r.RecordName, r.RecordType, r.HostedZoneID)
	var fs []finding.Finding
	simple := slices.ContainsFunc(recs, func(rr r53types.ResourceRecordSet) bool { return rr.SetIdentifier == nil })
	if simple && convert {
		fs = append(fs, trafficFinding(CheckRecordConverted, finding.Info, object,
			"Nothing to do; set traffic.route53.afterMigration to \"simple\" to get a simple record back at the end (at green, or at blue as it was on a rollback).",
			"traffic.route53.recordName: %s is a simple %s record in hosted zone %s: before the first traffic step cutover replaces it, in one atomic change, with weighted records %q (weight 100, same value) and %q (weight 0)",
			r.RecordName, r.RecordType, r.HostedZoneID, r.BlueSetIdentifier, r.GreenSetIdentifier))
		return fs, nil
	}
	if simple {
		fs = append(fs, trafficFinding(CheckRecordNotWeighted, finding.Error, object,
			fmt.Sprintf("Make it a weighted pair: replace the simple record with a weighted record of set identifier %q (traffic.route53.blueSetIdentifier) and weight 100 pointing where it points today, and %q (traffic.route53.greenSetIdentifier) with weight 0; or let cutover convert it once it can. Until then cutover cannot shift traffic on this record.",
				r.BlueSetIdentifier, r.GreenSetIdentifier),
			"traffic.route53.recordName: %s has a simple %s record (no set identifier) in hosted zone %s, not the weighted records %q and %q cutover shifts traffic with",
			r.RecordName, r.RecordType, r.HostedZoneID, r.BlueSetIdentifier, r.GreenSetIdentifier))
	}
	blue, green := findSet(recs, r.BlueSetIdentifier), findSet(recs, r.GreenSetIdentifier)
	if blue == nil && !simple {
		var ids []string
		for _, rr := range recs {
			ids = append(ids, fmt.Sprintf("%q", aws.ToString(rr.SetIdentifier)))
		}
		var seen string
		switch {
		case len(ids) > 0:
			seen = fmt.Sprintf(" (its %s records have set identifiers %s)", r.RecordType, strings.Join(ids, ", "))
		case len(otherTypes) > 0:
			seen = fmt.Sprintf(" (the name has records of type %s: check traffic.route53.recordType)", strings.Join(otherTypes, ", "))
		}
		fs = append(fs, trafficFinding(CheckRecordMissing, finding.Error,
			fmt.Sprintf("Route53 record %s %s (set identifier %q) in hosted zone %s", r.RecordName, r.RecordType, r.BlueSetIdentifier, r.HostedZoneID),
			fmt.Sprintf("Create blue's weighted %s record %s with set identifier %q and weight 100 pointing at blue's load balancer, or correct traffic.route53.recordName, recordType or blueSetIdentifier to name the record that serves blue today.",
				r.RecordType, r.RecordName, r.BlueSetIdentifier),
			"traffic.route53.blueSetIdentifier: no weighted %s record %s with set identifier %q in hosted zone %s%s",
			r.RecordType, r.RecordName, r.BlueSetIdentifier, r.HostedZoneID, seen))
	}
	notWeighted := func(rr *r53types.ResourceRecordSet, field string) {
		fs = append(fs, trafficFinding(CheckRecordNotWeighted, finding.Error,
			fmt.Sprintf("Route53 record %s %s (set identifier %q) in hosted zone %s", r.RecordName, r.RecordType, aws.ToString(rr.SetIdentifier), r.HostedZoneID),
			fmt.Sprintf("Make it a weighted pair: weighted records %q with weight 100 and %q with weight 0, instead of records of another routing policy (failover, latency, geolocation, multivalue), which cutover does not drive.",
				r.BlueSetIdentifier, r.GreenSetIdentifier),
			"%s: the %s record %s with set identifier %q is not a weighted record (it has no weight: another routing policy)",
			field, r.RecordType, r.RecordName, aws.ToString(rr.SetIdentifier)))
	}
	blueOK, greenOK := blue != nil && blue.Weight != nil, green == nil || green.Weight != nil
	if blue != nil && blue.Weight == nil {
		notWeighted(blue, "traffic.route53.blueSetIdentifier")
	}
	if green != nil && green.Weight == nil {
		notWeighted(green, "traffic.route53.greenSetIdentifier")
	}
	if blueOK && greenOK {
		bw, gw := aws.ToInt64(blue.Weight), int64(0)
		greenSays := "green's record does not exist yet"
		if green != nil {
			gw = aws.ToInt64(green.Weight)
			greenSays = fmt.Sprintf("green's (%q) weighs %d", r.GreenSetIdentifier, gw)
		}
		if convert && bw == 0 && gw > 0 {
			// What a migration that kept the pair weighted leaves; the
			// first step's ConvertToWeighted swaps it, resolution unchanged.
			fs = append(fs, trafficFinding(CheckWeightsNotInitial, finding.Info, object,
				"None needed: before the first traffic step blue's record takes green's record's target at weight 100 and green's drops to 0, in one atomic change.",
				"traffic.route53: the pair is all on green's record %q (weight %d; blue's %q weighs 0), as an earlier migration that kept the pair weighted leaves it",
				r.GreenSetIdentifier, gw, r.BlueSetIdentifier))
		} else if bw != 100 || gw != 0 {
			split := ": blue, alone, receives all the traffic"
			if green != nil && bw+gw == 0 {
				split = ": blue and green receive half the traffic each (Route53 splits evenly between records that all weigh 0)"
			} else if bw+gw > 0 {
				g := percent(gw, bw+gw)
				split = fmt.Sprintf(": blue receives %d%% and green %d%% of the traffic", 100-g, g)
			}
			fs = append(fs, trafficFinding(CheckWeightsNotInitial, finding.Warning, object,
				fmt.Sprintf("Set blue's record %q to weight 100 and green's %q to 0 before the migration, or expect the first traffic step to set them (a green that already receives traffic is not a migration starting from blue).",
					r.BlueSetIdentifier, r.GreenSetIdentifier),
				"traffic.route53: the weights are not the initial blue 100 / green 0: blue's record (%q) weighs %d and %s%s",
				r.BlueSetIdentifier, bw, greenSays, split))
		}
	}
	return fs, nil
}

// checkCloudFront reads the distribution's configuration.
func checkCloudFront(ctx context.Context, api CloudFrontAPI, c CloudFrontOrigins) ([]finding.Finding, error) {
	object := "CloudFront distribution " + c.DistributionID
	cfg, _, err := getDistributionConfig(ctx, api, c.DistributionID)
	if failures.Is(err, failures.NotFound) {
		return []finding.Finding{trafficFinding(CheckDistributionMissing, finding.Error, object,
			"Correct traffic.cloudfront.distributionId to the ID of the distribution that serves blue today (cloudfront list-distributions), in the account cutover's role is in.",
			"traffic.cloudfront.distributionId: distribution %s does not exist", c.DistributionID)}, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	if cfg.Origins != nil {
		for _, o := range cfg.Origins.Items {
			ids = append(ids, fmt.Sprintf("%q", aws.ToString(o.Id)))
		}
	}
	has := fmt.Sprintf("its origins are %s", strings.Join(ids, ", "))
	if len(ids) == 0 {
		has = "it has no origins"
	}
	var fs []finding.Finding
	if findOrigin(cfg, c.BlueOriginID) == nil {
		fs = append(fs, trafficFinding(CheckOriginMissing, finding.Error, fmt.Sprintf("%s origin %q", object, c.BlueOriginID),
			"Correct traffic.cloudfront.blueOriginId to the ID of the origin blue serves from (the default cache behavior's origin today).",
			"traffic.cloudfront.blueOriginId: distribution %s has no origin %q (%s)", c.DistributionID, c.BlueOriginID, has))
	}
	if findOrigin(cfg, c.GreenOriginID) == nil && c.GreenOriginDomain == "" && c.GreenOriginFrom == nil {
		// With greenOriginDomain, the switch creates green's origin from blue's.
		fs = append(fs, trafficFinding(CheckOriginMissing, finding.Error, fmt.Sprintf("%s origin %q", object, c.GreenOriginID),
			"Add green's origin to the distribution, correct traffic.cloudfront.greenOriginId, or set traffic.cloudfront.greenOriginDomain to green's load balancer so cutover creates the origin as a copy of blue's.",
			"traffic.cloudfront.greenOriginId: distribution %s has no origin %q and traffic.cloudfront.greenOriginDomain is empty, so it cannot be created (%s)",
			c.DistributionID, c.GreenOriginID, has))
	}
	if def := defaultOrigin(cfg); def != c.BlueOriginID {
		fs = append(fs, trafficFinding(CheckWeightsNotInitial, finding.Warning, object,
			fmt.Sprintf("Point the default cache behavior at blue's origin %q before the migration, or correct traffic.cloudfront.blueOriginId.", c.BlueOriginID),
			"traffic.cloudfront.blueOriginId: the default cache behavior of distribution %s targets origin %q, not blue's %q: traffic is not all on blue",
			c.DistributionID, def, c.BlueOriginID))
	}
	return fs, nil
}

// checkAlarms reads the alarms (DescribeAlarms, 100 names a call, paged);
// a name DescribeAlarms does not return does not exist.
func checkAlarms(ctx context.Context, api CloudWatchAPI, region string, names []string) ([]finding.Finding, error) {
	found, err := describeAlarms(ctx, api, names)
	if err != nil {
		return nil, err
	}
	var fs []finding.Finding
	for i, name := range names {
		field := fmt.Sprintf("traffic.alarms[%d]", i)
		object := fmt.Sprintf("CloudWatch alarm %s in %s", name, region)
		st, ok := found[name]
		switch {
		case !ok:
			fs = append(fs, trafficFinding(CheckAlarmMissing, finding.Error, object,
				fmt.Sprintf("Create the alarm in %s (blue's region, where cutover reads it), or correct its name in %s (alarm names are case-sensitive).", region, field),
				"%s: alarm %s does not exist in region %s", field, name, region))
		case st.State == string(cwtypes.StateValueAlarm):
			fs = append(fs, trafficFinding(CheckAlarmFiring, finding.Error, object,
				fmt.Sprintf("Resolve what the alarm reports before the migration, or remove it from traffic.alarms if it does not watch this service (%s).", field),
				"%s: alarm %s is in ALARM (%s): a migration would roll back at its first reading", field, name, st.Reason))
		case st.State == string(cwtypes.StateValueInsufficientData):
			fs = append(fs, trafficFinding(CheckAlarmNoData, finding.Warning, object,
				"Check that the alarm's metric, namespace and dimensions name a metric that is reported (a wrong dimension leaves an alarm without data), so it can catch a bad traffic step.",
				"%s: alarm %s has insufficient data: it cannot roll back a bad traffic step until its metric reports", field, name))
		}
	}
	return fs, nil
}
