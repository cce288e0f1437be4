package traffic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "test " + code}
}

type fakeClients struct {
	r53 *fakeRoute53
	cf  *fakeCloudFront
	cw  *fakeCloudWatch
}

func (f *fakeClients) Route53(context.Context) (Route53API, error)       { return f.r53, nil }
func (f *fakeClients) CloudFront(context.Context) (CloudFrontAPI, error) { return f.cf, nil }
func (f *fakeClients) CloudWatch(context.Context, string) (CloudWatchAPI, error) {
	return f.cw, nil
}

type fakeRoute53 struct {
	records   []r53types.ResourceRecordSet
	listErr   error
	changeErr error
	changes   int
	// statuses returned by GetChange, one per call; the last one repeats.
	statuses []r53types.ChangeStatus
	getCalls int
}

func (f *fakeRoute53) ListResourceRecordSets(_ context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return &route53.ListResourceRecordSetsOutput{ResourceRecordSets: f.records}, nil
}

func (f *fakeRoute53) ChangeResourceRecordSets(_ context.Context, in *route53.ChangeResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	if f.changeErr != nil {
		return nil, f.changeErr
	}
	f.changes++
	return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &r53types.ChangeInfo{Id: aws.String(fmt.Sprintf("/change/C%d", f.changes)), Status: r53types.ChangeStatusPending}}, nil
}

func (f *fakeRoute53) GetChange(_ context.Context, in *route53.GetChangeInput, _ ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	s := f.statuses[min(f.getCalls, len(f.statuses)-1)]
	f.getCalls++
	return &route53.GetChangeOutput{ChangeInfo: &r53types.ChangeInfo{Id: in.Id, Status: s}}, nil
}

// fakeCloudFront is a distribution whose ETag changes on every write; race
// makes another writer change it between our read and our write that many
// times.
type fakeCloudFront struct {
	cfg      *cftypes.DistributionConfig
	etag     int
	race     int
	updErr   error
	reads    int
	updates  []string // IfMatch of every update call
	statuses []string
	getCalls int
}

func (f *fakeCloudFront) GetDistribution(_ context.Context, in *cloudfront.GetDistributionInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetDistributionOutput, error) {
	s := f.statuses[min(f.getCalls, len(f.statuses)-1)]
	f.getCalls++
	return &cloudfront.GetDistributionOutput{Distribution: &cftypes.Distribution{Id: in.Id, Status: aws.String(s)}}, nil
}

func (f *fakeCloudFront) GetDistributionConfig(_ context.Context, in *cloudfront.GetDistributionConfigInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error) {
	f.reads++
	if f.cfg == nil {
		return nil, apiErr("NoSuchDistribution")
	}
	return &cloudfront.GetDistributionConfigOutput{DistributionConfig: cloneCF(f.cfg), ETag: aws.String(fmt.Sprintf("E%d", f.etag))}, nil
}

func (f *fakeCloudFront) UpdateDistribution(_ context.Context, in *cloudfront.UpdateDistributionInput, _ ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error) {
	f.updates = append(f.updates, aws.ToString(in.IfMatch))
	if f.updErr != nil {
		return nil, f.updErr
	}
	if f.race > 0 {
		f.race--
		f.etag++ // someone else wrote in between
	}
	if aws.ToString(in.IfMatch) != fmt.Sprintf("E%d", f.etag) {
		return nil, apiErr("PreconditionFailed")
	}
	f.cfg = cloneCF(in.DistributionConfig)
	f.etag++
	return &cloudfront.UpdateDistributionOutput{ETag: aws.String(fmt.Sprintf("E%d", f.etag))}, nil
}

func cloneCF(c *cftypes.DistributionConfig) *cftypes.DistributionConfig {
	n := *c
	o := *c.Origins
	o.Items = slices.Clone(c.Origins.Items)
	n.Origins = &o
	d := *c.DefaultCacheBehavior
	n.DefaultCacheBehavior = &d
	if c.CacheBehaviors != nil {
		b := *c.CacheBehaviors
		b.Items = slices.Clone(c.CacheBehaviors.Items)
		n.CacheBehaviors = &b
	}
	return &n
}

