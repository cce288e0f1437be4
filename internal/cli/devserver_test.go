package cli_test

import (
	"log/slog"
	"testing"

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
	d := &devServer{t: t, srv: sandboxtest.Temporal(t), world: fakeworld.New()}
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

// dial connects a new client, quiet below warnings.
func (d *devServer) dial() (client.Client, error) {
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(d.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	return client.Dial(client.Options{HostPort: d.srv.Address, Namespace: d.srv.Namespace, Logger: quiet})
}
