package workflows

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/internal/spec"
)

// fill sets every field reachable from v (a pointer) to a value that is
// not the zero value, so a field the conversion forgets shows in the JSON.
func fill(v reflect.Value, seed string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), seed+"[0]")
		fill(v.Index(1), seed+"[1]")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, seed+"#k")
		fill(e, seed+"#v")
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString(seed)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(seed)))
	}
}

func filled[T any](t *testing.T) T {
	t.Helper()
	var v T
	fill(reflect.ValueOf(&v).Elem(), reflect.TypeOf(v).Name())
	return v
}

// sameJSON fails unless the spec part and the activity input it became
// encode to the same JSON, and the spec part's JSON decodes into the
// activity type with no unknown field and encodes back the same: a payload
// recorded when the activity took the spec type reads the same now.
func sameJSON[A any](t *testing.T, what string, specPart any, converted A) {
	t.Helper()
	want, err := json.Marshal(specPart)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(converted)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the activity input's JSON differs from the spec's:\n got %s\nwant %s", what, got, want)
	}
	var decoded A
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&decoded); err != nil {
		t.Errorf("%s: a payload recorded from the spec type does not decode into %T: %v", what, decoded, err)
		return
	}
	again, _ := json.Marshal(decoded)
	if !bytes.Equal(again, want) {
		t.Errorf("%s: a payload recorded from the spec type reads differently:\n got %s\nwant %s", what, again, want)
	}
}

// TestActivityInputsKeepTheSpecJSON holds the activity-side types to the
// JSON of the spec types the activities took before they had their own:
// every field of the spec part is carried, under the same name and shape.
func TestActivityInputsKeepTheSpecJSON(t *testing.T) {
	smoke := filled[spec.SmokeSpec](t)
	sameJSON(t, "kube.SmokeTests", smoke, smokeTests(smoke))
	sameJSON(t, "[]probe.Probe", smoke.HTTP, probes(smoke.HTTP))

	s := filled[spec.MigrationSpec](t)
	target := trafficTarget(s)
	sameJSON(t, "traffic.Route53Records", s.Traffic.Route53, target.Route53)
	sameJSON(t, "traffic.CloudFrontOrigins", s.Traffic.CloudFront, target.CloudFront)
	// What the workflow sent before: the spec's own parts in the target.
	type oldTarget struct {
		Provider   string               `json:"provider"`
		Region     string               `json:"region"`
		Route53    *spec.Route53Spec    `json:"route53,omitempty"`
		CloudFront *spec.CloudFrontSpec `json:"cloudfront,omitempty"`
	}
	sameJSON(t, "traffic.Target", oldTarget{s.Traffic.Provider, s.Blue.Region, s.Traffic.Route53, s.Traffic.CloudFront}, target)

	type oldHealth struct {
		Region     string           `json:"region"`
		Alarms     []string         `json:"alarms,omitempty"`
		Probes     []spec.HTTPProbe `json:"probes,omitempty"`
		ReadBudget spec.Duration    `json:"readBudget,omitempty"`
	}
	sameJSON(t, "traffic.HealthInput", oldHealth{s.Blue.Region, s.Traffic.Alarms, s.Smoke.HTTP, s.Traffic.HealthReadBudget}, healthInput(s))
	off := false
	s.Traffic.ProbeDuringBake = &off
	if in := healthInput(s); in.Probes != nil {
		t.Errorf("probeDuringBake false: the health input still has probes %v", in.Probes)
	}
}

// TestActivityInputsOfAnEmptySpec: what is absent from the spec stays absent.
func TestActivityInputsOfAnEmptySpec(t *testing.T) {
	var s spec.MigrationSpec
	if got := trafficTarget(s); got.Route53 != nil || got.CloudFront != nil {
		t.Errorf("target %+v", got)
	}
	if got := smokeTests(s.Smoke); got.HTTP != nil || got.K6 != nil {
		t.Errorf("smoke %+v", got)
	}
	sameJSON(t, "empty smoke", s.Smoke, smokeTests(s.Smoke))
	if trafficGuard(s.Traffic, "blue") != nil {
		t.Error("a guard without a traffic provider")
	}
}
