package spec

import (
	"bytes"
	"os"
	"testing"

	"github.com/cutover-dev/cutover/internal/spec/regiondata"
)

// TestRegionTableIsCurrent keeps regions_gen.go equal to the partition data
// of the aws-sdk-go-v2 version in go.mod.
func TestRegionTableIsCurrent(t *testing.T) {
	src, err := regiondata.Source()
	if err != nil {
		t.Fatal(err)
	}
	want, err := regiondata.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("regions_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("regions_gen.go is stale: run go run ./cmd/genregions -out internal/spec/regions_gen.go")
	}
	for _, r := range []string{"eu-west-1", "us-gov-west-1", "cn-north-1"} {
		if !knownRegions[r] {
			t.Errorf("%s missing from the table", r)
		}
	}
}

func TestVersionTable(t *testing.T) {
	vs := KnownEKSVersions()
	prev := 0
	for _, v := range vs {
		m, ok := MinorVersion(v.Version)
		if !ok || m <= prev {
			t.Fatalf("eks-versions.json: %q is not a 1.<minor> version newer than the previous row", v.Version)
		}
		prev = m
	}
	if IsKnownEKSVersion("1.99") || !IsKnownEKSVersion("1.31") {
		t.Fatal("1.99 must be unknown and 1.31 known")
	}
}
