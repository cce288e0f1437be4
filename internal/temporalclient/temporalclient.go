// Package temporalclient connects the worker and the CLI to Temporal with
// the SDK's environment configuration: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_* and the TOML profile in
// TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE, exactly as the temporal CLI reads them.
package temporalclient

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// DefaultAddress is where `make dev` starts the dev server.
const DefaultAddress = "127.0.0.1:7233"

// Options loads client options from the environment. Address and namespace
// fall back to the dev server's.
func Options(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("load Temporal client configuration from the environment: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if logger != nil {
		opts.Logger = log.NewStructuredLogger(logger)
	}
	return opts, nil
}

// Dial connects with Options.
func Dial(logger *slog.Logger) (client.Client, error) {
	opts, err := Options(logger)
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

// UIBase is the Temporal UI's base URL: CUTOVER_UI_URL, or the dev server's.
func UIBase() string {
	if u := os.Getenv("CUTOVER_UI_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return "http://127.0.0.1:8233"
}

// WorkflowURL links to a workflow in the UI.
func WorkflowURL(namespace, workflowID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", UIBase(), url.PathEscape(namespace), url.PathEscape(workflowID))
}