// fakeCloudWatch answers with the errors of burst, one per call, then with
// err, or else with its alarms (all OK unless listed in inAlarm).
type fakeCloudWatch struct {
	err     error
	burst   []error
	inAlarm map[string]bool
	calls   int
}

func (f *fakeCloudWatch) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.calls++
	if len(f.burst) > 0 {
		err := f.burst[0]
		f.burst = f.burst[1:]
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range in.AlarmNames {
		st := cwtypes.StateValueOk
		if f.inAlarm[n] {
			st = cwtypes.StateValueAlarm
		}
		out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: st, StateReason: aws.String("test")})
	}
	return out, nil
}

func blueGreenDistribution() *cftypes.DistributionConfig {
	return &cftypes.DistributionConfig{
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id: aws.String("blue"), DomainName: aws.String("blue.example.com"),
			CustomOriginConfig: &cftypes.CustomOriginConfig{OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpsOnly, HTTPSPort: aws.Int32(443)},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("blue")},
		CacheBehaviors: &cftypes.CacheBehaviors{Quantity: aws.Int32(2), Items: []cftypes.CacheBehavior{
			{PathPattern: aws.String("/api/*"), TargetOriginId: aws.String("blue")},
			{PathPattern: aws.String("/static/*"), TargetOriginId: aws.String("s3-assets")},
		}},
	}
}

var cfTarget = Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
	DistributionID: "E123", BlueOriginID: "blue", GreenOriginID: "green", GreenOriginDomain: "green.example.com",
}}

