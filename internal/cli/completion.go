package cli

import (
	"github.com/spf13/cobra"
)

func (s *session) completionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script of cutover for a shell: commands, flags, and
the values of -o and --gate. Completion never contacts Temporal.`,
		Example: `  source <(cutover completion bash)                      # bash, this shell
  cutover completion bash > /etc/bash_completion.d/cutover  # bash, every shell
  cutover completion zsh > "${fpath[1]}/_cutover"          # zsh
  cutover completion fish | source                         # fish`,
		ValidArgs:   []string{"bash", "zsh", "fish", "powershell"},
		Annotations: textOnlyAnnotation(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || cobra.OnlyValidArgs(cmd, args) != nil {
				return usageErr("usage: %s bash|zsh|fish|powershell (got %q)", cmd.CommandPath(), args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(s.stdout, true)
			case "zsh":
				return root.GenZshCompletion(s.stdout)
			case "fish":
				return root.GenFishCompletion(s.stdout, true)
			default:
				return root.GenPowerShellCompletionWithDesc(s.stdout)
			}
		},
	}
}
