// Package sandbox starts the real servers the tests and the demo run
// against, on 127.0.0.1 only: the Temporal dev server (Temporal CLI), moto
// (the AWS wire protocol), and one etcd + kube-apiserver pair per
// Kubernetes cluster. Every server is a child process in its own process
// group with its log in the sandbox directory; Stop kills the group.
//
// The tools come from `make tools` (bin/ and .venv/); a missing tool is an
// error that says so, never a silent skip.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Options configures where the sandbox keeps its state and finds its tools.
type Options struct {
	// Dir holds state and logs. Empty means a new temporary directory
	// (sandboxtest uses t.TempDir, the CLI uses <repo>/.sandbox).
	Dir string
	// ToolsDir holds temporal and kube-apiserver (and optionally etcd).
	// Empty means $CUTOVER_TOOLS_DIR, else <repo root>/bin, the repo root
	// being found by walking up from the working directory to go.mod.
	ToolsDir string
	// VenvDir is the Python venv with moto[server]. Empty means
	// $CUTOVER_VENV, else <repo root>/.venv.
	VenvDir string
	// Log receives the sandbox's own messages (slog text). Nil discards.
	Log io.Writer

	// TemporalUI serves the Temporal Web UI (on TemporalUIPort, or a free
	// port); false runs the dev server headless.
	TemporalUI bool
	// TemporalPort and TemporalUIPort pin ports; 0 picks free ones.
	TemporalPort   int
	TemporalUIPort int
	// TemporalDBFile keeps Temporal state in that SQLite file; empty means
	// in memory.
	TemporalDBFile string

	// KubeTokenMaxAge is how long the clusters accept an EKS token after it
	// was signed; 0 means DefaultKubeTokenMaxAge (20 s). The long-lived
	// admin token of the kubeconfigs is not affected.
	KubeTokenMaxAge time.Duration

	// EKSOptimizedImages puts in moto's EC2 the AMIs the EKS-optimized AMI
	// SSM parameters name (EKSOptimizedImages), under the names AWS gives
	// them, as real AWS has them: a launch template version cutover wrote
	// for a green is then an EKS-optimized AMI when that green is blue a
	// quarter later, or when blue moves in place a second minor (Up and
	// UpFleet set it). Off by default for StartMoto alone: its EC2 holds
	// moto's default images and what the seed registers.
	EKSOptimizedImages bool

	// ArgoCDOnHub runs Argo CD on a third cluster, HubCluster, that manages
	// blue and green through cluster secrets: the Argo CD objects and
	// install go there instead of blue's argocd namespace, with the
	// ApplicationSets edge and batch (SeedApplicationSets).
	ArgoCDOnHub bool
}

// ToolMissingError reports a tool binary that `make tools` installs.
type ToolMissingError struct {
	Tool string
	Path string
}

func (e *ToolMissingError) Error() string {
	return fmt.Sprintf("%s not found (looked at %s): run `make tools`", e.Tool, e.Path)
}

// resolve fills the defaults and creates Dir.
func (o Options) resolve() (Options, error) {
	if o.ToolsDir == "" {
		o.ToolsDir = os.Getenv("CUTOVER_TOOLS_DIR")
	}
	if o.VenvDir == "" {
		o.VenvDir = os.Getenv("CUTOVER_VENV")
	}
	if o.ToolsDir == "" || o.VenvDir == "" {
		root, err := RepoRoot()
		if err != nil {
			return o, fmt.Errorf("find tools: %w (set CUTOVER_TOOLS_DIR and CUTOVER_VENV, or run from the repository)", err)
		}
		if o.ToolsDir == "" {
			o.ToolsDir = filepath.Join(root, "bin")
		}
		if o.VenvDir == "" {
			o.VenvDir = filepath.Join(root, ".venv")
		}
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "cutover-sandbox-")
		if err != nil {
			return o, fmt.Errorf("create sandbox dir: %w", err)
		}
		o.Dir = d
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = abs
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return o, fmt.Errorf("create sandbox dir: %w", err)
	}
	return o, nil
}

func (o Options) kubeTokenMaxAge() time.Duration {
	if o.KubeTokenMaxAge > 0 {
		return o.KubeTokenMaxAge
	}
	return DefaultKubeTokenMaxAge
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// RepoRoot walks up from the working directory to the directory holding
// go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func (o Options) temporalBin() (string, error) {
	return toolAt("Temporal CLI", filepath.Join(o.ToolsDir, "temporal"))
}

func (o Options) kubeAPIServerBin() (string, error) {
	return toolAt("kube-apiserver", filepath.Join(o.ToolsDir, "kube-apiserver"))
}

func (o Options) motoPython() (string, error) {
	// moto_server is what `make tools` installs; the sandbox runs the same
	// entry point through the venv's python with a boot script (moto.go).
	if _, err := toolAt("moto_server", filepath.Join(o.VenvDir, "bin", "moto_server")); err != nil {
		return "", err
	}
	return toolAt("moto venv python", filepath.Join(o.VenvDir, "bin", "python"))
}

func (o Options) etcdBin() (string, error) {
	p := filepath.Join(o.ToolsDir, "etcd")
	if _, err := toolAt("etcd", p); err == nil {
		return p, nil
	}
	if lp, err := exec.LookPath("etcd"); err == nil {
		return lp, nil
	}
	return "", &ToolMissingError{Tool: "etcd", Path: p + " and $PATH"}
}

func toolAt(tool, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &ToolMissingError{Tool: tool, Path: path}
	}
	return path, nil
}
