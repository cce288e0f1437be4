package sandbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/internal/awsconf"
)

//go:embed moto_boot.py
var motoBoot []byte

// motoExt is the EKS emulation moto_boot.py installs (the motoext package,
// without its tests).
//
//go:embed motoext/*.py
var motoExt embed.FS

// DefaultRegion is the region the sandbox seeds.
const DefaultRegion = "us-east-1"

// Moto is a running moto server (AWS APIs over plain HTTP).
type Moto struct {
	// Endpoint is the base URL every AWS client is pointed at.
	Endpoint string
	// Region is the region the sandbox seeds (us-east-1).
	Region string

	proc *proc
}

// StartMoto starts moto on 127.0.0.1 and waits until it answers HTTP. moto
// boots with the sandbox's EKS emulation (the motoext package: add-ons,
// access entries, Pod Identity, insights, cluster versions and version
// updates, see docs/sandbox.md) and serves the EKS-optimized AMI SSM public
// parameters (see EKSOptimizedAMIParameters).
func StartMoto(ctx context.Context, o Options) (*Moto, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	python, err := o.motoPython()
	if err != nil {
		return nil, err
	}
	log := o.logger().With("server", "moto")
	dir := filepath.Join(o.Dir, "moto")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	boot := filepath.Join(dir, "moto_boot.py")
	if err := os.WriteFile(boot, motoBoot, 0o644); err != nil {
		return nil, err
	}
	if err := writeMotoExt(filepath.Join(dir, "motoext")); err != nil {
		return nil, err
	}
	params, err := json.MarshalIndent(EKSOptimizedAMIParameters(), "", "  ")
	if err != nil {
		return nil, err
	}
	paramsPath := filepath.Join(dir, "ssm-public-parameters.json")
	if err := os.WriteFile(paramsPath, params, 0o644); err != nil {
		return nil, err
	}
	var extraEnv []string
	if o.EKSOptimizedImages {
		images, err := json.MarshalIndent(EKSOptimizedImages(), "", "  ")
		if err != nil {
			return nil, err
		}
		imagesPath := filepath.Join(dir, "ec2-eks-images.json")
		if err := os.WriteFile(imagesPath, images, 0o644); err != nil {
			return nil, err
		}
		extraEnv = append(extraEnv, "CUTOVER_MOTO_EKS_IMAGES="+imagesPath)
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		m, err := startMotoOnce(ctx, log, python, boot, paramsPath, dir, extraEnv)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
		log.Warn("Port taken, retrying with another port", "attempt", attempt)
	}
	return nil, lastErr
}

// writeMotoExt writes the motoext package into dir.
func writeMotoExt(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := fs.Glob(motoExt, "motoext/*.py")
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := motoExt.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func startMotoOnce(ctx context.Context, log *slog.Logger, python, boot, paramsPath, dir string, extraEnv []string) (*Moto, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "moto.log")
	env := []string{
		"CUTOVER_MOTO_SSM_PUBLIC=" + paramsPath,
		"PYTHONUNBUFFERED=1",
		// No __pycache__ beside the boot script.
		"PYTHONDONTWRITEBYTECODE=1",
		// How long the emulated EKS takes for an add-on to become ACTIVE
		// or an update to finish.
		"CUTOVER_MOTO_EKS_DELAY=" + strconv.FormatFloat(EKSEmulatorDelay.Seconds(), 'f', -1, 64),
		"CUTOVER_MOTO_EKS_CALENDAR_DATE=" + EKSCalendarDate,
		// moto answers as any account; keep the default one.
		"MOTO_ACCOUNT_ID=123456789012",
		// The roles attach AWS managed policies (AmazonEKSClusterPolicy, ...).
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true",
	}
	env = append(env, extraEnv...)
	p, err := startProc(log, "moto", logPath, python, []string{boot, "-H", "127.0.0.1", "-p", strconv.Itoa(ports[0])}, env)
	if err != nil {
		return nil, err
	}
	m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]), Region: DefaultRegion, proc: p}
	start := time.Now()
	err = p.waitReady(ctx, 30*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("moto answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		_ = p.Stop()
		if portTaken(logPath) {
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	log.Info("Moto server ready", "endpoint", m.Endpoint, "startup", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// AWS returns the provider that points every client at this moto server
// with the static test credentials.
func (m *Moto) AWS() awsconf.Static { return awsconf.Static{Endpoint: m.Endpoint} }

// Stop stops moto and waits for it to exit.
func (m *Moto) Stop() error {
	if m == nil {
		return nil
	}
	return m.proc.Stop()
}

// Pids lists the process ids (each a process group leader).
func (m *Moto) Pids() []int { return []int{m.proc.Pid()} }

// EKSVersions are the Kubernetes versions whose EKS-optimized AMI
// parameters the sandbox serves.
var EKSVersions = []string{"1.29", "1.30", "1.31", "1.32", "1.33"}

// lastAL2Minor is the last Kubernetes 1.<minor> with Amazon Linux 2 AMIs:
// AWS publishes none for 1.33 and later, so neither does the sandbox.
const lastAL2Minor = 32

// EKSOptimizedAMIParameters returns the public SSM parameters
// /aws/service/eks/optimized-ami/<ver>/amazon-linux-2/recommended/{release_version,image_id}
// (up to 1.32) and the amazon-linux-2023 x86_64 standard ones (every
// version) the sandbox's moto serves.
func EKSOptimizedAMIParameters() map[string]string {
	out := map[string]string{}
	for i, v := range EKSVersions {
		release := fmt.Sprintf("%s.%d-20250519", v, 10+i)
		ami := fmt.Sprintf("ami-0e%02d5a1b2c3d4e5f%d", 29+i, i)
		if 29+i <= lastAL2Minor {
			al2 := "/aws/service/eks/optimized-ami/" + v + "/amazon-linux-2/recommended/"
			out[al2+"release_version"] = release
			out[al2+"image_id"] = ami
		}
		al2023 := "/aws/service/eks/optimized-ami/" + v + "/amazon-linux-2023/x86_64/standard/recommended/"
		out[al2023+"release_version"] = release
		out[al2023+"image_id"] = fmt.Sprintf("ami-0f%02d5a1b2c3d4e5f%d", 29+i, i)
	}
	return out
}

// EKSOptimizedImages are the AMIs the image_id parameters of
// EKSOptimizedAMIParameters name (AMI ID -> name), named as AWS names its
// EKS-optimized AMIs: "amazon-eks-node-<version>-v<date>" (Amazon Linux 2)
// and "amazon-eks-node-al2023-x86_64-standard-<version>-v<date>", the date
// being the release's.
func EKSOptimizedImages() map[string]string {
	params := EKSOptimizedAMIParameters()
	out := map[string]string{}
	for name, id := range params {
		dir, ok := strings.CutSuffix(name, "/image_id")
		if !ok {
			continue
		}
		release := params[dir+"/release_version"] // "<version>.<n>-<date>"
		_, date, _ := strings.Cut(release, "-")
		version := strings.TrimPrefix(dir, "/aws/service/eks/optimized-ami/")
		version, flavour, _ := strings.Cut(version, "/")
		switch {
		case strings.HasPrefix(flavour, "amazon-linux-2023/"):
			out[id] = "amazon-eks-node-al2023-x86_64-standard-" + version + "-v" + date
		default:
			out[id] = "amazon-eks-node-" + version + "-v" + date
		}
	}
	return out
}
