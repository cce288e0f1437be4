package fakeworld_test

import (
	"context"
	"testing"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
)

func TestFakeContinuousDeployment(t *testing.T) {
	ctx := context.Background()
	target := traffic.Target{Provider: traffic.ProviderCloudFront, CloudFront: &traffic.CloudFrontOrigins{
		DistributionID: "E123", BlueOriginID: "blue", GreenOriginID: "green"}}

	w := fakeworld.New()
	a := w.Activities()
	if _, err := a.EnsureStaging(ctx, traffic.StartStagingInput{Target: target, MigrationID: "m1", Weight: 20}); !failures.Is(err, failures.InvalidParameter) {
		t.Fatalf("20%%: %v; want InvalidParameter", err)
	}
	st, err := a.EnsureStaging(ctx, traffic.StartStagingInput{Target: target, MigrationID: "m1", Weight: 5})
	if err != nil || st.PrimaryID != "E123" || st.StagingID == "" || st.PolicyID == "" || st.Weight != 5 {
		t.Fatalf("EnsureStaging: %+v, %v", st, err)
	}
	if w.Weights() != (traffic.Weights{Blue: 95, Green: 5}) || w.CloudFrontStaging() != (fakeworld.CloudFrontStaging{Staging: true, Policy: true, Attached: true, Weight: 5, MigrationID: "m1"}) {
		t.Fatalf("after 5%%: weights %+v, staging %+v", w.Weights(), w.CloudFrontStaging())
	}
	if st, err = a.SetStagingWeight(ctx, traffic.StagingWeightInput{Staging: st, Weight: 15}); err != nil || st.Weight != 15 || w.Weights().Green != 15 {
		t.Fatalf("15%%: %+v, %v, weights %+v", st, err, w.Weights())
	}
	if _, err := a.SetStagingWeight(ctx, traffic.StagingWeightInput{Staging: st, Weight: 16}); !failures.Is(err, failures.InvalidParameter) {
		t.Fatalf("16%%: %v", err)
	}
	if ws, err := a.PromoteStaging(ctx, st); err != nil || ws != (traffic.Weights{Green: 100}) || w.Weights() != ws {
		t.Fatalf("promote: %+v, %v", ws, err)
	}
	if err := a.CleanupStaging(ctx, st); err != nil || w.CloudFrontStaging().Staging || w.CloudFrontStaging().Policy || !w.CloudFrontStaging().Promoted {
		t.Fatalf("cleanup: %v, %+v", err, w.CloudFrontStaging())
	}

	// Rollback: detached, all on blue, no promotion possible.
	rb := fakeworld.New()
	a = rb.Activities()
	st, err = a.EnsureStaging(ctx, traffic.StartStagingInput{Target: target, MigrationID: "m2", Weight: 5})
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := a.DetachStaging(ctx, st); err != nil || ws != (traffic.Weights{Blue: 100}) || rb.Weights() != ws {
		t.Fatalf("detach: %+v, %v", ws, err)
	}
	if _, err := a.SetStagingWeight(ctx, traffic.StagingWeightInput{Staging: st, Weight: 10}); !failures.Is(err, failures.Conflict) {
		t.Fatalf("a weight after detach: %v; want Conflict", err)
	}
	if _, err := a.PromoteStaging(ctx, st); !failures.Is(err, failures.Conflict) {
		t.Fatalf("promote after detach: %v; want Conflict", err)
	}
	if ws, err := a.GetStagingWeights(ctx, st); err != nil || ws != (traffic.Weights{Blue: 100}) {
		t.Fatalf("weights after detach: %+v, %v", ws, err)
	}
	if w.CloudFrontStaging().MigrationID != "m1" {
		t.Fatal("the worlds share their continuous deployment")
	}
}
