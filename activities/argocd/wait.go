package argocd

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/gitops-engine/pkg/health"
	synccommon "github.com/argoproj/gitops-engine/pkg/sync/common"
	"go.temporal.io/sdk/temporal"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// WaitProgress is the heartbeat of WaitArgoSynced. A retry resumes from it
// (the Degraded clocks carry on).
type WaitProgress struct {
	// Pending lists the applications not yet Synced and Healthy, as
	// "name=sync/health".
	Pending []string `json:"pending"`
	// DegradedSince maps an application to when it was first seen Degraded (RFC 3339).
	DegradedSince map[string]string `json:"degradedSince,omitempty"`
	Polls         int               `json:"polls"`
}

// maxListFailures is how many consecutive failed reads WaitArgoSynced
// tolerates; readTimeout bounds each read, so a hung apiserver connection
// is retried instead of silencing the heartbeat.
const (
	maxListFailures = 5
	readTimeout     = 30 * time.Second
)

// WaitArgoSynced heartbeats until every application is Synced and Healthy.
func (a *Activities) WaitArgoSynced(ctx context.Context, in WaitSyncedInput) (WaitSyncedResult, error) {
	log := a.log(ctx)
	if in.Namespace == "" {
		return WaitSyncedResult{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	names := slices.Clone(in.Applications)
	sort.Strings(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return WaitSyncedResult{Applications: []AppStatus{}}, nil
	}
	c, _, err := a.cluster(ctx, in.ArgoCluster)
	if err != nil {
		return WaitSyncedResult{}, err
	}

	p := WaitProgress{DegradedSince: map[string]string{}}
	if prev, ok := activitylog.Resume[WaitProgress](ctx); ok {
		p.Polls = prev.Polls
		for k, v := range prev.DegradedSince {
			p.DegradedSince[k] = v
		}
		log.Info("Resuming the wait for Argo CD from the last heartbeat", "argoCluster", in.ArgoCluster.Name, "polls", p.Polls, "pending", prev.Pending)
	}

	var lastPending string
	failuresInARow := 0
	for {
		var list argov1.ApplicationList
		lctx, cancel := context.WithTimeout(ctx, readTimeout)
		err := c.List(lctx, &list, client.InNamespace(in.Namespace))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return WaitSyncedResult{}, ctx.Err()
			}
			mapped := apiError(err, "list Argo CD applications in %s on %s", in.Namespace, in.ArgoCluster.Name)
			failuresInARow++
			if failures.TypeOf(mapped) != "" || failuresInARow >= maxListFailures {
				return WaitSyncedResult{}, mapped
			}
			log.Warn("Reading Argo CD applications failed, will retry", "argoCluster", in.ArgoCluster.Name, "error", err)
		} else {
			failuresInARow = 0
			p.Polls++
			byName := make(map[string]*argov1.Application, len(list.Items))
			for i := range list.Items {
				byName[list.Items[i].Name] = &list.Items[i]
			}
			now := a.opts.Now()
			var statuses []AppStatus
			p.Pending = p.Pending[:0]
			for _, name := range names {
				app, ok := byName[name]
				if !ok {
					return WaitSyncedResult{}, failures.New(failures.NotFound, "argocd: application %s/%s does not exist on %s", in.Namespace, name, in.ArgoCluster.Name)
				}
				st, done, ferr := a.evaluate(ctx, c, app, now, &p)
				if ferr != nil {
					return WaitSyncedResult{}, ferr
				}
				statuses = append(statuses, st)
				if !done {
					p.Pending = append(p.Pending, fmt.Sprintf("%s=%s/%s", name, st.Sync, st.Health))
				}
			}
			activitylog.Heartbeat(ctx, p)
			if len(p.Pending) == 0 {
				log.Info("Argo CD applications are Synced and Healthy", "argoCluster", in.ArgoCluster.Name, "applications", len(names), "polls", p.Polls)
				return WaitSyncedResult{Applications: statuses}, nil
			}
			if s := strings.Join(p.Pending, " "); s != lastPending {
				log.Info("Waiting for Argo CD applications", "argoCluster", in.ArgoCluster.Name, "pending", s, "ready", len(names)-len(p.Pending), "total", len(names))
				lastPending = s
			}
		}
		select {
		case <-ctx.Done():
			return WaitSyncedResult{}, ctx.Err()
		case <-time.After(a.opts.Poll):
		}
	}
}

