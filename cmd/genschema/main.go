// Command genschema writes the JSON Schemas of the documents people write:
// the migration spec (deploy/schema/migration-spec.schema.json) and the
// fleet file (deploy/schema/fleet.schema.json). `make schema` runs it; tests
// fail when a committed file is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

func main() {
	out := flag.String("out", "deploy/schema/migration-spec.schema.json", "migration spec schema file")
	fleetOut := flag.String("fleet-out", "", "fleet schema file (default: fleet.schema.json beside -out)")
	fleetSource := flag.String("fleet-source", "workflows/fleet.go", "Go source with the fleet types' comments")
	flag.Parse()
	if *fleetOut == "" {
		*fleetOut = filepath.Join(filepath.Dir(*out), "fleet.schema.json")
	}
	b, err := spec.Schema()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fail(err)
	}
	src, err := os.ReadFile(*fleetSource)
	if err != nil {
		fail(err)
	}
	fb, err := workflows.FleetSchema(string(src))
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*fleetOut, fb, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genschema:", err)
	os.Exit(1)
}
