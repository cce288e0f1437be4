package fakeworld_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/fakeworld"
)

// realActivities are the structs the worker registers: every exported
// method of each is an activity, under the method's name.
var realActivities = []any{
	(*eks.Activities)(nil),
	(*kube.Activities)(nil),
	(*argocd.Activities)(nil),
	(*velero.Activities)(nil),
	(*traffic.Activities)(nil),
	(*notify.Activities)(nil),
}

// signature is a method's type without its receiver, e.g.
// "(context.Context, eks.DescribeInput) (eks.ClusterDescription, error)".
func signature(m reflect.Method) string {
	t := m.Type
	in := make([]string, 0, t.NumIn()-1)
	for i := 1; i < t.NumIn(); i++ {
		in = append(in, t.In(i).String())
	}
	out := make([]string, 0, t.NumOut())
	for i := 0; i < t.NumOut(); i++ {
		out = append(out, t.Out(i).String())
	}
	return "(" + strings.Join(in, ", ") + ") (" + strings.Join(out, ", ") + ")"
}

// sameSignature compares the types themselves, not their names: two
// packages' types of one name are different types.
func sameSignature(a, b reflect.Method) bool {
	ta, tb := a.Type, b.Type
	if ta.NumIn() != tb.NumIn() || ta.NumOut() != tb.NumOut() {
		return false
	}
	for i := 1; i < ta.NumIn(); i++ {
		if ta.In(i) != tb.In(i) {
			return false
		}
	}
	for i := 0; i < ta.NumOut(); i++ {
		if ta.Out(i) != tb.Out(i) {
			return false
		}
	}
	return true
}

// TestFakesMatchTheRealActivities holds the fake world to the real
// activities the workflow tests stand in for: every real activity has a
// fake of the same name, with the same input and output types, and every
// fake is a real activity. A workflow test against a fake that drifted
// from the real activity would prove nothing.
func TestFakesMatchTheRealActivities(t *testing.T) {
	real := map[string]reflect.Method{}
	owner := map[string]string{}
	for _, a := range realActivities {
		typ := reflect.TypeOf(a)
		if typ.NumMethod() == 0 {
			t.Errorf("%s has no activity methods", typ)
		}
		for i := 0; i < typ.NumMethod(); i++ {
			m := typ.Method(i)
			if prev, dup := owner[m.Name]; dup {
				// Temporal registers activities by method name: two would collide.
				t.Errorf("activity %s is a method of both %s and %s", m.Name, prev, typ)
			}
			real[m.Name], owner[m.Name] = m, typ.String()
		}
	}
	fakeType := reflect.TypeOf((*fakeworld.Activities)(nil))
	fakes := map[string]reflect.Method{}
	for i := 0; i < fakeType.NumMethod(); i++ {
		fakes[fakeType.Method(i).Name] = fakeType.Method(i)
	}

	names := make([]string, 0, len(real))
	for name := range real {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := real[name]
		f, ok := fakes[name]
		if !ok {
			t.Errorf("%s.%s%s has no fake in internal/fakeworld", owner[name], name, signature(r))
			continue
		}
		if !sameSignature(r, f) {
			t.Errorf("fake %s%s differs from the real %s.%s%s", name, signature(f), owner[name], name, signature(r))
		}
	}
	for name, f := range fakes {
		if _, ok := real[name]; !ok {
			t.Errorf("fake %s%s is no real activity", name, signature(f))
		}
	}
	if len(real) < 20 {
		t.Errorf("found %d real activities; the reflection over the activity structs is broken", len(real))
	}
}
