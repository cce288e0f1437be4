// Command cutover is the CLI of cutover: start, validate, follow, approve,
// reject and abort blue/green EKS migrations, and run the local sandbox.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cutover-dev/cutover/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := cli.New()
	app.Sandbox = sandboxCommand
	app.Demo = demoCommand
	app.Chatops = chatopsCommand
	code := app.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
