package traffic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/probe"
)

func throttled() error {
	return failures.FromAWS(apiErr("Throttling"), trafficCodes, "describe CloudWatch alarms")
}

func TestHealthThrottledBurstThenHealthy(t *testing.T) {
	cw := &fakeCloudWatch{burst: []error{throttled(), throttled(), apiErr("InternalFailure"), throttled()}}
	a := New(&fakeClients{cw: cw}, WithHealthRetryWait(time.Millisecond))
	h, err := a.CheckTrafficHealth(context.Background(), HealthInput{Region: "eu-west-1", Alarms: []string{"5xx", "latency"}, ReadBudget: duration.Duration(5 * time.Second)})
	if err != nil || !h.Healthy {
		t.Fatalf("a burst of throttled reads within the budget must read healthy: %+v, %v", h, err)
	}
	if cw.calls != 5 {
		t.Fatalf("%d DescribeAlarms calls, want 4 failed + 1", cw.calls)
	}
}

func TestHealthUnreadableForTheBudgetIsUnhealthy(t *testing.T) {
	cw := &fakeCloudWatch{err: throttled()}
	a := New(&fakeClients{cw: cw}, WithHealthRetryWait(5*time.Millisecond))
	start := time.Now()
	h, err := a.CheckTrafficHealth(context.Background(), HealthInput{Region: "eu-west-1", Alarms: []string{"5xx"}, ReadBudget: duration.Duration(200 * time.Millisecond)})
	if err != nil {
		t.Fatalf("an unreadable alarm is an unhealthy reading, not an error: %v", err)
	}
	if h.Healthy || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "could not be read for 200ms") || h.Alarms[0].State != AlarmUnreadable {
		t.Fatalf("reading %+v", h)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %s, want about the 200ms budget", took)
	}
	if cw.calls < 3 {
		t.Fatalf("only %d reads within the budget", cw.calls)
	}
}

func TestHealthDefinitiveErrorFailsOnce(t *testing.T) {
	cw := &fakeCloudWatch{err: apiErr("AccessDenied")}
	a := New(&fakeClients{cw: cw}, WithHealthRetryWait(time.Millisecond))
	_, err := a.CheckTrafficHealth(context.Background(), HealthInput{Region: "eu-west-1", Alarms: []string{"5xx"}, ReadBudget: duration.Duration(5 * time.Second)})
	if !failures.Is(err, failures.AccessDenied) || cw.calls != 1 {
		t.Fatalf("err %v after %d calls, want AccessDenied after one", err, cw.calls)
	}
}

func TestHealthAlarmStillCounts(t *testing.T) {
	cw := &fakeCloudWatch{burst: []error{throttled()}, inAlarm: map[string]bool{"5xx": true}}
	a := New(&fakeClients{cw: cw}, WithHealthRetryWait(time.Millisecond))
	h, err := a.CheckTrafficHealth(context.Background(), HealthInput{Region: "eu-west-1", Alarms: []string{"5xx"}, ReadBudget: duration.Duration(5 * time.Second)})
	if err != nil || h.Healthy || !strings.Contains(strings.Join(h.Reasons, ";"), "alarm 5xx is in ALARM") {
		t.Fatalf("an alarm in ALARM after a retried read must be unhealthy: %+v, %v", h, err)
	}
}

func TestHealthProbeUnreadableThenHealthy(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/wrong":
			w.WriteHeader(http.StatusNotFound)
		case calls.Add(1) <= 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	a := New(&fakeClients{}, WithHealthRetryWait(time.Millisecond), WithProbeRunner(probe.Runner{RetryDelay: time.Millisecond}))
	h, err := a.CheckTrafficHealth(context.Background(), HealthInput{Probes: []probe.Probe{{Name: "home", URL: srv.URL + "/"}}, ReadBudget: duration.Duration(5 * time.Second)})
	if err != nil || !h.Healthy || calls.Load() != 4 {
		t.Fatalf("503s within the budget must be retried: %+v, %v (%d calls)", h, err, calls.Load())
	}
	// A wrong status is a reading: unhealthy at once.
	start := time.Now()
	h, err = a.CheckTrafficHealth(context.Background(), HealthInput{Probes: []probe.Probe{{Name: "wrong", URL: srv.URL + "/wrong"}}, ReadBudget: duration.Duration(5 * time.Second)})
	if err != nil || h.Healthy || time.Since(start) > time.Second {
		t.Fatalf("a 404 must be unhealthy at once: %+v, %v", h, err)
	}
}

func TestProbeUnreadable(t *testing.T) {
	for _, c := range []struct {
		r    probe.Result
		want bool
	}{
		{probe.Result{Passed: true, Status: 200}, false},
		{probe.Result{Status: 0, Message: "dial tcp: connection refused"}, true},
		{probe.Result{Status: 429}, true},
		{probe.Result{Status: 502}, true},
		{probe.Result{Status: 408}, true},
		{probe.Result{Status: 404}, false},
		{probe.Result{Status: 200, Message: "body does not contain"}, false},
	} {
		if got := ProbeUnreadable(c.r); got != c.want {
			t.Errorf("ProbeUnreadable(%+v) = %v, want %v", c.r, got, c.want)
		}
	}
}

// TestSetTrafficWeightsHeartbeats: the weight change heartbeats from its
// start (the SDK batches the later ones into the completion).
func TestSetTrafficWeightsHeartbeats(t *testing.T) {
	r53 := &fakeRoute53{records: []r53types.ResourceRecordSet{{Name: aws.String("app.example.com."), Type: r53types.RRTypeCname,
		SetIdentifier: aws.String("blue"), Weight: aws.Int64(100), TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue.example.com")}}}}}
	a := New(&fakeClients{r53: r53})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetTestTimeout(time.Minute) // not the 3 s default: a loaded CI machine
	env.RegisterActivity(a)
	var mu sync.Mutex
	var steps []string
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p SetProgress
		if d.HasValues() && d.Get(&p) == nil {
			mu.Lock()
			steps = append(steps, p.Step)
			mu.Unlock()
		}
	})
	target := Target{Provider: ProviderRoute53, Route53: &Route53Records{HostedZoneID: "Z1", RecordName: "app.example.com",
		BlueSetIdentifier: "blue", GreenSetIdentifier: "green", GreenTarget: "green.example.com", RecordType: "CNAME", TTL: 60}}
	if _, err := env.ExecuteActivity(a.SetTrafficWeights, SetWeightsInput{Target: target, Green: 10}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(steps) == 0 || steps[0] != "submitting" {
		t.Fatalf("heartbeats %v, want one before the change is submitted", steps)
	}
}
