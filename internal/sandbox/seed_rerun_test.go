package sandbox

import (
	"context"
	"reflect"
	"testing"
)

// TestSeedStepsRerun: the Karpenter discovery tags and the aws-auth
// identities can be seeded again over a seeded moto, and give the same
// seed.
func TestSeedStepsRerun(t *testing.T) {
	ctx := context.Background()
	m, err := StartMoto(ctx, Options{Dir: t.TempDir(), Log: t.Output()})
	if err != nil {
		t.Fatalf("start moto: %v (the tools are installed by `make tools`)", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop moto: %v", err)
		}
	})
	s, err := SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := m.AWS().ForRegion(ctx, m.Region)
	if err != nil {
		t.Fatal(err)
	}
	again := *s
	again.Karpenter, again.AWSAuth = KarpenterSeed{}, AWSAuthSeed{}
	for _, step := range []struct {
		what string
		do   func(context.Context, *Seed) error
	}{
		{"Karpenter discovery tags", func(ctx context.Context, s *Seed) error { return seedKarpenter(ctx, cfg, s) }},
		{"aws-auth identities", func(ctx context.Context, s *Seed) error { return seedAWSAuth(ctx, cfg, s) }},
	} {
		if err := step.do(ctx, &again); err != nil {
			t.Fatalf("%s again: %v", step.what, err)
		}
	}
	if !reflect.DeepEqual(again.Karpenter, s.Karpenter) || again.AWSAuth != s.AWSAuth {
		t.Errorf("seeded again: Karpenter %+v aws-auth %+v; first: %+v %+v", again.Karpenter, again.AWSAuth, s.Karpenter, s.AWSAuth)
	}
	if again.AWSAuth.OpsRoleARN == "" || again.AWSAuth.BreakglassUserARN == "" || len(again.Karpenter.SubnetIDs) != 3 {
		t.Errorf("seeded again: %+v %+v", again.Karpenter, again.AWSAuth)
	}
}
