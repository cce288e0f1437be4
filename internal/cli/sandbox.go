package cli

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (s *session) sandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Local Temporal, kube-apiservers (blue, green) and moto, for tests and the demo",
		Long: `Run the local sandbox: a Temporal dev server, moto (AWS over its real wire
protocol) and two kube-apiservers (blue, seeded; green, empty), on loopback
only. ` + "`sandbox up`" + ` writes <dir>/env to point the CLI and the worker at it.`,
		Example: `  cutover sandbox up                 # prints the ports; Ctrl-C stops everything
  set -a; . .sandbox/env; set +a     # TEMPORAL_ADDRESS, CUTOVER_AWS_ENDPOINT, CUTOVER_KUBECONFIG_DIR, ...
  cutover sandbox down               # from another shell`,
		Args: cobra.ArbitraryArgs,
		RunE: s.group,
	}
	cmd.AddCommand(s.sandboxUpCmd(), s.sandboxDownCmd())
	return cmd
}

func (s *session) sandboxUpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up [flags]",
		Short: "Start the sandbox and serve until Ctrl-C (or `sandbox down`)",
		Example: `  cutover sandbox up
  cutover sandbox up --temporal-port 7233 --ui-port 8233 -v
  cutover sandbox up --headless --dir /tmp/sb`,
		Args:        noArgs,
		Annotations: textOnlyAnnotation(),
	}
	f := cmd.Flags()
	f.String("dir", "", "state and logs directory, emptied at start (default <repo>/.sandbox)")
	f.Int("temporal-port", 0, "Temporal frontend port (0: a free port)")
	f.Int("ui-port", 0, "Temporal Web UI port (0: a free port)")
	f.Bool("headless", false, "do not serve the Temporal Web UI")
	f.String("temporal-db", "", "keep Temporal state in this SQLite file (default: in memory)")
	f.Duration("kube-token-max-age", 20*time.Second, "how long the clusters accept an EKS token after it is signed (EKS: 15m)")
	f.BoolP("v", "v", false, "log the sandbox's progress to stderr")
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagFilename("temporal-db")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if d, _ := f.GetDuration("kube-token-max-age"); f.Changed("kube-token-max-age") && d <= 0 {
			return usageErr("--kube-token-max-age must be positive, not %s", d)
		}
		return s.sandbox(cmd, "up")
	}
	return cmd
}

func (s *session) sandboxDownCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "down [--dir DIR]",
		Short: "Stop a sandbox started by `sandbox up` in another shell or in the background",
		Example: `  cutover sandbox down
  cutover sandbox down --dir /tmp/sb`,
		Args:        noArgs,
		Annotations: textOnlyAnnotation(),
		RunE:        func(cmd *cobra.Command, _ []string) error { return s.sandbox(cmd, "down") },
	}
	cmd.Flags().String("dir", "", "state and logs directory of the running sandbox (default <repo>/.sandbox)")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// sandbox runs `sandbox up|down` through App.Sandbox with the flags given
// on the command line (the sandbox's own defaults apply to the others).
func (s *session) sandbox(cmd *cobra.Command, sub string) error {
	if s.Sandbox == nil {
		return &exitError{code: ExitInternal, msg: "sandbox: not built into this binary"}
	}
	args := []string{sub}
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	return s.Sandbox(cmd.Context(), args, s.stdout, s.stderr)
}
