// Package probe runs HTTP probes. Smoke tests use it against green before
// any traffic moves, and every bake check uses it while traffic is split.
//
// Probe is the activity-side copy of the spec's smoke.http entries (same
// JSON field names and shapes): it is what the kube and traffic activity
// inputs carry, so a renamed spec field never changes a recorded payload.
package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/internal/duration"
)

// Probe is one HTTP check.
type Probe struct {
	// Name of the probe in reports.
	Name string `json:"name,omitempty"`
	// URL to GET, http or https.
	URL string `json:"url,omitempty"`
	// Host header, to reach green before DNS points at it.
	Host string `json:"host,omitempty"`
	// ExpectStatus is the wanted status code; 0 means 200.
	ExpectStatus int `json:"expectStatus,omitempty"`
	// BodyContains must appear in the response body, if set.
	BodyContains string `json:"bodyContains,omitempty"`
	// MaxLatency fails the probe when a response is slower; 0: no limit.
	MaxLatency duration.Duration `json:"maxLatency,omitempty"`
	// Retries before the probe fails.
	Retries int `json:"retries,omitempty"`
}

// Result is one probe's outcome.
type Result struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Passed   bool   `json:"passed"`
	Status   int    `json:"status,omitempty"`
	Latency  string `json:"latency,omitempty"`
	Attempts int    `json:"attempts"`
	Message  string `json:"message"`
}

// Runner runs probes with one HTTP client.
type Runner struct {
	Client *http.Client
	// RetryDelay between attempts of one probe. Default 1s.
	RetryDelay time.Duration
}

// Run runs every probe and returns their results in order.
func (r Runner) Run(ctx context.Context, probes []Probe) []Result {
	out := make([]Result, 0, len(probes))
	for _, p := range probes {
		out = append(out, r.one(ctx, p))
	}
	return out
}

func (r Runner) one(ctx context.Context, p Probe) Result {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	delay := r.RetryDelay
	if delay == 0 {
		delay = time.Second
	}
	res := Result{Name: p.Name, URL: p.URL}
	attempts := p.Retries + 1
	for i := 1; i <= attempts; i++ {
		res.Attempts = i
		ok, status, latency, msg := attempt(ctx, client, p)
		res.Passed, res.Status, res.Latency, res.Message = ok, status, latency.Round(time.Millisecond).String(), msg
		if ok || ctx.Err() != nil || i == attempts {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	return res
}

func attempt(ctx context.Context, client *http.Client, p Probe) (bool, int, time.Duration, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return false, 0, 0, fmt.Sprintf("bad request: %v", err)
	}
	if p.Host != "" {
		req.Host = p.Host
	}
	req.Header.Set("User-Agent", "cutover-probe")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return false, 0, time.Since(start), fmt.Sprintf("GET %s: %v", p.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	latency := time.Since(start)
	want := p.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return false, resp.StatusCode, latency, fmt.Sprintf("GET %s: status %d, want %d", p.URL, resp.StatusCode, want)
	}
	if p.BodyContains != "" && !strings.Contains(string(body), p.BodyContains) {
		return false, resp.StatusCode, latency, fmt.Sprintf("GET %s: body does not contain %q", p.URL, p.BodyContains)
	}
	if max := p.MaxLatency.D(); max > 0 && latency > max {
		return false, resp.StatusCode, latency, fmt.Sprintf("GET %s: took %s, more than %s", p.URL, latency.Round(time.Millisecond), max)
	}
	return true, resp.StatusCode, latency, fmt.Sprintf("GET %s: %d in %s", p.URL, resp.StatusCode, latency.Round(time.Millisecond))
}
