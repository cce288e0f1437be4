package activitylog

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// MinKeepAliveInterval is the shortest interval KeepAlive heartbeats at.
const MinKeepAliveInterval = 500 * time.Millisecond

// keeper re-sends the last heartbeat details of an activity.
type keeper struct {
	mu      sync.Mutex
	details any
	has     bool
}

type keeperKey struct{}

// KeepAlive heartbeats the activity of ctx in the background, every third of
// its heartbeat timeout, until stop is called. With it an activity that
// changes the world is seen to be alive while one call blocks (an AWS call
// the SDK retries, a slow apiserver), and a worker that dies is noticed
// within the heartbeat timeout instead of the start-to-close timeout.
//
// Background heartbeats carry the last details recorded with Heartbeat
// through the returned context (or, before the first one, the details of
// the previous attempt), so the resume point a retry reads back is never
// overwritten with nothing. Outside an activity, or without a heartbeat
// timeout, it only returns ctx.
func KeepAlive(ctx context.Context) (context.Context, func()) {
	if !activity.IsActivity(ctx) {
		return ctx, func() {}
	}
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	if timeout <= 0 {
		return ctx, func() {}
	}
	if _, ok := ctx.Value(keeperKey{}).(*keeper); ok {
		return ctx, func() {} // an outer KeepAlive already runs
	}
	k := &keeper{}
	if prev, ok := Resume[json.RawMessage](ctx); ok && len(prev) > 0 {
		k.details, k.has = prev, true
	}
	every := max(timeout/3, MinKeepAliveInterval)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				k.mu.Lock()
				d, has := k.details, k.has
				k.mu.Unlock()
				if has {
					activity.RecordHeartbeat(ctx, d)
				} else {
					activity.RecordHeartbeat(ctx)
				}
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
	return context.WithValue(ctx, keeperKey{}, k), stop
}

// remember stores details as the ones KeepAlive re-sends.
func remember(ctx context.Context, details any) {
	if k, ok := ctx.Value(keeperKey{}).(*keeper); ok {
		k.mu.Lock()
		k.details, k.has = details, true
		k.mu.Unlock()
	}
}
