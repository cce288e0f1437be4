package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Health defaults: a probe answers within its own timeout (the kubelet's
// default probe timeout is 1 s, the chart sets 3 s), and a Temporal reading
// is reused for a few seconds so that several probes (liveness,
// readiness, a scraping Prometheus) do not each open a round trip.
const (
	healthCheckTimeout = 2 * time.Second
	healthCacheTTL     = 5 * time.Second
)

// health is what the worker's /healthz and /readyz answer.
//
//   - /healthz (liveness): the worker has been started and has not
//     stopped. It does not depend on Temporal: restarting every worker
//     because the Temporal frontend is briefly away would only add load.
//   - /readyz (readiness): the above, and the Temporal frontend answered a
//     health check (CheckHealth, gRPC health) within healthCheckTimeout in
//     the last healthCacheTTL. A worker that cannot reach Temporal polls
//     nothing, and saying so is what readiness is for.
//
// "Stopped" is a fatal worker error reported by the SDK (its pollers gave
// up: namespace gone, credentials refused, ...); the drain at shutdown is
// not ready but alive.
type health struct {
	check   func(context.Context) error // the Temporal client's CheckHealth
	timeout time.Duration
	ttl     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	state   workerState
	stopErr error     // why the worker stopped
	checked time.Time // when check last ran
	lastErr error     // its result
}

type workerState int

const (
	workerStarting workerState = iota
	workerRunning
	workerDraining
	workerStopped
)

func newHealth(check func(context.Context) error) *health {
	return &health{check: check, timeout: healthCheckTimeout, ttl: healthCacheTTL, now: time.Now}
}

// running marks the worker started (its pollers are up).
func (h *health) running() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == workerStarting {
		h.state = workerRunning
	}
}

// draining marks the shutdown drain: no longer ready (no new work should
// be routed here), still alive (in-flight activities are finishing, and a
// liveness kill would cut them short).
func (h *health) draining() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != workerStopped {
		h.state = workerDraining
	}
}

// stopped marks the worker stopped for good; err says why.
func (h *health) stopped(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state, h.stopErr = workerStopped, err
}

// alive is the liveness verdict: nil while the worker is starting or
// running (starting is alive: the kubelet must not kill a worker that is
// still dialing), the reason once it stopped.
func (h *health) alive() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.aliveLocked()
}

func (h *health) aliveLocked() error {
	if h.state == workerStopped {
		if h.stopErr != nil {
			return fmt.Errorf("worker stopped: %w", h.stopErr)
		}
		return errors.New("worker stopped")
	}
	return nil
}

// ready is the readiness verdict: running, and Temporal reachable.
func (h *health) ready(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.aliveLocked(); err != nil {
		return err
	}
	switch h.state {
	case workerStarting:
		return errors.New("worker not started yet")
	case workerDraining:
		return errors.New("worker draining at shutdown")
	}
	// The lock is held across the check on purpose: concurrent probes wait
	// for one reading (at most timeout) instead of each making their own.
	if now := h.now(); h.checked.IsZero() || now.Sub(h.checked) >= h.ttl {
		cctx, cancel := context.WithTimeout(ctx, h.timeout)
		err := h.check(cctx)
		cancel()
		h.checked, h.lastErr = h.now(), err
	}
	if h.lastErr != nil {
		return fmt.Errorf("temporal frontend health check: %w", h.lastErr)
	}
	return nil
}

// register serves /healthz and /readyz on mux: 200 "ok", or 503 with the
// reason (the kubelet records it in the pod's events).
func (h *health) register(mux *http.ServeMux) {
	answer := func(w http.ResponseWriter, err error) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, h.alive()) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { answer(w, h.ready(r.Context())) })
}
