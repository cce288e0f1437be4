package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// The fakes of the narrow interfaces for CheckTrafficPrerequisites: they
// answer reads from their state or with err, and count writes (there must
// be none).

type checkClients struct {
	r53 *checkRoute53Fake
	cf  *checkCloudFrontFake
	cw  *checkCloudWatchFake
}

func (c *checkClients) Route53(context.Context) (Route53API, error)       { return c.r53, nil }
func (c *checkClients) CloudFront(context.Context) (CloudFrontAPI, error) { return c.cf, nil }
func (c *checkClients) CloudWatch(context.Context, string) (CloudWatchAPI, error) {
	return c.cw, nil
}

// checkRoute53Fake answers ListResourceRecordSets with one page per call
// (pages[i], truncated while more follow, the next page starting at the
// first record of the next one).
type checkRoute53Fake struct {
	pages  [][]r53types.ResourceRecordSet
	err    error
	calls  []route53.ListResourceRecordSetsInput
	writes int
}

func (f *checkRoute53Fake) ListResourceRecordSets(_ context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	i := len(f.calls) - 1
	if i >= len(f.pages) {
		return &route53.ListResourceRecordSetsOutput{}, nil
	}
	out := &route53.ListResourceRecordSetsOutput{ResourceRecordSets: f.pages[i]}
	if i+1 < len(f.pages) && len(f.pages[i+1]) > 0 {
		next := f.pages[i+1][0]
		out.IsTruncated = true
		out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = next.Name, next.Type, next.SetIdentifier
	}
	return out, nil
}

func (f *checkRoute53Fake) ChangeResourceRecordSets(context.Context, *route53.ChangeResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	f.writes++
	return nil, errors.New("the check must not change records")
}

func (f *checkRoute53Fake) GetChange(context.Context, *route53.GetChangeInput, ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	return nil, errors.New("the check must not wait for changes")
}

type checkCloudFrontFake struct {
	cfg    *cftypes.DistributionConfig
	err    error
	reads  int
	writes int
}

func (f *checkCloudFrontFake) GetDistribution(context.Context, *cloudfront.GetDistributionInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionOutput, error) {
	return nil, errors.New("the check reads the configuration only")
}

func (f *checkCloudFrontFake) GetDistributionConfig(context.Context, *cloudfront.GetDistributionConfigInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error) {
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	return &cloudfront.GetDistributionConfigOutput{DistributionConfig: f.cfg, ETag: aws.String("E1")}, nil
}

func (f *checkCloudFrontFake) UpdateDistribution(context.Context, *cloudfront.UpdateDistributionInput, ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error) {
	f.writes++
	return nil, errors.New("the check must not update the distribution")
}

// checkCloudWatchFake knows the alarms of states; it records the names of
// every call.
type checkCloudWatchFake struct {
	states map[string]cwtypes.StateValue
	err    error
	calls  [][]string
}

func (f *checkCloudWatchFake) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.calls = append(f.calls, slices.Clone(in.AlarmNames))
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range in.AlarmNames {
		if st, ok := f.states[n]; ok {
			out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: st, StateReason: aws.String("test")})
		}
	}
	return out, nil
}

func checkTarget() Target {
	return Target{Provider: ProviderRoute53, Region: "eu-west-1", Route53: &Route53Records{
		HostedZoneID: "Z1", RecordName: "app.example.com", GreenTarget: "green.example.com",
	}}
}

func rrWeighted(name, set string, weight int64) r53types.ResourceRecordSet {
	return r53types.ResourceRecordSet{Name: aws.String(name + "."), Type: r53types.RRTypeCname, SetIdentifier: aws.String(set), Weight: aws.Int64(weight),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(set + ".example.com")}}}
}

// transientErrors are the answers that say nothing about what exists.
func transientErrors() map[string]error {
	return map[string]error{
		"throttled": apiErr("Throttling"),
		"5xx code":  apiErr("ServiceUnavailable"),
		"HTTP 503": &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}},
			Err: errors.New("bad gateway")},
		"timed out": fmt.Errorf("operation error: %w", context.DeadlineExceeded),
	}
}

func wantRetryable(t *testing.T, what string, res CheckResult, err error) {
	t.Helper()
	if err == nil || !failures.IsTransient(err) || failures.IsDefinitive(err) || len(res.Findings) != 0 {
		t.Fatalf("%s: %+v, %v; want a retryable transient error and no findings", what, res, err)
	}
}

func TestCheckTransientReadsAreRetryableErrors(t *testing.T) {
	for name, terr := range transientErrors() {
		r53 := &checkRoute53Fake{err: terr}
		res, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget()})
		wantRetryable(t, "Route53 "+name, res, err)

		cf := &checkCloudFrontFake{err: terr}
		res, err = New(&checkClients{cf: cf}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: cfTarget})
		wantRetryable(t, "CloudFront "+name, res, err)

		r53 = &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{{rrWeighted("app.example.com", "blue", 100)}}}
		cw := &checkCloudWatchFake{err: terr}
		res, err = New(&checkClients{r53: r53, cw: cw}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget(), Alarms: []string{"5xx"}})
		wantRetryable(t, "CloudWatch "+name, res, err)
	}
}

