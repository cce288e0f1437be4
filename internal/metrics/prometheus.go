// Package metrics exports the Temporal SDK's worker metrics (task latencies,
// poll counts, activity failures, ...) and cutover's own in Prometheus format.
package metrics

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// Handler implements client.MetricsHandler on a Prometheus registry. Each
// metric's label names are fixed by its first use (Prometheus requires one
// label set per name); later uses fill missing labels with "" and drop
// unknown ones.
type Handler struct {
	reg    *prometheus.Registry
	prefix string
	tags   map[string]string
	state  *state
}

type state struct {
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
	labels   map[string][]string
}

// NewHandler returns a handler registering on a new registry that also
// carries the Go runtime and process collectors.
func NewHandler(prefix string) *Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Handler{reg: reg, prefix: prefix, tags: map[string]string{}, state: &state{
		counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{},
		timers: map[string]*prometheus.HistogramVec{}, labels: map[string][]string{},
	}}
}

// HTTPHandler serves /metrics.
func (h *Handler) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{Registry: h.reg})
}

// WithTags implements client.MetricsHandler.
func (h *Handler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &Handler{reg: h.reg, prefix: h.prefix, tags: merged, state: h.state}
}

func (h *Handler) name(n string) string {
	return h.prefix + strings.NewReplacer(".", "_", "-", "_").Replace(n)
}

// labelsFor fixes the label names of a metric on first use; call with state.mu held.
func (h *Handler) labelsFor(name string) []string {
	if l, ok := h.state.labels[name]; ok {
		return l
	}
	l := make([]string, 0, len(h.tags))
	for k := range h.tags {
		l = append(l, k)
	}
	slices.Sort(l)
	h.state.labels[name] = l
	return l
}

func (h *Handler) values(names []string) []string {
	v := make([]string, len(names))
	for i, n := range names {
		v[i] = h.tags[n]
	}
	return v
}

// vec returns the metric vector registered under name, creating it with mk
// on first use, and the label values of h's tags. ok is false when the
// registry refused the name (a clash with another kind of metric).
func vec[V prometheus.Collector](h *Handler, vecs map[string]V, name string, mk func(labels []string) V) (v V, values []string, ok bool) {
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	labels := h.labelsFor(name)
	v, found := vecs[name]
	if !found {
		v = mk(labels)
		if err := h.reg.Register(v); err != nil {
			return v, nil, false
		}
		vecs[name] = v
	}
	return v, h.values(labels), true
}

// Counter implements client.MetricsHandler.
func (h *Handler) Counter(name string) client.MetricsCounter {
	name = h.name(name)
	v, values, ok := vec(h, h.state.counters, name, func(l []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name}, l)
	})
	if !ok {
		return client.MetricsNopHandler.Counter(name)
	}
	return counter{v.WithLabelValues(values...)}
}

// Gauge implements client.MetricsHandler.
func (h *Handler) Gauge(name string) client.MetricsGauge {
	name = h.name(name)
	v, values, ok := vec(h, h.state.gauges, name, func(l []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name}, l)
	})
	if !ok {
		return client.MetricsNopHandler.Gauge(name)
	}
	return gauge{v.WithLabelValues(values...)}
}

// Timer implements client.MetricsHandler.
func (h *Handler) Timer(name string) client.MetricsTimer {
	name = h.name(name) + "_seconds"
	v, values, ok := vec(h, h.state.timers, name, func(l []string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK timer " + name,
			Buckets: []float64{.005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}}, l)
	})
	if !ok {
		return client.MetricsNopHandler.Timer(name)
	}
	return timer{v.WithLabelValues(values...)}
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(d int64) { c.c.Add(float64(d)) }

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }
