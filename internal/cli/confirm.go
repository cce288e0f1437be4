package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// yesFlag adds --yes to a destructive command.
func yesFlag(cmd *cobra.Command, yes *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do it without asking (required when stdin is not a terminal)")
}

// confirm lets a destructive command go ahead: with --yes, or when the
// person at the terminal answers y to question. Without a terminal to ask
// it is a usage error (exit 2): a script must say --yes.
func (s *session) confirm(yes bool, cmd *cobra.Command, question string) error {
	if yes {
		return nil
	}
	if !s.Terminal {
		return usageErr("refusing without --yes: %s is destructive and stdin is not a terminal to ask", cmd.CommandPath())
	}
	fmt.Fprintf(s.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(s.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &exitError{code: ExitFailed, msg: "not confirmed; nothing was done"}
}
