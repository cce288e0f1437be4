package traffic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/probe"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// TestAgainstMoto drives the activities against a real moto server: the
// AWS wire protocol, XML and all. Each subtest creates its own hosted zone,
// distribution or alarms.
func TestAgainstMoto(t *testing.T) {
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p, WithPollInterval(10*time.Millisecond))

	t.Run("Route53Steps", func(t *testing.T) { testRoute53Steps(t, p, acts) })
	t.Run("Route53AliasA", func(t *testing.T) { testRoute53Alias(t, p, acts) })
	t.Run("Route53MissingBlue", func(t *testing.T) { testRoute53MissingBlue(t, p, acts) })
	t.Run("CloudFrontSwitch", func(t *testing.T) { testCloudFrontSwitch(t, p, acts) })
	t.Run("Alarms", func(t *testing.T) { testAlarms(t, p, acts) })
	t.Run("AlarmsThroughThrottling", func(t *testing.T) { testAlarmsThroughThrottling(t, m.Endpoint, p) })
	t.Run("Probes", func(t *testing.T) { testProbes(t, acts) })
}

func route53Client(t *testing.T, p awsconf.Provider) *route53.Client {
	cfg, err := p.ForRegion(context.Background(), GlobalRegion)
	if err != nil {
		t.Fatal(err)
	}
	return route53.NewFromConfig(cfg)
}

func createZone(t *testing.T, c *route53.Client, domain string) string {
	t.Helper()
	out, err := c.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name:            aws.String(domain),
		CallerReference: aws.String(fmt.Sprintf("%s-%d", domain, time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("create hosted zone %s: %v", domain, err)
	}
	id := aws.ToString(out.HostedZone.Id)
	return id[strings.LastIndex(id, "/")+1:]
}

func upsert(t *testing.T, c *route53.Client, zone string, rr r53types.ResourceRecordSet) {
	t.Helper()
	_, err := c.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch:  &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rr}}},
	})
	if err != nil {
		t.Fatalf("upsert %s/%s: %v", aws.ToString(rr.Name), aws.ToString(rr.SetIdentifier), err)
	}
}

// records reads every record set of the zone named name, by set identifier.
func records(t *testing.T, c *route53.Client, zone, name string) map[string]r53types.ResourceRecordSet {
	t.Helper()
	out, err := c.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]r53types.ResourceRecordSet{}
	for _, rr := range out.ResourceRecordSets {
		if dnsName(aws.ToString(rr.Name)) == dnsName(name) && rr.SetIdentifier != nil {
			res[*rr.SetIdentifier] = rr
		}
	}
	return res
}

func execActivity(t *testing.T, acts *Activities, fn any, args ...any) (any, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivity(acts)
	val, err := env.ExecuteActivity(fn, args...)
	if err != nil {
		return nil, err
	}
	return val, nil
}

