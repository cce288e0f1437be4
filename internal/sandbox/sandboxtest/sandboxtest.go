// Package sandboxtest starts sandbox servers from tests. Each helper starts
// the server(s), registers t.Cleanup to stop them, and fails the test (never
// skips) when a tool is missing: run `make tools`.
package sandboxtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/sandbox"
)

// StartTimeout bounds how long a helper waits for its servers.
const StartTimeout = 2 * time.Minute

// Options returns the options the helpers use: a per-test directory and the
// sandbox's messages in the test output.
func Options(t testing.TB) sandbox.Options {
	t.Helper()
	return sandbox.Options{Dir: t.TempDir(), Log: t.Output()}
}

// Temporal starts a Temporal dev server (headless, in memory).
func Temporal(t testing.TB) *sandbox.Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	s, err := sandbox.StartTemporal(ctx, Options(t))
	check(t, "Temporal dev server", err)
	t.Cleanup(func() { stop(t, "Temporal dev server", s.Stop) })
	return s
}

// TemporalWithUI starts a Temporal dev server with its Web UI
// (UIAddress), in memory.
func TemporalWithUI(t testing.TB) *sandbox.Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	o := Options(t)
	o.TemporalUI = true
	s, err := sandbox.StartTemporal(ctx, o)
	check(t, "Temporal dev server", err)
	t.Cleanup(func() { stop(t, "Temporal dev server", s.Stop) })
	return s
}

// Moto starts a moto server (not seeded; see sandbox.SeedAWS).
func Moto(t testing.TB) *sandbox.Moto {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	s, err := sandbox.StartMoto(ctx, Options(t))
	check(t, "moto server", err)
	t.Cleanup(func() { stop(t, "moto server", s.Stop) })
	return s
}

// Kube starts an empty Kubernetes cluster named name (etcd +
// kube-apiserver, no CRDs; see sandbox.InstallCRDs). opts adjust the
// options (e.g. a short KubeTokenMaxAge).
func Kube(t testing.TB, name string, opts ...func(*sandbox.Options)) *sandbox.Kube {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	o := Options(t)
	for _, f := range opts {
		f(&o)
	}
	s, err := sandbox.StartKube(ctx, name, o)
	check(t, "Kubernetes cluster "+name, err)
	t.Cleanup(func() { stop(t, "Kubernetes cluster "+name, s.Stop) })
	return s
}

func check(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var missing *sandbox.ToolMissingError
	if errors.As(err, &missing) {
		// Never skip: a missing tool is a broken setup, not an optional test.
		t.Fatalf("start %s: %v (the tools are installed by `make tools`)", what, err)
	}
	t.Fatalf("start %s: %v", what, err)
}

func stop(t testing.TB, what string, f func() error) {
	if err := f(); err != nil {
		t.Errorf("stop %s: %v", what, err)
	}
}

// Full brings the whole sandbox up (sandbox.Up): Temporal, moto seeded with
// the blue estate, clusters blue and green with the CRDs, blue's workloads.
func Full(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	s, err := sandbox.Up(ctx, Options(t))
	check(t, "sandbox", err)
	t.Cleanup(func() { stop(t, "sandbox", s.Down) })
	return s
}
