package workflows

import (
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/probe"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// This file is the one place where parts of the spec become activity
// inputs. The activities take types of their own, not spec types, because
// their inputs are recorded in workflow history: the activity types keep the
// spec's JSON field names and shapes (so the payloads recorded before they
// existed read the same), and a spec field renamed later changes the
// conversion here, never a recorded payload (inputs_test.go holds them to
// that).

// trafficTarget is where SetTrafficWeights and GetTrafficWeights move and
// read traffic.
func trafficTarget(s spec.MigrationSpec) traffic.Target {
	t := traffic.Target{Provider: s.Traffic.Provider, Region: s.Blue.Region}
	if r := s.Traffic.Route53; r != nil {
		t.Route53 = &traffic.Route53Records{
			HostedZoneID: r.HostedZoneID, RecordName: r.RecordName, RecordType: r.RecordType,
			BlueSetIdentifier: r.BlueSetIdentifier, GreenSetIdentifier: r.GreenSetIdentifier,
			GreenTarget: r.GreenTarget, TTL: r.TTL, AfterMigration: r.AfterMigration,
		}
		if e := r.GreenTargetFrom; e != nil {
			t.Route53.GreenTargetFrom = &traffic.EntryPoint{Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Timeout: e.Timeout}
		}
	}
	if c := s.Traffic.CloudFront; c != nil {
		t.CloudFront = &traffic.CloudFrontOrigins{
			DistributionID: c.DistributionID, BlueOriginID: c.BlueOriginID,
			GreenOriginID: c.GreenOriginID, GreenOriginDomain: c.GreenOriginDomain, Mode: c.Mode,
		}
		if e := c.GreenOriginFrom; e != nil {
			t.CloudFront.GreenOriginFrom = &traffic.EntryPoint{Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Timeout: e.Timeout}
		}
	}
	return t
}

// healthInput is what CheckTrafficHealth reads while traffic is split: the
// alarms, and the smoke probes unless traffic.probeDuringBake is off.
func healthInput(s spec.MigrationSpec) traffic.HealthInput {
	in := traffic.HealthInput{Region: s.Blue.Region, Alarms: s.Traffic.Alarms, ReadBudget: s.Traffic.HealthReadBudget}
	if s.Traffic.ProbeDuringBake == nil || *s.Traffic.ProbeDuringBake {
		in.Probes = probes(s.Smoke.HTTP)
	}
	return in
}

// smokeTests are the checks SmokeTestGreen runs on green.
func smokeTests(s spec.SmokeSpec) kube.SmokeTests {
	k := s.Kubernetes
	t := kube.SmokeTests{
		Kubernetes: kube.ClusterChecks{
			WorkloadsReady: k.WorkloadsReady, Namespaces: k.Namespaces,
			ScratchWorkload: k.ScratchWorkload, StorageClass: k.StorageClass,
		},
		HTTP:    probes(s.HTTP),
		Timeout: s.Timeout,
	}
	if s.K6 != nil {
		t.K6 = &kube.K6Test{ConfigMap: s.K6.ConfigMap, Namespace: s.K6.Namespace, Image: s.K6.Image}
	}
	return t
}

// probes are the spec's HTTP probes as the probe runner takes them.
func probes(ps []spec.HTTPProbe) []probe.Probe {
	if ps == nil {
		return nil
	}
	out := make([]probe.Probe, len(ps))
	for i, p := range ps {
		out[i] = probe.Probe{
			Name: p.Name, URL: p.URL, Host: p.Host, ExpectStatus: p.ExpectStatus,
			BodyContains: p.BodyContains, MaxLatency: p.MaxLatency, Retries: p.Retries,
		}
	}
	return out
}

// trafficGuard tells RetireEKSCluster which record or origin of role
// ("blue" or "green") must carry no traffic; nil when the spec names none.
func trafficGuard(t spec.TrafficSpec, role string) *trafficguard.Guard {
	switch {
	case t.Provider == spec.ProviderRoute53 && t.Route53 != nil:
		id := t.Route53.BlueSetIdentifier
		if role == "green" {
			id = t.Route53.GreenSetIdentifier
		}
		return &trafficguard.Guard{Provider: t.Provider, HostedZoneID: t.Route53.HostedZoneID, RecordName: t.Route53.RecordName, SetIdentifier: id}
	case t.Provider == spec.ProviderCloudFront && t.CloudFront != nil:
		id := t.CloudFront.BlueOriginID
		if role == "green" {
			id = t.CloudFront.GreenOriginID
		}
		return &trafficguard.Guard{Provider: t.Provider, DistributionID: t.CloudFront.DistributionID, OriginID: id}
	}
	return nil
}
