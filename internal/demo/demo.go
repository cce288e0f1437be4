// Package demo runs a whole migration on one machine: the sandbox
// (Temporal with its UI, moto seeded with a blue estate, kube-apiservers
// blue and green), a worker with cutover's real activities pointed at it,
// a simulator for what a bare apiserver lacks (kubelets, controllers,
// Velero, Argo CD), and a migration started from a spec built from the
// seed. People approve its gates from the UI or the CLI.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/internal/wiring"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// Options of a demo run.
type Options struct {
	// Dir keeps state, logs and the generated spec. Default <repo>/.sandbox.
	Dir string
	// TemporalPort and UIPort; 0 picks free ports (`make demo` passes 7233
	// and 8233); UIPort -1 runs Temporal headless.
	TemporalPort, UIPort int
	// TargetVersion of green. Default "1.31".
	TargetVersion string
	// Start starts the demo migration; false only brings everything up.
	Start bool
	// Fast shortens bakes and the soak to seconds (tests).
	Fast bool
	// ArgoCDOnHub runs Argo CD on a third cluster, the hub
	// (sandbox.Options.ArgoCDOnHub), with ApplicationSets: the simulator
	// plays Argo CD there and the demo spec names the hub
	// (argocd.hub.clusterName) and restores the edge and batch namespaces
	// too.
	ArgoCDOnHub bool
	// SecondMigration adds a second blue (SecondBlue, with its own VPC,
	// node group, record, alarm and apiserver) and the apiserver of its
	// green, and writes UISpecFile: a migration to start from the
	// Temporal UI's form beside the demo migration.
	SecondMigration bool
	// SandboxLog receives the sandbox's own progress messages.
	SandboxLog io.Writer
	Stdout     io.Writer
	Logger     *slog.Logger
}

// Spec is the demo migration for the seeded estate.
func Spec(seed *sandbox.Seed, version string) spec.MigrationSpec {
	yes := true
	return spec.MigrationSpec{
		Name:      "demo",
		Blue:      spec.BlueSpec{ClusterName: seed.Cluster, Region: seed.Region},
		Green:     spec.GreenSpec{ClusterName: "green", KubernetesVersion: version},
		Preflight: spec.PreflightSpec{BlockOn: "none"}, // show blue's findings, do not stop on them
		ArgoCD:    spec.ArgoCDSpec{Mode: spec.ArgoCDModeRetarget, Namespace: sandbox.ArgoCDNamespace, SyncTimeout: spec.Duration(5 * time.Minute)},
		Velero:    spec.VeleroSpec{Enabled: true, Namespace: sandbox.VeleroNamespace, IncludedNamespaces: []string{"shop", "payments", "monitoring"}, Timeout: spec.Duration(5 * time.Minute)},
		Smoke:     spec.SmokeSpec{Timeout: spec.Duration(5 * time.Minute)},
		// Blue runs the CronJobs until half the traffic is on green.
		Jobs: spec.JobsSpec{MoveAtStep: 50},
		Traffic: spec.TrafficSpec{
			Provider: spec.ProviderRoute53,
			Route53: &spec.Route53Spec{HostedZoneID: seed.HostedZoneID, RecordName: seed.RecordName, GreenTarget: seed.GreenTarget,
				BlueSetIdentifier: "blue", GreenSetIdentifier: "green"},
			Steps:         []int{10, 50, 100},
			BakeTime:      spec.Duration(30 * time.Second),
			CheckInterval: spec.Duration(5 * time.Second),
			Alarms:        seed.AlarmNames,
		},
		Approvals: spec.ApprovalsSpec{
			Cutover: spec.GateSpec{Timeout: spec.Duration(time.Hour)},
			Retire:  spec.GateSpec{Enabled: &yes, Timeout: spec.Duration(time.Hour)},
		},
		Retire: spec.RetireSpec{Soak: spec.Duration(30 * time.Second), Blue: spec.FateDelete},
	}
}

// Demo is a running demo.
type Demo struct {
	Sandbox *sandbox.Sandbox
	Client  client.Client
	Spec    spec.MigrationSpec
	// WorkflowID of the started migration ("" when not started).
	WorkflowID string
	// Simulator plays Velero, Argo CD and the kubelets.
	Simulator *Simulator
	// SecondSpec is the second migration (Options.SecondMigration), not
	// started: UISpecPath holds it for the UI's form.
	SecondSpec *spec.MigrationSpec
	UISpecPath string

	worker  worker.Worker
	dir     string
	logger  *slog.Logger
	simCtx  context.Context
	stopSim context.CancelFunc
	simDone sync.WaitGroup
}

