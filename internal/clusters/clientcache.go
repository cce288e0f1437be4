package clusters

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/failures"
)

// ClientCache keeps the clients of each cluster built from the Resolver's
// rest.Config, and reuses them for a TTL, after which the Resolver is asked
// again (a changed kubeconfig, a cluster's new endpoint). Credentials do not
// depend on the TTL: the Resolvers' configs carry a TokenSource
// (WithTokenSource), so a cached client, and a wait holding one, sends a
// valid token on every request however long it lives. It is
// safe for concurrent use; the Resolver and build run without the lock held,
// so two concurrent misses of one cluster may both resolve (the last one is
// kept).
type ClientCache[C any] struct {
	owner    string
	what     string
	resolver Resolver
	build    func(*rest.Config) (C, error)
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	entries map[Ref]cacheEntry[C]
}

type cacheEntry[C any] struct {
	clients C
	cfg     *rest.Config
	expires time.Time
}

// NewClientCache returns an empty cache. owner names the package in the
// error returned when r is nil ("kube: no cluster resolver configured");
// what names what build returns in its errors ("clients for cluster
// eu-west-1/green: ..."). A ttl of 0 or less caches nothing. now is the
// clock (time.Now when nil).
func NewClientCache[C any](owner, what string, r Resolver, build func(*rest.Config) (C, error), ttl time.Duration, now func() time.Time) *ClientCache[C] {
	if now == nil {
		now = time.Now
	}
	return &ClientCache[C]{owner: owner, what: what, resolver: r, build: build, ttl: ttl, now: now, entries: map[Ref]cacheEntry[C]{}}
}

// Get returns the clients of ref and the rest.Config they were built from,
// resolving and building them when they are missing or older than the TTL.
// An empty ref.Name is a Validation failure; a nil Resolver is
// NotImplemented.
func (c *ClientCache[C]) Get(ctx context.Context, ref Ref) (C, *rest.Config, error) {
	var zero C
	if ref.Name == "" {
		return zero, nil, failures.New(failures.Validation, "cluster: name is required")
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[ref]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.clients, e.cfg, nil
	}
	if c.resolver == nil {
		return zero, nil, failures.New(failures.NotImplemented, "%s: no cluster resolver configured", c.owner)
	}
	cfg, err := c.resolver.RESTConfig(ctx, ref)
	if err != nil {
		return zero, nil, fmt.Errorf("resolve cluster %s: %w", ref, err)
	}
	cl, err := c.build(cfg)
	if err != nil {
		return zero, nil, fmt.Errorf("%s for cluster %s: %w", c.what, ref, err)
	}
	c.mu.Lock()
	c.entries[ref] = cacheEntry[C]{clients: cl, cfg: cfg, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return cl, cfg, nil
}
