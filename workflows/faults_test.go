package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// scheduled records the options each activity type was started with.
type scheduled struct {
	mu   sync.Mutex
	info map[string][]activity.Info
}

func (s *scheduled) listen(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info[info.ActivityType.Name] = append(s.info[info.ActivityType.Name], *info)
}

// TestWorldChangingActivitiesHaveHeartbeatTimeouts: every activity that
// changes the world (creates, traffic weights, deletes, chat posts) is
// started with a heartbeat timeout far shorter than its StartToClose, so a
// worker that dies right after a traffic change is noticed in seconds.
func TestWorldChangingActivitiesHaveHeartbeatTimeouts(t *testing.T) {
	h := newHarness(t)
	s := &scheduled{info: map[string][]activity.Info{}}
	h.env.SetOnActivityStartedListener(s.listen)
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
	if _, err := h.run(testSpec()); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	maxHeartbeat := map[string]time.Duration{
		"EnsureNodeGroups": time.Minute, "EnsureAddons": time.Minute,
		"EnsureVeleroBackup": time.Minute, "RestoreVeleroBackup": time.Minute,
		"SmokeTestGreen": time.Minute, "SetTrafficWeights": 15 * time.Second, "WaitTrafficPropagated": 30 * time.Second,
		"WatchTrafficHealth": 30 * time.Second, "Notify": 10 * time.Second, "RetireEKSCluster": time.Minute,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The quick idempotent writes run as local activities (change
	// local-short-calls): a worker that dies in one is noticed at the
	// workflow task's timeout (10 s), and the call retried by another.
	ran := h.world.Names()
	for _, name := range []string{"EnsureGreenCluster", "RestoreArgoApplications", "HandOverArgoCD", "EnsureAccessEntries", "CopyAWSAuth", "EnsurePodIdentityAssociations", "EnsureKarpenterDiscovery",
		"EnsureGreenOIDCProvider", "ApplyIRSATrust", "HoldJobs", "ReleaseJobs", "RetireBlueIRSATrust"} {
		if !slices.Contains(ran, name) {
			t.Errorf("%s was not run", name)
		}
		if len(s.info[name]) != 0 {
			t.Errorf("%s ran as a regular activity; want a local one", name)
		}
	}
	for name, limit := range maxHeartbeat {
		runs := s.info[name]
		if len(runs) == 0 {
			t.Errorf("%s was not run", name)
			continue
		}
		for _, info := range runs {
			if info.HeartbeatTimeout <= 0 || info.HeartbeatTimeout > limit {
				t.Errorf("%s: heartbeat timeout %s, want (0, %s]", name, info.HeartbeatTimeout, limit)
			}
			if info.StartToCloseTimeout < 4*info.HeartbeatTimeout {
				t.Errorf("%s: StartToClose %s is not well above the heartbeat timeout %s", name, info.StartToCloseTimeout, info.HeartbeatTimeout)
			}
		}
	}
}

// TestHealthReadBudgetReachesTheReading: the spec's health read budget (or
// its 60s default) is passed to every bake reading, and the reading's
// StartToClose leaves room for it.
func TestHealthReadBudgetReachesTheReading(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget spec.Duration
		want   time.Duration
	}{
		{"default", 0, time.Minute},
		{"from the spec", spec.Duration(5 * time.Minute), 5 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			s := &scheduled{info: map[string][]activity.Info{}}
			h.env.SetOnActivityStartedListener(s.listen)
			h.decideWhenOpen(
				workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
				workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
			)
			sp := testSpec()
			sp.Traffic.HealthReadBudget = c.budget
			if _, err := h.run(sp); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			inputs := h.world.Inputs("WatchTrafficHealth")
			if len(inputs) == 0 {
				t.Fatal("no health watch")
			}
			for _, in := range inputs {
				if got := in.(traffic.WatchInput).Health.ReadBudget.D(); got != c.want {
					t.Fatalf("reading with budget %s, want %s", got, c.want)
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, info := range s.info["WatchTrafficHealth"] {
				if info.StartToCloseTimeout <= c.want {
					t.Fatalf("StartToClose %s leaves no room for a %s read budget", info.StartToCloseTimeout, c.want)
				}
			}
		})
	}
}

// TestFailedHealthReadIsRetriedNotRolledBack: a bake reading whose attempt
// fails retryably (a worker that died mid-reading) is retried by Temporal;
// the migration goes on.
func TestFailedHealthReadIsRetriedNotRolledBack(t *testing.T) {
	h := newHarness(t)
	h.world.FailTimes = map[string]int{"WatchTrafficHealth": 2, "SetTrafficWeights": 1, "Notify": 1}
	h.decideWhenOpen(
		workflows.Decision{Gate: "cutover", Approve: true, By: "alice"},
		workflows.Decision{Gate: "retire", Approve: true, By: "alice"},
	)
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if r.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %q", r.Outcome)
	}
}
