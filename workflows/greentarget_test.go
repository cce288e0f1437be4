package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

func discoveredSpec(recordType string) spec.MigrationSpec {
	s := testSpec()
	s.Traffic.Route53.GreenTarget = ""
	s.Traffic.Route53.RecordType = recordType
	s.Traffic.Route53.GreenTargetFrom = &spec.EntryPointSpec{Kind: spec.EntryPointService, Namespace: "shop", Name: "web-public"}
	return s
}

// TestGreenTargetDiscovered: with greenTargetFrom, green's load balancer
// is waited for after the restore and before parity, and every weight
// change points green's record at it, with ELBv2's zone for the alias.
func TestGreenTargetDiscovered(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	r, err := h.run(discoveredSpec("A"))
	if err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	wait, resolve, first := slices.Index(names, "WaitLoadBalancer"), slices.Index(names, "ResolveLoadBalancer"), slices.Index(names, "SetTrafficWeights")
	if wait < 0 || resolve < wait || first < resolve || slices.Index(names, "RestoreVeleroBackup") > wait {
		t.Fatalf("calls %v: want the restore, WaitLoadBalancer, ResolveLoadBalancer, then the traffic steps", names)
	}
	for _, in := range h.world.Inputs("SetTrafficWeights") {
		rr := in.(traffic.SetWeightsInput).Target.Route53
		if rr.GreenTarget != fakeworld.GreenLBHostname || rr.GreenTargetZoneID != fakeworld.GreenLBZone {
			t.Errorf("SetTrafficWeights targets %q zone %q, want the discovered %q zone %q", rr.GreenTarget, rr.GreenTargetZoneID, fakeworld.GreenLBHostname, fakeworld.GreenLBZone)
		}
	}
	if r.GreenTarget == nil || r.GreenTarget.Hostname != fakeworld.GreenLBHostname || r.GreenTarget.LoadBalancer == nil || r.GreenTarget.EntryPoint != "Service shop/web-public" {
		t.Errorf("report's green target %+v", r.GreenTarget)
	}

	dry := newHarness(t)
	s := discoveredSpec("A")
	s.DryRun = true
	d, err := dry.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Plan.GreenTarget, "Service shop/web-public") || slices.Contains(dry.world.Names(), "WaitLoadBalancer") {
		t.Errorf("dry run: plan says %q, calls %v", d.Plan.GreenTarget, dry.world.Names())
	}
}

// TestGreenTargetNotELBv2: a load balancer ELBv2 does not know is fine for
// a CNAME (an info finding), and fails an alias before any traffic moves.
func TestGreenTargetNotELBv2(t *testing.T) {
	notFound := failures.New(failures.NotFound, "no ELBv2 load balancer has that DNS name")
	h := newHarness(t)
	approveAll(h)
	h.world.Errors = map[string]error{"ResolveLoadBalancer": notFound}
	r, err := h.run(discoveredSpec("CNAME"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Check == "green-target-not-elbv2" }) {
		t.Errorf("findings %v: want green-target-not-elbv2", r.Findings)
	}
	in := h.world.Inputs("SetTrafficWeights")[0].(traffic.SetWeightsInput)
	if in.Target.Route53.GreenTarget != fakeworld.GreenLBHostname || in.Target.Route53.GreenTargetZoneID != "" {
		t.Errorf("CNAME target %+v", in.Target.Route53)
	}

	alias := newHarness(t)
	approveAll(alias)
	alias.world.Errors = map[string]error{"ResolveLoadBalancer": notFound}
	_, err = alias.run(discoveredSpec("A"))
	if err == nil || slices.Contains(alias.world.Names(), "SetTrafficWeights") {
		t.Fatalf("alias with an unknown load balancer: err %v, calls %v", err, alias.world.Names())
	}
}
