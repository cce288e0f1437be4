package iampolicy

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// Scope is what the worker touches for a set of migrations: the clusters,
// hosted zones and distributions their specs name and the features they
// use. FromSpec, FromFleet and Read make one; Merge adds another's.
type Scope struct {
	// Blues are the clusters the documents name that cutover may not have
	// built (a spec's blue, a fleet member's blue and its logical
	// cluster's untagged original), by region: EKS cluster names.
	Blues map[string][]string `json:"blues,omitempty"`
	// Built are the clusters cutover builds or built, tagged
	// cutover.dev/managed-by=cutover, by region: green's name, or a name
	// pattern with '*' for a fleet member's generations ("shop-prod-1-*").
	Built map[string][]string `json:"built,omitempty"`
	// Creates are the clusters the worker may create (green), by region;
	// each is in Built as well.
	Creates map[string][]string `json:"creates,omitempty"`
	// Hubs are clusters the worker only describes to reach their
	// Kubernetes API (argocd.hub: Argo CD's management cluster), by region.
	Hubs map[string][]string `json:"hubs,omitempty"`
	// HostedZones are the Route53 hosted zone IDs of traffic.route53.
	HostedZones []string `json:"hostedZones,omitempty"`
	// Distributions are the CloudFront distribution IDs of traffic.cloudfront.
	Distributions []string `json:"distributions,omitempty"`
	// StagingDistributions: a migration moves traffic through a CloudFront
	// staging distribution and continuous-deployment policy
	// (traffic.cloudfront.mode "continuousDeployment").
	StagingDistributions bool `json:"stagingDistributions,omitempty"`
	// Alarms: a migration watches CloudWatch alarms (traffic.alarms).
	Alarms bool `json:"alarms,omitempty"`
	// LoadBalancers: a migration looks green's load balancer up in ELBv2
	// (traffic.route53.greenTargetFrom).
	LoadBalancers bool `json:"loadBalancers,omitempty"`
	// BuildsGreen: a migration builds a green cluster (strategy
	// "blueGreen"), with its OIDC provider, IRSA trust and node groups.
	BuildsGreen bool `json:"buildsGreen,omitempty"`
	// KarpenterTags: a migration puts Karpenter's discovery tag on green's
	// subnets and security groups (green.copy.karpenterDiscovery).
	KarpenterTags bool `json:"karpenterTags,omitempty"`
	// RetiresBlue: a migration deletes blue (strategy "blueGreen",
	// retire.blue "delete"): it first waits in ELBv2 for the load
	// balancers of blue's Services and Ingresses to go, and after blue
	// deletes its control-plane log group /aws/eks/<blue>/cluster.
	RetiresBlue bool `json:"retiresBlue,omitempty"`
	// DeletesVolumes: a migration that retires blue also deletes the EBS
	// volumes of blue's PersistentVolumes with reclaimPolicy Retain
	// (retire.volumes "delete"), only those the EBS CSI driver tagged.
	DeletesVolumes bool `json:"deletesVolumes,omitempty"`
	// Writes: a migration changes something. False when every document is
	// a dry run (dryRun: true), which only reads.
	Writes bool `json:"writes,omitempty"`
}

// Merge adds o's clusters, zones, distributions and features to s.
func (s *Scope) Merge(o Scope) {
	s.Blues = mergeRegions(s.Blues, o.Blues)
	s.Built = mergeRegions(s.Built, o.Built)
	s.Creates = mergeRegions(s.Creates, o.Creates)
	s.Hubs = mergeRegions(s.Hubs, o.Hubs)
	s.HostedZones = sortedSet(append(s.HostedZones, o.HostedZones...))
	s.Distributions = sortedSet(append(s.Distributions, o.Distributions...))
	s.StagingDistributions = s.StagingDistributions || o.StagingDistributions
	s.Alarms = s.Alarms || o.Alarms
	s.LoadBalancers = s.LoadBalancers || o.LoadBalancers
	s.BuildsGreen = s.BuildsGreen || o.BuildsGreen
	s.KarpenterTags = s.KarpenterTags || o.KarpenterTags
	s.Writes = s.Writes || o.Writes
	s.RetiresBlue = s.RetiresBlue || o.RetiresBlue
	s.DeletesVolumes = s.DeletesVolumes || o.DeletesVolumes
}

// Regions are the regions the scope's clusters are in, sorted.
func (s Scope) Regions() []string {
	var out []string
	for _, m := range []map[string][]string{s.Blues, s.Built, s.Hubs} {
		out = append(out, slices.Collect(maps.Keys(m))...)
	}
	return sortedSet(out)
}

// InRegion returns the scope with every cluster moved to region (the
// --region flag: another region than the documents', or "*").
func (s Scope) InRegion(region string) Scope {
	move := func(m map[string][]string) map[string][]string {
		if len(m) == 0 {
			return nil
		}
		var all []string
		for _, names := range m {
			all = append(all, names...)
		}
		return map[string][]string{region: sortedSet(all)}
	}
	s.Blues, s.Built, s.Creates, s.Hubs = move(s.Blues), move(s.Built), move(s.Creates), move(s.Hubs)
	return s
}

