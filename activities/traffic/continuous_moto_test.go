package traffic

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// TestContinuousDeploymentAgainstMoto drives the CloudFront continuous
// deployment activities against the sandbox's moto, whose extension
// emulates staging distributions, continuous deployment policies and the
// promotion (internal/sandbox/motoext/cloudfront.py).
func TestContinuousDeploymentAgainstMoto(t *testing.T) {
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p, WithPollInterval(10*time.Millisecond))

	t.Run("StepsPromoteCleanup", func(t *testing.T) { testStagingPromote(t, p, acts) })
	t.Run("Rollback", func(t *testing.T) { testStagingRollback(t, p, acts) })
	t.Run("ETagRace", func(t *testing.T) { testStagingETagRace(t, p) })
	t.Run("ForeignPolicy", func(t *testing.T) { testStagingForeignPolicy(t, p, acts) })
}

func cdTarget(id string) Target {
	return Target{Provider: ProviderCloudFront, CloudFront: &CloudFrontOrigins{
		DistributionID: id, BlueOriginID: "blue", GreenOriginID: "green", GreenOriginDomain: "green.origin.example.com",
	}}
}

func ensureStaging(t *testing.T, acts *Activities, in StartStagingInput) StagingState {
	t.Helper()
	return runActivity[StagingState](t, acts, acts.EnsureStaging, in)
}

func runActivity[T any](t *testing.T, acts *Activities, fn any, arg any) T {
	t.Helper()
	val, err := execActivity(t, acts, fn, arg)
	if err != nil {
		t.Fatalf("activity with %+v: %v", arg, err)
	}
	var out T
	if err := val.(interface{ Get(any) error }).Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func distributionETag(t *testing.T, c *cloudfront.Client, id string) string {
	t.Helper()
	out, err := c.GetDistributionConfig(context.Background(), &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ETag)
}

func policyOf(t *testing.T, c *cloudfront.Client, id string) (*cftypes.ContinuousDeploymentPolicyConfig, string) {
	t.Helper()
	out, err := c.GetContinuousDeploymentPolicy(context.Background(), &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig, aws.ToString(out.ETag)
}

func stagingWeights(t *testing.T, acts *Activities, st StagingState) Weights {
	t.Helper()
	w, err := acts.GetStagingWeights(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// gone checks that the staging distribution and the policy no longer exist.
func gone(t *testing.T, c *cloudfront.Client, st StagingState) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(st.StagingID)}); !hasCode(err, "NoSuchDistribution") {
		t.Fatalf("staging distribution %s after cleanup: %v; want NoSuchDistribution", st.StagingID, err)
	}
	if _, err := c.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: aws.String(st.PolicyID)}); !hasCode(err, "NoSuchContinuousDeploymentPolicy") {
		t.Fatalf("policy %s after cleanup: %v; want NoSuchContinuousDeploymentPolicy", st.PolicyID, err)
	}
	list, err := c.ListDistributions(ctx, &cloudfront.ListDistributionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list.DistributionList.Items {
		if aws.ToBool(d.Staging) {
			t.Fatalf("staging distribution %s left after cleanup", aws.ToString(d.Id))
		}
	}
}