func TestCheckDefinitiveErrorsAreErrors(t *testing.T) {
	r53 := &checkRoute53Fake{err: apiErr("AccessDenied")}
	_, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget()})
	if !failures.Is(err, failures.AccessDenied) || !failures.IsDefinitive(err) {
		t.Fatalf("access denied: %v; want a definitive AccessDenied, not a finding", err)
	}
	r53 = &checkRoute53Fake{err: apiErr("NoSuchHostedZone")}
	res, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget()})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Check != CheckZoneMissing || res.Findings[0].Message != "traffic.route53.hostedZoneId: hosted zone Z1 does not exist" {
		t.Fatalf("NoSuchHostedZone: %+v, %v; want the one finding", res, err)
	}
	cf := &checkCloudFrontFake{err: apiErr("NoSuchDistribution")}
	res, err = New(&checkClients{cf: cf}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: cfTarget})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Check != CheckDistributionMissing {
		t.Fatalf("NoSuchDistribution: %+v, %v; want the one finding", res, err)
	}
	for name, in := range map[string]CheckInput{
		"unknown provider":      {Target: Target{Provider: "akamai"}},
		"route53 without zone":  {Target: Target{Provider: ProviderRoute53, Route53: &Route53Records{RecordName: "app.example.com"}}},
		"alarms without region": {Target: Target{Provider: ProviderRoute53, Route53: checkTarget().Route53}, Alarms: []string{"5xx"}},
	} {
		r53 := &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{{rrWeighted("app.example.com", "blue", 100)}}}
		_, err := New(&checkClients{r53: r53, cw: &checkCloudWatchFake{}}).CheckTrafficPrerequisites(context.Background(), in)
		if !failures.Is(err, failures.InvalidParameter) {
			t.Fatalf("%s: %v; want InvalidParameter", name, err)
		}
	}
}

func TestCheckRoute53ReadsPagesFromTheRecordName(t *testing.T) {
	// Pages: other types of the name first, blue on the second, green on
	// the third, then the next name: its page is not read.
	txt := r53types.ResourceRecordSet{Name: aws.String("app.example.com."), Type: r53types.RRTypeTxt, ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(`"x"`)}}}
	r53 := &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{
		{txt},
		{rrWeighted("app.example.com", "blue", 100)},
		{rrWeighted("app.example.com", "green", 0)},
		{rrWeighted("zzz.example.com", "blue", 100)},
		{rrWeighted("zzz.example.com", "green", 100)},
	}}
	res, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget()})
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("pair over pages: %+v, %v; want no findings", res, err)
	}
	if len(r53.calls) != 3 || aws.ToString(r53.calls[0].StartRecordName) != "app.example.com." || aws.ToString(r53.calls[2].StartRecordIdentifier) != "green" {
		t.Fatalf("ListResourceRecordSets calls %d (first from %q); want 3 pages read from the record name", len(r53.calls), aws.ToString(r53.calls[0].StartRecordName))
	}
	if r53.writes != 0 {
		t.Fatalf("%d writes", r53.writes)
	}
}

func TestCheckRoute53Records(t *testing.T) {
	failover := r53types.ResourceRecordSet{Name: aws.String("app.example.com."), Type: r53types.RRTypeCname, SetIdentifier: aws.String("blue"),
		Failover: r53types.ResourceRecordSetFailoverPrimary, ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue.example.com")}}}
	for _, tt := range []struct {
		name string
		recs []r53types.ResourceRecordSet
		want []string // check and a fragment of the message, in turn
	}{
		{"initial pair", []r53types.ResourceRecordSet{rrWeighted("app.example.com", "blue", 100), rrWeighted("app.example.com", "green", 0)}, nil},
		{"blue not 100", []r53types.ResourceRecordSet{rrWeighted("app.example.com", "blue", 50)},
			[]string{CheckWeightsNotInitial, `blue's record ("blue") weighs 50 and green's record does not exist yet: blue receives 100%`}},
		{"both 0", []r53types.ResourceRecordSet{rrWeighted("app.example.com", "blue", 0), rrWeighted("app.example.com", "green", 0)},
			[]string{CheckWeightsNotInitial, "half the traffic each"}},
		{"all on green", []r53types.ResourceRecordSet{rrWeighted("app.example.com", "blue", 0), rrWeighted("app.example.com", "green", 100)},
			[]string{CheckWeightsNotInitial, "blue receives 0% and green 100%"}},
		{"failover blue", []r53types.ResourceRecordSet{failover},
			[]string{CheckRecordNotWeighted, `traffic.route53.blueSetIdentifier: the CNAME record app.example.com with set identifier "blue" is not a weighted record`}},
		{"green only", []r53types.ResourceRecordSet{rrWeighted("app.example.com", "green", 0)},
			[]string{CheckRecordMissing, `set identifiers "green"`}},
	} {
		r53 := &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{tt.recs}}
		res, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget()})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(res.Findings)*2 != len(tt.want) {
			t.Fatalf("%s: findings %+v, want %v", tt.name, res.Findings, tt.want)
		}
		for i, f := range res.Findings {
			if f.Check != tt.want[2*i] || !strings.Contains(f.Message, tt.want[2*i+1]) || f.Object == "" || f.Fix == "" || f.Source != FindingSource {
				t.Fatalf("%s: finding %+v, want %s with %q", tt.name, f, tt.want[2*i], tt.want[2*i+1])
			}
			wantSev := finding.Error
			if f.Check == CheckWeightsNotInitial {
				wantSev = finding.Warning
			}
			if f.Severity != wantSev {
				t.Fatalf("%s: %s has severity %s", tt.name, f.Check, f.Severity)
			}
		}
	}
}

