package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/probe"
)

// maxAlarmNames is DescribeAlarms' limit on AlarmNames per call.
const maxAlarmNames = 100

// checkHealth takes one health reading. A reading that cannot be taken (an
// alarm read throttled or answered 5xx, a probe that timed out, could not
// connect or got a 429/5xx) is taken again with backoff until in.ReadBudget
// has passed since the reading started; only then does it count, as an
// unhealthy reason that says so. A definitive failure (access denied, an
// invalid request) is returned as an error at once.
func (a *Activities) checkHealth(ctx context.Context, in HealthInput) (HealthResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	budget := in.ReadBudget.D()
	deadline := time.Now().Add(budget)
	backoff := func(what string) failures.Backoff {
		return failures.Backoff{
			Initial: a.healthRetryWait, Max: 10 * time.Second, Budget: max(time.Until(deadline), time.Nanosecond),
			OnRetry: func(err error, attempt int, wait time.Duration) {
				logger(ctx).Warn("Health reading not taken, retrying", "what", what, "attempt", attempt, "wait", wait, "budget", budget, "error", err)
				activitylog.Heartbeat(ctx, HealthProgress{Step: what, Attempt: attempt, Error: failures.Message(err)})
			},
		}
	}
	notDefinitive := func(err error) bool { return !failures.IsDefinitive(err) }
	var res HealthResult
	if len(in.Alarms) > 0 {
		if in.Region == "" {
			return HealthResult{}, invalidf("health check: region is empty but %d alarms are to be read", len(in.Alarms))
		}
		var found map[string]AlarmState
		err := failures.RetryIf(ctx, backoff("alarms"), notDefinitive, func(ctx context.Context) error {
			api, err := a.clients.CloudWatch(ctx, in.Region)
			if err != nil {
				return err
			}
			found, err = describeAlarms(ctx, api, in.Alarms)
			return err
		})
		switch {
		case ctx.Err() != nil:
			return HealthResult{}, ctx.Err()
		case failures.IsDefinitive(err), err != nil && budget <= 0:
			return HealthResult{}, err
		case err != nil:
			// Unreadable for the whole budget: that is not a healthy reading.
			res.Reasons = append(res.Reasons, fmt.Sprintf("CloudWatch alarms in %s could not be read for %s: %s", in.Region, budget, failures.Message(err)))
			for _, name := range in.Alarms {
				res.Alarms = append(res.Alarms, AlarmState{Name: name, State: AlarmUnreadable})
			}
		default:
			for _, name := range in.Alarms {
				st, ok := found[name]
				if !ok {
					// A typo in an alarm name must not pass as a healthy reading.
					res.Alarms = append(res.Alarms, AlarmState{Name: name, State: "MISSING"})
					res.Reasons = append(res.Reasons, fmt.Sprintf("alarm %s does not exist in region %s", name, in.Region))
					continue
				}
				res.Alarms = append(res.Alarms, st)
				if st.State == string(cwtypes.StateValueAlarm) {
					res.Reasons = append(res.Reasons, fmt.Sprintf("alarm %s is in ALARM: %s", name, st.Reason))
				}
			}
		}
	}
	if len(in.Probes) > 0 {
		res.Probes = a.probes.Run(ctx, in.Probes)
		for i := range res.Probes {
			if res.Probes[i].Passed || !ProbeUnreadable(res.Probes[i]) || budget <= 0 {
				continue
			}
			p := in.Probes[i]
			_ = failures.RetryIf(ctx, backoff("probe "+p.Name), func(error) bool { return true }, func(ctx context.Context) error {
				r := a.probes.Run(ctx, []probe.Probe{p})[0]
				res.Probes[i] = r
				if r.Passed || !ProbeUnreadable(r) {
					return nil
				}
				return errors.New(r.Message)
			})
		}
		if err := ctx.Err(); err != nil {
			return HealthResult{}, err
		}
		for _, p := range res.Probes {
			switch {
			case p.Passed:
			case ProbeUnreadable(p) && budget > 0:
				res.Reasons = append(res.Reasons, fmt.Sprintf("probe %s failed for %s: %s", p.Name, budget, p.Message))
			default:
				res.Reasons = append(res.Reasons, fmt.Sprintf("probe %s failed: %s", p.Name, p.Message))
			}
		}
	}
	res.Healthy = len(res.Reasons) == 0
	if !res.Healthy {
		logger(ctx).Warn("Traffic unhealthy", "region", in.Region, "reasons", res.Reasons)
	}
	return res, nil
}

// AlarmUnreadable is the State of an alarm that could not be read within
// the health read budget.
const AlarmUnreadable = "UNREADABLE"

// HealthProgress is the heartbeat of a health reading that is being retried.
type HealthProgress struct {
	Step    string `json:"step"`
	Attempt int    `json:"attempt"`
	Error   string `json:"error,omitempty"`
}

// ProbeUnreadable reports whether a failed probe says nothing about the
// service yet: no answer at all (a timeout, a refused or reset connection,
// a DNS failure), or an answer that says "try again" (408, 429, 5xx). A
// wrong status, body or latency is a reading.
func ProbeUnreadable(r probe.Result) bool {
	if r.Passed {
		return false
	}
	switch s := r.Status; {
	case s == 0:
		return true
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return true
	}
	return false
}

// describeAlarms reads the named metric and composite alarms; the result
// holds only those that exist.
func describeAlarms(ctx context.Context, api CloudWatchAPI, names []string) (map[string]AlarmState, error) {
	found := map[string]AlarmState{}
	uniq := make([]string, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	for start := 0; start < len(uniq); start += maxAlarmNames {
		batch := uniq[start:min(start+maxAlarmNames, len(uniq))]
		in := &cloudwatch.DescribeAlarmsInput{
			AlarmNames: batch,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		}
		for page := 0; page < 100; page++ {
			out, err := api.DescribeAlarms(ctx, in)
			if err != nil {
				return nil, awsError(err, "describe CloudWatch alarms %v", batch)
			}
			for _, m := range out.MetricAlarms {
				found[aws.ToString(m.AlarmName)] = AlarmState{Name: aws.ToString(m.AlarmName), State: string(m.StateValue), Reason: aws.ToString(m.StateReason)}
			}
			for _, c := range out.CompositeAlarms {
				found[aws.ToString(c.AlarmName)] = AlarmState{Name: aws.ToString(c.AlarmName), State: string(c.StateValue), Reason: aws.ToString(c.StateReason)}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return found, nil
}
