package fakeworld_test

import (
	"context"
	"testing"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/finding"
)

func TestFakeTrafficPrerequisites(t *testing.T) {
	ctx := context.Background()
	w, other := fakeworld.New(), fakeworld.New()
	in := traffic.CheckInput{Target: traffic.Target{Provider: traffic.ProviderRoute53}, Alarms: []string{"5xx"}}
	res, err := w.Activities().CheckTrafficPrerequisites(ctx, in)
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("default world: %+v, %v; want no findings", res, err)
	}
	fs := []finding.Finding{{Check: traffic.CheckAlarmFiring, Severity: finding.Error, Object: "CloudWatch alarm 5xx in eu-west-1",
		Message: "traffic.alarms[0]: alarm 5xx is in ALARM", Fix: "resolve it", Source: traffic.FindingSource}}
	w.SetTrafficFindings(fs)
	fs[0].Check = "changed after the call"
	res, err = w.Activities().CheckTrafficPrerequisites(ctx, in)
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Check != traffic.CheckAlarmFiring {
		t.Fatalf("with findings set: %+v, %v", res, err)
	}
	if res, _ := other.Activities().CheckTrafficPrerequisites(ctx, in); len(res.Findings) != 0 {
		t.Fatalf("another world reports %+v", res.Findings)
	}
	w.SetTrafficFindings(nil)
	if res, _ := w.Activities().CheckTrafficPrerequisites(ctx, in); len(res.Findings) != 0 {
		t.Fatalf("after clearing: %+v", res.Findings)
	}
	calls := 0
	for _, c := range w.Calls() {
		if c.Name == "CheckTrafficPrerequisites" {
			calls++
		}
	}
	if calls != 3 {
		t.Fatalf("%d calls recorded, want 3", calls)
	}
}
