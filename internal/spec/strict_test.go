package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// minimalJSON is a valid spec; cases splice keys into it.
const minimalJSON = `{"name":"shop","blue":{"clusterName":"blue","region":"eu-west-1"},"green":{"kubernetesVersion":"1.31"},
"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}%s}%s}`

func doc(traffic, top string) string {
	return strings.Replace(strings.Replace(minimalJSON, "%s", traffic, 1), "%s", top, 1)
}

func TestParseRejectsWithPaths(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // field paths of the problems, in order
		why  string   // a word the first reason must contain
	}{
		{"valid", doc("", ""), nil, ""},
		{"null is absent", doc(`,"bakeTime":null,"steps":null,"alarms":null`, `,"retire":null,"dryRun":null`), nil, ""},
		{"unknown nested field", doc(`,"bakeTim":"5m"`, ""), []string{"traffic.bakeTim"}, "bakeTime"},
		{"unknown gate", doc("", `,"approvals":{"deploy":{"enabled":true}}`), []string{"approvals.deploy"}, "not a field"},
		{"unknown top level", doc("", `,"owner":"me"`), []string{"owner"}, "known fields"},
		{"duplicated key", doc("", `,"approvals":{"cutover":{"approvers":["a"]},"cutover":{"onTimeout":"approve"}}`), []string{"approvals.cutover"}, "twice"},
		{"case-folded key", doc("", `,"Name":"other"`), []string{"Name"}, "case-sensitive"},
		{"case-folded nested key", doc(`,"BakeTime":"5m"`, ""), []string{"traffic.BakeTime"}, "case-sensitive"},
		{"trailing data", doc("", "") + `{"name":"x"}`, []string{DocumentField}, "after the end"},
		{"trailing garbage", doc("", "") + ` x`, []string{DocumentField}, "JSON"},
		{"invalid UTF-8", strings.Replace(doc("", ""), `"shop.example.com"`, "\"shop\xff.example.com\"", 1), []string{"traffic.route53.recordName"}, "UTF-8"},
		{"not an object", `[1,2]`, []string{DocumentField}, "object"},
		{"empty", ` `, []string{DocumentField}, "empty"},
		{"syntax", `{"name": }`, []string{"name"}, "invalid JSON"},
		{"unterminated", `{"name": "shop"`, []string{DocumentField}, "ends too early"},
		{"string for bool", doc("", `,"dryRun":"yes"`), []string{"dryRun"}, "true or false"},
		{"number for string", strings.Replace(doc("", ""), `"name":"shop"`, `"name":5`, 1), []string{"name"}, "string"},
		{"fraction for int", doc(`,"steps":[10.5,100]`, ""), []string{"traffic.steps[0]"}, "integer"},
		{"huge int", doc(`,"route53x":1`, ""), []string{"traffic.route53x"}, "route53"},
		{"null in array", doc(`,"steps":[10,null,100]`, ""), []string{"traffic.steps[1]"}, "null"},
		{"object for array", doc(`,"steps":{"a":1}`, ""), []string{"traffic.steps"}, "array"},
		{"bool for duration", doc(`,"bakeTime":true`, ""), []string{"traffic.bakeTime"}, "duration"},
		{"bad duration string", doc(`,"bakeTime":"10 minutes"`, ""), []string{"traffic.bakeTime"}, "duration"},
		{"explicit zero duration", doc(`,"bakeTime":"0s"`, ""), []string{"traffic.bakeTime"}, "default"},
		{"explicit zero soak", doc("", `,"retire":{"soak":0}`), []string{"retire.soak"}, "default"},
		{"explicit empty steps", doc(`,"steps":[]`, ""), []string{"traffic.steps"}, "default"},
		{"explicit empty mode", doc("", `,"argocd":{"mode":""}`), []string{"argocd.mode"}, "default"},
		{"explicit zero retries", doc("", `,"smoke":{"http":[{"name":"p","url":"https://x.example.com","retries":0}]}`), []string{"smoke.http[0].retries"}, "default"},
		{"zero reminder is meaningful", doc("", `,"approvals":{"reminderInterval":"0s"}`), nil, ""},
		{"explicit false is fine", doc("", `,"dryRun":false,"velero":{"enabled":false}`), nil, ""},
		{"ten-year soak", doc("", `,"retire":{"soak":"87600h"}`), []string{"retire.soak"}, "at most"},
		{"ten-year gate", doc("", `,"approvals":{"cutover":{"timeout":"87600h"}}`), []string{"approvals.cutover.timeout"}, "at most"},
		{"negative bake", doc(`,"bakeTime":"-5m"`, ""), []string{"traffic.bakeTime"}, "positive"},
		{"unknown version", strings.Replace(doc("", ""), `"1.31"`, `"1.99"`, 1), []string{"green.kubernetesVersion"}, "EKS offers"},
		{"region not in partition data", strings.Replace(doc("", ""), `"eu-west-1"`, `"eu-west-9"`, 1), []string{"blue.region"}, "partition"},
		{"probe host with CRLF", doc("", `,"smoke":{"http":[{"name":"p","url":"https://x.example.com","host":"a.example.com\r\nX-Evil: 1"}]}`), []string{"smoke.http[0].host"}, "Host"},
		{"probe host with space", doc("", `,"smoke":{"http":[{"name":"p","url":"https://x.example.com","host":"a b"}]}`), []string{"smoke.http[0].host"}, "Host"},
		{"record name with space", strings.Replace(doc("", ""), `"shop.example.com"`, `"shop example.com"`, 1), []string{"traffic.route53.recordName"}, "DNS"},
		{"wildcard record is fine", strings.Replace(doc("", ""), `"shop.example.com"`, `"*.shop.example.com."`, 1), nil, ""},
		{"duplicated section", doc("", `,"green":{"kubernetesVersion":"1.31"}`), []string{"green"}, "twice"},
		{"bad role arn", strings.Replace(doc("", ""), `"green":{"kubernetesVersion":"1.31"}`, `"green":{"kubernetesVersion":"1.31","overrides":{"roleArn":"arn:aws:s3:::bucket"}}`, 1), []string{"green.overrides.roleArn"}, "IAM role"},
		{"role arn", strings.Replace(doc("", ""), `"green":{"kubernetesVersion":"1.31"}`, `"green":{"kubernetesVersion":"1.31","overrides":{"roleArn":"arn:aws:iam::123456789012:role/eks"}}`, 1), nil, ""},
		{"bad zone id", strings.Replace(doc("", ""), `"Z0123456789ABC"`, `"z0123 bad"`, 1), []string{"traffic.route53.hostedZoneId"}, "hosted zone"},
		{"tag key reserved", strings.Replace(doc("", ""), `"green":{"kubernetesVersion":"1.31"}`, `"green":{"kubernetesVersion":"1.31","overrides":{"tags":{"aws:x":"1"}}}`, 1), []string{"green.overrides.tags[\"aws:x\"]"}, "reserved"},
		{"every problem at once", strings.Replace(doc(`,"bakeTim":"5m","steps":[10,150]`, `,"dryRun":"no"`), `"1.31"`, `"1.99"`, 1),
			[]string{"traffic.bakeTim", "dryRun", "green.kubernetesVersion", "traffic.steps[1]", "traffic.steps[1]"}, "bakeTime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var got []string
			var fe FieldErrors
			if err != nil {
				fe = err.(FieldErrors)
				for _, e := range fe {
					got = append(got, e.Field)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("fields\n got %q\nwant %q\n(%v)", got, tt.want, err)
			}
			if tt.why != "" && !strings.Contains(fe[0].Reason, tt.why) {
				t.Errorf("reason %q does not say %q", fe[0].Reason, tt.why)
			}
		})
	}
}