// runSimulator runs sim until Stop.
func (d *Demo) runSimulator(sim *Simulator) {
	d.simDone.Add(1)
	go func() { defer d.simDone.Done(); _ = sim.Run(d.simCtx) }()
}

// fast shortens a spec's bakes and soak to seconds (Options.Fast).
func fast(s *spec.MigrationSpec) {
	s.Traffic.BakeTime, s.Traffic.CheckInterval, s.Retire.Soak = spec.Duration(2*time.Second), spec.Duration(time.Second), spec.Duration(time.Second)
}

// RestartWorker stops the worker, as a crash or a deploy would (its
// activities are cancelled mid-call), and starts a new one on the same
// task queue: what was running is retried there.
func (d *Demo) RestartWorker(ctx context.Context) error {
	d.worker.Stop()
	d.Client.Close()
	c, w, _, err := startWorker(ctx, d.Sandbox, d.dir, d.logger)
	if err != nil {
		return fmt.Errorf("restart the worker: %w", err)
	}
	d.Client, d.worker = c, w
	d.logger.Info("Restarted the worker")
	return nil
}

// Stop stops the worker, the simulator and the sandbox.
func (d *Demo) Stop() error {
	d.worker.Stop()
	d.stopSim()
	d.simDone.Wait()
	d.Client.Close()
	return d.Sandbox.Down()
}

// Run brings the demo up and blocks until ctx ends, then tears it down.
func Run(ctx context.Context, o Options) error {
	d, err := Start(ctx, o)
	if err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(o.stdout(), "Stopping the demo ...")
	return d.Stop()
}

func (o Options) stdout() io.Writer {
	if o.Stdout == nil {
		return os.Stdout
	}
	return o.Stdout
}

