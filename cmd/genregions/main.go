// Command genregions writes internal/spec/regions_gen.go: the AWS regions
// of the partition data shipped in the pinned aws-sdk-go-v2 module
// (internal/endpoints/awsrulesfn/partitions.json), so that a region in a
// spec is checked against the SDK's own list rather than a pattern.
//
//	go run ./cmd/genregions -out internal/spec/regions_gen.go
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/cutover-dev/cutover/internal/spec/regiondata"
)

func main() {
	out := flag.String("out", "internal/spec/regions_gen.go", "file to write")
	flag.Parse()
	src, err := regiondata.Source()
	if err != nil {
		log.Fatal(err)
	}
	code, err := regiondata.Generate(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s from %s\n", *out, src)
}