func testStagingPromote(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	id := createDistribution(t, c, "cd-promote", customOrigin("blue", "blue.origin.example.com"))
	in := StartStagingInput{Target: cdTarget(id), MigrationID: "shop-prod-1", Weight: 5}

	st := ensureStaging(t, acts, in)
	if st.PrimaryID != id || st.StagingID == "" || st.StagingID == id || st.PolicyID == "" || st.Weight != 5 ||
		st.BlueOriginID != "blue" || st.GreenOriginID != "green" {
		t.Fatalf("staging state %+v", st)
	}
	scfg := distributionConfig(t, c, st.StagingID)
	if !aws.ToBool(scfg.Staging) || defaultOrigin(scfg) != "green" || aws.ToString(scfg.CacheBehaviors.Items[0].TargetOriginId) != "green" {
		t.Fatalf("staging distribution: staging %v, default %q, /api/* %q; want a staging copy on green",
			aws.ToBool(scfg.Staging), defaultOrigin(scfg), aws.ToString(scfg.CacheBehaviors.Items[0].TargetOriginId))
	}
	if g := findOrigin(scfg, "green"); g == nil || aws.ToString(g.DomainName) != "green.origin.example.com" || findOrigin(scfg, "blue") == nil {
		t.Fatalf("staging origins %+v: want blue kept and green created", scfg.Origins.Items)
	}
	pcfg := distributionConfig(t, c, id)
	if defaultOrigin(pcfg) != "blue" || aws.ToString(pcfg.ContinuousDeploymentPolicyId) != st.PolicyID || findOrigin(pcfg, "green") != nil {
		t.Fatalf("primary: default %q, policy %q, green origin %v; want blue with the policy attached and no green origin",
			defaultOrigin(pcfg), aws.ToString(pcfg.ContinuousDeploymentPolicyId), findOrigin(pcfg, "green") != nil)
	}
	pol, polTag := policyOf(t, c, st.PolicyID)
	if pol.StagingDistributionDnsNames.Items[0] != st.StagingDomain || aws.ToFloat32(pol.TrafficConfig.SingleWeightConfig.Weight) != 0.05 {
		t.Fatalf("policy %+v; want 5%% to %s", pol, st.StagingDomain)
	}
	if w := stagingWeights(t, acts, st); w != (Weights{Blue: 95, Green: 5}) {
		t.Fatalf("weights at 5%%: %+v", w)
	}
	wr := NewWeightReader(p)
	if w, err := wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderCloudFront, DistributionID: id, OriginID: "blue"}); err != nil || w != 100 {
		t.Fatalf("retire guard on blue while staging: %d, %v; want 100 (blue still serves)", w, err)
	}

	// EnsureStaging again: the same copy and policy, nothing written.
	primaryTag, stagingTag := distributionETag(t, c, id), distributionETag(t, c, st.StagingID)
	if again := ensureStaging(t, acts, in); again != st {
		t.Fatalf("EnsureStaging again: %+v, want %+v", again, st)
	}
	if _, tag := policyOf(t, c, st.PolicyID); tag != polTag || distributionETag(t, c, id) != primaryTag || distributionETag(t, c, st.StagingID) != stagingTag {
		t.Fatal("EnsureStaging again wrote something")
	}

	// Above CloudFront's cap: refused before anything is written.
	for _, w := range []int{16, 20} {
		if _, err := acts.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: w}); !failures.Is(err, failures.InvalidParameter) || !isNonRetryable(err) {
			t.Fatalf("weight %d: %v; want a non-retryable InvalidParameter", w, err)
		}
	}
	if _, err := acts.EnsureStaging(ctx, StartStagingInput{Target: cdTarget(id), MigrationID: "shop-prod-1", Weight: 20}); !failures.Is(err, failures.InvalidParameter) || !isNonRetryable(err) {
		t.Fatalf("EnsureStaging at 20%%: %v; want a non-retryable InvalidParameter", err)
	}
	if _, tag := policyOf(t, c, st.PolicyID); tag != polTag {
		t.Fatal("a refused weight changed the policy")
	}

	st = runActivity[StagingState](t, acts, acts.SetStagingWeight, StagingWeightInput{Staging: st, Weight: 15})
	if st.Weight != 15 {
		t.Fatalf("state after 15%%: %+v", st)
	}
	pol, polTag = policyOf(t, c, st.PolicyID)
	if aws.ToFloat32(pol.TrafficConfig.SingleWeightConfig.Weight) != 0.15 || !aws.ToBool(pol.Enabled) {
		t.Fatalf("policy at 15%%: %+v", pol.TrafficConfig.SingleWeightConfig)
	}
	if w := stagingWeights(t, acts, st); w != (Weights{Blue: 85, Green: 15}) {
		t.Fatalf("weights at 15%%: %+v", w)
	}
	runActivity[StagingState](t, acts, acts.SetStagingWeight, StagingWeightInput{Staging: st, Weight: 15})
	if _, tag := policyOf(t, c, st.PolicyID); tag != polTag {
		t.Fatal("setting 15% again wrote the policy")
	}

	w := runActivity[Weights](t, acts, acts.PromoteStaging, st)
	if w != (Weights{Green: 100}) {
		t.Fatalf("promote: %+v", w)
	}
	pcfg = distributionConfig(t, c, id)
	if defaultOrigin(pcfg) != "green" || aws.ToString(pcfg.CacheBehaviors.Items[0].TargetOriginId) != "green" ||
		aws.ToString(pcfg.CallerReference) != "cd-promote" || aws.ToBool(pcfg.Staging) || aws.ToString(pcfg.Comment) != "cutover test cd-promote" {
		t.Fatalf("promoted primary: default %q, /api/* %q, caller reference %q, staging %v",
			defaultOrigin(pcfg), aws.ToString(pcfg.CacheBehaviors.Items[0].TargetOriginId), aws.ToString(pcfg.CallerReference), aws.ToBool(pcfg.Staging))
	}
	if g := findOrigin(pcfg, "green"); g == nil || aws.ToString(g.DomainName) != "green.origin.example.com" {
		t.Fatalf("promoted primary has no green origin: %+v", pcfg.Origins.Items)
	}
	if w := stagingWeights(t, acts, st); w != (Weights{Green: 100}) {
		t.Fatalf("weights after the promotion: %+v", w)
	}
	if w, err := wr.ClusterWeight(ctx, trafficguard.Guard{Provider: ProviderCloudFront, DistributionID: id, OriginID: "blue"}); err != nil || w != 0 {
		t.Fatalf("retire guard on blue after the promotion: %d, %v; want 0", w, err)
	}
	primaryTag = distributionETag(t, c, id)
	if w := runActivity[Weights](t, acts, acts.PromoteStaging, st); w != (Weights{Green: 100}) || distributionETag(t, c, id) != primaryTag {
		t.Fatalf("promote again: %+v, or it wrote the primary", w)
	}
	if _, err := acts.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: 5}); !failures.Is(err, failures.Conflict) {
		t.Fatalf("a weight after the promotion: %v; want Conflict", err)
	}

	if _, err := execActivity(t, acts, acts.CleanupStaging, st); err != nil {
		t.Fatal(err)
	}
	gone(t, c, st)
	pcfg = distributionConfig(t, c, id)
	if aws.ToString(pcfg.ContinuousDeploymentPolicyId) != "" || defaultOrigin(pcfg) != "green" || !aws.ToBool(pcfg.Enabled) {
		t.Fatalf("primary after cleanup: policy %q, default %q, enabled %v", aws.ToString(pcfg.ContinuousDeploymentPolicyId), defaultOrigin(pcfg), aws.ToBool(pcfg.Enabled))
	}
	primaryTag = distributionETag(t, c, id)
	if _, err := execActivity(t, acts, acts.CleanupStaging, st); err != nil {
		t.Fatalf("cleanup again: %v", err)
	}
	if distributionETag(t, c, id) != primaryTag {
		t.Fatal("cleanup again wrote the primary")
	}
}

