package clusters

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/failures"
)

// countingGenerator issues "tok-<n>" tokens valid for lifetime from now.
type countingGenerator struct {
	mu       sync.Mutex
	n        int
	lifetime time.Duration
	err      error
}

func (g *countingGenerator) generate(_ context.Context, now time.Time) (Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return Token{}, g.err
	}
	g.n++
	return Token{Value: fmt.Sprintf("tok-%d", g.n), IssuedAt: now, Expiration: now.Add(g.lifetime)}, nil
}

func (g *countingGenerator) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

func TestTokenSourceRenewsAtHalfLifetime(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := &countingGenerator{lifetime: 15 * time.Minute}
	ts := NewTokenSource("test token", g.generate, clock.now)

	steps := []struct {
		after time.Duration
		want  string
	}{
		{0, "tok-1"},
		{7*time.Minute + 29*time.Second, "tok-1"}, // 7m29s old: reused
		{31 * time.Second, "tok-2"},               // 7m30s old: half its lifetime, renewed
		{7 * time.Minute, "tok-2"},
		{8 * time.Minute, "tok-3"}, // long idle: renewed at once, never sent expired
	}
	for i, s := range steps {
		clock.t = clock.t.Add(s.after)
		tok, err := ts.Token(ctx)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if tok.Value != s.want {
			t.Errorf("step %d (+%s): token %s, want %s", i, s.after, tok.Value, s.want)
		}
	}
}

func TestTokenSourceWithoutIssueTimeRenewsAMinuteBeforeExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	ts := NewTokenSource("test token", func(_ context.Context, now time.Time) (Token, error) {
		n++
		return Token{Value: fmt.Sprint(n), Expiration: now.Add(10 * time.Minute)}, nil
	}, clock.now)
	_, _ = ts.Token(context.Background())
	clock.t = clock.t.Add(8*time.Minute + 59*time.Second)
	if tok, _ := ts.Token(context.Background()); tok.Value != "1" {
		t.Errorf("at 8m59s: token %s, want the cached one", tok.Value)
	}
	clock.t = clock.t.Add(time.Second)
	if tok, _ := ts.Token(context.Background()); tok.Value != "2" {
		t.Errorf("a minute before expiry: token %s, want a new one", tok.Value)
	}
}

func TestTokenSourceGenerateFailure(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := &countingGenerator{lifetime: 10 * time.Minute, err: errors.New("no credentials")}
	ts := NewTokenSource("EKS token for cluster eu-west-1/blue", g.generate, clock.now)
	if _, err := ts.Token(ctx); err == nil || !strings.Contains(err.Error(), "EKS token for cluster eu-west-1/blue: no credentials") {
		t.Fatalf("first token with a failing generator: %v", err)
	}
	g.err = nil
	if tok, err := ts.Token(ctx); err != nil || tok.Value != "tok-1" {
		t.Fatalf("after recovery: %v %v", tok, err)
	}
	// Renewal fails while the cached token is still valid: keep it.
	g.err = errors.New("throttled")
	clock.t = clock.t.Add(6 * time.Minute)
	if tok, err := ts.Token(ctx); err != nil || tok.Value != "tok-1" {
		t.Errorf("failed renewal before expiry: %v %v, want the cached token", tok, err)
	}
	// Once it expired, the failure is the answer.
	clock.t = clock.t.Add(4 * time.Minute)
	if _, err := ts.Token(ctx); err == nil {
		t.Error("failed renewal after expiry: no error")
	}
}

// tokenServer is an apiserver stand-in that accepts only the tokens accept
// says are valid, and records the Authorization header of every request.
type tokenServer struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []string
	accept func(token string) bool
}

