package traffic

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// maxAlarmNames is DescribeAlarms' limit on AlarmNames per call.
const maxAlarmNames = 100

func (a *Activities) checkHealth(ctx context.Context, in HealthInput) (HealthResult, error) {
	var res HealthResult
	if len(in.Alarms) > 0 {
		if in.Region == "" {
			return HealthResult{}, invalidf("health check: region is empty but %d alarms are to be read", len(in.Alarms))
		}
		api, err := a.clients.CloudWatch(ctx, in.Region)
		if err != nil {
			return HealthResult{}, err
		}
		found, err := describeAlarms(ctx, api, in.Alarms)
		if err != nil {
			return HealthResult{}, err
		}
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
	if len(in.Probes) > 0 {
		res.Probes = a.probes.Run(ctx, in.Probes)
		for _, p := range res.Probes {
			if !p.Passed {
				res.Reasons = append(res.Reasons, fmt.Sprintf("probe %s failed: %s", p.Name, p.Message))
			}
		}
		if err := ctx.Err(); err != nil {
			return HealthResult{}, err
		}
	}
	res.Healthy = len(res.Reasons) == 0
	if !res.Healthy {
		logger(ctx).Warn("Traffic unhealthy", "region", in.Region, "reasons", res.Reasons)
	}
	return res, nil
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