func testRoute53Steps(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := route53Client(t, p)
	zone := createZone(t, c, "steps.example.com")
	name := "app.steps.example.com"
	upsert(t, c, zone, r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeCname, SetIdentifier: aws.String("blue"),
		Weight: aws.Int64(100), TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue-lb.us-east-1.elb.amazonaws.com")}},
	})
	target := Target{Provider: ProviderRoute53, Region: "us-east-1", Route53: &Route53Records{
		HostedZoneID: zone, RecordName: name, RecordType: "CNAME", BlueSetIdentifier: "blue", GreenSetIdentifier: "green",
		GreenTarget: "green-lb.us-east-1.elb.amazonaws.com", TTL: 60,
	}}

	w, err := acts.GetTrafficWeights(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if w != (Weights{Blue: 100, Green: 0}) {
		t.Fatalf("initial weights %+v, want blue 100", w)
	}
	// Rolling back before any traffic moved changes nothing.
	ch, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 0})
	if err != nil || !ch.Noop {
		t.Fatalf("set green=0 on a blue-only record: %+v, %v; want a no-op", ch, err)
	}

	wr := NewWeightReader(p)
	for _, green := range []int{10, 50, 100, 0} {
		ch, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: green})
		if err != nil {
			t.Fatalf("set green=%d: %v", green, err)
		}
		if ch.Noop || ch.ID == "" || ch.Provider != ProviderRoute53 || ch.Weights != (Weights{Blue: 100 - green, Green: green}) {
			t.Fatalf("set green=%d: change %+v", green, ch)
		}
		if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, ch); err != nil {
			t.Fatalf("wait for change %s: %v", ch.ID, err)
		}
		recs := records(t, c, zone, name)
		b, g := recs["blue"], recs["green"]
		if aws.ToInt64(b.Weight) != int64(100-green) || aws.ToInt64(g.Weight) != int64(green) {
			t.Fatalf("after green=%d: blue weight %d, green weight %d", green, aws.ToInt64(b.Weight), aws.ToInt64(g.Weight))
		}
		if len(b.ResourceRecords) != 1 || aws.ToString(b.ResourceRecords[0].Value) != "blue-lb.us-east-1.elb.amazonaws.com" || aws.ToInt64(b.TTL) != 300 {
			t.Fatalf("blue's record changed beyond its weight: %+v", b)
		}
		if len(g.ResourceRecords) != 1 || aws.ToString(g.ResourceRecords[0].Value) != "green-lb.us-east-1.elb.amazonaws.com" || aws.ToInt64(g.TTL) != 60 || g.Type != r53types.RRTypeCname {
			t.Fatalf("green's record: %+v", g)
		}
		w, err := acts.GetTrafficWeights(ctx, target)
		if err != nil || w != ch.Weights {
			t.Fatalf("GetTrafficWeights after green=%d: %+v, %v", green, w, err)
		}
		// The same call again sends nothing.
		again, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: green})
		if err != nil || !again.Noop || again.ID != "" {
			t.Fatalf("second set green=%d: %+v, %v; want a no-op", green, again, err)
		}
		if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, again); err != nil {
			t.Fatalf("wait for a no-op: %v", err)
		}
		for id, want := range map[string]int{"blue": 100 - green, "green": green} {
			got, err := wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderRoute53, HostedZoneID: zone, RecordName: name, SetIdentifier: id})
			if err != nil || got != want {
				t.Fatalf("WeightReader %s after green=%d: %d, %v; want %d", id, green, got, err, want)
			}
		}
	}
	got, err := wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderRoute53, HostedZoneID: zone, RecordName: name, SetIdentifier: "purple"})
	if err != nil || got != 0 {
		t.Fatalf("WeightReader for a missing set identifier: %d, %v; want 0", got, err)
	}
	// The record name is matched with or without the trailing dot, in any case.
	got, err = wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderRoute53, HostedZoneID: zone, RecordName: "APP.steps.example.com.", SetIdentifier: "blue"})
	if err != nil || got != 100 {
		t.Fatalf("WeightReader with a fully qualified name: %d, %v; want 100", got, err)
	}
}

func testRoute53Alias(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := route53Client(t, p)
	zone := createZone(t, c, "alias.example.com")
	name := "www.alias.example.com"
	elbZone := "Z35SXDOTRQ7X7K"
	upsert(t, c, zone, r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeA, SetIdentifier: aws.String("prod-blue"), Weight: aws.Int64(100),
		AliasTarget: &r53types.AliasTarget{DNSName: aws.String("blue-123.us-east-1.elb.amazonaws.com"), HostedZoneId: aws.String(elbZone), EvaluateTargetHealth: true},
	})
	target := Target{Provider: ProviderRoute53, Route53: &Route53Records{
		HostedZoneID: zone, RecordName: name, RecordType: "A", BlueSetIdentifier: "prod-blue", GreenSetIdentifier: "prod-green",
		GreenTarget: "green-456.us-east-1.elb.amazonaws.com",
	}}
	ch, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, ch); err != nil {
		t.Fatal(err)
	}
	g := records(t, c, zone, name)["prod-green"]
	if g.AliasTarget == nil || dnsName(aws.ToString(g.AliasTarget.DNSName)) != "green-456.us-east-1.elb.amazonaws.com." ||
		aws.ToString(g.AliasTarget.HostedZoneId) != elbZone || aws.ToInt64(g.Weight) != 50 || g.Type != r53types.RRTypeA {
		t.Fatalf("green alias record: %+v (alias %+v)", g, g.AliasTarget)
	}
	again, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 50})
	if err != nil || !again.Noop {
		t.Fatalf("second set: %+v, %v; want a no-op", again, err)
	}
}

