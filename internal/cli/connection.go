package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/cutover-dev/cutover/internal/temporalclient"
	"github.com/cutover-dev/cutover/internal/tracing"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// Connection is what the global flags say about reaching Temporal. Each
// one given overrides the SDK's environment configuration, which the
// worker reads too (temporalclient): --address over TEMPORAL_ADDRESS,
// --namespace over TEMPORAL_NAMESPACE, --profile over TEMPORAL_PROFILE; an
// address or namespace of the profile is overridden like the environment's.
type Connection struct {
	Address   string // --address host:port
	Namespace string // --namespace
	Profile   string // --profile, in TEMPORAL_CONFIG_FILE (or the default config file)
}

// ClientOptions loads the environment configuration (TEMPORAL_*, the
// config file's profile) and applies the flags on top. Address and
// namespace fall back to the dev server's, as in temporalclient.Options.
func (c Connection) ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{ConfigFileProfile: c.Profile})
	if err != nil {
		return client.Options{}, fmt.Errorf("load Temporal client configuration: %w", err)
	}
	if c.Address != "" {
		opts.HostPort = c.Address
	}
	if c.Namespace != "" {
		opts.Namespace = c.Namespace
	}
	if opts.HostPort == "" {
		opts.HostPort = temporalclient.DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if logger != nil {
		opts.Logger = log.NewStructuredLogger(logger)
	}
	return opts, nil
}

// dial connects to Temporal: App.Dial when set, else ClientOptions of the
// global flags. A configuration that cannot be loaded (a missing profile,
// a bad config file) is a usage error; a server that cannot be reached is
// not.
func (s *session) dial(logger *slog.Logger) (client.Client, error) {
	if s.Dial != nil {
		return s.Dial()
	}
	opts, err := s.conn.ClientOptions(logger)
	if err != nil {
		return nil, UsageError(err)
	}
	// Traces of the CLI's calls (start, signal, update, query) join the
	// workflow's when an OTLP endpoint is configured; Run flushes them.
	if s.tracing == nil {
		tr, err := tracing.Setup(context.Background(), "cutover", os.Getenv)
		if err != nil {
			return nil, err
		}
		s.tracing = tr
	}
	if s.tracing.Interceptor != nil {
		opts.Interceptors = append(opts.Interceptors, s.tracing.Interceptor)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	s.namespace = opts.Namespace
	return c, nil
}

// uiNamespace is the namespace of the UI links: the App's, or the one
// connected to (--namespace, the environment's, the profile's).
func (s *session) uiNamespace() string {
	switch {
	case s.Namespace != "":
		return s.Namespace
	case s.namespace != "":
		return s.namespace
	}
	return "default"
}