// evaluate reads one application's state: whether it is done, or failed.
func (a *Activities) evaluate(ctx context.Context, c client.Client, app *argov1.Application, now time.Time, p *WaitProgress) (AppStatus, bool, error) {
	st := AppStatus{Name: app.Name, Sync: string(app.Status.Sync.Status), Health: string(app.Status.Health.Status)}
	if st.Sync == "" {
		st.Sync = string(argov1.SyncStatusCodeUnknown)
	}
	if st.Health == "" {
		st.Health = string(health.HealthStatusUnknown)
	}
	compared := sameDest(app.Status.Sync.ComparedTo.Destination, app.Spec.Destination)
	if !compared {
		// The status is from before the destination changed.
		st.Sync, st.Health = "NotCompared", string(health.HealthStatusUnknown)
	}

	// An operation state that started before the application was moved is
	// about the old destination.
	opState := app.Status.OperationState
	if opState != nil {
		if at, err := time.Parse(time.RFC3339, app.Annotations[AnnotationRetargetedAt]); err == nil && opState.StartedAt.Time.Before(at) {
			opState = nil
		}
	}
	if app.Operation == nil && opState != nil && (opState.Phase == synccommon.OperationFailed || opState.Phase == synccommon.OperationError) {
		return st, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("argocd: application %s: sync %s: %s", app.Name, opState.Phase, opFailureDetail(opState)), SyncFailed, nil)
	}

	// A sync retarget deferred because another operation was running.
	if _, ok := app.Annotations[AnnotationPendingSync]; ok && !syncing(app) {
		if _, err := a.requestSyncIfIdle(ctx, c, app.Namespace, app.Name, nil, true); err != nil {
			a.log(ctx).Warn("Requesting a deferred Argo CD sync failed, will retry", "app", app.Name, "error", err)
		}
		return st, false, nil
	}

	if compared && app.Status.Health.Status == health.HealthStatusDegraded {
		since, err := time.Parse(time.RFC3339, p.DegradedSince[app.Name])
		if err != nil {
			since = now
			p.DegradedSince[app.Name] = now.UTC().Format(time.RFC3339)
		}
		if now.Sub(since) > a.opts.degradedGrace {
			msg := app.Status.Health.Message
			if msg == "" {
				msg = "no message"
			}
			return st, false, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("argocd: application %s has been Degraded for more than %s: %s", app.Name, a.opts.degradedGrace, msg), SyncFailed, nil)
		}
	} else {
		delete(p.DegradedSince, app.Name)
	}

	done := compared && !syncing(app) &&
		app.Status.Sync.Status == argov1.SyncStatusCodeSynced &&
		app.Status.Health.Status == health.HealthStatusHealthy
	return st, done, nil
}

// opFailureDetail is the operation's message and its first failed resources.
func opFailureDetail(s *argov1.OperationState) string {
	msg := s.Message
	if msg == "" {
		msg = "no message"
	}
	if s.SyncResult == nil {
		return msg
	}
	var bad []string
	for _, r := range s.SyncResult.Resources {
		if r == nil || r.Status != synccommon.ResultCodeSyncFailed {
			continue
		}
		if len(bad) == 3 {
			bad = append(bad, "...")
			break
		}
		bad = append(bad, fmt.Sprintf("%s/%s: %s", r.Kind, r.Name, r.Message))
	}
	if len(bad) > 0 {
		msg += " (" + strings.Join(bad, "; ") + ")"
	}
	return msg
}