func testRoute53MissingBlue(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := route53Client(t, p)
	zone := createZone(t, c, "empty.example.com")
	target := Target{Provider: ProviderRoute53, Route53: &Route53Records{
		HostedZoneID: zone, RecordName: "app.empty.example.com", GreenTarget: "green.example.com",
	}}
	_, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 10})
	if !failures.Is(err, failures.NotFound) || !strings.Contains(err.Error(), `set identifier "blue"`) {
		t.Fatalf("set weights without blue's record: %v; want NotFound naming blue's record", err)
	}
	target.Route53.HostedZoneID = "ZNOSUCHZONE1234"
	_, err = acts.GetTrafficWeights(ctx, target)
	if !failures.Is(err, failures.NotFound) {
		t.Fatalf("read weights in a missing zone: %v; want NotFound", err)
	}
}

func cloudFrontClient(t *testing.T, p awsconf.Provider) *cloudfront.Client {
	cfg, err := p.ForRegion(context.Background(), GlobalRegion)
	if err != nil {
		t.Fatal(err)
	}
	return cloudfront.NewFromConfig(cfg)
}

func customOrigin(id, domain string) cftypes.Origin {
	return cftypes.Origin{
		Id: aws.String(id), DomainName: aws.String(domain),
		CustomOriginConfig: &cftypes.CustomOriginConfig{
			HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpsOnly,
			OriginReadTimeout: aws.Int32(45),
		},
	}
}

func createDistribution(t *testing.T, c *cloudfront.Client, ref string, origins ...cftypes.Origin) string {
	t.Helper()
	out, err := c.CreateDistribution(context.Background(), &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(ref),
		Comment:         aws.String("cutover test " + ref),
		Enabled:         aws.Bool(true),
		Origins:         &cftypes.Origins{Quantity: aws.Int32(int32(len(origins))), Items: origins},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
			TargetOriginId: aws.String("blue"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"), AllowedMethods: getHead(),
		},
		CacheBehaviors: &cftypes.CacheBehaviors{Quantity: aws.Int32(1), Items: []cftypes.CacheBehavior{{
			PathPattern: aws.String("/api/*"), TargetOriginId: aws.String("blue"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyHttpsOnly,
			CachePolicyId: aws.String("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"), AllowedMethods: getHead(),
		}}},
	}})
	if err != nil {
		t.Fatalf("create distribution: %v", err)
	}
	return aws.ToString(out.Distribution.Id)
}

// getHead is GET and HEAD, allowed and cached. (moto fails to read back a
// path behavior without AllowedMethods; real CloudFront always returns them.)
func getHead() *cftypes.AllowedMethods {
	m := []cftypes.Method{cftypes.MethodGet, cftypes.MethodHead}
	return &cftypes.AllowedMethods{Quantity: aws.Int32(2), Items: m,
		CachedMethods: &cftypes.CachedMethods{Quantity: aws.Int32(2), Items: m}}
}

