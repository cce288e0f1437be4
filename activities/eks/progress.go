package eks

import (
	"context"
	"slices"
	"time"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// Steps reported in Progress.Step.
const (
	StepWaitCluster     = "wait-cluster"
	StepNodeGroups      = "node-groups"
	StepAddons          = "addons"
	StepRetireAddons    = "retire-addons"
	StepRetireNodes     = "retire-node-groups"
	StepRetireFargate   = "retire-fargate-profiles"
	StepRetireCluster   = "retire-cluster"
	StepRetireCompleted = "retire-done"
)

// Progress is the heartbeat of the long EKS activities. After a retry the
// activity reads it back (activitylog.Resume) and continues:
// items in Created are not created again, the poll count carries on.
type Progress struct {
	// Step is what the activity is doing (Step* constants).
	Step string `json:"step"`
	// Cluster the activity works on.
	Cluster string `json:"cluster"`
	// Status is the last status seen, e.g. "CREATING", or per item
	// "ng-a=CREATING ng-b=ACTIVE".
	Status string `json:"status,omitempty"`
	// Created lists what this activity created (over all attempts).
	Created []string `json:"created,omitempty"`
	// Done lists the items finished (ACTIVE, or deleted).
	Done []string `json:"done,omitempty"`
	// Pending lists the items still converging.
	Pending []string `json:"pending,omitempty"`
	// Polls counts status reads, over all attempts.
	Polls int `json:"polls"`
	// Since is when the first attempt started waiting (RFC 3339).
	Since string `json:"since,omitempty"`
}

func (p *Progress) markCreated(name string) {
	if !slices.Contains(p.Created, name) {
		p.Created = append(p.Created, name)
	}
}

func (p *Progress) markDone(name string) {
	if !slices.Contains(p.Done, name) {
		p.Done = append(p.Done, name)
	}
	p.Pending = slices.DeleteFunc(p.Pending, func(s string) bool { return s == name })
}

// resume returns the progress recorded by a previous attempt of this
// activity, or a fresh one for step.
func resume(ctx context.Context, step, cluster string) Progress {
	fresh := Progress{Step: step, Cluster: cluster, Since: time.Now().UTC().Format(time.RFC3339)}
	p, ok := activitylog.Resume[Progress](ctx)
	if !ok || p.Cluster != cluster {
		return fresh
	}
	logger(ctx).Info("Resuming from the last heartbeat", "cluster", cluster, "step", p.Step,
		"polls", p.Polls, "created", p.Created, "done", p.Done)
	if p.Since == "" {
		p.Since = fresh.Since
	}
	return p
}

// heartbeat records a copy of p, if running as an activity.
func heartbeat(ctx context.Context, p *Progress) {
	activitylog.Heartbeat(ctx, *p)
}

// poll calls check until it reports done or fails, heartbeating p between
// calls and sleeping the poll interval. check updates p (Status, Pending...).
func (a *Activities) poll(ctx context.Context, p *Progress, check func(ctx context.Context) (bool, error)) error {
	return pollUntil(ctx, a.pollInterval, p, &p.Polls, check)
}

// pollUntil is the one poll loop of the EKS activities: check, count the
// poll in *polls, heartbeat p, sleep interval, until check is done or fails.
func pollUntil[P any](ctx context.Context, interval time.Duration, p *P, polls *int, check func(ctx context.Context) (bool, error)) error {
	for {
		done, err := check(ctx)
		*polls++
		activitylog.Heartbeat(ctx, *p)
		if err != nil || done {
			return err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// logger is the activity logger, or a no-op outside an activity.
func logger(ctx context.Context) activitylog.Logger {
	return activitylog.For(ctx, activitylog.Discard)
}
