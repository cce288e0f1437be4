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
// estate, and the blue and green Kubernetes clusters (and the hub with
// Options.ArgoCDOnHub) with the Argo CD, Velero and Karpenter CRDs, blue's
// workloads seeded.
type Sandbox struct {
	Dir      string
	Temporal *Temporal
	Moto     *Moto
	Blue     *Kube
	Green    *Kube
	// Hub is the cluster Argo CD runs on with Options.ArgoCDOnHub (named
	// HubCluster); nil otherwise.
	Hub *Kube

	// Seed is the AWS side of the blue estate; BlueObjects its Kubernetes
	// side; CRDs the CRD names installed in every cluster.
	Seed        *Seed
	BlueObjects *KubeSeed
	CRDs        []string
	// Startup is how long Up took.
	Startup time.Duration

	log *slog.Logger
	// opts are the resolved options Up ran with (AddMember starts
	// apiservers with them).
	opts Options

	// extraMu guards extra and closers: the apiservers a fleet sandbox
	// (UpFleet) adds besides blue, green and the hub, and the servers in
	// front of them; Down stops them too.
	extraMu sync.Mutex
	extra   []*Kube
	closers []func() error
}

// addCloser makes Down call stop.
func (s *Sandbox) addCloser(stop func() error) {
	s.extraMu.Lock()
	defer s.extraMu.Unlock()
	s.closers = append(s.closers, stop)
}

// addKube makes Down stop k and Processes list it.
func (s *Sandbox) addKube(k *Kube) {
	s.extraMu.Lock()
	defer s.extraMu.Unlock()
	s.extra = append(s.extra, k)
}

// extraKubes is a copy of extra.
func (s *Sandbox) extraKubes() []*Kube {
	s.extraMu.Lock()
	defer s.extraMu.Unlock()
	return append([]*Kube(nil), s.extra...)
}

// Up starts every server in parallel, installs the CRDs and seeds the blue
// estate. With o.ArgoCDOnHub it also starts the hub, which holds the Argo
// CD objects, install and ApplicationSets, and resolves as HubCluster. On
// failure it stops whatever it started.
func Up(ctx context.Context, o Options) (*Sandbox, error) {
	start := time.Now()
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	o.EKSOptimizedImages = true
	sb := &Sandbox{Dir: o.Dir, log: o.logger(), opts: o}
	sb.log.Info("Starting sandbox", "dir", o.Dir)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	kubes := []string{BlueCluster, GreenCluster}
	if o.ArgoCDOnHub {
		kubes = append(kubes, HubCluster)
	}
	wg.Add(2 + len(kubes))
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
	for _, name := range kubes {
		go func() {
			defer wg.Done()
			k, err := StartKube(ctx, name, o)
			if err != nil {
				fail(err)
				return
			}
			if name == BlueCluster {
				// Blue's /version is the version EKS reports for it (an
				// in-place upgrade moves it), before anything records
				// blue's server URL.
				p, err := startVersionProxyFunc(k, filepath.Join(o.Dir, "kube-"+name), eksVersion(func() *Moto {
					mu.Lock()
					defer mu.Unlock()
					return sb.Moto
				}, BlueCluster))
				if err != nil {
					fail(errors.Join(err, k.Stop()))
					return
				}
				sb.addCloser(p.stop)
			}
			mu.Lock()
			switch name {
			case BlueCluster:
				sb.Blue = k
			case GreenCluster:
				sb.Green = k
			default:
				sb.Hub = k
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
		var objs *KubeSeed
		var err error
		argo := sb.Blue
		if sb.Hub != nil {
			argo = sb.Hub
			objs, err = SeedBlueWithHub(ctx, sb.Blue, sb.Green, sb.Hub)
		} else {
			objs, err = SeedBlue(ctx, sb.Blue, sb.Green)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			// The parts of blue's Kubernetes side that name the AWS seed,
			// then the Argo CD install where Argo CD runs.
			seeds := []func() error{
				func() error { return SeedIRSAServiceAccounts(ctx, sb.Blue, irsaSeed(sb.Seed, sb.Hub != nil)) },
				func() error { return SeedKarpenter(ctx, sb.Blue, sb.Seed, objs) },
				func() error { return SeedAWSAuth(ctx, sb.Blue, sb.Seed, objs) },
				func() error { return SeedBlueLoadBalancerStatus(ctx, sb.Blue, sb.Seed) },
				func() error { return SeedBlueRetainedPV(ctx, sb.Blue, sb.Seed) },
				func() error { return SeedArgoCDInstall(ctx, argo, objs) },
			}
			if sb.Hub != nil {
				seeds = append(seeds,
					func() error { return SeedApplicationSets(ctx, sb.Hub, sb.Blue, objs) },
					func() error { return sb.MapCluster(HubCluster, sb.Hub) },
				)
			}
			for _, seed := range seeds {
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
	ready := []any{"startup", sb.Startup.Round(time.Millisecond), "temporal", sb.Temporal.Address, "aws", sb.Moto.Endpoint, "blue", sb.Blue.Server, "green", sb.Green.Server}
	if sb.Hub != nil {
		ready = append(ready, "hub", sb.Hub.Server)
	}
	sb.log.Info("Sandbox ready", ready...)
	return sb, nil
}

// Down stops every server (each is safe to stop twice).
func (s *Sandbox) Down() error {
	if s == nil {
		return nil
	}
	var wg sync.WaitGroup
	stops := []func() error{s.Temporal.Stop, s.Moto.Stop, s.Blue.Stop, s.Green.Stop, s.Hub.Stop}
	for _, k := range s.extraKubes() {
		stops = append(stops, k.Stop)
	}
	s.extraMu.Lock()
	stops = append(stops, s.closers...)
	s.extraMu.Unlock()
	errs := make([]error, len(stops))
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
// "hub" (Options.ArgoCDOnHub) and any name added with MapCluster. The
// names need no EKS cluster in moto: the tokens are signed locally and the
// apiserver's webhook checks them for its own name. Like the worker in sandbox mode, it
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
	for _, k := range append([]*Kube{s.Blue, s.Green, s.Hub}, s.extraKubes()...) {
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

// irsaSeed is the seed SeedIRSAServiceAccounts gets for blue. With Argo CD
// on the hub, blue has no argocd namespace and so no Argo CD controller
// ServiceAccount: the copy's Argo CD entry names the workload's
// ServiceAccount again, which is seeded once.
func irsaSeed(s *Seed, argoCDOnHub bool) *Seed {
	if !argoCDOnHub {
		return s
	}
	c := *s
	c.IRSA.ArgoCDServiceAccount, c.IRSA.ArgoCDRoleARN = c.IRSA.WorkloadServiceAccount, c.IRSA.WorkloadRoleARN
	return &c
}
