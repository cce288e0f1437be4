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
	for i, ms := range f.Members {
		seed, err := SeedMemberAWS(ctx, sb.Moto, sb.Seed, ms)
		if err != nil {
			return fail(err)
		}
		fl.Members = append(fl.Members, &FleetMember{
			Logical: ms.Logical, Cluster: seed.Cluster, Namespace: ms.Namespace, RecordName: seed.RecordName, BlueTarget: seed.BlueTarget,
			SubnetIDs: seed.SubnetIDs, NodeGroups: seed.NodeGroups, AlarmNames: seed.AlarmNames,
			Generations: f.Generations[i], Kubes: make([]*Kube, len(f.Generations[i])),
		})
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	run := func(do func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	startKube := func(name, version string, set func(*Kube)) (*Kube, error) {
		k, err := StartKube(ctx, name, o)
		if err != nil {
			return nil, err
		}
		// Down stops it from now on, whatever else fails.
		sb.addKube(k)
		p, err := startVersionProxy(k, filepath.Join(o.Dir, "kube-"+name), version)
		if err != nil {
			return nil, err
		}
		sb.addCloser(p.stop)
		mu.Lock()
		set(k)
		mu.Unlock()
		if _, err := InstallCRDs(ctx, k); err != nil {
			return nil, err
		}
		return k, nil
	}
	for i, ms := range f.Members {
		m := fl.Members[i+1]
		seed := &MemberSeed{Cluster: m.Cluster, NodeGroups: m.NodeGroups, BlueTarget: m.BlueTarget}
		run(func() error {
			k, err := startKube(m.Cluster, BlueVersion, func(k *Kube) { m.Blue = k })
			if err != nil {
				return err
			}
			return SeedMemberKube(ctx, k, ms, seed)
		})
	}
	for _, m := range fl.Members {
		for gi, name := range m.Generations {
			run(func() error {
				k, err := startKube(name, f.Versions[gi], func(k *Kube) { m.Kubes[gi] = k })
				if err != nil {
					return err
				}
				// Each generation is green once (its restore needs Velero)
				// and blue the next quarter (its backup does too).
				return SeedVelero(ctx, k)
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return fail(errors.Join(errs...))
	}
	var names []any
	for _, m := range fl.Members {
		names = append(names, m.Logical, fmt.Sprint(append([]string{m.Cluster}, m.Generations...)))
	}
	sb.log.Info("Fleet sandbox ready", append([]any{"startup", time.Since(start).Round(time.Millisecond)}, names...)...)
	return fl, nil
}
