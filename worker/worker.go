// Package worker is the cutover-worker that cmd/cutover-worker runs: it
// connects to Temporal with the SDK's environment configuration, registers
// BlueGreenMigration and every activity, serves Prometheus metrics, and
// drains in-flight activities on SIGINT/SIGTERM.
//
// Configuration (environment):
//
//	TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
//	TEMPORAL_PROFILE          Temporal connection (SDK envconfig)
//	CUTOVER_TASK_QUEUE        task queue (default "cutover")
//	CUTOVER_METRICS_ADDR      Prometheus /metrics, /healthz (liveness) and /readyz
//	                          (readiness: Temporal reachable) listen address
//	                          (default 127.0.0.1:9464; "" disables)
//	CUTOVER_AWS_ENDPOINT      send every AWS call here (the sandbox's moto server)
//	CUTOVER_KUBECONFIG_DIR    resolve clusters to <dir>/<name>.kubeconfig instead of EKS tokens
//	CUTOVER_SANDBOX           "true": short polls, no wait for scratch pods to run (bare apiservers)
//	CUTOVER_LOG_FORMAT        text (default) or json
//	CUTOVER_LOG_LEVEL         debug, info (default), warn, error
//	SLACK_BOT_TOKEN           chat notifications (optional)
//	OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//	                          send traces of workflows and activities over
//	                          OTLP/gRPC (off when unset; OTEL_* as usual)
//	CUTOVER_WORKFLOW_TASK_POLLERS, CUTOVER_ACTIVITY_TASK_POLLERS,
//	CUTOVER_MAX_CONCURRENT_ACTIVITIES, CUTOVER_MAX_CONCURRENT_WORKFLOW_TASKS
//	                          poller and slot counts (default: the SDK's)
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cutover-dev/cutover/internal/buildinfo"
	"github.com/cutover-dev/cutover/internal/metrics"
	"github.com/cutover-dev/cutover/internal/temporalclient"
	"github.com/cutover-dev/cutover/internal/tracing"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
)

// Main runs the worker until SIGINT or SIGTERM and returns the process's
// exit code: 0 after a clean drain, 1 when it could not start.
func Main() int {
	logger := NewLogger()
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, logger); err != nil {
		fmt.Fprintln(os.Stderr, "cutover-worker:", err)
		return 1
	}
	return 0
}

// Run serves until ctx ends, then drains and returns.
func Run(ctx context.Context, logger *slog.Logger) error {
	return run(ctx, logger, func() []any { return wiring.Activities(wiring.FromEnv(logger)) })
}

// run is Run with the activities to register made by activities (the
// real ones in Run; a test's fakes).
func run(ctx context.Context, logger *slog.Logger, activities func() []any) error {
	taskQueue := envOr("CUTOVER_TASK_QUEUE", workflows.TaskQueue)
	metricsAddr := envOr("CUTOVER_METRICS_ADDR", "127.0.0.1:9464")
	// Let running activities finish their current poll/heartbeat before exit.
	wopts := sdkworker.Options{WorkerStopTimeout: 30 * time.Second}
	if err := applyTuning(&wopts, os.Getenv); err != nil {
		return err // before connecting: a typo needs no Temporal to be found
	}

	opts, err := temporalclient.Options(logger)
	if err != nil {
		return err
	}
	m, err := metrics.New(logger)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer m.Close()
	opts.MetricsHandler = m.Handler
	tr, err := tracing.Setup(ctx, "cutover-worker", os.Getenv)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			logger.Warn("Traces not flushed", "error", err)
		}
	}()
	if tr.Interceptor != nil {
		opts.Interceptors = append(opts.Interceptors, tr.Interceptor)
		logger.Info("Tracing to OTLP", "endpoint", firstSet(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
	}
	c, err := client.Dial(opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer c.Close()

	hl := newHealth(func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	// The SDK stops a worker whose pollers hit a non-retryable error
	// (namespace gone, credentials refused); it then polls nothing, so the
	// process exits with the reason instead of idling as if healthy.
	fatal := make(chan error, 1)
	acts := activities()
	wopts.Interceptors = append(wopts.Interceptors, &metrics.RetryInterceptor{})
	wopts.OnFatalError = func(err error) {
		hl.stopped(err)
		select {
		case fatal <- err:
		default:
		}
	}
	w := wiring.NewWorker(c, taskQueue, wopts)
	wiring.Register(w, acts...)

	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener on %s: %w", metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.HTTPHandler())
		hl.register(mux)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("Metrics server stopped", "error", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		logger.Info("Serving metrics", "addr", ln.Addr().String())
	}

	logger.Info("Worker starting", "address", opts.HostPort, "namespace", opts.Namespace, "taskQueue", taskQueue, "build", buildinfo.Read())
	if err := w.Start(); err != nil {
		hl.stopped(err)
		return fmt.Errorf("start worker: %w", err)
	}
	hl.running()
	select {
	case <-ctx.Done():
	case err := <-fatal:
		logger.Error("Worker stopped on a fatal error", "error", err)
		return fmt.Errorf("worker stopped: %w", err)
	}
	// Not ready from here on: no new work should be routed to a draining pod.
	hl.draining()
	logger.Info("Worker stopping: draining in-flight tasks")
	w.Stop()
	logger.Info("Worker stopped")
	return nil
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// NewLogger is the worker's logger, configured by CUTOVER_LOG_FORMAT and
// CUTOVER_LOG_LEVEL.
func NewLogger() *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(envOr("CUTOVER_LOG_LEVEL", "info")))
	hopts := &slog.HandlerOptions{Level: level}
	if os.Getenv("CUTOVER_LOG_FORMAT") == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, hopts))
}