func TestCloudFrontRetriesETagRace(t *testing.T) {
	cf := &fakeCloudFront{cfg: blueGreenDistribution(), race: 2}
	a := New(&fakeClients{cf: cf})
	ch, err := a.SetTrafficWeights(context.Background(), SetWeightsInput{Target: cfTarget, Green: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Noop || ch.ID != "E123" {
		t.Fatalf("change %+v", ch)
	}
	// Two lost races, then a write with the ETag of a fresh read.
	if cf.reads != 3 || !slices.Equal(cf.updates, []string{"E0", "E1", "E2"}) {
		t.Fatalf("reads %d, IfMatch %v; want 3 reads and IfMatch E0, E1, E2", cf.reads, cf.updates)
	}
	if got := aws.ToString(cf.cfg.DefaultCacheBehavior.TargetOriginId); got != "green" {
		t.Fatalf("default behavior on %q", got)
	}
	if a, s := aws.ToString(cf.cfg.CacheBehaviors.Items[0].TargetOriginId), aws.ToString(cf.cfg.CacheBehaviors.Items[1].TargetOriginId); a != "green" || s != "s3-assets" {
		t.Fatalf("path behaviors: /api/* on %q (want green), /static/* on %q (want s3-assets, untouched)", a, s)
	}
	if n := len(cf.cfg.Origins.Items); n != 2 || aws.ToInt32(cf.cfg.Origins.Quantity) != 2 {
		t.Fatalf("origins: %d items, quantity %d", n, aws.ToInt32(cf.cfg.Origins.Quantity))
	}
	g := cf.cfg.Origins.Items[1]
	if aws.ToString(g.Id) != "green" || aws.ToString(g.DomainName) != "green.example.com" || g.CustomOriginConfig.OriginProtocolPolicy != cftypes.OriginProtocolPolicyHttpsOnly {
		t.Fatalf("green origin %+v", g)
	}
	if aws.ToString(cf.cfg.Origins.Items[0].DomainName) != "blue.example.com" {
		t.Fatal("blue's origin was modified by the copy")
	}
	// Idempotent: nothing is written the second time.
	again, err := a.SetTrafficWeights(context.Background(), SetWeightsInput{Target: cfTarget, Green: 100})
	if err != nil || !again.Noop || len(cf.updates) != 3 {
		t.Fatalf("second call: %+v, %v, %d updates", again, err, len(cf.updates))
	}
}

func TestCloudFrontETagRaceExhaustedIsRetryable(t *testing.T) {
	cf := &fakeCloudFront{cfg: blueGreenDistribution(), race: 100}
	a := New(&fakeClients{cf: cf}, WithUpdateAttempts(3))
	_, err := a.SetTrafficWeights(context.Background(), SetWeightsInput{Target: cfTarget, Green: 100})
	if !failures.Is(err, failures.ResourceInUse) || isNonRetryable(err) {
		t.Fatalf("endless ETag race: %v; want a retryable ResourceInUse", err)
	}
	if len(cf.updates) != 3 {
		t.Fatalf("%d update attempts, want 3", len(cf.updates))
	}
}

func TestCloudFrontRefusals(t *testing.T) {
	ctx := context.Background()
	a := New(&fakeClients{cf: &fakeCloudFront{cfg: blueGreenDistribution()}})
	if _, err := a.SetTrafficWeights(ctx, SetWeightsInput{Target: cfTarget, Green: 10}); !failures.Is(err, failures.InvalidParameter) || !isNonRetryable(err) {
		t.Fatalf("10%% on CloudFront: %v; want non-retryable InvalidParameter", err)
	}
	cfg := blueGreenDistribution()
	cfg.DefaultCacheBehavior.TargetOriginId = aws.String("legacy")
	a = New(&fakeClients{cf: &fakeCloudFront{cfg: cfg}})
	if _, err := a.SetTrafficWeights(ctx, SetWeightsInput{Target: cfTarget, Green: 100}); !failures.Is(err, failures.Conflict) {
		t.Fatalf("default behavior on a third origin: %v; want Conflict", err)
	}
	if _, err := a.GetTrafficWeights(ctx, cfTarget); !failures.Is(err, failures.Conflict) {
		t.Fatalf("weights with default behavior on a third origin: %v; want Conflict", err)
	}
	a = New(&fakeClients{cf: &fakeCloudFront{}})
	if _, err := a.SetTrafficWeights(ctx, SetWeightsInput{Target: cfTarget, Green: 100}); !failures.Is(err, failures.NotFound) {
		t.Fatalf("missing distribution: %v; want NotFound", err)
	}
	a = New(&fakeClients{cf: &fakeCloudFront{cfg: blueGreenDistribution(), updErr: apiErr("AccessDenied")}})
	if _, err := a.SetTrafficWeights(ctx, SetWeightsInput{Target: cfTarget, Green: 100}); !failures.Is(err, failures.AccessDenied) || !isNonRetryable(err) {
		t.Fatalf("update denied: %v; want non-retryable AccessDenied", err)
	}
}

func TestAWSErrorMapping(t *testing.T) {
	cases := []struct {
		code, typ    string
		nonRetryable bool
	}{
		{"AccessDenied", failures.AccessDenied, true},
		{"AccessDeniedException", failures.AccessDenied, true},
		{"Throttling", failures.Throttled, false},
		{"ThrottlingException", failures.Throttled, false},
		{"PriorRequestNotComplete", failures.ResourceInUse, false},
		{"PreconditionFailed", failures.ResourceInUse, false},
		{"InvalidIfMatchVersion", failures.ResourceInUse, false},
		{"InvalidInput", failures.InvalidParameter, true},
		{"InvalidChangeBatch", failures.InvalidParameter, true},
		{"InvalidArgument", failures.InvalidParameter, true},
		{"IllegalUpdate", failures.InvalidParameter, true},
		{"NoSuchHostedZone", failures.NotFound, true},
		{"NoSuchDistribution", failures.NotFound, true},
		{"NoSuchChange", failures.NotFound, true},
		{"NoSuchContinuousDeploymentPolicy", failures.NotFound, true},
		{"StagingDistributionInUse", failures.Conflict, true},
		{"ContinuousDeploymentPolicyInUse", failures.Conflict, true},
		{"DistributionAlreadyExists", failures.Conflict, true},
		{"DistributionNotDisabled", failures.ResourceInUse, false},
		{"MissingBody", failures.InvalidParameter, true},
		{"InternalFailure", failures.Transient, false},
		{"ServiceUnavailable", failures.Transient, false},
	}
	for _, c := range cases {
		err := awsError(apiErr(c.code), "do %s", "it")
		if got := failures.TypeOf(err); got != c.typ {
			t.Errorf("%s: type %q, want %q", c.code, got, c.typ)
		}
		if isNonRetryable(err) != c.nonRetryable {
			t.Errorf("%s: non-retryable %v, want %v", c.code, isNonRetryable(err), c.nonRetryable)
		}
		if !strings.HasPrefix(err.Error(), "do it: ") && !strings.Contains(err.Error(), ": do it: ") {
			t.Errorf("%s: message %q does not say what was done", c.code, err)
		}
	}
	if err := awsError(context.Canceled, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("context error changed: %v", err)
	}
}

func TestRoute53ErrorsThroughActivities(t *testing.T) {
	ctx := context.Background()
	target := Target{Provider: ProviderRoute53, Route53: &Route53Records{HostedZoneID: "Z1", RecordName: "app.example.com", GreenTarget: "green.example.com"}}
	blue := r53types.ResourceRecordSet{Name: aws.String("app.example.com."), Type: r53types.RRTypeCname, SetIdentifier: aws.String("blue"), Weight: aws.Int64(100),
		TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue.example.com")}}}
	for _, c := range []struct {
		name      string
		r53       *fakeRoute53
		typ       string
		retryable bool
	}{
		{"zone missing", &fakeRoute53{listErr: apiErr("NoSuchHostedZone")}, failures.NotFound, false},
		{"throttled", &fakeRoute53{listErr: apiErr("Throttling")}, failures.Throttled, true},
		{"batch refused", &fakeRoute53{records: []r53types.ResourceRecordSet{blue}, changeErr: apiErr("InvalidChangeBatch")}, failures.InvalidParameter, false},
		{"denied", &fakeRoute53{records: []r53types.ResourceRecordSet{blue}, changeErr: apiErr("AccessDenied")}, failures.AccessDenied, false},
	} {
		_, err := New(&fakeClients{r53: c.r53}).SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 10})
		if failures.TypeOf(err) != c.typ || isNonRetryable(err) == c.retryable {
			t.Errorf("%s: %v; want %s (retryable %v)", c.name, err, c.typ, c.retryable)
		}
	}
	latency := blue
	latency.Weight = nil
	latency.Region = r53types.ResourceRecordSetRegionUsEast1
	_, err := New(&fakeClients{r53: &fakeRoute53{records: []r53types.ResourceRecordSet{latency}}}).SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 10})
	if !failures.Is(err, failures.Conflict) {
		t.Errorf("latency record: %v; want Conflict", err)
	}
	if _, err := New(&fakeClients{}).SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 101}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("green 101: %v", err)
	}
	if _, err := New(&fakeClients{}).GetTrafficWeights(ctx, Target{Provider: "nginx"}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("unknown provider: %v", err)
	}
}

func TestHealthReadErrorIsAnError(t *testing.T) {
	a := New(&fakeClients{cw: &fakeCloudWatch{err: apiErr("AccessDenied")}})
	_, err := a.CheckTrafficHealth(context.Background(), HealthInput{Region: "eu-west-1", Alarms: []string{"a"}})
	if !failures.Is(err, failures.AccessDenied) {
		t.Fatalf("describe denied: %v; want AccessDenied", err)
	}
	if _, err := a.CheckTrafficHealth(context.Background(), HealthInput{Alarms: []string{"a"}}); !failures.Is(err, failures.InvalidParameter) {
		t.Fatalf("alarms without a region: %v", err)
	}
	h, err := a.CheckTrafficHealth(context.Background(), HealthInput{})
	if err != nil || !h.Healthy {
		t.Fatalf("nothing to check: %+v, %v", h, err)
	}
}

func TestWaitPollsAndHeartbeats(t *testing.T) {
	r53 := &fakeRoute53{statuses: []r53types.ChangeStatus{r53types.ChangeStatusPending, r53types.ChangeStatusPending, r53types.ChangeStatusInsync}}
	cf := &fakeCloudFront{statuses: []string{"InProgress", "InProgress", "InProgress", "Deployed"}}
	a := New(&fakeClients{r53: r53, cf: cf}, WithPollInterval(time.Millisecond))
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.WaitTrafficPropagated, Change{Provider: ProviderRoute53, ID: "/change/C1"}); err != nil {
		t.Fatal(err)
	}
	if r53.getCalls != 3 {
		t.Fatalf("GetChange called %d times, want 3", r53.getCalls)
	}
	if _, err := env.ExecuteActivity(a.WaitTrafficPropagated, Change{Provider: ProviderCloudFront, ID: "E123"}); err != nil {
		t.Fatal(err)
	}
	if cf.getCalls != 4 {
		t.Fatalf("GetDistribution called %d times, want 4", cf.getCalls)
	}
	if _, err := env.ExecuteActivity(a.WaitTrafficPropagated, Change{Provider: ProviderRoute53, Noop: true}); err != nil {
		t.Fatal(err)
	}
	if r53.getCalls != 3 {
		t.Fatal("a no-op change was polled")
	}
}

