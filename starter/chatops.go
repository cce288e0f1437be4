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
	"github.com/cutover-dev/cutover/internal/temporalclient"
)

// chatopsCommand runs `cutover chatops serve`: the Slack endpoint whose
// slash command and buttons decide gates through the approve update.
func chatopsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return errors.New("usage: cutover chatops serve [--addr :8080] [--slack-users U1=alice,U2=bob] [--require-mapped-users]")
	}
	fs := flag.NewFlagSet("chatops serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	users := fs.String("slack-users", os.Getenv("CUTOVER_SLACK_USERS"), "map Slack user IDs to approver names (U1=alice,U2=bob)")
	requireMapped := fs.Bool("require-mapped-users", false, "refuse decisions from Slack users not in --slack-users")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	secret := os.Getenv("SLACK_SIGNING_SECRET")
	if secret == "" {
		return errors.New("SLACK_SIGNING_SECRET is not set: every request would be refused")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := temporalclient.Dial(logger)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := []chatops.Option{chatops.WithLogger(logger)}
	if *users != "" {
		m, err := chatops.ParseUserMap(*users)
		if err != nil {
			return fmt.Errorf("--slack-users: %w", err)
		}
		opts = append(opts, chatops.WithUserMap(m))
	}
	if *requireMapped {
		opts = append(opts, chatops.RequireMappedUsers())
	}
	fmt.Fprintf(stdout, "Serving Slack chatops on %s (point the slash command and interactivity URLs here; GET /healthz for probes)\n", *addr)
	return chatops.Serve(ctx, *addr, chatops.NewHandler(chatops.NewTemporalUpdater(c), secret, opts...))
}