// Start brings up the sandbox, the worker and the simulator, and starts
// the demo migration when o.Start is set.
func Start(ctx context.Context, o Options) (*Demo, error) {
	o.Stdout = o.stdout()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if o.TargetVersion == "" {
		o.TargetVersion = "1.31"
	}
	if o.Dir == "" {
		root, err := sandbox.RepoRoot()
		if err != nil {
			return nil, err
		}
		o.Dir = filepath.Join(root, ".sandbox")
	}
	if err := os.RemoveAll(o.Dir); err != nil {
		return nil, err
	}
	kubes := "blue and green"
	if o.ArgoCDOnHub {
		kubes = "blue, green and hub (Argo CD)"
	}
	fmt.Fprintf(o.Stdout, "Starting the sandbox (Temporal, its UI, moto, kube-apiservers %s) in %s ...\n", kubes, o.Dir)
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: o.Dir, TemporalUI: o.UIPort >= 0, TemporalPort: o.TemporalPort, TemporalUIPort: max(o.UIPort, 0), Log: o.SandboxLog,
		ArgoCDOnHub: o.ArgoCDOnHub})
	if err != nil {
		return nil, err
	}
	d := &Demo{Sandbox: sb}
	fail := func(err error) (*Demo, error) {
		return nil, errors.Join(err, sb.Down())
	}
	fmt.Fprintf(o.Stdout, "Sandbox up in %s.\n", sb.Startup.Round(time.Millisecond))
	if sb.Hub != nil {
		fmt.Fprintf(o.Stdout, "Argo CD runs on the hub: %s (kubeconfig %s), ApplicationSets %s.\n", sb.Hub.Server, sb.Hub.Kubeconfig, strings.Join(sb.BlueObjects.ApplicationSets, ", "))
	}

	c, w, env, err := startWorker(ctx, sb, o.Dir, o.Logger)
	if err != nil {
		return fail(err)
	}
	ui := env["CUTOVER_UI_URL"]
	d.Client, d.worker, d.dir, d.logger = c, w, o.Dir, o.Logger

	// moto's static config cannot fail to build.
	elbCfg, _ := sb.Moto.AWS().ForRegion(ctx, sb.Seed.Region)
	lbs := elbv2.NewFromConfig(elbCfg)
	sim := &Simulator{Blue: sb.Blue, Green: sb.Green, Hub: sb.Hub, GreenVersion: o.TargetVersion, Logger: o.Logger.With("component", "simulator"),
		LoadBalancers: lbs, Subnets: sb.Seed.SubnetIDs}
	d.Simulator = sim
	d.simCtx, d.stopSim = context.WithCancel(context.Background())
	d.runSimulator(sim)
	if o.SecondMigration {
		fmt.Fprintf(o.Stdout, "Adding a second blue (%s) and its green (%s) ...\n", SecondBlue, SecondGreen)
		s, path, err := d.addSecond(ctx, o, lbs)
		if err != nil {
			_ = d.Stop()
			return nil, err
		}
		d.SecondSpec, d.UISpecPath = &s, path
	}

	d.Spec = Spec(sb.Seed, o.TargetVersion)
	if sb.Hub != nil {
		d.Spec.ArgoCD.Hub = &spec.ArgoCDHubSpec{ClusterName: sandbox.HubCluster}
		d.Spec.Velero.IncludedNamespaces = append(d.Spec.Velero.IncludedNamespaces, "edge", "batch")
	}
	if o.Fast {
		fast(&d.Spec)
	}
	specPath := filepath.Join(o.Dir, "demo-spec.json")
	b, _ := json.MarshalIndent(d.Spec, "", "  ")
	if err := os.WriteFile(specPath, append(b, '\n'), 0o644); err != nil {
		_ = d.Stop()
		return nil, err
	}
	if ui != "" {
		fmt.Fprintf(o.Stdout, "\nTemporal UI:  %s\n", ui)
	}
	fmt.Fprintf(o.Stdout, "Demo spec:    %s\nEnvironment:  set -a; . %s; set +a\n", specPath, filepath.Join(o.Dir, "env"))
	if d.SecondSpec != nil {
		printUIForm(o, ui, sb.Temporal.Namespace, *d.SecondSpec, d.UISpecPath)
	}
	if !o.Start {
		fmt.Fprintf(o.Stdout, "Start it with: bin/cutover start -f %s\nCtrl-C stops everything.\n", specPath)
		return d, nil
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: d.Spec.WorkflowID(), TaskQueue: workflows.TaskQueue}, workflows.WorkflowType, d.Spec)
	if err != nil {
		_ = d.Stop()
		return nil, fmt.Errorf("start the demo migration: %w", err)
	}
	d.WorkflowID = run.GetID()
	if ui != "" {
		fmt.Fprintf(o.Stdout, "\nStarted migration %s: %s/namespaces/%s/workflows/%s\n", run.GetID(), ui, sb.Temporal.Namespace, run.GetID())
	}
	id := run.GetID()
	fmt.Fprintf(o.Stdout, "In another shell (after the environment line above):\n  bin/cutover watch %s\n  bin/cutover approve %s --gate cutover --by you --comment \"smoke is green\"\n  bin/cutover approve %s --gate retire --by you\n  bin/cutover abort %s --by you --reason \"try a rollback\"\nCtrl-C stops everything.\n", id, id, id, id)
	return d, nil
}

// startWorker writes the sandbox's environment file into dir, gives the
// in-process activities (the default AWS chain) moto's credentials, and
// starts a worker on the task queue with cutover's real activities against
// sb. It returns the client, the worker and the environment.
func startWorker(ctx context.Context, sb *sandbox.Sandbox, dir string, logger *slog.Logger) (client.Client, worker.Worker, map[string]string, error) {
	st := &sandbox.State{Dir: dir, TemporalAddress: sb.Temporal.Address, TemporalUI: sb.Temporal.UIAddress, Namespace: sb.Temporal.Namespace,
		AWSEndpoint: sb.Moto.Endpoint, Region: sb.Seed.Region, KubeconfigDir: sb.KubeconfigDir()}
	if err := st.WriteEnv(); err != nil {
		return nil, nil, nil, err
	}
	env := st.Env()
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if err := os.Setenv(k, env[k]); err != nil {
			return nil, nil, nil, err
		}
	}
	manifest, err := sandbox.ArgoCDInstallManifest(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("demo: Argo CD's install manifest: %w", err)
	}
	c, err := client.Dial(client.Options{HostPort: sb.Temporal.Address, Namespace: sb.Temporal.Namespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "temporal"))})
	if err != nil {
		return nil, nil, nil, err
	}
	w := wiring.NewWorker(c, workflows.TaskQueue, worker.Options{})
	wiring.Register(w, wiring.Activities(wiring.Options{AWSEndpoint: sb.Moto.Endpoint, KubeconfigDir: sb.KubeconfigDir(), Sandbox: true,
		ArgoCDInstallManifest: manifest, Logger: logger})...)
	if err := w.Start(); err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	return c, w, env, nil
}
