package demo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// FleetOptions of a fleet demo: a fleet sandbox (sandbox.UpFleet), a worker
// with cutover's real activities, and a simulator for every migration the
// fleet will run.
type FleetOptions struct {
	// Dir keeps state and logs. Required (tests pass t.TempDir()).
	Dir string
	// Sandbox names the members, the generations of each and their
	// versions (the simulated nodes' kubelet version too).
	Sandbox sandbox.FleetOptions
	// SandboxLog receives the sandbox's own progress messages.
	SandboxLog io.Writer
	Logger     *slog.Logger
}

// Fleet is a running fleet demo.
type Fleet struct {
	Sandbox *sandbox.Fleet
	Client  client.Client
	// Simulators play, for each member and generation, what the migration
	// to it needs: blue is the original or the previous generation, green
	// the generation (Velero, the green platform, load balancers).
	Simulators []*Simulator

	worker  worker.Worker
	stopSim context.CancelFunc
	simDone sync.WaitGroup
}

// StartFleet brings up the fleet sandbox, the worker and one simulator per
// (blue, green) pair a migration of the fleet will have; nothing is
// started in Temporal. Each simulator is the demo's, unchanged: the one
// for a member's first generation is what Start runs for blue and green.
func StartFleet(ctx context.Context, o FleetOptions) (*Fleet, error) {
	if o.Dir == "" {
		return nil, errors.New("demo fleet: Dir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	fl, err := sandbox.UpFleet(ctx, sandbox.Options{Dir: o.Dir, Log: o.SandboxLog}, o.Sandbox)
	if err != nil {
		return nil, err
	}
	c, w, _, err := startWorker(ctx, fl.Sandbox, o.Dir, o.Logger)
	if err != nil {
		return nil, errors.Join(err, fl.Down())
	}
	d := &Fleet{Sandbox: fl, Client: c, worker: w}
	// moto's static config cannot fail to build.
	elbCfg, _ := fl.Moto.AWS().ForRegion(ctx, fl.Seed.Region)
	lbs := elbv2.NewFromConfig(elbCfg)
	for _, m := range fl.Members {
		blue := m.Blue
		for i, green := range m.Kubes {
			d.Simulators = append(d.Simulators, &Simulator{Blue: blue, Green: green, GreenVersion: fl.Versions[i],
				Logger:        o.Logger.With("component", "simulator", "logical", m.Logical, "green", m.Generations[i]),
				LoadBalancers: lbs, Subnets: m.SubnetIDs})
			blue = green
		}
	}
	simCtx, stop := context.WithCancel(context.Background())
	d.stopSim = stop
	for _, s := range d.Simulators {
		d.simDone.Add(1)
		go func() { defer d.simDone.Done(); _ = s.Run(simCtx) }()
	}
	o.Logger.Info("Fleet demo ready", "members", len(fl.Members), "simulators", len(d.Simulators), "temporal", fl.Temporal.Address)
	return d, nil
}

// Stop stops the worker, the simulators and the sandbox.
func (d *Fleet) Stop() error {
	d.worker.Stop()
	d.stopSim()
	d.simDone.Wait()
	d.Client.Close()
	return d.Sandbox.Down()
}
