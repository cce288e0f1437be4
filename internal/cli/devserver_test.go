package cli_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// devServer is a real Temporal dev server with a worker running the
// workflows against the fake world, all stopped when the test ends.
type devServer struct {
	t      testing.TB
	srv    *sandbox.Temporal
	client client.Client
	world  *fakeworld.World
}

func startDevServer(t *testing.T) *devServer {
	t.Helper()
	return startWorkerOn(t, sandboxtest.Temporal(t))
}

// startWorkerOn runs the worker with the fake world against srv.
func startWorkerOn(t *testing.T, srv *sandbox.Temporal) *devServer {
	t.Helper()
	d := &devServer{t: t, srv: srv, world: fakeworld.New()}
	c, err := d.dial()
	if err != nil {
		t.Fatal(err)
	}
	d.client = c
	t.Cleanup(c.Close)
	w := wiring.NewWorker(c, workflows.TaskQueue, worker.Options{})
	wiring.Register(w, d.world.Activities())
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return d
}

// cutover runs the CLI against the dev server (exit code, stdout, stderr).
func (d *devServer) cutover(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	app := &cli.App{Stdout: &out, Stderr: &errb, Namespace: d.srv.Namespace, PollInterval: 200 * time.Millisecond, Dial: d.dial}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, args)
	return code, out.String(), errb.String()
}

// dial connects a new client, quiet below warnings.
func (d *devServer) dial() (client.Client, error) {
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(d.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	return client.Dial(client.Options{HostPort: d.srv.Address, Namespace: d.srv.Namespace, Logger: quiet})
}
