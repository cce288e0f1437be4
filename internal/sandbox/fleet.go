package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// FleetOptions shape a fleet sandbox (UpFleet): the seeded blue as one
// member, further members seeded next to it, and an apiserver for every
// cluster the fleet's migrations will build.
type FleetOptions struct {
	// BlueLogical is the logical cluster the seeded blue (BlueCluster) is
	// the untagged original of, e.g. "shop-prod".
	BlueLogical string
	// BlueGenerations are the EKS names of the greens the migrations will
	// build for the seeded blue, in order (e.g. "shop-prod-1-30",
	// "shop-prod-1-31"), each served by an apiserver of its own.
	BlueGenerations []string
	// Members are the further blues; Generations[i] are the greens of
	// Members[i].
	Members     []MemberSpec
	Generations [][]string
	// Versions[j] is the Kubernetes version of every member's j-th
	// generation (e.g. "1.30", "1.31"): what its apiserver reports.
	Versions []string
}

// Fleet is a sandbox with several blue members, each a logical cluster
// whose original and future generations all have an apiserver.
type Fleet struct {
	*Sandbox
	// Members[0] is the seeded blue, then FleetOptions.Members in order.
	Members []*FleetMember
	// Versions are FleetOptions.Versions.
	Versions []string
}

// FleetMember is one logical cluster of a fleet sandbox.
type FleetMember struct {
	Logical string
	// Cluster is the original (untagged) EKS cluster; Blue its apiserver.
	Cluster string
	Blue    *Kube
	// Namespace holds the workloads the migrations restore; RecordName is
	// the record served by its Ingress EntryPointIngress, at BlueTarget
	// on the original.
	Namespace  string
	RecordName string
	BlueTarget string
	// SubnetIDs are the original's subnets (its load balancers' too);
	// NodeGroups its managed node groups; AlarmNames its alarms.
	SubnetIDs  []string
	NodeGroups []string
	AlarmNames []string
	// Generations are the greens' EKS names, in order, and Kubes their
	// apiservers (Kubes[i] serves Generations[i]).
	Generations []string
	Kubes       []*Kube
}

// Apiserver is the apiserver that serves EKS cluster name of this
// member: the original's or a generation's; nil for another name.
func (m *FleetMember) Apiserver(name string) *Kube {
	if name == m.Cluster {
		return m.Blue
	}
	for i, g := range m.Generations {
		if g == name {
			return m.Kubes[i]
		}
	}
	return nil
}

// UpFleet starts the sandbox as Up does, then seeds each further member
// (SeedMemberAWS, its own apiserver with SeedMemberKube) and starts an
// apiserver for every generation, with the CRDs and Velero installed and
// its kubeconfig under the generation's name, so the worker resolves each
// green a migration creates in moto. The apiservers it starts report the
// cluster's version (a version proxy: BlueVersion for the members'
// originals, Versions[j] for generation j); the seeded blue and green are
// Up's, unchanged (Green is not part of the fleet). moto's EC2 holds the
// EKS-optimized AMIs (Options.EKSOptimizedImages). The apiservers start
// in parallel; on failure everything started is stopped.
func UpFleet(ctx context.Context, o Options, f FleetOptions) (*Fleet, error) {
	if f.BlueLogical == "" || len(f.BlueGenerations) == 0 || len(f.Generations) != len(f.Members) {
		return nil, fmt.Errorf("sandbox fleet: the seeded blue's logical name and generations, and generations for each of the %d members, are required", len(f.Members))
	}
	for _, gens := range append([][]string{f.BlueGenerations}, f.Generations...) {
		if len(gens) != len(f.Versions) {
			return nil, fmt.Errorf("sandbox fleet: generations %v and versions %v differ in number", gens, f.Versions)
		}
	}
	start := time.Now()
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	// The greens' launch template versions pin the AMIs the SSM parameters
	// name; the next quarter reads them back from EC2.
	o.EKSOptimizedImages = true
	sb, err := Up(ctx, o)
	if err != nil {
		return nil, err
	}
	fl := &Fleet{Sandbox: sb, Versions: f.Versions}
	fail := func(err error) (*Fleet, error) {
		if derr := sb.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("tear down after the failed start: %w", derr))
		}
		return nil, fmt.Errorf("sandbox fleet up: %w", err)
	}
	fl.Members = append(fl.Members, &FleetMember{
		Logical: f.BlueLogical, Cluster: BlueCluster, Blue: sb.Blue, Namespace: "shop",
		RecordName: sb.Seed.RecordName, BlueTarget: BlueTarget,
		SubnetIDs: sb.Seed.SubnetIDs, NodeGroups: sb.Seed.NodeGroups, AlarmNames: sb.Seed.AlarmNames,
		Generations: f.BlueGenerations, Kubes: make([]*Kube, len(f.BlueGenerations)),
	})
	// The AWS side first: moto is one process and its seeds are quick.
	var jobs []func() error
	for i, ms := range f.Members {
		m, err := sb.seedMember(ctx, ms, f.Generations[i])
		if err != nil {
			return fail(err)
		}
		fl.Members = append(fl.Members, m)
		jobs = append(jobs, sb.memberBlueJob(ctx, ms, m))
	}
	for _, m := range fl.Members {
		jobs = append(jobs, sb.generationJobs(ctx, m, f.Versions)...)
	}
	if err := runParallel(jobs); err != nil {
		return fail(err)
	}
	var names []any
	for _, m := range fl.Members {
		names = append(names, m.Logical, fmt.Sprint(append([]string{m.Cluster}, m.Generations...)))
	}
	sb.log.Info("Fleet sandbox ready", append([]any{"startup", time.Since(start).Round(time.Millisecond)}, names...)...)
	return fl, nil
}

