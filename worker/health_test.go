package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func probe(t *testing.T, h *health, path string) (int, string) {
	t.Helper()
	mux := http.NewServeMux()
	h.register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestHealthStates: readiness follows the worker's state and the Temporal
// check, liveness only the worker's state; the check's result is reused
// for the TTL and a check that hangs is cut at the timeout.
func TestHealthStates(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	calls := 0
	var checkErr error
	h := newHealth(func(ctx context.Context) error {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("health check without a deadline")
		}
		return checkErr
	})
	h.now = func() time.Time { return now }

	want := func(path string, code int, body string) {
		t.Helper()
		got, b := probe(t, h, path)
		if got != code || !strings.Contains(b, body) {
			t.Errorf("%s = %d %q, want %d containing %q", path, got, b, code, body)
		}
	}
	want("/healthz", 200, "ok")
	want("/readyz", 503, "not started")
	if calls != 0 {
		t.Errorf("Temporal checked %d times before the worker started", calls)
	}

	h.running()
	want("/readyz", 200, "ok")
	want("/readyz", 200, "ok")
	if calls != 1 {
		t.Errorf("two probes within the TTL made %d checks, want 1", calls)
	}

	checkErr = errors.New("connection refused")
	want("/readyz", 200, "ok") // cached: still within the TTL
	now = now.Add(healthCacheTTL)
	want("/readyz", 503, "temporal frontend health check: connection refused")
	want("/healthz", 200, "ok") // Temporal away is not a reason to restart
	if calls != 2 {
		t.Errorf("checks = %d, want 2", calls)
	}

	checkErr = nil
	now = now.Add(healthCacheTTL)
	want("/readyz", 200, "ok")

	h.draining()
	want("/readyz", 503, "draining")
	want("/healthz", 200, "ok")

	h.stopped(errors.New("namespace not found"))
	want("/healthz", 503, "worker stopped: namespace not found")
	want("/readyz", 503, "worker stopped: namespace not found")
	h.running() // a stopped worker does not come back
	want("/healthz", 503, "worker stopped")
}

func TestHealthCheckTimeout(t *testing.T) {
	h := newHealth(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	h.timeout = 50 * time.Millisecond
	h.running()
	start := time.Now()
	code, body := probe(t, h, "/readyz")
	if code != 503 || !strings.Contains(body, "deadline exceeded") {
		t.Errorf("/readyz = %d %q, want 503 deadline exceeded", code, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a hanging check held the probe %v", d)
	}
}

// TestWorkerReadinessFollowsTemporal runs the worker against a real dev
// server, then stops the server: /readyz turns 503 while /healthz stays
// 200, since the worker process itself is fine.
func TestWorkerReadinessFollowsTemporal(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("CUTOVER_TASK_QUEUE", "readiness-test")
	t.Setenv("CUTOVER_METRICS_ADDR", addr)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("worker did not stop within 60s")
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(path string, code int, within time.Duration) string {
		t.Helper()
		var last string
		for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			c, b := get(path)
			if c == code {
				return b
			}
			last = b
		}
		t.Fatalf("%s never answered %d within %v; last: %s", path, code, within, last)
		return ""
	}
	waitFor("/readyz", 200, 30*time.Second)

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	body := waitFor("/readyz", 503, healthCacheTTL+healthCheckTimeout+10*time.Second)
	if !strings.Contains(body, "temporal frontend health check") {
		t.Errorf("/readyz body %q does not name the Temporal check", body)
	}
	if c, b := get("/healthz"); c != 200 {
		t.Errorf("/healthz = %d %q with Temporal away, want 200 (liveness must not follow Temporal)", c, b)
	}
}