func distributionConfig(t *testing.T, c *cloudfront.Client, id string) *cftypes.DistributionConfig {
	t.Helper()
	out, err := c.GetDistributionConfig(context.Background(), &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.DistributionConfig
}

func testCloudFrontSwitch(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	id := createDistribution(t, c, "switch", customOrigin("blue", "blue.origin.example.com"))
	target := Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
		DistributionID: id, BlueOriginID: "blue", GreenOriginID: "green", GreenOriginDomain: "green.origin.example.com",
	}}
	wr := NewWeightReader(p)
	guard := func(origin string) int {
		t.Helper()
		w, err := wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderCloudFront, DistributionID: id, OriginID: origin})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if w, err := acts.GetTrafficWeights(ctx, target); err != nil || w != (Weights{Blue: 100}) {
		t.Fatalf("initial weights %+v, %v", w, err)
	}
	if guard("blue") != 100 || guard("green") != 0 {
		t.Fatalf("WeightReader before the switch: blue %d, green %d", guard("blue"), guard("green"))
	}
	if _, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 50}); !failures.Is(err, failures.InvalidParameter) {
		t.Fatalf("CloudFront at 50%%: %v; want InvalidParameter", err)
	}

	ch, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Noop || ch.ID != id || ch.Weights != (Weights{Green: 100}) {
		t.Fatalf("switch to green: %+v", ch)
	}
	if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, ch); err != nil {
		t.Fatal(err)
	}
	cfg := distributionConfig(t, c, id)
	if got := aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId); got != "green" {
		t.Fatalf("default behavior targets %q, want green", got)
	}
	if got := aws.ToString(cfg.CacheBehaviors.Items[0].TargetOriginId); got != "green" {
		t.Fatalf("/api/* behavior targets %q, want green", got)
	}
	g := findOrigin(cfg, "green")
	if g == nil || aws.ToString(g.DomainName) != "green.origin.example.com" || g.CustomOriginConfig == nil ||
		g.CustomOriginConfig.OriginProtocolPolicy != cftypes.OriginProtocolPolicyHttpsOnly || aws.ToInt32(g.CustomOriginConfig.HTTPSPort) != 443 {
		t.Fatalf("green origin not created as a copy of blue's: %+v", g)
	}
	if findOrigin(cfg, "blue") == nil {
		t.Fatal("blue's origin was removed")
	}
	if w, err := acts.GetTrafficWeights(ctx, target); err != nil || w != (Weights{Green: 100}) {
		t.Fatalf("weights on green: %+v, %v", w, err)
	}
	if guard("blue") != 0 || guard("green") != 100 {
		t.Fatalf("WeightReader on green: blue %d, green %d", guard("blue"), guard("green"))
	}
	again, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 100})
	if err != nil || !again.Noop {
		t.Fatalf("second switch to green: %+v, %v; want a no-op", again, err)
	}

	back, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 0})
	if err != nil || back.Noop {
		t.Fatalf("switch back to blue: %+v, %v", back, err)
	}
	if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, back); err != nil {
		t.Fatal(err)
	}
	cfg = distributionConfig(t, c, id)
	if aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId) != "blue" || aws.ToString(cfg.CacheBehaviors.Items[0].TargetOriginId) != "blue" {
		t.Fatalf("after rollback: default %q, /api/* %q; want blue", aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId), aws.ToString(cfg.CacheBehaviors.Items[0].TargetOriginId))
	}
	if len(cfg.Origins.Items) != 2 {
		t.Fatalf("origins after rollback: %d, want blue and green kept", len(cfg.Origins.Items))
	}
	if guard("blue") != 100 || guard("green") != 0 {
		t.Fatalf("WeightReader after rollback: blue %d, green %d", guard("blue"), guard("green"))
	}

	// Without greenOriginDomain a missing green origin cannot be created.
	id2 := createDistribution(t, c, "nogreen", customOrigin("blue", "blue.origin.example.com"))
	_, err = acts.SetTrafficWeights(ctx, SetWeightsInput{Target: Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
		DistributionID: id2, BlueOriginID: "blue", GreenOriginID: "green",
	}}, Green: 100})
	if !failures.Is(err, failures.NotFound) || !strings.Contains(err.Error(), "greenOriginDomain") {
		t.Fatalf("switch to a missing green origin without a domain: %v; want NotFound naming greenOriginDomain", err)
	}
	// An existing green origin is used as it is.
	id3 := createDistribution(t, c, "withgreen", customOrigin("blue", "blue.origin.example.com"), customOrigin("green", "preexisting.example.com"))
	ch3, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
		DistributionID: id3, BlueOriginID: "blue", GreenOriginID: "green", GreenOriginDomain: "ignored.example.com",
	}}, Green: 100})
	if err != nil || ch3.Noop {
		t.Fatalf("switch with an existing green origin: %+v, %v", ch3, err)
	}
	cfg = distributionConfig(t, c, id3)
	if g := findOrigin(cfg, "green"); g == nil || aws.ToString(g.DomainName) != "preexisting.example.com" || len(cfg.Origins.Items) != 2 {
		t.Fatalf("existing green origin changed: %+v", cfg.Origins.Items)
	}

	if _, err := acts.GetTrafficWeights(ctx, Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
		DistributionID: "ENOSUCHDIST", BlueOriginID: "blue", GreenOriginID: "green",
	}}); !failures.Is(err, failures.NotFound) {
		t.Fatalf("missing distribution: %v; want NotFound", err)
	}
}

