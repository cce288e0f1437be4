package workflows_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/workflows"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var fleetSchemaPath = filepath.Join("..", "deploy", "schema", "fleet.schema.json")

// TestFleetSchemaIsCurrent fails when deploy/schema/fleet.schema.json is
// stale: run `make schema`.
func TestFleetSchemaIsCurrent(t *testing.T) {
	src, err := os.ReadFile("fleet.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := workflows.FleetSchema(string(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(fleetSchemaPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `make schema` (%v)", fleetSchemaPath, err)
	}
}

// TestFleetExamples: every example fleet reads strictly (CheckFleet, the
// reader of `cutover schedule create`) and validates against the schema;
// broken fleets are refused by both.
func TestFleetExamples(t *testing.T) {
	b, err := os.ReadFile(fleetSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fleet.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("fleet.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(s string) error {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
		if err != nil {
			return err
		}
		return sch.Validate(inst)
	}
	files, _ := filepath.Glob(filepath.Join("..", "deploy", "examples", "fleet", "*.json"))
	if len(files) == 0 {
		t.Fatal("no example fleets")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var fleet workflows.FleetSpec
		if problems := workflows.CheckFleet(b, &fleet); len(problems) > 0 {
			t.Errorf("%s: %v", f, problems)
		}
		if err := validate(string(b)); err != nil {
			t.Errorf("%s: schema: %v", f, err)
		}
	}
	member := `{"blue":{"clusterName":"shop","region":"eu-west-1"},"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}%s}}`
	for _, bad := range []struct{ doc, field string }{
		{`{"name":"prod","waves":[{"name":"one","migrations":[` + strings.Replace(member, "%s", `,"bakeTim":"5m"`, 1) + `]}]}`, "waves[0].migrations[0].traffic.bakeTim"},
		{`{"name":"prod","waves":[{"name":"one","migrations":[` + strings.Replace(member, "%s", `,"steps":[10,150]`, 1) + `]}]}`, "waves[0].migrations[0].traffic.steps[1]"},
		{`{"name":"prod","waves":[{"name":"one","migrations":[` + strings.Replace(member, "%s", `,"bakeTime":"0s"`, 1) + `]}]}`, "waves[0].migrations[0].traffic.bakeTime"},
		{`{"name":"prod","targetVersion":"1.99","waves":[{"name":"one","migrations":[` + strings.Replace(member, "%s", "", 1) + `]}]}`, "targetVersion"},
		{`{"name":"prod","waves":[]}`, "waves"},
	} {
		var fleet workflows.FleetSpec
		problems := workflows.CheckFleet([]byte(bad.doc), &fleet)
		if len(problems) == 0 || problems[0].Field != bad.field {
			t.Errorf("%s: problems %v, want first on %s", bad.doc, problems, bad.field)
		}
		if bad.field != "waves[0].migrations[0].traffic.bakeTime" && validate(bad.doc) == nil {
			t.Errorf("schema accepts %s", bad.doc)
		}
	}
	ok := `{"name":"prod","waves":[{"name":"one","migrations":[` + strings.Replace(member, "%s", "", 1) + `]}]}`
	var fleet workflows.FleetSpec
	if problems := workflows.CheckFleet([]byte(ok), &fleet); len(problems) > 0 {
		t.Errorf("valid fleet refused: %v", problems)
	}
	if err := validate(ok); err != nil {
		t.Errorf("schema refuses a valid fleet: %v", err)
	}
}
