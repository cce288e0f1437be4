package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/workflows"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.temporal.io/sdk/client"
)

// metricsSpec: a blue/green run whose alarm goes off once green has all
// traffic, after the cutover gate was approved: every kind of cutover
// metric is emitted (phases, gate, weights, rollback, alarm to rollback).
const metricsSpec = `{
  "name": "metrics-%d",
  "blue": {"clusterName": "blue", "region": "eu-west-1"},
  "green": {"clusterName": "green", "kubernetesVersion": "1.31"},
  "smoke": {"http": [{"name": "home", "url": "https://green.example.com/"}]},
  "traffic": {
    "provider": "route53",
    "route53": {"hostedZoneId": "Z0123456789ABC", "recordName": "shop.example.com", "greenTarget": "green-lb.example.com"},
    "steps": [25, 100], "bakeTime": "1s", "checkInterval": "1s", "alarms": ["shop-5xx"]
  },
  "approvals": {"cutover": {"approvers": ["bob"], "timeout": "10m"}, "reminderInterval": "0s"},
  "retire": {"soak": "2s"}
}`

// TestMetricsAfterAMigration runs the worker's own run (its metrics
// exporter, interceptors and HTTP server) against a real dev server with
// the fake world for AWS and Kubernetes, takes a migration through its
// cutover gate to an alarm and a rollback, and scrapes /metrics: the
// SDK's standard names and cutover's migration metrics are there with
// the values of that run, and every metric the shipped dashboard and
// alerts query (parsed by Prometheus's own parser in promql-check) is
// among those exported.
func TestMetricsAfterAMigration(t *testing.T) {
	check := promqlCheck(t) // before the servers: a missing tool fails fast
	srv := sandboxtest.Temporal(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	t.Setenv("TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("CUTOVER_TASK_QUEUE", "metrics-test")
	t.Setenv("CUTOVER_METRICS_ADDR", metricsAddr)

	world := fakeworld.New()
	world.UnhealthyAtGreen, world.UnhealthyAlarm = 100, "shop-5xx"
	// One retried attempt of a local and of a regular activity.
	world.FailTimes = map[string]int{"EnsureGreenCluster": 1, "SetTrafficWeights": 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Warnings show: a metric the exporter could not register is one.
		done <- run(ctx, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), func() []any { return []any{world.Activities()} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(45 * time.Second):
			t.Error("worker did not stop")
		}
	})

	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := json.RawMessage(fmt.Sprintf(metricsSpec, time.Now().UnixNano()%100000))
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "metrics-test"}, workflows.WorkflowType, raw)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	for end := time.Now().Add(60 * time.Second); ; {
		var st workflows.Status
		if v, err := c.QueryWorkflow(context.Background(), id, "", workflows.QueryStatus); err == nil && v.Get(&st) == nil && len(st.PendingGates) == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the cutover gate never opened")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Waiting at the gate: its deadline and the phase are exported now.
	open := scrape(t, metricsAddr, func(f map[string]*dto.MetricFamily) bool {
		return value(f, "cutover_gate_deadline_timestamp_seconds", "migration", id, "gate", "cutover") > 0
	})
	if v := value(open, "cutover_migration_phase_started_timestamp_seconds", "migration", id, "phase", workflows.PhaseAwaitCutover); v < float64(time.Now().Add(-5*time.Minute).Unix()) {
		t.Errorf("phase gauge of the gate's phase = %v, want when it was entered", v)
	}

	upd, err := c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.UpdateApprove,
		Args: []any{workflows.Decision{Gate: "cutover", Approve: true, By: "bob"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := upd.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer wcancel()
	if err := run.Get(wctx, nil); !failures.Is(err, failures.RolledBack) {
		t.Fatalf("want the run rolled back by the alarm, got %v", err)
	}

	fams := scrape(t, metricsAddr, func(f map[string]*dto.MetricFamily) bool {
		return value(f, "cutover_alarm_to_rollback_seconds", "", "") > 0 && value(f, "cutover_migrations_finished_total", "outcome", workflows.OutcomeRolledBack) > 0
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"cutover_migrations_started_total", []string{"kind", "blue_green"}, 1},
		{"cutover_migrations_finished_total", []string{"kind", "blue_green", "outcome", workflows.OutcomeRolledBack}, 1},
		{"cutover_rollbacks_total", []string{"cause", failures.Unhealthy}, 1},
		{"cutover_gate_wait_seconds", []string{"gate", "cutover", "decision", "approved"}, 1}, // one observation
		{"cutover_gate_deadline_timestamp_seconds", []string{"migration", id, "gate", "cutover"}, 0},
		{"cutover_traffic_green_weight_percent", []string{"migration", id}, 0}, // back on blue
		{"cutover_migration_phase_started_timestamp_seconds", []string{"migration", id, "phase", workflows.PhaseAwaitCutover}, 0},
		{"cutover_migration_phase_started_timestamp_seconds", []string{"migration", id, "phase", workflows.PhaseRollingBack}, 0},
		{"cutover_activity_retries_total", []string{"activity_type", "SetTrafficWeights", "error_type", failures.ResourceInUse}, 1},
		// A local activity: the SDK's handler has no activity type for it.
		{"cutover_activity_retries_total", []string{"activity_type", "EnsureGreenCluster", "workflow_type", workflows.WorkflowType, "error_type", failures.ResourceInUse}, 1},
		{"temporal_activity_execution_failed_total", []string{"activity_type", "SetTrafficWeights"}, 1},
		{"cutover_alarm_to_rollback_seconds", nil, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if has(fams, "cutover_activity_retries_total", "activity_type", "none") {
		t.Error("an activity retry counted without its activity type")
	}
	// Green reached 100 % before the alarm: the gauge's history is in the
	// report; here, only that it was set for this migration at all.
	if !has(fams, "cutover_traffic_green_weight_percent", "migration", id) {
		t.Error("no traffic weight series for the migration")
	}

	exported := map[string]bool{}
	for name, f := range fams {
		exported[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[name+s] = true
			}
		}
	}
	// Temporal's SDK dashboard queries these names; the old handler
	// exported them as cutover_temporal_* without _total.
	for _, name := range []string{"temporal_request_total", "temporal_long_request_total", "temporal_workflow_failed_total",
		"temporal_workflow_task_execution_latency_seconds_bucket", "temporal_activity_execution_latency_seconds_bucket",
		"temporal_workflow_task_schedule_to_start_latency_seconds_bucket", "temporal_worker_task_slots_available"} {
		if !exported[name] {
			t.Errorf("standard SDK metric %s not exported", name)
		}
	}
	for name := range exported {
		if strings.HasPrefix(name, "cutover_temporal_") {
			t.Errorf("%s: SDK metric under the old prefix", name)
		}
	}

	exprs := check(filepath.Join("..", "deploy", "helm", "cutover", "files", "dashboard.json"), filepath.Join("..", "deploy", "helm", "cutover", "files", "rules.yaml"))
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions in the dashboard and rules", len(exprs))
	}
	for _, e := range exprs {
		for _, m := range e.Metrics {
			if !exported[m] {
				t.Errorf("%s %s queries %s, which the worker does not export", filepath.Base(e.File), e.Where, m)
			}
		}
	}
}

type checkedExpr struct {
	File, Where, Expr string
	Metrics           []string
}

// promqlBin is bin/promql-check (tools/promql), which `make tools` builds.
func promqlBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join("..", "bin", "promql-check")
	if dir := os.Getenv("CUTOVER_TOOLS_DIR"); dir != "" {
		bin = filepath.Join(dir, "promql-check")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("promql-check not found at %s: run `make tools`", bin)
	}
	return bin
}

// promqlCheck returns a runner of promql-check: it parses every
// expression with Prometheus's parser and loads the rule groups, failing
// the test on any error, and returns the metrics each reads.
func promqlCheck(t *testing.T) func(files ...string) []checkedExpr {
	t.Helper()
	bin := promqlBin(t)
	return func(files ...string) []checkedExpr {
		var stderr strings.Builder
		cmd := exec.Command(bin, files...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("promql-check %v: %v\n%s", files, err, stderr.String())
		}
		var exprs []checkedExpr
		if err := json.Unmarshal(out, &exprs); err != nil {
			t.Fatalf("promql-check output: %v", err)
		}
		return exprs
	}
}

// TestPromQLCheckRefuses: the checker the test above relies on fails on
// a bad expression and a bad rule, naming them.
func TestPromQLCheckRefuses(t *testing.T) {
	bin := promqlBin(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"dashboard.json": `{"panels":[{"title":"Broken","type":"timeseries","targets":[{"expr":"sum by (le (rate(x[5m]))"}]}]}`,
		"rules.yaml":     "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n        for: 5x\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, p).CombinedOutput()
		if err == nil {
			t.Errorf("%s: promql-check accepted it:\n%s", name, out)
			continue
		}
		if want := map[string]string{"dashboard.json": "panel Broken", "rules.yaml": "rules:"}[name]; !strings.Contains(string(out), want) {
			t.Errorf("%s: error does not name %q:\n%s", name, want, out)
		}
	}
}

// scrape reads /metrics until ready holds (the exporter reports every
// second) and returns the parsed families.
func scrape(t *testing.T, addr string, ready func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	var last string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			last = err.Error()
			continue
		}
		var p expfmt.TextParser
		fams, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("/metrics is not Prometheus text: %v", err)
		}
		if ready(fams) {
			return fams
		}
		last = fmt.Sprintf("%d families", len(fams))
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "cutover_") {
				t.Log(l)
			}
		}
	}
	t.Fatalf("metrics never ready (%s)", last)
	return nil
}

// value is the metric's value (a histogram's sample count) for the series
// carrying the given label pairs, summed over the matching series; -1
// when none matches.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	sum, found := 0.0, false
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		found = true
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			sum += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return sum
}

func has(fams map[string]*dto.MetricFamily, name string, labels ...string) bool {
	f, ok := fams[name]
	return ok && slices.ContainsFunc(f.GetMetric(), func(m *dto.Metric) bool { return matches(m, labels) })
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if labels[i] == "" {
			continue
		}
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == labels[i] && l.GetValue() == labels[i+1] }) {
			return false
		}
	}
	return true
}