func TestParseRefusesOversizedDocument(t *testing.T) {
	big := doc("", `,"notify":{"slackChannel":"#`+strings.Repeat("a", MaxDocumentBytes)+`"}`)
	_, err := Parse([]byte(big))
	fe, ok := err.(FieldErrors)
	if !ok || len(fe) != 1 || fe[0].Field != DocumentField || !strings.Contains(fe[0].Reason, "at most") {
		t.Fatalf("want one document-size problem, got %v", err)
	}
}

// TestMarshalledSpecParses: what the CLI and the fleet send (a spec
// marshalled by encoding/json) must read back strictly, with no explicit
// zeros written for absent fields.
func TestMarshalledSpecParses(t *testing.T) {
	s := valid()
	s.Approvals.Cutover.Approvers = []string{"alice"}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("%s\n%v", b, err)
	}
	if want := s.WithDefaults(); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the spec:\n got %+v\nwant %+v", got, want)
	}
	// The defaulted spec (what validate -o json prints) reads back too.
	b, _ = json.Marshal(got)
	if _, err := Parse(b); err != nil {
		t.Fatalf("defaulted spec does not parse: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(doc("", "")))
	f.Add([]byte(doc(`,"steps":[10,50,100]`, `,"approvals":{"cutover":{"approvers":["a"]}}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		// Anything accepted is valid and reads back the same.
		if verr := s.Validate(); verr != nil {
			t.Fatalf("accepted an invalid spec: %v", verr)
		}
		out, _ := json.Marshal(s)
		if _, err := Parse(out); err != nil {
			t.Fatalf("accepted spec does not read back: %v\n%s", err, out)
		}
	})
}