// AddMember adds a further blue to a running sandbox, as UpFleet does for
// its members: ms's AWS side in moto (SeedMemberAWS), its apiserver with
// workloads (SeedMemberKube), and an apiserver (with Velero) for each of
// greens at versions[i], each reporting its version. It is how the demo
// gets a second migration (a blue besides the seeded one). Everything it
// started is stopped by Down.
func (s *Sandbox) AddMember(ctx context.Context, ms MemberSpec, greens, versions []string) (*FleetMember, error) {
	if len(greens) != len(versions) {
		return nil, fmt.Errorf("sandbox member %s: greens %v and versions %v differ in number", ms.Logical, greens, versions)
	}
	m, err := s.seedMember(ctx, ms, greens)
	if err != nil {
		return nil, err
	}
	jobs := append([]func() error{s.memberBlueJob(ctx, ms, m)}, s.generationJobs(ctx, m, versions)...)
	if err := runParallel(jobs); err != nil {
		return nil, fmt.Errorf("sandbox member %s: %w", ms.Logical, err)
	}
	s.log.Info("Sandbox member ready", "logical", m.Logical, "cluster", m.Cluster, "greens", greens)
	return m, nil
}

// seedMember seeds ms's AWS side and describes the member; its apiservers
// are started by memberBlueJob and generationJobs.
func (s *Sandbox) seedMember(ctx context.Context, ms MemberSpec, greens []string) (*FleetMember, error) {
	seed, err := SeedMemberAWS(ctx, s.Moto, s.Seed, ms)
	if err != nil {
		return nil, err
	}
	return &FleetMember{
		Logical: ms.Logical, Cluster: seed.Cluster, Namespace: ms.Namespace, RecordName: seed.RecordName, BlueTarget: seed.BlueTarget,
		SubnetIDs: seed.SubnetIDs, NodeGroups: seed.NodeGroups, AlarmNames: seed.AlarmNames,
		Generations: greens, Kubes: make([]*Kube, len(greens)),
	}, nil
}

// memberBlueJob starts the member's original apiserver (at BlueVersion)
// and seeds its workloads.
func (s *Sandbox) memberBlueJob(ctx context.Context, ms MemberSpec, m *FleetMember) func() error {
	seed := &MemberSeed{Cluster: m.Cluster, NodeGroups: m.NodeGroups, BlueTarget: m.BlueTarget}
	return func() error {
		k, err := s.startVersionedKube(ctx, m.Cluster, BlueVersion)
		if err != nil {
			return err
		}
		s.extraMu.Lock()
		m.Blue = k
		s.extraMu.Unlock()
		return SeedMemberKube(ctx, k, ms, seed)
	}
}

// generationJobs start an apiserver for each of m's generations, at
// versions[i], with Velero: each generation is green once (its restore
// needs Velero) and blue the next quarter (its backup does too).
func (s *Sandbox) generationJobs(ctx context.Context, m *FleetMember, versions []string) []func() error {
	var jobs []func() error
	for gi, name := range m.Generations {
		jobs = append(jobs, func() error {
			k, err := s.startVersionedKube(ctx, name, versions[gi])
			if err != nil {
				return err
			}
			s.extraMu.Lock()
			m.Kubes[gi] = k
			s.extraMu.Unlock()
			return SeedVelero(ctx, k)
		})
	}
	return jobs
}

// startVersionedKube starts apiserver name behind a version proxy that
// reports version, with the CRDs installed; Down stops both.
func (s *Sandbox) startVersionedKube(ctx context.Context, name, version string) (*Kube, error) {
	k, err := StartKube(ctx, name, s.opts)
	if err != nil {
		return nil, err
	}
	// Down stops it from now on, whatever else fails.
	s.addKube(k)
	p, err := startVersionProxy(k, filepath.Join(s.opts.Dir, "kube-"+name), version)
	if err != nil {
		return nil, err
	}
	s.addCloser(p.stop)
	if _, err := InstallCRDs(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// runParallel runs jobs at once and joins their errors.
func runParallel(jobs []func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = job()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
