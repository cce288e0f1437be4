package traffic

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cutover-dev/cutover/internal/failures"
)

func TestStagingNeedsTheContinuousDeploymentCalls(t *testing.T) {
	cf := &fakeCloudFront{cfg: blueGreenDistribution()}
	a := New(&fakeClients{cf: cf})
	_, err := a.EnsureStaging(context.Background(), StartStagingInput{Target: cfTarget, MigrationID: "m1", Weight: 5})
	if !failures.Is(err, failures.NotImplemented) || !isNonRetryable(err) {
		t.Fatalf("EnsureStaging over a client without the continuous deployment calls: %v; want a non-retryable NotImplemented", err)
	}
	if cf.reads != 0 || len(cf.updates) != 0 {
		t.Fatalf("%d reads, %d updates before the refusal", cf.reads, len(cf.updates))
	}
}

func TestStagingInputIsCheckedFirst(t *testing.T) {
	ctx := context.Background()
	cf := &fakeCloudFront{cfg: blueGreenDistribution()}
	a := New(&fakeClients{cf: cf})
	st := StagingState{PrimaryID: "E123", StagingID: "E456", StagingDomain: "d456.cloudfront.net", PolicyID: "p-1", BlueOriginID: "blue", GreenOriginID: "green", Weight: 5}
	r53 := Target{Provider: ProviderRoute53, Route53: &Route53Records{HostedZoneID: "Z1", RecordName: "app.example.com"}}
	for name, err := range map[string]error{
		"weight 0":         second(a.EnsureStaging(ctx, StartStagingInput{Target: cfTarget, MigrationID: "m1", Weight: 0})),
		"weight 16":        second(a.EnsureStaging(ctx, StartStagingInput{Target: cfTarget, MigrationID: "m1", Weight: 16})),
		"no migration":     second(a.EnsureStaging(ctx, StartStagingInput{Target: cfTarget, Weight: 5})),
		"route53":          second(a.EnsureStaging(ctx, StartStagingInput{Target: r53, MigrationID: "m1", Weight: 5})),
		"set weight 20":    second(a.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: 20})),
		"set weight -1":    second(a.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: -1})),
		"no policy":        second(a.PromoteStaging(ctx, StagingState{PrimaryID: "E123", StagingID: "E456", BlueOriginID: "blue", GreenOriginID: "green"})),
		"same origins":     second(a.DetachStaging(ctx, StagingState{PrimaryID: "E123", StagingID: "E456", PolicyID: "p-1", BlueOriginID: "blue", GreenOriginID: "blue"})),
		"no staging":       a.CleanupStaging(ctx, StagingState{PrimaryID: "E123"}),
		"staging is prime": a.CleanupStaging(ctx, StagingState{PrimaryID: "E123", StagingID: "E123"}),
		"weights no state": second(a.GetStagingWeights(ctx, StagingState{})),
	} {
		if !failures.Is(err, failures.InvalidParameter) || !isNonRetryable(err) {
			t.Errorf("%s: %v; want a non-retryable InvalidParameter", name, err)
		}
	}
	if cf.reads != 0 || len(cf.updates) != 0 {
		t.Fatalf("%d reads, %d updates before the refusals", cf.reads, len(cf.updates))
	}
}

func second[T any](_ T, err error) error { return err }

func TestPolicyWeightInPercent(t *testing.T) {
	weight := func(w float32, enabled bool) *cftypes.ContinuousDeploymentPolicyConfig {
		return &cftypes.ContinuousDeploymentPolicyConfig{Enabled: aws.Bool(enabled), TrafficConfig: &cftypes.TrafficConfig{
			Type: cftypes.ContinuousDeploymentPolicyTypeSingleWeight, SingleWeightConfig: &cftypes.ContinuousDeploymentSingleWeightConfig{Weight: aws.Float32(w)},
		}}
	}
	header := &cftypes.ContinuousDeploymentPolicyConfig{Enabled: aws.Bool(true), TrafficConfig: &cftypes.TrafficConfig{
		Type: cftypes.ContinuousDeploymentPolicyTypeSingleHeader, SingleHeaderConfig: &cftypes.ContinuousDeploymentSingleHeaderConfig{Header: aws.String("aws-cf-cd-x"), Value: aws.String("1")},
	}}
	for _, c := range []struct {
		name string
		cfg  *cftypes.ContinuousDeploymentPolicyConfig
		want int
	}{
		{"5%", weight(0.05, true), 5}, {"15%", weight(0.15, true), 15}, {"7%", weight(0.07, true), 7}, {"0%", weight(0, true), 0},
		{"disabled", weight(0.1, false), 0}, {"header", header, 0}, {"nil", nil, 0},
	} {
		if got := policyWeight(c.cfg); got != c.want {
			t.Errorf("%s: %d%%, want %d%%", c.name, got, c.want)
		}
	}
	for w := 0; w <= MaxStagingWeight; w++ {
		cfg := &cftypes.ContinuousDeploymentPolicyConfig{Enabled: aws.Bool(true), TrafficConfig: weightTraffic(w, nil)}
		if got := policyWeight(cfg); got != w {
			t.Errorf("weightTraffic(%d) reads back as %d%%", w, got)
		}
	}
	sticky := &cftypes.SessionStickinessConfig{IdleTTL: aws.Int32(300), MaximumTTL: aws.Int32(600)}
	if tc := weightTraffic(10, sticky); tc.SingleWeightConfig.SessionStickinessConfig != sticky || aws.ToFloat32(tc.SingleWeightConfig.Weight) != 0.1 {
		t.Errorf("weightTraffic(10, sticky) = %+v", tc.SingleWeightConfig)
	}
}
