package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The parent-death signal (Pdeathsig) fires when the OS thread that forked
// the child exits, not when the process does. Go may retire threads (a
// goroutine that exits while locked to its thread takes the thread with
// it), so every child is forked from one goroutine locked to a thread that
// never exits.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for r := range spawnReqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}

// proc is one server child process in its own process group.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	log     *slog.Logger

	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// startProc starts bin with its stdout and stderr appended to logPath.
func startProc(log *slog.Logger, name, logPath, bin string, args, env []string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	if err := spawn(cmd); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	log.Info("Started process", "name", name, "pid", cmd.Process.Pid, "log", logPath)
	return p, nil
}

// Pid is the process id, which is also its process group id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after a grace
// period, and waits for the process to be reaped.
func (p *proc) Stop() error {
	if p == nil {
		return nil
	}
	p.stopOnce.Do(func() {
		pgid := p.Pid()
		if !p.exited() {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				p.log.Warn("Process ignored SIGTERM, killing it", "name", p.name, "pid", pgid)
			}
		}
		// Kill whatever is left in the group, the leader included.
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.stopErr = fmt.Errorf("kill %s process group %d: %w", p.name, pgid, err)
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.stopErr = fmt.Errorf("%s (pid %d) still running 10s after SIGKILL", p.name, pgid)
		}
		p.log.Info("Stopped process", "name", p.name, "pid", pgid)
	})
	return p.stopErr
}

// failure wraps err with the last lines of the process log.
func (p *proc) failure(err error) error {
	return fmt.Errorf("%s: %w\n--- last lines of %s ---\n%s", p.name, err, p.logPath, tail(p.logPath, 30))
}

// waitReady polls check until it succeeds, the process exits, the context
// ends or the timeout passes.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.failure(fmt.Errorf("exited before it was ready (%v)", p.waitErr))
		case <-ctx.Done():
			return p.failure(fmt.Errorf("not ready after %s: %w", timeout, last))
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. The listeners
// are held until all are picked so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portTaken tells whether a server failed because its port was taken in
// the window between picking and binding; the caller retries.
func portTaken(logPath string) bool {
	return strings.Contains(strings.ToLower(tail(logPath, 50)), "address already in use")
}

// stopAll stops processes in reverse order and joins the errors.
func stopAll(ps ...*proc) error {
	var errs []error
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i] != nil {
			errs = append(errs, ps[i].Stop())
		}
	}
	return errors.Join(errs...)
}
