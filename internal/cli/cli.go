// Package cli is the `cutover` command table: validate, start, status,
// watch, approve, reject, abort, result, schedule, chatops, sandbox, demo,
// completion and version, on cobra, one file per command (root.go lists
// them). Package starter runs it with the local servers wired in, and
// cmd/cutover is its main; tests drive App.Run, the very code path people use.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cutover-dev/cutover/internal/tracing"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the command ran and the answer is "no" (refused, failed)
	ExitUsage    = 2 // bad flags, configuration or spec
	ExitInternal = 3 // could not reach Temporal, etc.
)

// App holds the command's dependencies.
type App struct {
	Stdout, Stderr io.Writer
	// Stdin is read by `validate -f -`, `start -f -` and confirmations.
	Stdin io.Reader
	// Terminal says Stdin is a person at a terminal: destructive commands
	// (abort, schedule delete) ask there; otherwise they need --yes.
	Terminal bool
	// Dial connects to Temporal; nil dials with the SDK's environment
	// configuration and the global flags --address, --namespace and
	// --profile on top. Tests point it at their dev server (the flags are
	// then not used).
	Dial func() (client.Client, error)
	// Namespace, for UI links; empty means the one connected to.
	Namespace string
	// PollInterval of `watch`. Default 2s.
	PollInterval time.Duration
	// Demo runs `cutover demo`; nil means not built in.
	Demo func(ctx context.Context, o DemoOptions, stdout, stderr io.Writer) error
	// Sandbox runs `cutover sandbox up|down` with the command line of
	// internal/sandbox's RunCLI; nil means not built in.
	Sandbox func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// New returns the App wired to the process: standard streams, and Temporal
// reached through the environment and the global flags.
func New() *App {
	return &App{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Terminal: term.IsTerminal(int(os.Stdin.Fd()))}
}

// Run executes one command line and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	s := a.session()
	root := s.root()
	if args == nil {
		args = []string{} // cobra reads os.Args for nil
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if s.tracing != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if ferr := s.tracing.Shutdown(fctx); ferr != nil {
			fmt.Fprintln(s.stderr, "cutover: warning:", ferr)
		}
		cancel()
	}
	return s.exit(cmd, err)
}

// Command returns the command table (for documentation and tests: every
// command's help is printed without contacting Temporal). Run executes it.
func (a *App) Command() *cobra.Command { return a.session().root() }

// session is one command line being run: the App, the global flags, and
// what the run learned on the way.
type session struct {
	*App
	stdout, stderr io.Writer
	stdin          io.Reader
	conn           Connection
	output         string
	// started is set once a command's own code runs: an error before it is
	// cobra's (unknown command or flag, wrong arguments), a usage error.
	started bool
	// namespace connected to, for UI links.
	namespace string
	// tracing is set up by the first dial (off without an OTLP endpoint).
	tracing *tracing.Tracing
}

func (a *App) session() *session {
	s := &session{App: a, stdout: a.Stdout, stderr: a.Stderr, stdin: a.Stdin}
	if s.stdout == nil {
		s.stdout = os.Stdout
	}
	if s.stderr == nil {
		s.stderr = os.Stderr
	}
	if s.stdin == nil {
		s.stdin = os.Stdin
	}
	return s
}

// exit prints the error of a run and returns its exit code.
func (s *session) exit(cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	name := "cutover"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(s.stderr, name+": "+ee.msg)
		}
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if !s.started {
		fmt.Fprintf(s.stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
		return ExitUsage
	}
	fmt.Fprintln(s.stderr, name+": "+err.Error())
	return ExitInternal
}

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// UsageError makes err a bad flag or configuration: the command exits 2
// with its message. Code that checks a command's input outside the
// command table (chatops's user map, ...) returns its errors through it.
func UsageError(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: ExitUsage, msg: err.Error()}
}
