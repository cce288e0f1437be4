package main

import (
	"context"
	"flag"
	"io"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
)

// sandboxCommand runs `cutover sandbox up|down`.
func sandboxCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sandbox.RunCLI(ctx, args, stdout, stderr)
}

// demoCommand runs `cutover demo`.
func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "state and logs directory (default <repo>/.sandbox; emptied at start)")
	port := fs.Int("temporal-port", 7233, "Temporal frontend port")
	ui := fs.Int("ui-port", 8233, "Temporal Web UI port")
	version := fs.String("version", "1.31", "green's Kubernetes version")
	noStart := fs.Bool("no-start", false, "bring everything up but do not start the demo migration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return demo.Run(ctx, demo.Options{Dir: *dir, TemporalPort: *port, UIPort: *ui, TargetVersion: *version, Start: !*noStart, Stdout: stdout})
}
