package chatops

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// DefaultMaxRemembered bounds how many signatures the replay guard holds.
// An entry lives at most 2×MaxClockSkew (a timestamp up to 5 minutes in the
// future, kept until it is 5 minutes old), and only requests with a valid
// signature are remembered, so this is far above what Slack sends one app
// in ten minutes; ~100 bytes an entry.
const DefaultMaxRemembered = 50_000

// Errors of the replay guard.
var (
	// ErrReplayed is a validly signed request that was already received.
	// Slack does not retry slash commands or interactivity requests (only
	// Events API deliveries, which this endpoint does not serve), so a
	// second copy is never Slack's: someone is replaying a captured request.
	ErrReplayed = errors.New("request already received (replayed signature)")
	// ErrReplayMemoryFull means DefaultMaxRemembered live signatures are
	// held: new requests are refused rather than old signatures forgotten.
	ErrReplayMemoryFull = errors.New("too many recent requests to remember for replay protection")
	errExpired          = errors.New("request timestamp is older than the replay window")
)

// replayGuard remembers the signature of each request it lets through until
// the request's timestamp leaves the MaxClockSkew window, after which
// verifySignature refuses the request as stale anyway. Expired entries are
// dropped on every call. The memory is per process: with several chatops
// replicas a replay sent to another replica is not seen.
type replayGuard struct {
	mu     sync.Mutex
	max    int
	seen   map[[32]byte]time.Time // signature -> when it leaves the window
	queue  expiryHeap
	latest time.Time // the latest clock reading seen, against clocks stepping back
}

func newReplayGuard(max int) *replayGuard {
	return &replayGuard{max: max, seen: map[[32]byte]time.Time{}}
}

// admit records sig of a request signed at ts and reports ErrReplayed if it
// was already recorded.
func (g *replayGuard) admit(sig [32]byte, ts, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// If the clock stepped back, keep judging by the latest reading: an
	// entry dropped at that reading must not become acceptable again.
	if now.Before(g.latest) {
		now = g.latest
	}
	g.latest = now
	g.expire(now)
	expires := ts.Add(MaxClockSkew)
	if now.After(expires) {
		return errExpired
	}
	if _, ok := g.seen[sig]; ok {
		return ErrReplayed
	}
	if len(g.seen) >= g.max {
		return ErrReplayMemoryFull
	}
	g.seen[sig] = expires
	heap.Push(&g.queue, remembered{sig: sig, expires: expires})
	return nil
}

// expire drops every entry whose window has passed at now.
func (g *replayGuard) expire(now time.Time) {
	for len(g.queue) > 0 && now.After(g.queue[0].expires) {
		e := heap.Pop(&g.queue).(remembered)
		delete(g.seen, e.sig)
	}
}

func (g *replayGuard) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

type remembered struct {
	sig     [32]byte
	expires time.Time
}

// expiryHeap is a min-heap of remembered signatures by expiry.
type expiryHeap []remembered

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(remembered)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
