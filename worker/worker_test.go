package worker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
)

// TestWorkerServesAndDrains runs the worker's Run against a real dev
// server with its environment configuration: it registers the workflow
// (a run on its task queue completes), serves metrics and health, and
// returns cleanly when asked to stop.
func TestWorkerServesAndDrains(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	t.Setenv("TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("CUTOVER_TASK_QUEUE", "worker-test")
	t.Setenv("CUTOVER_METRICS_ADDR", metricsAddr)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("worker never served /healthz")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// An invalid spec fails in the workflow's Validate phase: proof the
	// worker registered BlueGreenMigration under its contract name.
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "worker-test"}, workflows.WorkflowType, spec.MigrationSpec{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := run.Get(wctx, nil); !failures.Is(err, failures.Validation) {
		t.Fatalf("want a ValidationError from the worker's workflow, got %v", err)
	}
	// The SDK counts the run once its last task is answered, which can be
	// just after the client saw the result.
	for end := time.Now().Add(15 * time.Second); ; {
		code, body := get("/metrics")
		if code == http.StatusOK && (strings.Contains(body, "temporal_workflow_failed_total") || strings.Contains(body, "temporal_workflow_completed_total")) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("metrics %d lack the SDK's workflow counters:\n%.2000s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker returned %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("worker did not stop within 45s of the signal")
	}
	if code, _ := get("/healthz"); code != 0 {
		t.Error("metrics server still answers after the worker stopped")
	}
}