func testAlarms(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	region := "eu-west-1"
	cfg, err := p.ForRegion(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	for _, name := range []string{"shop-5xx", "shop-latency"} {
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		})
		if err != nil {
			t.Fatalf("put alarm %s: %v", name, err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: cwtypes.StateValueOk, StateReason: aws.String("test: fine")}); err != nil {
			t.Fatal(err)
		}
	}
	in := HealthInput{Region: region, Alarms: []string{"shop-5xx", "shop-latency"}}
	h, err := acts.CheckTrafficHealth(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Healthy || len(h.Reasons) != 0 || len(h.Alarms) != 2 || h.Alarms[0].State != "OK" {
		t.Fatalf("alarms OK: %+v", h)
	}

	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String("shop-latency"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("Threshold Crossed: 3 datapoints were greater than 10"),
	}); err != nil {
		t.Fatal(err)
	}
	h, err = acts.CheckTrafficHealth(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "alarm shop-latency is in ALARM: Threshold Crossed: 3 datapoints were greater than 10"
	if h.Healthy || len(h.Reasons) != 1 || h.Reasons[0] != want {
		t.Fatalf("one alarm in ALARM: %+v; want the reason %q", h, want)
	}

	// A typo must not pass silently; both problems are reported.
	h, err = acts.CheckTrafficHealth(ctx, HealthInput{Region: region, Alarms: []string{"shop-latency", "shop-5xx-typo"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Healthy || len(h.Reasons) != 2 || !strings.Contains(h.Reasons[1], "alarm shop-5xx-typo does not exist") || h.Alarms[1].State != "MISSING" {
		t.Fatalf("missing alarm: %+v", h)
	}
	// Alarms live in a region: the same names elsewhere do not exist.
	h, err = acts.CheckTrafficHealth(ctx, HealthInput{Region: "us-west-2", Alarms: []string{"shop-5xx"}})
	if err != nil || h.Healthy {
		t.Fatalf("alarm in another region: %+v, %v; want unhealthy", h, err)
	}
}

// faultyProxy sits in front of moto and answers CloudWatch DescribeAlarms
// with throttling and 503s (alternately) while it is failing; every other
// request, and every request once the burst is over, goes to moto.
type faultyProxy struct {
	*httptest.Server
	mu       sync.Mutex
	burst    time.Duration // how long, from the first DescribeAlarms
	started  time.Time
	answered int // faults answered
}

func newFaultyProxy(t *testing.T, target string, burst time.Duration) *faultyProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	f := &faultyProxy{burst: burst}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "Action=DescribeAlarms") && f.failing() {
			w.Header().Set("Content-Type", "text/xml")
			f.mu.Lock()
			f.answered++
			n := f.answered
			f.mu.Unlock()
			if n%2 == 1 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>`)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>Service is unavailable</Message></Error><RequestId>u</RequestId></ErrorResponse>`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *faultyProxy) failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started.IsZero() {
		f.started = time.Now()
	}
	return time.Since(f.started) < f.burst
}

func (f *faultyProxy) faults() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answered
}

