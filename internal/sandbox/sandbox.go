package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cutover-dev/cutover/internal/clusters"
)

// Sandbox is the whole local estate: Temporal, moto seeded with the blue
// estate, and the blue and green Kubernetes clusters with the Argo CD,
// Velero and Karpenter CRDs, blue's workloads seeded.
type Sandbox struct {
	Dir      string
	Temporal *Temporal
	Moto     *Moto
	Blue     *Kube
	Green    *Kube

	// Seed is the AWS side of the blue estate; BlueObjects its Kubernetes
	// side; CRDs the CRD names installed in both clusters.
	Seed        *Seed
	BlueObjects *KubeSeed
	CRDs        []string
	// Startup is how long Up took.
	Startup time.Duration

	log *slog.Logger
}

// Up starts every server in parallel, installs the CRDs and seeds the blue
// estate. On failure it stops whatever it started.
func Up(ctx context.Context, o Options) (*Sandbox, error) {
	start := time.Now()
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{Dir: o.Dir, log: o.logger()}
	sb.log.Info("Starting sandbox", "dir", o.Dir)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	wg.Add(4)
	go func() {
		defer wg.Done()
		t, err := StartTemporal(ctx, o)
		if err != nil {
			fail(err)
			return
		}
		mu.Lock()
		sb.Temporal = t
		mu.Unlock()
	}()
	go func() {
		defer wg.Done()
		m, err := StartMoto(ctx, o)
		if err != nil {
			fail(err)
			return
		}
		mu.Lock()
		sb.Moto = m
		mu.Unlock()
		s, err := SeedAWS(ctx, m)
		if err != nil {
			fail(err)
			return
		}
		mu.Lock()
		sb.Seed = s
		mu.Unlock()
	}()
	for _, name := range []string{BlueCluster, GreenCluster} {
		go func() {
			defer wg.Done()
			k, err := StartKube(ctx, name, o)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			if name == BlueCluster {
				sb.Blue = k
			} else {
				sb.Green = k
			}
			mu.Unlock()
			crds, err := InstallCRDs(ctx, k)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			sb.CRDs = crds
			mu.Unlock()
			if name == GreenCluster {
				if err := SeedVelero(ctx, k); err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		objs, err := SeedBlue(ctx, sb.Blue, sb.Green)
		if err != nil {
			errs = append(errs, err)
		} else {
			// The parts of blue's Kubernetes side that name the AWS seed.
			for _, seed := range []func() error{
				func() error { return SeedIRSAServiceAccounts(ctx, sb.Blue, sb.Seed) },
				func() error { return SeedKarpenter(ctx, sb.Blue, sb.Seed, objs) },
				func() error { return SeedAWSAuth(ctx, sb.Blue, sb.Seed, objs) },
				func() error { return SeedArgoCDInstall(ctx, sb.Blue, objs) },
			} {
				if err := seed(); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
		sb.BlueObjects = objs
	}
	if len(errs) > 0 {
		if derr := sb.Down(); derr != nil {
			errs = append(errs, fmt.Errorf("tear down after the failed start: %w", derr))
		}
		return nil, fmt.Errorf("sandbox up: %w", errors.Join(errs...))
	}
	sb.Startup = time.Since(start)
	sb.log.Info("Sandbox ready", "startup", sb.Startup.Round(time.Millisecond), "temporal", sb.Temporal.Address, "aws", sb.Moto.Endpoint, "blue", sb.Blue.Server, "green", sb.Green.Server)
	return sb, nil
}

// Down stops every server (each is safe to stop twice).
func (s *Sandbox) Down() error {
	if s == nil {
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stops := []func() error{s.Temporal.Stop, s.Moto.Stop, s.Blue.Stop, s.Green.Stop}
	for i, stop := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop()
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error("Sandbox stopped with errors", "err", err)
	} else {
		s.log.Info("Sandbox stopped")
	}
	return err
}

// KubeconfigDir holds <cluster>.kubeconfig for every cluster name the
// sandbox resolves (CUTOVER_KUBECONFIG_DIR).
func (s *Sandbox) KubeconfigDir() string { return filepath.Join(s.Dir, "kubeconfigs") }

// Resolver resolves cluster names through KubeconfigDir: "blue", "green",
// and any name added with MapCluster. Like the worker in sandbox mode, it
// authenticates with EKS tokens signed with moto's credentials and renewed
// before the clusters' KubeTokenMaxAge, not with the admin token.
func (s *Sandbox) Resolver() clusters.Resolver {
	return clusters.KubeconfigResolver{Dir: s.KubeconfigDir(), AWS: s.Moto.AWS()}
}

// MapCluster makes name resolve to k: the name a migration spec gives the
// green EKS cluster (created in moto) is served by the Green apiserver.
func (s *Sandbox) MapCluster(name string, k *Kube) error {
	if err := os.MkdirAll(s.KubeconfigDir(), 0o755); err != nil {
		return err
	}
	return k.WriteKubeconfig(filepath.Join(s.KubeconfigDir(), name+".kubeconfig"), name)
}

// Processes lists every server process (name -> pid); each pid is also its
// process group id.
func (s *Sandbox) Processes() []Process {
	var out []Process
	add := func(p *proc) {
		if p != nil {
			out = append(out, Process{Name: p.name, PID: p.Pid(), Exe: p.cmd.Path})
		}
	}
	if s.Temporal != nil {
		add(s.Temporal.proc)
	}
	if s.Moto != nil {
		add(s.Moto.proc)
	}
	for _, k := range []*Kube{s.Blue, s.Green} {
		if k != nil {
			add(k.etcd)
			add(k.apiserver)
		}
	}
	return out
}

// Process is one server process of the sandbox.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Exe  string `json:"exe"`
}