func testStagingRollback(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	id := createDistribution(t, c, "cd-rollback", customOrigin("blue", "blue.origin.example.com"))
	before := distributionConfig(t, c, id)
	st := ensureStaging(t, acts, StartStagingInput{Target: cdTarget(id), MigrationID: "shop-prod-2", Weight: 5})

	w := runActivity[Weights](t, acts, acts.DetachStaging, st)
	if w != (Weights{Blue: 100}) {
		t.Fatalf("detach: %+v", w)
	}
	pcfg := distributionConfig(t, c, id)
	if aws.ToString(pcfg.ContinuousDeploymentPolicyId) != "" || defaultOrigin(pcfg) != "blue" {
		t.Fatalf("primary after detach: policy %q, default %q", aws.ToString(pcfg.ContinuousDeploymentPolicyId), defaultOrigin(pcfg))
	}
	if sw := stagingWeights(t, acts, st); sw != (Weights{Blue: 100}) {
		t.Fatalf("weights after detach: %+v", sw)
	}
	tag := distributionETag(t, c, id)
	if w := runActivity[Weights](t, acts, acts.DetachStaging, st); w != (Weights{Blue: 100}) || distributionETag(t, c, id) != tag {
		t.Fatalf("detach again: %+v, or it wrote the primary", w)
	}
	if _, err := acts.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: 10}); !failures.Is(err, failures.Conflict) {
		t.Fatalf("a weight after the rollback: %v; want Conflict", err)
	}
	if _, err := acts.PromoteStaging(ctx, st); !failures.Is(err, failures.Conflict) {
		t.Fatalf("promote after the rollback: %v; want Conflict", err)
	}

	if _, err := execActivity(t, acts, acts.CleanupStaging, st); err != nil {
		t.Fatal(err)
	}
	gone(t, c, st)
	after := distributionConfig(t, c, id)
	if defaultOrigin(after) != "blue" || aws.ToString(after.CacheBehaviors.Items[0].TargetOriginId) != "blue" ||
		len(after.Origins.Items) != len(before.Origins.Items) || aws.ToString(after.Origins.Items[0].DomainName) != "blue.origin.example.com" ||
		aws.ToString(after.ContinuousDeploymentPolicyId) != "" || aws.ToBool(after.Staging) {
		t.Fatalf("primary after rollback and cleanup: default %q, origins %+v, policy %q; want it as before, on blue",
			defaultOrigin(after), after.Origins.Items, aws.ToString(after.ContinuousDeploymentPolicyId))
	}
	if _, err := execActivity(t, acts, acts.CleanupStaging, st); err != nil {
		t.Fatalf("cleanup again: %v", err)
	}
}

