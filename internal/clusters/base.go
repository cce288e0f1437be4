package clusters

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// DefaultClientTTL is how long a cluster's clients are reused before the
// Resolver is asked again (EKS tokens last 15 minutes).
const DefaultClientTTL = 10 * time.Minute

// Settings are the settings every activity package that reaches clusters
// through a Resolver has (kube, argocd, velero). Each embeds them in its
// options, and its WithClientFactory, WithClientTTL, WithPollInterval and
// WithLogger options set them.
type Settings[C any] struct {
	// Factory builds the clients of a cluster from its rest.Config.
	Factory func(*rest.Config) (C, error)
	// ClientTTL bounds how long a cluster's clients are reused.
	ClientTTL time.Duration
	// Poll is the interval of the package's waits.
	Poll time.Duration
	// Logger is used outside a Temporal activity (tests, the CLI); inside
	// one the activity logger is.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// DefaultSettings are the defaults of a package whose clients factory
// builds and whose waits poll every poll: clients kept DefaultClientTTL,
// slog's default logger, time.Now.
func DefaultSettings[C any](factory func(*rest.Config) (C, error), poll time.Duration) Settings[C] {
	return Settings[C]{Factory: factory, ClientTTL: DefaultClientTTL, Poll: poll, Logger: slog.Default(), Now: time.Now}
}

// Base is what the activity structs of those packages hold to reach a
// cluster: the client cache over the Resolver, and the logger.
type Base[C any] struct {
	cache  *ClientCache[C]
	logger *slog.Logger
}

// NewBase completes s after the package's options ran (a Factory, Logger or
// Now left nil and a Poll of 0 or less take the value in defaults) and
// returns the Base that reaches clusters through r. owner and what name the
// package and its clients in errors (see NewClientCache).
func NewBase[C any](owner, what string, r Resolver, s *Settings[C], defaults Settings[C]) Base[C] {
	if s.Factory == nil {
		s.Factory = defaults.Factory
	}
	if s.Poll <= 0 {
		s.Poll = defaults.Poll
	}
	if s.Logger == nil {
		s.Logger = defaults.Logger
	}
	if s.Now == nil {
		s.Now = defaults.Now
	}
	return Base[C]{cache: NewClientCache(owner, what, r, s.Factory, s.ClientTTL, s.Now), logger: s.Logger}
}

// Clients returns the clients of ref and the rest.Config they were built
// from (see ClientCache.Get).
func (b Base[C]) Clients(ctx context.Context, ref Ref) (C, *rest.Config, error) {
	return b.cache.Get(ctx, ref)
}

// Log returns the activity logger inside an activity and the Settings'
// Logger outside one.
func (b Base[C]) Log(ctx context.Context) activitylog.Logger {
	return activitylog.For(ctx, b.logger)
}
