// Command cutover is the CLI of cutover: start, validate, follow, approve,
// reject and abort blue/green EKS migrations, schedule fleet upgrades,
// serve chatops, and run the local sandbox. The program is package
// starter; its commands are internal/cli.
package main

import (
	"os"

	"github.com/cutover-dev/cutover/starter"
)

func main() { os.Exit(starter.Main()) }
