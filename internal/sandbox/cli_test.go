package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLIUp runs `sandbox up` until its state file appears, checks the state
// and env files, then stops it as Ctrl-C would and checks nothing is left.
func TestCLIUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sb")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- RunCLI(ctx, []string{"up", "--dir", dir, "--headless"}, &stdout, &stderr) }()

	var st *State
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		if st, err = readState(dir); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("sandbox up returned early: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no state.json after 2 minutes")
		}
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"export TEMPORAL_ADDRESS=" + st.TemporalAddress, "export CUTOVER_AWS_ENDPOINT=" + st.AWSEndpoint, "export CUTOVER_KUBECONFIG_DIR=" + filepath.Join(dir, "kubeconfigs")} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("env file lacks %q:\n%s", want, env)
		}
	}
	if st.PID != os.Getpid() || len(st.Processes) != 6 || st.Seed == nil || st.Seed.HostedZoneID == "" {
		t.Errorf("state: %+v", st)
	}
	for _, name := range []string{"blue", "green"} {
		if _, err := os.Stat(filepath.Join(dir, "kubeconfigs", name+".kubeconfig")); err != nil {
			t.Error(err)
		}
	}
	// A second `up` on the same dir refuses.
	if err := RunCLI(context.Background(), []string{"up", "--dir", dir}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second up: %v, want 'already running'", err)
	}

	cancel() // what Ctrl-C does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sandbox up: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("sandbox up did not stop within a minute")
	}
	t.Logf("output:\n%s", stdout.String())
	for _, p := range st.Processes {
		if err := syscall.Kill(-p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: process group %d still exists (kill -0: %v)", p.Name, p.PID, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json left behind: %v", err)
	}
}

// TestCLIDown stops a sandbox from its state file: SIGTERM to the `up`
// process, then SIGKILL to every server process group still there.
func TestCLIDown(t *testing.T) {
	dir := t.TempDir()
	start := func() *exec.Cmd {
		c := exec.Command("sleep", "60")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go c.Wait()
		return c
	}
	up, server := start(), start()
	defer syscall.Kill(-up.Process.Pid, syscall.SIGKILL)
	defer syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
	st := &State{PID: up.Process.Pid, Dir: dir, Processes: []Process{{Name: "fake", PID: server.Process.Pid, Exe: server.Path}}}
	if err := writeState(st); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := RunCLI(context.Background(), []string{"down", "--dir", dir}, &out, &out); err != nil {
		t.Fatalf("down: %v\n%s", err, out.String())
	}
	// down has signalled both; they are gone once the kernel has delivered
	// the signals and the Wait goroutines have reaped them.
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range []int{up.Process.Pid, server.Process.Pid} {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive 5s after down", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := RunCLI(context.Background(), []string{"down", "--dir", dir}, &out, &out); err != nil {
		t.Errorf("second down: %v", err)
	}
	if !strings.Contains(out.String(), "No sandbox is running") {
		t.Errorf("second down output: %s", out.String())
	}
}
