package traffic

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestCheckTrafficPrerequisitesAgainstMoto runs the preflight against a
// real moto server, each subtest with its own zone, distribution or alarms.
func TestCheckTrafficPrerequisitesAgainstMoto(t *testing.T) {
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p)
	t.Run("Route53", func(t *testing.T) { testCheckRoute53(t, p, acts) })
	t.Run("CloudFront", func(t *testing.T) { testCheckCloudFront(t, p, acts) })
	t.Run("Alarms", func(t *testing.T) { testCheckAlarms(t, p, acts) })
}

// checkOf returns the findings' checks, in order.
func checksOf(fs []finding.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Check)
	}
	return out
}

// wantFindings fails unless fs are exactly the checks, each with its
// source, object and fix, with messages containing the fragments.
func wantFindings(t *testing.T, what string, fs []finding.Finding, err error, want ...[3]string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(fs) != len(want) {
		t.Fatalf("%s: findings %v, want %d: %+v", what, checksOf(fs), len(want), fs)
	}
	for i, w := range want {
		f := fs[i]
		if f.Check != w[0] || string(f.Severity) != w[1] || !strings.Contains(f.Message, w[2]) ||
			f.Source != "traffic" || f.Object == "" || f.Fix == "" {
			t.Fatalf("%s: finding %d %+v; want check %s, severity %s, a message containing %q, source, object and fix", what, i, f, w[0], w[1], w[2])
		}
	}
}

func weighted(name, set, value string, weight int64) r53types.ResourceRecordSet {
	return r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeCname, SetIdentifier: aws.String(set), Weight: aws.Int64(weight), TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
	}
}

func testCheckRoute53(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := route53Client(t, p)
	zone := createZone(t, c, "check.example.com")
	target := func(name string) Target {
		return Target{Provider: ProviderRoute53, Region: "us-east-1", Route53: &Route53Records{
			HostedZoneID: zone, RecordName: name, RecordType: "CNAME", BlueSetIdentifier: "blue", GreenSetIdentifier: "green",
			GreenTarget: "green-lb.example.com",
		}}
	}
	check := func(name string) ([]finding.Finding, error) {
		res, err := acts.CheckTrafficPrerequisites(ctx, CheckInput{Target: target(name)})
		return res.Findings, err
	}

	// A weighted pair blue 100 / green 0, among other names and types.
	pair := "app.check.example.com"
	upsert(t, c, zone, weighted(pair, "blue", "blue-lb.example.com", 100))
	upsert(t, c, zone, weighted(pair, "green", "green-lb.example.com", 0))
	upsert(t, c, zone, r53types.ResourceRecordSet{Name: aws.String("a.check.example.com"), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("x.example.com")}}})
	upsert(t, c, zone, r53types.ResourceRecordSet{Name: aws.String("b.check.example.com"), Type: r53types.RRTypeTxt, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(`"v"`)}}})
	fs, err := check(pair)
	wantFindings(t, "weighted pair", fs, err)
	// Blue alone at 100 is the initial split too: the first step creates green's.
	blueOnly := "solo.check.example.com"
	upsert(t, c, zone, weighted(blueOnly, "blue", "blue-lb.example.com", 100))
	fs, err = check(blueOnly)
	wantFindings(t, "blue alone", fs, err)

	res, err := acts.CheckTrafficPrerequisites(ctx, CheckInput{Target: Target{Provider: ProviderRoute53, Route53: &Route53Records{
		HostedZoneID: "ZNOSUCHZONE123", RecordName: pair,
	}}})
	wantFindings(t, "missing zone", res.Findings, err, [3]string{CheckZoneMissing, "error", "traffic.route53.hostedZoneId: hosted zone ZNOSUCHZONE123 does not exist"})

	fs, err = check("nothing.check.example.com")
	wantFindings(t, "missing record", fs, err, [3]string{CheckRecordMissing, "error", `traffic.route53.blueSetIdentifier: no weighted CNAME record nothing.check.example.com with set identifier "blue"`})
	// A name with records of another type says so.
	fs, err = check("b.check.example.com")
	wantFindings(t, "record of another type", fs, err, [3]string{CheckRecordMissing, "error", "check traffic.route53.recordType"})
	// Other set identifiers are named (a typo in blueSetIdentifier).
	typo := "typo.check.example.com"
	upsert(t, c, zone, weighted(typo, "prod-blue", "blue-lb.example.com", 100))
	fs, err = check(typo)
	wantFindings(t, "other set identifier", fs, err, [3]string{CheckRecordMissing, "error", `set identifiers "prod-blue"`})

	fs, err = check("a.check.example.com")
	wantFindings(t, "simple record", fs, err, [3]string{CheckRecordNotWeighted, "error", "traffic.route53.recordName: a.check.example.com has a simple CNAME record"})
	if !strings.Contains(fs[0].Fix, `"blue"`) || !strings.Contains(fs[0].Fix, "weight 100") || !strings.Contains(fs[0].Fix, `"green"`) {
		t.Fatalf("simple record's fix %q: want the weighted pair blue 100 / green 0 with the set identifiers", fs[0].Fix)
	}

	moved := "moved.check.example.com"
	upsert(t, c, zone, weighted(moved, "blue", "blue-lb.example.com", 90))
	upsert(t, c, zone, weighted(moved, "green", "green-lb.example.com", 10))
	fs, err = check(moved)
	wantFindings(t, "weights moved", fs, err, [3]string{CheckWeightsNotInitial, "warning", `blue's record ("blue") weighs 90 and green's ("green") weighs 10: blue receives 90% and green 10%`})

	// Read-only: nothing was changed.
	recs := records(t, c, zone, moved)
	if aws.ToInt64(recs["blue"].Weight) != 90 || aws.ToInt64(recs["green"].Weight) != 10 {
		t.Fatalf("the check changed the weights: %+v", recs)
	}
}

