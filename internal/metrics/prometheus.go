// Package metrics exports the Temporal SDK's worker metrics and cutover's
// own in Prometheus format, through Temporal's tally contrib with its
// Prometheus naming: counters end in _total and timers in _seconds, so the
// names are the SDK's standard ones (temporal_request_total,
// temporal_workflow_task_execution_latency_seconds, ...) that Temporal's
// SDK dashboards query, and cutover's (cutover_*, see Names) sit beside them.
package metrics

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Buckets are the timers' histogram buckets, in seconds: from a 5 ms task
// to a gate that waits a day.
var Buckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}

// sanitize is the contrib's Prometheus sanitizing for names and label
// keys, but keeps '-', '.', ':' and '/' in label values: a workflow ID
// (cutover-shop-prod), a task queue or a cluster name reads as it is
// written instead of with underscores (Prometheus allows any value).
var sanitize = tally.SanitizeOptions{
	NameCharacters: sdktally.PrometheusSanitizeOptions.NameCharacters,
	KeyCharacters:  sdktally.PrometheusSanitizeOptions.KeyCharacters,
	ValueCharacters: tally.ValidCharacters{Ranges: tally.AlphanumericRange,
		Characters: []rune{'_', '-', '.', ':', '/'}},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// reportInterval is how often tally hands counters and timers to the
// Prometheus registry: a scrape sees a value at most this late.
const reportInterval = time.Second

// Exporter is the worker's (or CLI's) metrics: Handler for the Temporal
// client, HTTPHandler for /metrics.
type Exporter struct {
	// Handler is the client.MetricsHandler to set in client.Options.
	Handler client.MetricsHandler
	reg     *prometheus.Registry
	closer  io.Closer
}

// New returns an exporter on a new registry that also carries the Go
// runtime and process collectors. A metric whose label names change
// between uses cannot be registered twice by Prometheus; that is logged,
// not a panic.
func New(logger *slog.Logger) (*Exporter, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: Buckets,
		OnRegisterError: func(err error) {
			logger.Warn("Metric not registered", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sanitize,
	}, reportInterval)
	return &Exporter{
		Handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		reg:     reg,
		closer:  closer,
	}, nil
}

// HTTPHandler serves the registry in the Prometheus text format.
func (e *Exporter) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg})
}

// Close reports what is pending and stops the report loop.
func (e *Exporter) Close() error {
	if err := e.closer.Close(); err != nil {
		return fmt.Errorf("close metrics scope: %w", err)
	}
	return nil
}
