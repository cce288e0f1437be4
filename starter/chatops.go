package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cutover-dev/cutover/internal/chatops"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/temporalclient"
)

// chatopsCommand runs `cutover chatops serve`: the Slack endpoint whose
// slash command and buttons decide gates through the approve update.
func chatopsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return cli.UsageError(errors.New("usage: cutover chatops serve [--addr :8080] --user-map FILE | --slack-users U0123ABC=alice,... [--user-map-hint TEXT] [--allow-unmapped-users]"))
	}
	fs := flag.NewFlagSet("chatops serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	var who chatops.ServeFlags
	who.Register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return cli.UsageError(err)
	}
	secret := os.Getenv("SLACK_SIGNING_SECRET")
	if secret == "" {
		return cli.UsageError(errors.New("SLACK_SIGNING_SECRET is not set: every request would be refused"))
	}
	opts, err := who.Options()
	if err != nil {
		return cli.UsageError(err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := temporalclient.Dial(logger)
	if err != nil {
		return err
	}
	defer c.Close()
	opts = append(opts, chatops.WithLogger(logger))
	fmt.Fprintf(stdout, "Serving Slack chatops on %s (point the slash command and interactivity URLs here; GET /healthz for probes)\n", *addr)
	return chatops.Serve(ctx, *addr, chatops.NewHandler(chatops.NewTemporalUpdater(c), secret, opts...))
}