func testCheckCloudFront(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	both := createDistribution(t, c, "check-both", customOrigin("blue", "blue.origin.example.com"), customOrigin("green", "green.origin.example.com"))
	blueOnly := createDistribution(t, c, "check-blue", customOrigin("blue", "blue.origin.example.com"))
	check := func(id, blue, green, greenDomain string) ([]finding.Finding, error) {
		res, err := acts.CheckTrafficPrerequisites(ctx, CheckInput{Target: Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
			DistributionID: id, BlueOriginID: blue, GreenOriginID: green, GreenOriginDomain: greenDomain,
		}}})
		return res.Findings, err
	}
	fs, err := check(both, "blue", "green", "")
	wantFindings(t, "both origins", fs, err)
	// Green's origin is created at the switch from greenOriginDomain.
	fs, err = check(blueOnly, "blue", "green", "green.origin.example.com")
	wantFindings(t, "green origin to be created", fs, err)

	fs, err = check(blueOnly, "blue", "green", "")
	wantFindings(t, "green origin missing", fs, err, [3]string{CheckOriginMissing, "error", `traffic.cloudfront.greenOriginId: distribution ` + blueOnly + ` has no origin "green"`})
	fs, err = check(both, "blu", "green", "")
	wantFindings(t, "blue origin missing", fs, err,
		[3]string{CheckOriginMissing, "error", `traffic.cloudfront.blueOriginId: distribution ` + both + ` has no origin "blu" (its origins are "blue", "green")`},
		[3]string{CheckWeightsNotInitial, "warning", `targets origin "blue", not blue's "blu"`})

	fs, err = check("ENOSUCHDIST", "blue", "green", "")
	wantFindings(t, "missing distribution", fs, err, [3]string{CheckDistributionMissing, "error", "traffic.cloudfront.distributionId: distribution ENOSUCHDIST does not exist"})
}

func testCheckAlarms(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	region := "eu-central-1"
	cfg, err := p.ForRegion(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(cfg, sandbox.CloudWatchJSON)
	for name, state := range map[string]cwtypes.StateValue{"ok": cwtypes.StateValueOk, "nodata": cwtypes.StateValueInsufficientData, "firing": cwtypes.StateValueAlarm} {
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("check-" + name), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		})
		if err != nil {
			t.Fatalf("put alarm %s: %v", name, err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("check-" + name), StateValue: state, StateReason: aws.String("test: " + name)}); err != nil {
			t.Fatal(err)
		}
	}
	// The alarms are checked with any provider; a weighted pair makes the
	// records part silent.
	c := route53Client(t, p)
	zone := createZone(t, c, "alarms.example.com")
	upsert(t, c, zone, weighted("app.alarms.example.com", "blue", "blue-lb.example.com", 100))
	check := func(region string, alarms ...string) ([]finding.Finding, error) {
		res, err := acts.CheckTrafficPrerequisites(ctx, CheckInput{Alarms: alarms, Target: Target{Provider: ProviderRoute53, Region: region,
			Route53: &Route53Records{HostedZoneID: zone, RecordName: "app.alarms.example.com"}}})
		return res.Findings, err
	}
	fs, err := check(region, "check-ok")
	wantFindings(t, "alarm OK", fs, err)
	fs, err = check(region, "check-ok", "check-typo", "check-firing", "check-nodata")
	wantFindings(t, "alarms", fs, err,
		[3]string{CheckAlarmMissing, "error", "traffic.alarms[1]: alarm check-typo does not exist in region " + region},
		[3]string{CheckAlarmFiring, "error", "traffic.alarms[2]: alarm check-firing is in ALARM (test: firing): a migration would roll back"},
		[3]string{CheckAlarmNoData, "warning", "traffic.alarms[3]: alarm check-nodata has insufficient data"})
	// Alarms live in a region: in another one they do not exist.
	fs, err = check("us-west-1", "check-ok")
	wantFindings(t, "alarm in another region", fs, err, [3]string{CheckAlarmMissing, "error", "traffic.alarms[0]: alarm check-ok does not exist in region us-west-1"})
}