// FromSpec is the scope of one migration spec, as spec.Parse returns it
// (defaults applied, valid).
func FromSpec(m spec.MigrationSpec) Scope {
	var green []string
	if !m.IsInPlace() {
		green = []string{m.Green.ClusterName}
	}
	return migrationScope(m, []string{m.Blue.ClusterName}, green, green)
}

// FromFleet is the scope of a fleet, as workflows.CheckFleet reads it
// (valid). A member naming its logical cluster ("shop-prod") moves between
// generations cutover names after it ("shop-prod-1-31", "shop-prod-1-32",
// ...): its clusters are the logical name and that pattern; a member's
// green is named after blue with the version the run picks, so it is a
// pattern as well unless the member names it.
func FromFleet(f workflows.FleetSpec) Scope {
	var s Scope
	for _, w := range f.Waves {
		for _, m := range w.Migrations {
			base := m.Blue.LogicalName
			if base == "" {
				base = m.Blue.ClusterName
			}
			generations := generationPattern(base)
			blue := []string{m.Blue.ClusterName}
			// Resolved each run: the logical cluster's untagged original
			// (named like it) or a generation cutover built.
			var built []string
			if l := m.Blue.LogicalName; l != "" {
				blue = append(blue, l)
				built = append(built, generations)
			}
			var creates []string
			if !m.IsInPlace() {
				built = append(built, generations)
				creates = []string{generations}
				if m.Green.ClusterName != "" {
					creates = []string{m.Green.ClusterName}
					built = append(built, m.Green.ClusterName)
				}
			}
			s.Merge(migrationScope(m.WithDefaults(), blue, built, creates))
		}
	}
	return s
}

// generationPattern matches the names workflows.GreenName gives clusters
// built from base, at any version, with eks.FreeClusterName's suffix.
func generationPattern(base string) string {
	return strings.TrimSuffix(workflows.GreenName(base, "1.0"), "-1-0") + "-1-*"
}

func migrationScope(m spec.MigrationSpec, blue, built, creates []string) Scope {
	region := m.Blue.Region
	s := Scope{
		Blues:  map[string][]string{region: sortedSet(blue)},
		Writes: !m.DryRun,
	}
	if len(built) > 0 {
		s.Built = map[string][]string{region: sortedSet(built)}
	}
	if len(creates) > 0 {
		s.Creates = map[string][]string{region: sortedSet(creates)}
		s.BuildsGreen = true
		s.KarpenterTags = spec.On(m.Green.Copy.KarpenterDiscovery)
	}
	if h := m.ArgoCD.Hub; h != nil && h.ClusterName != "" {
		r := h.Region
		if r == "" {
			r = region
		}
		s.Hubs = map[string][]string{r: {h.ClusterName}}
	}
	t := m.Traffic
	if r := t.Route53; t.Provider == spec.ProviderRoute53 && r != nil && r.HostedZoneID != "" {
		s.HostedZones = []string{strings.TrimPrefix(r.HostedZoneID, "/hostedzone/")}
		s.LoadBalancers = r.GreenTargetFrom != nil
	}
	if c := t.CloudFront; t.Provider == spec.ProviderCloudFront && c != nil && c.DistributionID != "" {
		s.Distributions = []string{c.DistributionID}
		s.StagingDistributions = t.ContinuousDeployment()
	}
	s.Alarms = len(t.Alarms) > 0
	s.RetiresBlue = !m.DryRun && !m.IsInPlace() && m.Retire.Blue != spec.FateKeep
	s.DeletesVolumes = s.RetiresBlue && m.Retire.Volumes == spec.VolumesDelete
	return s
}

// Read reads a migration spec or a fleet (a document with "waves") with the
// readers `cutover validate` and `cutover schedule create` use, and returns
// its scope. A bad document's error is spec.FieldErrors, each naming its
// field.
func Read(data []byte) (Scope, error) {
	if isFleet(data) {
		var f workflows.FleetSpec
		if problems := workflows.CheckFleet(data, &f); len(problems) > 0 {
			return Scope{}, problems
		}
		return FromFleet(f), nil
	}
	m, err := spec.Parse(data)
	if err != nil {
		return Scope{}, err
	}
	return FromSpec(m), nil
}

// isFleet says the document is a JSON object with a "waves" key. Anything
// else is read as a migration spec, whose reader names what is wrong.
func isFleet(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top["waves"]
	return ok
}

func mergeRegions(a, b map[string][]string) map[string][]string {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string][]string{}
	}
	for r, names := range b {
		a[r] = sortedSet(append(a[r], names...))
	}
	return a
}

// sortedSet sorts and deduplicates, dropping empty strings.
func sortedSet(in []string) []string {
	out := slices.DeleteFunc(slices.Clone(in), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