func newTokenServer(t *testing.T, accept func(string) bool) *tokenServer {
	s := &tokenServer{accept: accept}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := r.Header.Get("Authorization")
		s.mu.Lock()
		s.seen = append(s.seen, h)
		accept := s.accept
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !accept(strings.TrimPrefix(h, "Bearer ")) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		fmt.Fprintf(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q}}`, strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/"))
	}))
	t.Cleanup(s.Close)
	return s
}

// config is a client config for s with its CA.
func (s *tokenServer) config() *rest.Config {
	return &rest.Config{Host: s.URL, TLSClientConfig: rest.TLSClientConfig{CAData: s.caPEM()}}
}

func (s *tokenServer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

func (s *tokenServer) setAccept(f func(string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accept = f
}

func (s *tokenServer) headers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func TestWithTokenSourceEveryRequestCarriesTheCurrentToken(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := &countingGenerator{lifetime: 20 * time.Second}
	ts := NewTokenSource("test token", g.generate, clock.now)
	// The server accepts only the newest token: a client that kept an old
	// one would fail.
	srv := newTokenServer(t, func(tok string) bool { return tok == fmt.Sprintf("tok-%d", g.count()) })

	base := srv.config()
	base.BearerToken, base.Username, base.Password = "static", "u", "p"
	cfg, err := WithTokenSource(ctx, base, ts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken != "tok-1" || cfg.Username != "" {
		t.Fatalf("config: token %q, username %q; want the current token and no other credentials", cfg.BearerToken, cfg.Username)
	}
	cs, err := kubernetes.NewForConfig(cfg) // one client for the whole test, as a ClientCache keeps it
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("request %d at %s: %v", i, clock.t.Format(time.TimeOnly), err)
		}
		clock.t = clock.t.Add(6 * time.Second)
	}
	want := []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2", "Bearer tok-3", "Bearer tok-3"}
	if got := srv.headers(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Authorization headers %v, want %v", got, want)
	}

	// A copy whose token someone replaced sends that token, not ours.
	other := rest.CopyConfig(cfg)
	other.BearerToken = "someone-else"
	cs2, _ := kubernetes.NewForConfig(other)
	_, _ = cs2.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if h := srv.headers(); h[len(h)-1] != "Bearer someone-else" {
		t.Errorf("explicit token: sent %q", h[len(h)-1])
	}
}

func TestWithTokenSourceRetriesACachedTokenOnceOn401(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := &countingGenerator{lifetime: 15 * time.Minute}
	ts := NewTokenSource("test token", g.generate, clock.now)
	revoked := map[string]bool{}
	var mu sync.Mutex
	srv := newTokenServer(t, func(tok string) bool { mu.Lock(); defer mu.Unlock(); return !revoked[tok] && tok != "" })
	cfg, err := WithTokenSource(ctx, srv.config(), ts)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := kubernetes.NewForConfig(cfg)

	// The server stops accepting the cached token before it is due for
	// renewal: one retry with a new token, which succeeds.
	mu.Lock()
	revoked["tok-1"] = true
	mu.Unlock()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with a refused cached token: %v, want success after one retry", err)
	}
	if got := srv.headers(); strings.Join(got, ",") != "Bearer tok-1,Bearer tok-2" {
		t.Errorf("headers %v, want tok-1 refused then tok-2", got)
	}

	// Refused although new: the cluster's answer, not retried again, and
	// a definitive AccessDenied once mapped.
	srv.setAccept(func(string) bool { return false })
	clock.t = clock.t.Add(8 * time.Minute)
	_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err == nil {
		t.Fatal("no error from a server refusing every token")
	}
	if got := srv.headers(); len(got) != 3 || got[2] != "Bearer tok-3" {
		t.Errorf("headers %v: a new token that is refused must not be retried", got)
	}
	if mapped := APIError(err, "Argo CD", "get namespace"); !failures.Is(mapped, failures.AccessDenied) {
		t.Errorf("401 with a new token maps to %v, want AccessDenied", mapped)
	}
	// Refused while cached: retried once with a new one, then final.
	_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	if got := srv.headers(); len(got) != 5 || got[3] != "Bearer tok-3" || got[4] != "Bearer tok-4" {
		t.Errorf("headers %v: want tok-3 then one retry with tok-4", got)
	}
}
