package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// State is what `sandbox up` writes to <dir>/state.json for `sandbox down`
// and for people and scripts.
type State struct {
	PID             int               `json:"pid"` // the `sandbox up` process
	Dir             string            `json:"dir"`
	StartedAt       time.Time         `json:"startedAt"`
	TemporalAddress string            `json:"temporalAddress"`
	TemporalUI      string            `json:"temporalUI,omitempty"`
	Namespace       string            `json:"namespace"`
	AWSEndpoint     string            `json:"awsEndpoint"`
	Region          string            `json:"region"`
	KubeconfigDir   string            `json:"kubeconfigDir"`
	Clusters        map[string]string `json:"clusters"`                  // name -> apiserver URL
	KubeTokenMaxAge string            `json:"kubeTokenMaxAge,omitempty"` // how long the clusters accept an EKS token
	Processes       []Process         `json:"processes"`
	Seed            *Seed             `json:"seed"`
	BlueObjects     *KubeSeed         `json:"blueObjects"`
	// ArgoCDInstallManifest is where the sandbox's worker reads Argo CD's
	// install.yaml (the module cache; see ArgoCDInstallManifest).
	ArgoCDInstallManifest string `json:"argoCDInstallManifest,omitempty"`
}

// Env is the environment that points the CLI and the worker at the
// sandbox (written to <dir>/env as `export KEY=VALUE` lines, which both a
// shell and make can include).
func (s *State) Env() map[string]string {
	return map[string]string{
		"TEMPORAL_ADDRESS":       s.TemporalAddress,
		"TEMPORAL_NAMESPACE":     s.Namespace,
		"CUTOVER_AWS_ENDPOINT":   s.AWSEndpoint,
		"CUTOVER_KUBECONFIG_DIR": s.KubeconfigDir,
		"AWS_REGION":             s.Region,
		"AWS_ACCESS_KEY_ID":      AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":  AWSSecretAccessKey,
		"CUTOVER_SANDBOX_DIR":    s.Dir,
		// Bare apiservers: short polls, scratch pods not waited on to run.
		"CUTOVER_SANDBOX": "true",
		// The CLI's links point at this Temporal's UI.
		"CUTOVER_UI_URL": uiURL(s.TemporalUI),
		// Argo CD moved to green is installed from the module cache.
		"CUTOVER_ARGOCD_INSTALL_MANIFEST": s.ArgoCDInstallManifest,
	}
}

func uiURL(addr string) string {
	if addr == "" {
		return ""
	}
	return "http://" + addr
}

// WriteEnv writes Env to <Dir>/env as sorted `export KEY=VALUE` lines.
func (s *State) WriteEnv() error {
	env := s.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString("# Written by cutover; source it (set -a; . ./env; set +a) or include it from make.\n")
	for _, k := range keys {
		fmt.Fprintf(&sb, "export %s=%s\n", k, env[k])
	}
	return os.WriteFile(filepath.Join(s.Dir, "env"), []byte(sb.String()), 0o644)
}

const usage = `usage: sandbox up [flags]    start Temporal, moto and clusters blue/green; Ctrl-C stops them
       sandbox down [flags]  stop a sandbox started by 'up' in another shell or in the background
`

// RunCLI implements `cutover sandbox up|down`.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("sandbox: missing command (up or down)")
	}
	switch args[0] {
	case "up":
		return cliUp(ctx, args[1:], stdout, stderr)
	case "down":
		return cliDown(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("sandbox: unknown command %q", args[0])
	}
}

func defaultDir() string {
	if root, err := RepoRoot(); err == nil {
		return filepath.Join(root, ".sandbox")
	}
	return ".sandbox"
}

func cliUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", defaultDir(), "state and logs directory (emptied at start)")
	port := fs.Int("temporal-port", 0, "Temporal frontend port (0: a free port)")
	uiPort := fs.Int("ui-port", 0, "Temporal Web UI port (0: a free port)")
	headless := fs.Bool("headless", false, "do not serve the Temporal Web UI")
	db := fs.String("temporal-db", "", "keep Temporal state in this SQLite file (default: in memory)")
	tokenMaxAge := fs.Duration("kube-token-max-age", DefaultKubeTokenMaxAge, "how long the clusters accept an EKS token after it is signed (EKS: 15m)")
	verbose := fs.Bool("v", false, "log the sandbox's progress to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if st, err := readState(abs); err == nil && alive(st.PID) {
		return fmt.Errorf("a sandbox is already running from %s (pid %d): run `sandbox down` first", abs, st.PID)
	}
	if err := os.RemoveAll(abs); err != nil {
		return fmt.Errorf("clear %s: %w", abs, err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *tokenMaxAge <= 0 {
		return fmt.Errorf("sandbox up: --kube-token-max-age must be positive, not %s", *tokenMaxAge)
	}
	o := Options{Dir: abs, TemporalUI: !*headless, TemporalPort: *port, TemporalUIPort: *uiPort, TemporalDBFile: *db, KubeTokenMaxAge: *tokenMaxAge}
	if *verbose {
		o.Log = stderr
	}
	fmt.Fprintf(stdout, "Starting the sandbox in %s ...\n", abs)
	sb, err := Up(ctx, o)
	if err != nil {
		return err
	}
	st := &State{
		PID: os.Getpid(), Dir: abs, StartedAt: time.Now().UTC(),
		TemporalAddress: sb.Temporal.Address, TemporalUI: sb.Temporal.UIAddress, Namespace: sb.Temporal.Namespace,
		AWSEndpoint: sb.Moto.Endpoint, Region: sb.Seed.Region, KubeconfigDir: sb.KubeconfigDir(),
		Clusters:        map[string]string{sb.Blue.Name: sb.Blue.Server, sb.Green.Name: sb.Green.Server},
		KubeTokenMaxAge: sb.Blue.TokenMaxAge.String(),
		Processes:       sb.Processes(), Seed: sb.Seed, BlueObjects: sb.BlueObjects,
	}
	if st.ArgoCDInstallManifest, err = ArgoCDInstallManifest(ctx); err != nil {
		return errors.Join(fmt.Errorf("sandbox: Argo CD's install manifest: %w", err), sb.Down())
	}
	if err := writeState(st); err != nil {
		return errors.Join(err, sb.Down())
	}
	fmt.Fprintf(stdout, "Sandbox up in %s (state %s)\n", sb.Startup.Round(time.Millisecond), filepath.Join(abs, "state.json"))
	fmt.Fprintf(stdout, "  Temporal    %s  namespace %s\n", st.TemporalAddress, st.Namespace)
	if st.TemporalUI != "" {
		fmt.Fprintf(stdout, "  Temporal UI http://%s\n", st.TemporalUI)
	}
	fmt.Fprintf(stdout, "  AWS (moto)  %s  region %s  (EKS cluster %q, zone %s, distribution %s)\n", st.AWSEndpoint, st.Region, sb.Seed.Cluster, sb.Seed.HostedZoneID, sb.Seed.DistributionID)
	for _, k := range []*Kube{sb.Blue, sb.Green} {
		fmt.Fprintf(stdout, "  %-11s %s  kubeconfig %s\n", k.Name, k.Server, k.Kubeconfig)
	}
	fmt.Fprintf(stdout, "  The clusters accept EKS tokens for %s (the worker signs and renews them); kubectl with a kubeconfig uses its long-lived admin token.\n", sb.Blue.TokenMaxAge)
	fmt.Fprintf(stdout, "Point the CLI and the worker at it:  set -a; . %s; set +a\n", filepath.Join(abs, "env"))
	fmt.Fprintln(stdout, "Ctrl-C (or `sandbox down`) stops everything.")

	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping the sandbox ...")
	err = sb.Down()
	_ = os.Remove(filepath.Join(abs, "state.json"))
	if err == nil {
		fmt.Fprintln(stdout, "Sandbox stopped.")
	}
	return err
}

func cliDown(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", defaultDir(), "state and logs directory of the running sandbox")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	st, err := readState(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "No sandbox is running from %s.\n", abs)
			return nil
		}
		return err
	}
	// Ask `up` to tear down cleanly, then make sure.
	if alive(st.PID) {
		_ = syscall.Kill(st.PID, syscall.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for alive(st.PID) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var errs []error
	for _, p := range st.Processes {
		if !alive(p.PID) {
			continue
		}
		if !sameExe(p) {
			fmt.Fprintf(stderr, "pid %d is no longer %s (%s); not killing it\n", p.PID, p.Name, p.Exe)
			continue
		}
		if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID, err))
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(filepath.Join(abs, "state.json"))
		fmt.Fprintf(stdout, "Sandbox in %s stopped.\n", abs)
	}
	return errors.Join(errs...)
}

func writeState(st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(st.Dir, "state.json"), b, 0o644); err != nil {
		return err
	}
	return st.WriteEnv()
}

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &st, nil
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sameExe guards against pid reuse: on Linux the pid must still run the
// executable the sandbox started (elsewhere it is trusted).
func sameExe(p Process) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		return errors.Is(err, os.ErrNotExist) && !procfs()
	}
	want, err := filepath.EvalSymlinks(p.Exe)
	if err != nil {
		want = p.Exe
	}
	return exe == want || filepath.Base(exe) == filepath.Base(want)
}

func procfs() bool {
	_, err := os.Stat("/proc/self/exe")
	return err == nil
}
