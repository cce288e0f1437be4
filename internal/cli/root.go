package cli

import (
	"github.com/spf13/cobra"
)

// The output formats of -o.
const (
	outputText = "text"
	outputJSON = "json"
	outputYAML = "yaml"
)

// textOnly marks a command that prints for people only (a server, a
// completion script): -o json|yaml is refused rather than ignored.
const textOnly = "cutover/text-only"

// root is the command table: every command of `cutover`, in one place.
func (s *session) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "cutover",
		Short: "Blue/green EKS cluster migrations on Temporal",
		Long: `cutover: blue/green EKS cluster migrations on Temporal.

Every command prints for people by default, and JSON or YAML with -o json|yaml.
Temporal is reached through the SDK's environment configuration
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, a
profile in TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE); --address, --namespace and
--profile override it. The default is the dev server at 127.0.0.1:7233.

Exit codes: 0 done, 1 refused or failed, 2 bad usage, configuration or spec
(nothing is started), 3 could not reach Temporal.`,
		Example: `  cutover validate -f deploy/examples/route53-weighted.json
  cutover start -f deploy/examples/route53-weighted.json
  cutover watch cutover-shop-prod-1-31
  cutover approve cutover-shop-prod-1-31 --gate cutover --by alice
  cutover --address temporal.example.com:7233 --namespace migrations status cutover-shop-prod-1-31 -o yaml`,
		Args:              cobra.ArbitraryArgs,
		RunE:              s.group,
		PersistentPreRunE: s.before,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetIn(s.stdin)
	pf := root.PersistentFlags()
	pf.StringVarP(&s.output, "output", "o", outputText, "output format: text, json or yaml")
	pf.StringVar(&s.conn.Address, "address", "", "Temporal frontend host:port (overrides TEMPORAL_ADDRESS and the profile)")
	pf.StringVar(&s.conn.Namespace, "namespace", "", "Temporal namespace (overrides TEMPORAL_NAMESPACE and the profile)")
	pf.StringVar(&s.conn.Profile, "profile", "", "profile of the Temporal config file TEMPORAL_CONFIG_FILE (overrides TEMPORAL_PROFILE)")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletions(outputText, outputJSON, outputYAML))
	_ = root.RegisterFlagCompletionFunc("address", noCompletions)
	_ = root.RegisterFlagCompletionFunc("namespace", noCompletions)
	_ = root.RegisterFlagCompletionFunc("profile", noCompletions)

	root.AddGroup(
		&cobra.Group{ID: groupMigrations, Title: "Migrations:"},
		&cobra.Group{ID: groupFleet, Title: "Fleet upgrades:"},
		&cobra.Group{ID: groupServers, Title: "Servers:"},
		&cobra.Group{ID: groupOther, Title: "Other:"},
	)
	root.SetHelpCommandGroupID(groupOther)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupMigrations, s.validateCmd(), s.startCmd(), s.statusCmd(), s.watchCmd(), s.approveCmd(), s.rejectCmd(), s.abortCmd(), s.resultCmd(), s.reportCmd())
	add(groupFleet, s.scheduleCmd(), s.fleetCmd())
	add(groupServers, s.chatopsCmd(), s.sandboxCmd(), s.demoCmd())
	add(groupOther, s.completionCmd(), s.versionCmd())
	add(groupOther, s.iamPolicyCmd())
	return root
}

// The groups of commands in `cutover --help`.
const (
	groupMigrations = "migrations"
	groupFleet      = "fleet"
	groupServers    = "servers"
	groupOther      = "other"
)

// before runs ahead of every command's own code: the global flags are
// checked, then the command starts (its errors are no longer cobra's).
func (s *session) before(cmd *cobra.Command, _ []string) error {
	switch s.output {
	case outputText, outputJSON, outputYAML:
	case reportMarkdown, reportHTML:
		if cmd.Annotations[reportFormats] == "" {
			return usageErr("-o %s is for \"cutover report\"; %s takes text, json or yaml", s.output, cmd.CommandPath())
		}
	default:
		if cmd.Annotations[reportFormats] != "" {
			return usageErr("-o must be md, html, json or yaml, got %q", s.output)
		}
		return usageErr("-o must be text, json or yaml, got %q", s.output)
	}
	if s.output != outputText && cmd.Annotations[textOnly] != "" {
		return usageErr("-o %s: %s prints for people only", s.output, cmd.CommandPath())
	}
	s.started = true
	return nil
}

// group is the action of a command that only holds others (cutover,
// schedule, chatops, sandbox): without one of them it is a usage error.
func (s *session) group(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("unknown command %q for %q\nRun '%s --help' for usage.", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	_ = cmd.Help()
	return &exitError{code: ExitUsage}
}

// noArgs refuses positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("%s takes no arguments, got %q\nRun '%s --help' for usage.", cmd.CommandPath(), args, cmd.CommandPath())
	}
	return nil
}

// workflowIDArg takes exactly one WORKFLOW_ID.
func workflowIDArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("usage: %s WORKFLOW_ID (got %d arguments)", cmd.CommandPath(), len(args))
	}
	return nil
}

// textOnlyAnnotation marks a command for textOnly.
func textOnlyAnnotation() map[string]string { return map[string]string{textOnly: "true"} }

func fixedCompletions(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// noCompletions completes nothing: workflow IDs would need Temporal, and
// completion never contacts it.
func noCompletions(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}
