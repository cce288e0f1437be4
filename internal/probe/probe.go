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
	"net"
	"net/http"
	"net/url"
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
	// Host is the production hostname, to reach green before DNS points
	// at it: the request goes to URL's address but carries Host in its
	// Host header and, for https, as the TLS server name the certificate
	// is verified against (a dial override, like curl --connect-to).
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
	if p.Host != "" {
		c, target, err := connectTo(client, p)
		if err != nil {
			res.Attempts, res.Message = 1, err.Error()
			return res
		}
		client, p.URL = c, target
	}
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

// connectTo returns a client that dials p.URL's address for p.Host (same
// port), and p.URL with p.Host in place of its host: the TLS server name
// and the certificate check say the production name (and the Host header,
// set in attempt) while the connection goes to green's address.
func connectTo(base *http.Client, p Probe) (*http.Client, string, error) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("bad probe URL %q: %v", p.URL, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if strings.ContainsAny(p.Host, "/:@ ") {
		return nil, "", fmt.Errorf("probe host %q must be a hostname without port or path", p.Host)
	}
	dialAddr := net.JoinHostPort(u.Hostname(), port)
	asAddr := net.JoinHostPort(p.Host, port)
	var tr *http.Transport
	switch t := base.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, "", fmt.Errorf("probe %s: host %q needs an *http.Transport to override the dial, the client has %T", p.Name, p.Host, base.Transport)
	}
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == asAddr {
			addr = dialAddr
		}
		return dial(ctx, network, addr)
	}
	c := *base
	c.Transport = tr
	if u.Port() != "" {
		u.Host = asAddr
	} else {
		u.Host = p.Host
	}
	return &c, u.String(), nil
}

func attempt(ctx context.Context, client *http.Client, p Probe) (bool, int, time.Duration, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return false, 0, 0, fmt.Sprintf("bad request: %v", err)
	}
	if p.Host != "" {
		req.Host = p.Host // the name alone, whatever port the URL has
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