func TestWaitResumesFromHeartbeat(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivityWithOptions(func(ctx context.Context, c Change) (WaitProgress, error) {
		return resumeWait(ctx, c), nil
	}, activity.RegisterOptions{Name: "resume"})
	env.SetHeartbeatDetails(WaitProgress{Provider: ProviderRoute53, ID: "/change/C7", Status: "PENDING", Polls: 41, Since: "2026-01-02T03:04:05Z"})
	val, err := env.ExecuteActivity("resume", Change{Provider: ProviderRoute53, ID: "/change/C7"})
	if err != nil {
		t.Fatal(err)
	}
	var p WaitProgress
	if err := val.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Polls != 41 || p.Since != "2026-01-02T03:04:05Z" {
		t.Fatalf("resumed progress %+v", p)
	}
	// Details of another change are not reused.
	val, err = env.ExecuteActivity("resume", Change{Provider: ProviderRoute53, ID: "/change/C8"})
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Get(&p); err != nil || p.Polls != 0 || p.ID != "/change/C8" {
		t.Fatalf("progress for another change %+v, %v", p, err)
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		part, total int64
		want        int
	}{{0, 100, 0}, {10, 100, 10}, {1, 1000, 1}, {999, 1000, 99}, {5, 5, 100}, {1, 3, 33}, {0, 0, 0}} {
		if got := percent(c.part, c.total); got != c.want {
			t.Errorf("percent(%d, %d) = %d, want %d", c.part, c.total, got, c.want)
		}
	}
}

func TestWeightReaderShares(t *testing.T) {
	rec := func(id string, w *int64, typ r53types.RRType) r53types.ResourceRecordSet {
		return r53types.ResourceRecordSet{Name: aws.String("app.example.com."), Type: typ, SetIdentifier: aws.String(id), Weight: w}
	}
	ctx := context.Background()
	g := func(id string) trafficguard.Guard {
		return trafficguard.Guard{Provider: ProviderRoute53, HostedZoneID: "Z1", RecordName: "app.example.com", SetIdentifier: id}
	}
	for _, c := range []struct {
		name string
		recs []r53types.ResourceRecordSet
		id   string
		want int
	}{
		{"tiny weight still serves", []r53types.ResourceRecordSet{rec("blue", aws.Int64(1), "A"), rec("green", aws.Int64(255), "A")}, "blue", 1},
		{"all zero splits evenly", []r53types.ResourceRecordSet{rec("blue", aws.Int64(0), "A"), rec("green", aws.Int64(0), "A")}, "blue", 50},
		{"other types do not count", []r53types.ResourceRecordSet{rec("blue", aws.Int64(50), "A"), rec("blue6", aws.Int64(50), "AAAA"), rec("green", aws.Int64(50), "A")}, "blue", 50},
		{"not weighted serves", []r53types.ResourceRecordSet{rec("blue", nil, "A")}, "blue", 100},
		{"missing", []r53types.ResourceRecordSet{rec("green", aws.Int64(100), "A")}, "blue", 0},
	} {
		w := NewWeightReaderFrom(&fakeClients{r53: &fakeRoute53{records: c.recs}})
		got, err := w.ClusterWeight(ctx, g(c.id))
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	w := NewWeightReaderFrom(&fakeClients{})
	if _, err := w.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderRoute53}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("empty guard: %v", err)
	}
	cfg := blueGreenDistribution()
	cfg.DefaultCacheBehavior.TargetOriginId = aws.String("green")
	w = NewWeightReaderFrom(&fakeClients{cf: &fakeCloudFront{cfg: cfg}})
	// /api/* still on blue: blue still serves.
	if got, err := w.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderCloudFront, DistributionID: "E1", OriginID: "blue"}); err != nil || got != 100 {
		t.Errorf("blue behind a path behavior: %d, %v; want 100", got, err)
	}
}

func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}
