package cli

import (
	"github.com/spf13/cobra"
)

// DemoOptions are the flags of `cutover demo`.
type DemoOptions struct {
	Dir           string // state and logs; "" is <repo>/.sandbox
	TemporalPort  int
	UIPort        int
	TargetVersion string // green's Kubernetes version
	Start         bool   // start the demo migration (false: --no-start)
	// Second adds a second blue and writes a spec for the UI's Start
	// Workflow form (false: --second=false).
	Second bool
}

func (s *session) demoCmd() *cobra.Command {
	var (
		o       DemoOptions
		noStart bool
	)
	cmd := &cobra.Command{
		Use:   "demo [--no-start]",
		Short: "Sandbox + worker + a demo migration, UI on :8233; Ctrl-C stops all",
		Long: `Start the sandbox, a worker with the real activities pointed at it, a
simulator for what bare apiservers lack (kubelets, controllers, Velero,
Argo CD), and migration cutover-demo (blue on 1.29 to green, Route53 weights
10/50/100); print the commands to follow and approve it.`,
		Example: `  cutover demo
  cutover demo --temporal-port 7234 --ui-port 8234 --version 1.30
  cutover demo --no-start            # everything up, no migration started
  cutover demo --second=false        # only the seeded blue (two apiservers fewer)`,
		Args:        noArgs,
		Annotations: textOnlyAnnotation(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if s.Demo == nil {
				return &exitError{code: ExitInternal, msg: "demo: not built into this binary"}
			}
			o.Start = !noStart
			return s.Demo(cmd.Context(), o, s.stdout, s.stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "state and logs directory, emptied at start (default <repo>/.sandbox)")
	f.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal frontend port")
	f.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web UI port")
	f.StringVar(&o.TargetVersion, "version", "1.31", "green's Kubernetes version")
	f.BoolVar(&noStart, "no-start", false, "bring everything up but do not start the demo migration")
	f.BoolVar(&o.Second, "second", true, "add a second blue (api-blue) and print a migration of it to start from the Temporal UI (written to <dir>/ui-migration.json)")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}
