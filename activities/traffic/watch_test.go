package traffic

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/cutover-dev/cutover/internal/duration"
	"github.com/cutover-dev/cutover/internal/failures"
)

// flippingCloudWatch reports alarm "5xx" in ALARM from the after-th read on.
type flippingCloudWatch struct {
	mu    sync.Mutex
	after int
	calls int
	err   error
}

func (f *flippingCloudWatch) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	inner := &fakeCloudWatch{inAlarm: map[string]bool{"5xx": f.after > 0 && f.calls >= f.after}}
	return inner.DescribeAlarms(ctx, in, o...)
}

// watchClients serves a flippingCloudWatch.
type watchClients struct {
	fakeClients
	cw *flippingCloudWatch
}

func (w *watchClients) CloudWatch(context.Context, string) (CloudWatchAPI, error) { return w.cw, nil }

func TestWatchTrafficHealth(t *testing.T) {
	ctx := context.Background()
	health := HealthInput{Region: "eu-west-1", Alarms: []string{"5xx"}}
	every := duration.Duration(10 * time.Millisecond)

	// The alarm fires at the 4th reading: the watch returns right then.
	cw := &flippingCloudWatch{after: 4}
	a := New(&watchClients{cw: cw}, WithHealthRetryWait(time.Millisecond))
	start := time.Now()
	res, err := a.WatchTrafficHealth(ctx, WatchInput{Health: health, Until: time.Now().Add(time.Minute), Interval: every, What: "step 2/3"})
	if err != nil || res.Healthy || res.Readings != 4 || len(res.Reasons) != 1 || res.At.IsZero() {
		t.Fatalf("alarm at the 4th reading: %+v, %v", res, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the watch took %s to see the alarm", took)
	}

	// Healthy to the end of the period.
	cw = &flippingCloudWatch{}
	a = New(&watchClients{cw: cw})
	res, err = a.WatchTrafficHealth(ctx, WatchInput{Health: health, Until: time.Now().Add(100 * time.Millisecond), Interval: every, What: "bake"})
	if err != nil || !res.Healthy || res.Readings < 3 {
		t.Fatalf("a healthy period: %+v, %v", res, err)
	}

	// Canceled (the gate was decided): healthy, no error.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	res, err = a.WatchTrafficHealth(cctx, WatchInput{Health: health, Until: time.Now().Add(time.Hour), Interval: every, What: "gate"})
	if err != nil || !res.Healthy {
		t.Fatalf("canceled: %+v, %v", res, err)
	}

	// A definitive error ends the watch with it.
	cw = &flippingCloudWatch{err: failures.FromAWS(apiErr("AccessDenied"), trafficCodes, "describe CloudWatch alarms")}
	a = New(&watchClients{cw: cw})
	if _, err := a.WatchTrafficHealth(ctx, WatchInput{Health: health, Until: time.Now().Add(time.Minute), Interval: every}); !failures.IsDefinitive(err) {
		t.Errorf("access denied: %v, want a definitive error", err)
	}
	// Nothing to watch, or no end, is invalid input.
	if _, err := a.WatchTrafficHealth(ctx, WatchInput{Until: time.Now()}); failures.TypeOf(err) != failures.Validation {
		t.Errorf("nothing to watch: %v", err)
	}
	if _, err := a.WatchTrafficHealth(ctx, WatchInput{Health: health}); failures.TypeOf(err) != failures.Validation {
		t.Errorf("no until: %v", err)
	}
}
