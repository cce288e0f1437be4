// Command record-histories starts a Temporal dev server from bin/ (or uses
// TEMPORAL_ADDRESS when set), runs every scenario of package histories and
// writes their histories for the replay test. Run it through
// scripts/record-histories.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/cutover-dev/cutover/internal/histories"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

func main() {
	out := flag.String("out", "workflows/testdata/histories", "directory for the histories")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "record-histories:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		srv, err := sandbox.StartTemporal(ctx, sandbox.Options{Log: os.Stderr})
		if err != nil {
			return err
		}
		defer srv.Stop()
		addr = srv.Address
	}
	c, err := client.Dial(client.Options{HostPort: addr, Logger: tlog.NewStructuredLogger(logger)})
	if err != nil {
		return err
	}
	defer c.Close()
	return histories.Record(ctx, c, out, func(f string, a ...any) { fmt.Printf(f+"\n", a...) })
}
