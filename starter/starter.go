// Package starter is the `cutover` program that cmd/cutover runs: the
// command table of internal/cli with the commands that need the local
// servers wired in (`sandbox up|down`, `demo`), SIGINT/SIGTERM cancelling
// the command, and its exit code.
package starter

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
)

// New returns the CLI as cmd/cutover runs it, wired to the process.
func New() *cli.App {
	app := cli.New()
	app.Sandbox = sandbox.RunCLI
	app.Demo = runDemo
	return app
}

// Main runs the command line of the process and returns its exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return New().Run(ctx, os.Args[1:])
}

// runDemo runs `cutover demo`.
func runDemo(ctx context.Context, o cli.DemoOptions, stdout, _ io.Writer) error {
	return demo.Run(ctx, demo.Options{Dir: o.Dir, TemporalPort: o.TemporalPort, UIPort: o.UIPort, TargetVersion: o.TargetVersion, Start: o.Start, SecondMigration: o.Second, Stdout: stdout})
}