// racingCloudFront writes the distribution or the policy (as another
// writer would) just before each of the first races updates of it, so the
// update carries a stale ETag.
type racingCloudFront struct {
	*cloudfront.Client
	mu                   sync.Mutex
	distRaces, polRaces  int
	distUpdates, polUpds int // update calls seen
}

func (r *racingCloudFront) UpdateDistribution(ctx context.Context, in *cloudfront.UpdateDistributionInput, opts ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error) {
	r.mu.Lock()
	r.distUpdates++
	race := r.distRaces > 0
	if race {
		r.distRaces--
	}
	r.mu.Unlock()
	if race {
		out, err := r.Client.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: in.Id})
		if err != nil {
			return nil, err
		}
		out.DistributionConfig.Comment = aws.String(aws.ToString(out.DistributionConfig.Comment) + " (edited)")
		if _, err := r.Client.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: in.Id, IfMatch: out.ETag, DistributionConfig: out.DistributionConfig}); err != nil {
			return nil, err
		}
	}
	return r.Client.UpdateDistribution(ctx, in, opts...)
}

func (r *racingCloudFront) UpdateContinuousDeploymentPolicy(ctx context.Context, in *cloudfront.UpdateContinuousDeploymentPolicyInput, opts ...func(*cloudfront.Options)) (*cloudfront.UpdateContinuousDeploymentPolicyOutput, error) {
	r.mu.Lock()
	r.polUpds++
	race := r.polRaces > 0
	if race {
		r.polRaces--
	}
	r.mu.Unlock()
	if race {
		out, err := r.Client.GetContinuousDeploymentPolicy(ctx, &cloudfront.GetContinuousDeploymentPolicyInput{Id: in.Id})
		if err != nil {
			return nil, err
		}
		if _, err := r.Client.UpdateContinuousDeploymentPolicy(ctx, &cloudfront.UpdateContinuousDeploymentPolicyInput{
			Id: in.Id, IfMatch: out.ETag, ContinuousDeploymentPolicyConfig: out.ContinuousDeploymentPolicy.ContinuousDeploymentPolicyConfig,
		}); err != nil {
			return nil, err
		}
	}
	return r.Client.UpdateContinuousDeploymentPolicy(ctx, in, opts...)
}

type racingClients struct {
	ClientFactory
	cf *racingCloudFront
}

func (r *racingClients) CloudFront(context.Context) (CloudFrontAPI, error) { return r.cf, nil }

