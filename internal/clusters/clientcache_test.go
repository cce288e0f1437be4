package clusters

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/failures"
)

// countingResolver returns a new rest.Config per call, with Host naming the
// cluster and BearerToken the call number.
type countingResolver struct {
	mu    sync.Mutex
	calls map[Ref]int
	err   error
}

func (r *countingResolver) RESTConfig(_ context.Context, ref Ref) (*rest.Config, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[Ref]int{}
	}
	r.calls[ref]++
	if r.err != nil {
		return nil, r.err
	}
	return &rest.Config{Host: "https://" + ref.Name, BearerToken: strings.Repeat("t", r.calls[ref])}, nil
}

func (r *countingResolver) count(ref Ref) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[ref]
}

type fakeClients struct{ token string }

func buildFake(cfg *rest.Config) (*fakeClients, error) {
	return &fakeClients{token: cfg.BearerToken}, nil
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestClientCacheReusesWithinTTLAndResolvesAfter(t *testing.T) {
	ctx := context.Background()
	r := &countingResolver{}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cache := NewClientCache("kube", "clients", r, buildFake, 10*time.Minute, clock.now)
	blue := Ref{Name: "blue", Region: "eu-west-1"}
	green := Ref{Name: "green", Region: "eu-west-1"}

	c1, cfg1, err := cache.Get(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	if cfg1.Host != "https://blue" || c1.token != "t" {
		t.Fatalf("first Get = %+v, %s", c1, cfg1.Host)
	}
	clock.t = clock.t.Add(9 * time.Minute)
	c2, cfg2, err := cache.Get(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c1 || cfg2 != cfg1 || r.count(blue) != 1 {
		t.Fatalf("within the TTL: got new clients or resolved again (%d calls)", r.count(blue))
	}
	if _, _, err := cache.Get(ctx, green); err != nil || r.count(green) != 1 || r.count(blue) != 1 {
		t.Fatalf("green: err %v, calls green %d blue %d", err, r.count(green), r.count(blue))
	}
	clock.t = clock.t.Add(time.Minute) // exactly the TTL: expired
	c3, _, err := cache.Get(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	if c3 == c1 || c3.token != "tt" || r.count(blue) != 2 {
		t.Fatalf("after the TTL: clients %+v, %d calls; want new clients and 2 calls", c3, r.count(blue))
	}
	if c4, _, _ := cache.Get(ctx, blue); c4 != c3 || r.count(blue) != 2 {
		t.Fatalf("re-resolved clients not cached (%d calls)", r.count(blue))
	}
}

func TestClientCacheZeroTTLCachesNothing(t *testing.T) {
	r := &countingResolver{}
	cache := NewClientCache("velero", "client", r, buildFake, 0, nil)
	ref := Ref{Name: "blue", Region: "eu-west-1"}
	for range 3 {
		if _, _, err := cache.Get(context.Background(), ref); err != nil {
			t.Fatal(err)
		}
	}
	if r.count(ref) != 3 {
		t.Fatalf("resolver called %d times, want 3", r.count(ref))
	}
}

func TestClientCacheErrors(t *testing.T) {
	ctx := context.Background()
	ref := Ref{Name: "blue", Region: "eu-west-1"}

	r := &countingResolver{}
	_, _, err := NewClientCache("argocd", "client", r, buildFake, time.Minute, nil).Get(ctx, Ref{Region: "eu-west-1"})
	if !failures.Is(err, failures.Validation) || failures.Message(err) != "cluster: name is required" {
		t.Fatalf("empty name: %v (type %q)", err, failures.TypeOf(err))
	}
	if len(r.calls) != 0 {
		t.Fatal("empty name reached the resolver")
	}

	_, _, err = NewClientCache[*fakeClients]("argocd", "client", nil, buildFake, time.Minute, nil).Get(ctx, ref)
	if !failures.Is(err, failures.NotImplemented) || failures.Message(err) != "argocd: no cluster resolver configured" {
		t.Fatalf("nil resolver: %v (type %q)", err, failures.TypeOf(err))
	}

	denied := failures.New(failures.AccessDenied, "denied")
	r = &countingResolver{err: denied}
	cache := NewClientCache("kube", "clients", r, buildFake, time.Minute, nil)
	for range 2 {
		_, _, err = cache.Get(ctx, ref)
		if !errors.Is(err, denied) || !failures.Is(err, failures.AccessDenied) || !strings.HasPrefix(err.Error(), "resolve cluster eu-west-1/blue: ") {
			t.Fatalf("resolver error: %v", err)
		}
	}
	if r.count(ref) != 2 {
		t.Fatalf("a failed resolution was cached (%d calls)", r.count(ref))
	}

	boom := errors.New("boom")
	r = &countingResolver{}
	cache = NewClientCache("kube", "clients", r, func(*rest.Config) (*fakeClients, error) { return nil, boom }, time.Minute, nil)
	_, _, err = cache.Get(ctx, ref)
	if !errors.Is(err, boom) || err.Error() != "clients for cluster eu-west-1/blue: boom" {
		t.Fatalf("build error: %v", err)
	}
}

func TestClientCacheConcurrent(t *testing.T) {
	r := &countingResolver{}
	cache := NewClientCache("kube", "clients", r, buildFake, time.Hour, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := Ref{Name: []string{"blue", "green"}[i%2], Region: "eu-west-1"}
			if _, _, err := cache.Get(context.Background(), ref); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