func TestCheckAlarmsInBatchesOf100(t *testing.T) {
	states := map[string]cwtypes.StateValue{}
	var names []string
	for i := range 250 {
		n := fmt.Sprintf("alarm-%03d", i)
		names = append(names, n)
		states[n] = cwtypes.StateValueOk
	}
	delete(states, "alarm-120")
	states["alarm-201"] = cwtypes.StateValueAlarm
	states["alarm-249"] = cwtypes.StateValueInsufficientData
	cw := &checkCloudWatchFake{states: states}
	r53 := &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{{rrWeighted("app.example.com", "blue", 100)}}}
	res, err := New(&checkClients{r53: r53, cw: cw}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget(), Alarms: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(cw.calls) != 3 || len(cw.calls[0]) != 100 || len(cw.calls[1]) != 100 || len(cw.calls[2]) != 50 {
		t.Fatalf("DescribeAlarms calls of %d names; want 100, 100, 50", len(cw.calls))
	}
	got := []string{}
	for _, f := range res.Findings {
		got = append(got, f.Check+" "+f.Message[:strings.Index(f.Message, ":")])
	}
	want := []string{CheckAlarmMissing + " traffic.alarms[120]", CheckAlarmFiring + " traffic.alarms[201]", CheckAlarmNoData + " traffic.alarms[249]"}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}

func TestCheckCloudFrontDefaultBehaviorOnGreen(t *testing.T) {
	cfg := blueGreenDistribution()
	cfg.DefaultCacheBehavior.TargetOriginId = aws.String("green")
	cfg.Origins.Items = append(cfg.Origins.Items, cftypes.Origin{Id: aws.String("green"), DomainName: aws.String("green.example.com")})
	cf := &checkCloudFrontFake{cfg: cfg}
	res, err := New(&checkClients{cf: cf}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: cfTarget})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Check != CheckWeightsNotInitial || res.Findings[0].Severity != "warning" ||
		!strings.Contains(res.Findings[0].Message, `targets origin "green", not blue's "blue"`) {
		t.Fatalf("default behavior on green: %+v, %v; want the warning", res, err)
	}
	if cf.writes != 0 || cf.reads != 1 {
		t.Fatalf("%d reads, %d writes; want one read", cf.reads, cf.writes)
	}
}

// TestCheckSimpleRecord: a simple record blocks, unless the workflow
// converts it (ConvertPlain): then it is information saying what happens.
func TestCheckSimpleRecord(t *testing.T) {
	simple := r53types.ResourceRecordSet{Name: aws.String("app.example.com."), Type: r53types.RRTypeCname, TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue.example.com")}}}
	for _, convert := range []bool{false, true} {
		r53 := &checkRoute53Fake{pages: [][]r53types.ResourceRecordSet{{simple}}}
		res, err := New(&checkClients{r53: r53}).CheckTrafficPrerequisites(context.Background(), CheckInput{Target: checkTarget(), ConvertPlain: convert})
		if err != nil || len(res.Findings) != 1 {
			t.Fatalf("convert %v: %+v, %v", convert, res, err)
		}
		f := res.Findings[0]
		switch {
		case !convert && (f.Check != CheckRecordNotWeighted || f.Severity != finding.Error):
			t.Errorf("without conversion: %+v, want a blocking %s", f, CheckRecordNotWeighted)
		case convert && (f.Check != CheckRecordConverted || f.Severity != finding.Info || !strings.Contains(f.Message, "one atomic change")):
			t.Errorf("with conversion: %+v, want information %s", f, CheckRecordConverted)
		}
		if r53.writes != 0 {
			t.Errorf("the check wrote %d times", r53.writes)
		}
	}
}