func testStagingETagRace(t *testing.T, p awsconf.Provider) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	id := createDistribution(t, c, "cd-race", customOrigin("blue", "blue.origin.example.com"))
	// The first distribution update (staging on green) loses two races.
	r := &racingCloudFront{Client: c, distRaces: 2}
	acts := New(&racingClients{ClientFactory: NewClientFactory(p), cf: r}, WithPollInterval(10*time.Millisecond), WithUpdateAttempts(3))
	st, err := acts.EnsureStaging(ctx, StartStagingInput{Target: cdTarget(id), MigrationID: "race", Weight: 5})
	if err != nil {
		t.Fatalf("EnsureStaging through two lost races: %v", err)
	}
	if r.distUpdates != 4 || r.distRaces != 0 {
		t.Fatalf("%d distribution updates (%d races left); want 4: two lost, two written", r.distUpdates, r.distRaces)
	}
	if aws.ToString(distributionConfig(t, c, id).ContinuousDeploymentPolicyId) != st.PolicyID {
		t.Fatal("the policy is not attached after the race")
	}

	r.polRaces = 2
	if _, err := acts.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: 10}); err != nil {
		t.Fatalf("SetStagingWeight through two lost races: %v", err)
	}
	if r.polUpds != 3 {
		t.Fatalf("%d policy updates; want 3: two lost, one written", r.polUpds)
	}
	if pol, _ := policyOf(t, c, st.PolicyID); aws.ToFloat32(pol.TrafficConfig.SingleWeightConfig.Weight) != 0.1 {
		t.Fatalf("weight after the race: %v", aws.ToFloat32(pol.TrafficConfig.SingleWeightConfig.Weight))
	}

	// Racing on every attempt: a retryable ResourceInUse after the attempts.
	r.polRaces, r.polUpds = 100, 0
	_, err = acts.SetStagingWeight(ctx, StagingWeightInput{Staging: st, Weight: 15})
	if !failures.Is(err, failures.ResourceInUse) || isNonRetryable(err) || r.polUpds != 3 {
		t.Fatalf("endless race: %v after %d updates; want a retryable ResourceInUse after 3", err, r.polUpds)
	}
	r.polRaces = 0
	if err := acts.CleanupStaging(ctx, st); err != nil {
		t.Fatal(err)
	}
	gone(t, c, st)
}

// testStagingForeignPolicy: a primary whose policy is not cutover's is left
// alone.
func testStagingForeignPolicy(t *testing.T, p awsconf.Provider, acts *Activities) {
	ctx := context.Background()
	c := cloudFrontClient(t, p)
	id := createDistribution(t, c, "cd-foreign", customOrigin("blue", "blue.origin.example.com"))
	theirs, err := acts.EnsureStaging(ctx, StartStagingInput{Target: cdTarget(id), MigrationID: "someone-else", Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = acts.EnsureStaging(ctx, StartStagingInput{Target: cdTarget(id), MigrationID: "ours", Weight: 5})
	if !failures.Is(err, failures.Conflict) || !isNonRetryable(err) {
		t.Fatalf("EnsureStaging on a primary with another policy: %v; want a non-retryable Conflict", err)
	}
	if aws.ToString(distributionConfig(t, c, id).ContinuousDeploymentPolicyId) != theirs.PolicyID {
		t.Fatal("the other policy was detached")
	}
	// Our copy was made before the conflict: the same caller reference
	// finds it, and a cleanup without a policy removes it.
	out, err := c.CopyDistribution(ctx, &cloudfront.CopyDistributionInput{PrimaryDistributionId: aws.String(id), Staging: aws.Bool(true),
		IfMatch: aws.String(distributionETag(t, c, id)), CallerReference: aws.String(stagingCallerReference("ours"))})
	if err != nil {
		t.Fatal(err)
	}
	ours := StagingState{PrimaryID: id, StagingID: aws.ToString(out.Distribution.Id)}
	if ours.StagingID == theirs.StagingID {
		t.Fatal("the two migrations share a staging distribution")
	}
	if err := acts.CleanupStaging(ctx, ours); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(ours.StagingID)}); !hasCode(err, "NoSuchDistribution") {
		t.Fatalf("our orphaned copy after cleanup: %v", err)
	}
	// Cleaning up with our state never touches the other policy; cleaning
	// up a primary as if it were staging is refused.
	if err := acts.CleanupStaging(ctx, StagingState{PrimaryID: theirs.StagingID, StagingID: id}); !failures.Is(err, failures.Conflict) {
		t.Fatalf("cleanup naming the primary as staging: %v; want Conflict", err)
	}
	if err := acts.CleanupStaging(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	gone(t, c, theirs)
}
