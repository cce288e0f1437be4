package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("%s does not compile as a JSON Schema: %v", path, err)
	}
	return sch
}

func schemaAccepts(t *testing.T, sch *jsonschema.Schema, doc string) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

var migrationSchema = filepath.Join("..", "..", "deploy", "schema", "migration-spec.schema.json")

// TestExamplesMatchSchema: every example spec validates against the
// published schema (what editors check while people type).
func TestExamplesMatchSchema(t *testing.T) {
	sch := compileSchema(t, migrationSchema)
	files, _ := filepath.Glob(filepath.Join("..", "..", "deploy", "examples", "*.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if err := schemaAccepts(t, sch, string(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestSchemaAgreesWithValidator runs documents through both the schema and
// Parse. Where the schema can say the rule (types, unknown keys, required,
// enums, patterns, ranges, conditionals), both must refuse; valid documents
// both accept. The rules only Validate knows (ordering of steps, explicit
// zeros, duplicated keys, trailing data) must at least be refused by Parse.
func TestSchemaAgreesWithValidator(t *testing.T) {
	sch := compileSchema(t, migrationSchema)
	probe := func(extra string) string {
		return doc("", `,"smoke":{"http":[{"name":"p","url":"https://x.example.com"`+extra+`}]}`)
	}
	cases := []struct {
		name      string
		doc       string
		valid     bool
		schemaToo bool // the schema can say this rule
	}{
		{"minimal", doc("", ""), true, true},
		{"full", doc(`,"steps":[5,25,100],"bakeTime":"15m","checkInterval":30,"alarms":["shop-5xx"]`,
			`,"approvals":{"cutover":{"approvers":["alice","bob"],"timeout":"8h","onTimeout":"approve"},"reminderInterval":"0s"},"retire":{"soak":"48h","blue":"keep"},"notify":{"slackChannel":"#platform"},"dryRun":false`), true, true},
		{"nulls", doc(`,"bakeTime":null`, `,"retire":null`), true, true},
		{"seconds as number", doc(`,"bakeTime":600`, ""), true, true},
		{"unknown field", doc(`,"bakeTim":"5m"`, ""), false, true},
		{"case-folded key", doc("", `,"Name":"x"`), false, true},
		{"wrong type", doc("", `,"dryRun":"yes"`), false, true},
		{"fraction", doc(`,"steps":[10.5,100]`, ""), false, true},
		{"enum", doc("", `,"argocd":{"mode":"sync"}`), false, true},
		{"step range", doc(`,"steps":[10,150]`, ""), false, true},
		{"too many steps", doc(`,"steps":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,100]`, ""), false, true},
		{"bad duration", doc(`,"bakeTime":"10 minutes"`, ""), false, true},
		{"negative duration", doc(`,"bakeTime":"-5m"`, ""), false, true},
		{"ten-year soak in seconds", doc("", `,"retire":{"soak":315360000}`), false, true},
		{"unknown version", strings.Replace(doc("", ""), `"1.31"`, `"1.99"`, 1), false, true},
		{"unknown region", strings.Replace(doc("", ""), `"eu-west-1"`, `"eu-west-9"`, 1), false, true},
		{"bad name", strings.Replace(doc("", ""), `"shop"`, `"Shop_Prod"`, 1), false, true},
		{"bad zone", strings.Replace(doc("", ""), `"Z0123456789ABC"`, `"zone 1"`, 1), false, true},
		{"green target from a Service", strings.Replace(doc("", ""), `"greenTarget":"lb.example.com"`, `"greenTargetFrom":{"kind":"Service","namespace":"shop","name":"web-public","timeout":"20m"}`, 1), true, true},
		{"green target both ways", strings.Replace(doc("", ""), `"greenTarget":"lb.example.com"`, `"greenTarget":"lb.example.com","greenTargetFrom":{"kind":"Ingress","namespace":"shop","name":"web"}`, 1), false, true},
		{"green target neither way", strings.Replace(doc("", ""), `,"greenTarget":"lb.example.com"`, ``, 1), false, true},
		{"entry point kind", strings.Replace(doc("", ""), `"greenTarget":"lb.example.com"`, `"greenTargetFrom":{"kind":"Gateway","namespace":"shop","name":"web"}`, 1), false, true},
		{"entry point wait too long", strings.Replace(doc("", ""), `"greenTarget":"lb.example.com"`, `"greenTargetFrom":{"kind":"Ingress","namespace":"shop","name":"web","timeout":10800}`, 1), false, true},
		{"cloudfront continuous deployment", cfDoc(`,"mode":"continuousDeployment"`, `,"steps":[5,15,100]`), true, true},
		{"cloudfront continuous deployment, default steps", cfDoc(`,"mode":"continuousDeployment"`, ""), true, true},
		{"cloudfront switch in steps", cfDoc(`,"mode":"switch"`, `,"steps":[5,100]`), false, true},
		{"cloudfront switch without mode in steps", cfDoc("", `,"steps":[5,100]`), false, true},
		{"cloudfront mode", cfDoc(`,"mode":"canary"`, ""), false, true},
		{"cloudfront staging over the cap", cfDoc(`,"mode":"continuousDeployment"`, `,"steps":[5,20,100]`), false, false},
		{"missing route53", strings.Replace(doc("", ""), `"route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}`, `"route53":null`, 1), false, true},
		{"missing name", strings.Replace(doc("", ""), `"name":"shop",`, ``, 1), false, true},
		{"status range", probe(`,"expectStatus":700`), false, true},
		{"bad slack channel", doc("", `,"notify":{"slackChannel":"platform team"}`), false, true},
		{"duplicate approvers", doc("", `,"approvals":{"cutover":{"approvers":["a","a"]}}`), false, true},
		{"steps not increasing", doc(`,"steps":[50,20,100]`, ""), false, false},
		{"explicit zero", doc(`,"bakeTime":"0s"`, ""), false, false},
		{"duplicated key", doc("", `,"dryRun":true,"dryRun":false`), false, false},
		{"trailing data", doc("", "") + `{}`, false, false},
		{"probe host CRLF", probe(`,"host":"a.example.com\r\nX: 1"`), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, perr := Parse([]byte(c.doc))
			if (perr == nil) != c.valid {
				t.Fatalf("Parse: valid=%v, want %v (%v)", perr == nil, c.valid, perr)
			}
			if c.name == "trailing data" || c.name == "duplicated key" {
				return // not a single JSON value the schema library reads as is
			}
			serr := schemaAccepts(t, sch, c.doc)
			if c.valid && serr != nil {
				t.Fatalf("schema refuses a valid spec: %v", serr)
			}
			if !c.valid && c.schemaToo && serr == nil {
				t.Fatalf("schema accepts what the validator refuses (%v)", perr)
			}
		})
	}
}

// cfDoc is a minimal CloudFront spec with extra cloudfront and traffic keys.
func cfDoc(cloudfront, traffic string) string {
	return strings.Replace(doc(traffic, ""), `"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}`,
		`"provider":"cloudfront","cloudfront":{"distributionId":"E2QWRUHAPOMQZL","blueOriginId":"blue","greenOriginId":"green"`+cloudfront+`}`, 1)
}
