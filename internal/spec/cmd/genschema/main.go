// Command genschema writes the JSON Schema of MigrationSpec to
// deploy/schema/migration-spec.schema.json (or -out). `make schema` runs it;
// a test fails when the committed file is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cutover-dev/cutover/internal/spec"
)

func main() {
	out := flag.String("out", "deploy/schema/migration-spec.schema.json", "output file")
	flag.Parse()
	b, err := spec.Schema()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