// testAlarmsThroughThrottling: about 7 s of CloudWatch throttling and 503s
// during a bake reading is ridden out within the health read budget (the
// issue's chaos run rolled back on it); a reading that stays unreadable for
// the whole budget counts as unhealthy, and says why.
func testAlarmsThroughThrottling(t *testing.T, moto string, direct awsconf.Provider) {
	ctx := context.Background()
	region := "eu-west-2"
	cfg, err := direct.ForRegion(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("shop-5xx"), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("shop-5xx"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("test: fine")}); err != nil {
		t.Fatal(err)
	}

	proxy := newFaultyProxy(t, moto, 7*time.Second)
	acts := NewFromAWS(awsconf.Static{Endpoint: proxy.URL}, WithHealthRetryWait(250*time.Millisecond))
	start := time.Now()
	h, err := acts.CheckTrafficHealth(ctx, HealthInput{Region: region, Alarms: []string{"shop-5xx"}, ReadBudget: duration.Duration(time.Minute)})
	if err != nil || !h.Healthy || len(h.Alarms) != 1 || h.Alarms[0].State != "OK" {
		t.Fatalf("7s of throttling within a 1m budget must read healthy: %+v, %v", h, err)
	}
	if took := time.Since(start); proxy.faults() < 3 || took < 7*time.Second {
		t.Fatalf("the proxy answered %d faults in %s: the burst was not exercised", proxy.faults(), took)
	}

	// Unreadable for longer than the budget: unhealthy, with the reason.
	stuck := newFaultyProxy(t, moto, time.Hour)
	acts = NewFromAWS(awsconf.Static{Endpoint: stuck.URL}, WithHealthRetryWait(100*time.Millisecond))
	h, err = acts.CheckTrafficHealth(ctx, HealthInput{Region: region, Alarms: []string{"shop-5xx"}, ReadBudget: duration.Duration(2 * time.Second)})
	if err != nil || h.Healthy || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "could not be read for 2s") {
		t.Fatalf("throttled past the budget: %+v, %v; want unhealthy saying it could not be read", h, err)
	}
}

func testProbes(t *testing.T, _ *Activities) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "boom", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, "ok shop")
	}))
	defer srv.Close()
	acts := New(nil, WithProbeRunner(probe.Runner{Client: srv.Client(), RetryDelay: time.Millisecond}))
	ok := probe.Probe{Name: "home", URL: srv.URL + "/", ExpectStatus: 200, BodyContains: "shop", Retries: 1}
	h, err := acts.CheckTrafficHealth(context.Background(), HealthInput{Probes: []probe.Probe{ok}})
	if err != nil || !h.Healthy || len(h.Probes) != 1 || !h.Probes[0].Passed {
		t.Fatalf("passing probe: %+v, %v", h, err)
	}
	bad := probe.Probe{Name: "broken", URL: srv.URL + "/broken", ExpectStatus: 200, Retries: 1}
	h, err = acts.CheckTrafficHealth(context.Background(), HealthInput{Probes: []probe.Probe{ok, bad}})
	if err != nil || h.Healthy || len(h.Reasons) != 1 || !strings.HasPrefix(h.Reasons[0], "probe broken failed: ") || !strings.Contains(h.Reasons[0], "status 502") {
		t.Fatalf("failing probe: %+v, %v", h, err)
	}
}
