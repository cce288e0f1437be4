package fakeworld

import (
	"context"
	"sync"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The fake world's CloudFront continuous deployment: a staging copy of the
// primary, a policy attached to the primary sending a share of the requests
// to it (the world's traffic weights follow: green's share is the policy's
// weight), the promotion (all on green) and the cleanup, with the real
// activities' refusals (weights above 15 %, a weight or a promotion after
// the policy was detached).
var (
	stagingMu sync.Mutex
	staging   = map[*World]*CloudFrontStaging{}
)

// CloudFrontStaging is the state of the fake continuous deployment.
type CloudFrontStaging struct {
	// Staging: the staging distribution exists; Policy: the policy exists;
	// Attached: the primary uses the policy; Promoted: the primary serves
	// the staging configuration (green).
	Staging, Policy, Attached, Promoted bool
	// Weight is the policy's share of requests (percent).
	Weight int
	// MigrationID of the EnsureStaging that made it.
	MigrationID string
}

// CloudFrontStaging returns the fake continuous deployment's state (the
// zero value before EnsureStaging).
func (w *World) CloudFrontStaging() CloudFrontStaging {
	stagingMu.Lock()
	defer stagingMu.Unlock()
	if s := staging[w]; s != nil {
		return *s
	}
	return CloudFrontStaging{}
}

func (a *Activities) cdStaging() *CloudFrontStaging {
	s := staging[a.w]
	if s == nil {
		s = &CloudFrontStaging{}
		staging[a.w] = s
	}
	return s
}

func (a *Activities) cdSetWeights(ws traffic.Weights) {
	a.w.mu.Lock()
	a.w.weights = ws
	a.w.mu.Unlock()
}

func (a *Activities) cdWeights() traffic.Weights {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	return a.w.weights
}

func checkFakeStagingWeight(w, lowest int) error {
	if w < lowest || w > traffic.MaxStagingWeight {
		return failures.New(failures.InvalidParameter, "staging weight %d%%: must be between %d and %d", w, lowest, traffic.MaxStagingWeight)
	}
	return nil
}

func checkFakeStagingState(st traffic.StagingState) error {
	if st.PrimaryID == "" || st.StagingID == "" || st.PolicyID == "" || st.BlueOriginID == "" || st.GreenOriginID == "" || st.BlueOriginID == st.GreenOriginID {
		return failures.New(failures.InvalidParameter, "continuous deployment state %+v is incomplete", st)
	}
	return nil
}

// EnsureStaging implements the traffic activity: the staging copy and the
// attached policy at in.Weight, green getting that share.
func (a *Activities) EnsureStaging(_ context.Context, in traffic.StartStagingInput) (traffic.StagingState, error) {
	if err := a.w.record("EnsureStaging", in); err != nil {
		return traffic.StagingState{}, err
	}
	cf := in.Target.CloudFront
	switch {
	case in.Target.Provider != traffic.ProviderCloudFront || cf == nil || cf.DistributionID == "":
		return traffic.StagingState{}, failures.New(failures.InvalidParameter, "continuous deployment needs a CloudFront target, got %+v", in.Target)
	case in.MigrationID == "":
		return traffic.StagingState{}, failures.New(failures.InvalidParameter, "continuous deployment: migrationId is empty")
	}
	if err := checkFakeStagingWeight(in.Weight, 1); err != nil {
		return traffic.StagingState{}, err
	}
	stagingMu.Lock()
	defer stagingMu.Unlock()
	s := a.cdStaging()
	if s.Promoted {
		return traffic.StagingState{}, failures.New(failures.Conflict, "distribution %s is already promoted", cf.DistributionID)
	}
	s.Staging, s.Policy, s.Attached, s.Weight, s.MigrationID = true, true, true, in.Weight, in.MigrationID
	a.cdSetWeights(traffic.Weights{Blue: 100 - in.Weight, Green: in.Weight})
	return traffic.StagingState{
		PrimaryID: cf.DistributionID, StagingID: "ESTAGING" + cf.DistributionID, StagingDomain: "dstaging0000001.cloudfront.net",
		PolicyID: "cdp-" + in.MigrationID, BlueOriginID: cf.BlueOriginID, GreenOriginID: cf.GreenOriginID, Weight: in.Weight,
	}, nil
}

// SetStagingWeight implements the traffic activity.
func (a *Activities) SetStagingWeight(_ context.Context, in traffic.StagingWeightInput) (traffic.StagingState, error) {
	if err := a.w.record("SetStagingWeight", in); err != nil {
		return traffic.StagingState{}, err
	}
	if err := checkFakeStagingWeight(in.Weight, 0); err != nil {
		return traffic.StagingState{}, err
	}
	if err := checkFakeStagingState(in.Staging); err != nil {
		return traffic.StagingState{}, err
	}
	stagingMu.Lock()
	defer stagingMu.Unlock()
	s := a.cdStaging()
	if s.Promoted || !s.Attached {
		return traffic.StagingState{}, failures.New(failures.Conflict, "distribution %s: the policy is detached or promoted", in.Staging.PrimaryID)
	}
	s.Weight = in.Weight
	a.cdSetWeights(traffic.Weights{Blue: 100 - in.Weight, Green: in.Weight})
	st := in.Staging
	st.Weight = in.Weight
	return st, nil
}

// PromoteStaging implements the traffic activity: all on green.
func (a *Activities) PromoteStaging(_ context.Context, st traffic.StagingState) (traffic.Weights, error) {
	if err := a.w.record("PromoteStaging", st); err != nil {
		return traffic.Weights{}, err
	}
	if err := checkFakeStagingState(st); err != nil {
		return traffic.Weights{}, err
	}
	stagingMu.Lock()
	defer stagingMu.Unlock()
	s := a.cdStaging()
	if !s.Promoted && (!s.Attached || !s.Staging) {
		return traffic.Weights{}, failures.New(failures.Conflict, "distribution %s: the policy was detached, nothing to promote", st.PrimaryID)
	}
	s.Promoted, s.Weight = true, 0
	a.cdSetWeights(traffic.Weights{Green: 100})
	return traffic.Weights{Green: 100}, nil
}

// DetachStaging implements the traffic activity: the rollback of an
// unpromoted deployment, all back on blue.
func (a *Activities) DetachStaging(_ context.Context, st traffic.StagingState) (traffic.Weights, error) {
	if err := a.w.record("DetachStaging", st); err != nil {
		return traffic.Weights{}, err
	}
	if err := checkFakeStagingState(st); err != nil {
		return traffic.Weights{}, err
	}
	stagingMu.Lock()
	defer stagingMu.Unlock()
	s := a.cdStaging()
	s.Attached = false
	if s.Promoted {
		return a.cdWeights(), nil
	}
	a.cdSetWeights(traffic.Weights{Blue: 100})
	return traffic.Weights{Blue: 100}, nil
}

// CleanupStaging implements the traffic activity: no staging distribution
// and no policy left; the weights stay as they are.
func (a *Activities) CleanupStaging(_ context.Context, st traffic.StagingState) error {
	if err := a.w.record("CleanupStaging", st); err != nil {
		return err
	}
	if st.PrimaryID == "" || st.StagingID == "" || st.StagingID == st.PrimaryID {
		return failures.New(failures.InvalidParameter, "continuous deployment cleanup: primaryId %q and stagingId %q must be two distributions", st.PrimaryID, st.StagingID)
	}
	stagingMu.Lock()
	defer stagingMu.Unlock()
	s := a.cdStaging()
	s.Staging, s.Policy, s.Attached = false, false, false
	return nil
}

// GetStagingWeights implements the traffic activity.
func (a *Activities) GetStagingWeights(_ context.Context, st traffic.StagingState) (traffic.Weights, error) {
	if err := a.w.record("GetStagingWeights", st); err != nil {
		return traffic.Weights{}, err
	}
	if err := checkFakeStagingState(st); err != nil {
		return traffic.Weights{}, err
	}
	return a.cdWeights(), nil
}
