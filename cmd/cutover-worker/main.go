// Command cutover-worker runs cutover's workflows and activities (package
// worker): configured by the environment, it serves until SIGINT/SIGTERM
// and drains in-flight activities.
package main

import (
	"os"

	"github.com/cutover-dev/cutover/worker"
)

func main() { os.Exit(worker.Main()) }
