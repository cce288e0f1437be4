package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// PhaseSearchAttribute is the Keyword search attribute the workflow upserts;
// the dev server registers it at start.
const PhaseSearchAttribute = "CutoverPhase"

// Temporal is a running `temporal server start-dev`.
type Temporal struct {
	// Address is the frontend gRPC host:port.
	Address string
	// UIAddress is the Web UI host:port, empty when headless.
	UIAddress string
	// Namespace is the namespace the dev server creates ("default").
	Namespace string

	proc *proc
}

// StartTemporal starts the Temporal dev server on 127.0.0.1 and waits until
// its frontend answers a health check and CutoverPhase is registered.
func StartTemporal(ctx context.Context, o Options) (*Temporal, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	bin, err := o.temporalBin()
	if err != nil {
		return nil, err
	}
	log := o.logger().With("server", "temporal")
	dir := filepath.Join(o.Dir, "temporal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		t, err := startTemporalOnce(ctx, o, bin, dir, log)
		if err == nil {
			return t, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
		log.Warn("Port taken, retrying with other ports", "attempt", attempt)
	}
	return nil, lastErr
}

var errPortTaken = errors.New("port already in use")

func startTemporalOnce(ctx context.Context, o Options, bin, dir string, log *slog.Logger) (*Temporal, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	port, uiPort := ports[0], ports[3]
	if o.TemporalPort != 0 {
		port = o.TemporalPort
	}
	if o.TemporalUIPort != 0 {
		uiPort = o.TemporalUIPort
	}
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]),
		"--search-attribute", PhaseSearchAttribute + "=Keyword",
		"--log-level", "warn",
		"--color", "never",
		"--disable-config-file", "--disable-config-env",
	}
	t := &Temporal{Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Namespace: "default"}
	if o.TemporalUI {
		args = append(args, "--ui-ip", "127.0.0.1", "--ui-port", strconv.Itoa(uiPort))
		t.UIAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(uiPort))
	} else {
		args = append(args, "--headless")
	}
	if o.TemporalDBFile != "" {
		args = append(args, "--db-filename", o.TemporalDBFile)
	}
	logPath := filepath.Join(dir, "temporal.log")
	p, err := startProc(log, "temporal", logPath, bin, args, nil)
	if err != nil {
		return nil, err
	}
	t.proc = p
	start := time.Now()
	c, err := client.NewLazyClient(client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		_ = p.Stop()
		return nil, err
	}
	defer c.Close()
	err = p.waitReady(ctx, 60*time.Second, func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return err
		}
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: t.Namespace})
		if err != nil {
			return err
		}
		if _, ok := resp.GetCustomAttributes()[PhaseSearchAttribute]; !ok {
			return fmt.Errorf("search attribute %s not registered yet (have %v)", PhaseSearchAttribute, keys(resp.GetCustomAttributes()))
		}
		return nil
	})
	if err != nil {
		_ = p.Stop()
		if portTaken(logPath) && o.TemporalPort == 0 && o.TemporalUIPort == 0 {
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	log.Info("Temporal dev server ready", "address", t.Address, "ui", t.UIAddress, "startup", time.Since(start).Round(time.Millisecond))
	return t, nil
}

// Stop stops the dev server and waits for it to exit.
func (t *Temporal) Stop() error {
	if t == nil {
		return nil
	}
	return t.proc.Stop()
}

// Pids lists the process ids (each a process group leader).
func (t *Temporal) Pids() []int { return []int{t.proc.Pid()} }

// Client dials the dev server with the SDK (the caller closes it).
func (t *Temporal) Client(ctx context.Context) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
