package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/cutover-dev/cutover/internal/chatops"
	"github.com/spf13/cobra"
)

func (s *session) chatopsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chatops",
		Short: "The Slack endpoint that decides gates from chat",
		Example: `  SLACK_SIGNING_SECRET=... cutover chatops serve --addr :8080 --user-map slack-users.json
  SLACK_SIGNING_SECRET=... cutover chatops serve --slack-users U0123ABC=alice,U0456DEF=bob`,
		Args: cobra.ArbitraryArgs,
		RunE: s.group,
	}
	cmd.AddCommand(s.chatopsServeCmd())
	return cmd
}

func (s *session) chatopsServeCmd() *cobra.Command {
	var (
		addr string
		who  chatops.ServeFlags
	)
	cmd := &cobra.Command{
		Use:   "serve --user-map FILE | --slack-users U0123ABC=alice,... [--addr :8080]",
		Short: "Serve the Slack slash command and buttons (mapped Slack users only)",
		Long: `Serve the endpoint of a Slack app: the slash command
/cutover approve|reject <workflow-id> <gate> [comment] and the Approve/Reject
buttons on gate messages go through the same approve update as the CLI, so a
refusal is answered in the channel. SLACK_SIGNING_SECRET verifies every
request; a signed request is taken once. Only Slack users in the user map
decide, under the approver name the map gives them. GET /healthz for probes.

Refuses to start (exit 2) without SLACK_SIGNING_SECRET or with an empty user
map (unless --allow-unmapped-users, for sandboxes and demos only).`,
		Example: `  SLACK_SIGNING_SECRET=... cutover chatops serve --addr :8080 --user-map slack-users.json
  SLACK_SIGNING_SECRET=... cutover chatops serve --slack-users U0123ABC=alice,U0456DEF=bob --user-map-hint "#platform-oncall"`,
		Args:        noArgs,
		Annotations: textOnlyAnnotation(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret := os.Getenv("SLACK_SIGNING_SECRET")
			if secret == "" {
				return UsageError(errors.New("SLACK_SIGNING_SECRET is not set: every request would be refused"))
			}
			opts, err := who.Options()
			if err != nil {
				return UsageError(err)
			}
			logger := slog.New(slog.NewTextHandler(s.stderr, nil))
			c, err := s.dial(logger)
			if err != nil {
				return err
			}
			defer c.Close()
			opts = append(opts, chatops.WithLogger(logger))
			fmt.Fprintf(s.stdout, "Serving Slack chatops on %s (point the slash command and interactivity URLs here; GET /healthz for probes)\n", addr)
			return chatops.Serve(cmd.Context(), addr, chatops.NewHandler(chatops.NewTemporalUpdater(c), secret, opts...))
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	// The user-map flags are chatops's own, with its environment defaults.
	fs := flag.NewFlagSet("chatops serve", flag.ContinueOnError)
	who.Register(fs)
	cmd.Flags().AddGoFlagSet(fs)
	_ = cmd.MarkFlagFilename("user-map")
	return cmd
}
