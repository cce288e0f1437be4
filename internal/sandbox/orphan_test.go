//go:build linux

package sandbox

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoOrphansWhenParentDies kills (SIGKILL, no cleanup runs) a process
// that started a server child and checks the kernel killed the child too.
func TestNoOrphansWhenParentDies(t *testing.T) {
	if os.Getenv("CUTOVER_SANDBOX_HELPER") == "1" {
		helperStartChild()
		return
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	helper := exec.Command(os.Args[0], "-test.run=^TestNoOrphansWhenParentDies$", "-test.count=1")
	helper.Env = append(os.Environ(), "CUTOVER_SANDBOX_HELPER=1", "CUTOVER_SANDBOX_PIDFILE="+pidFile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	deadline := time.Now().Add(20 * time.Second)
	for child == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			_ = helper.Process.Kill()
			t.Fatal("helper did not start its child")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !alive(child) {
		t.Fatalf("child %d not running", child)
	}
	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for alive(child) && !zombie(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-child, syscall.SIGKILL)
			t.Fatalf("child %d outlived its killed parent", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func helperStartChild() {
	dir, _ := os.MkdirTemp("", "cutover-orphan-")
	p, err := startProc(slog.New(slog.DiscardHandler), "sleeper", filepath.Join(dir, "s.log"), "/bin/sleep", []string{"120"}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_ = os.WriteFile(os.Getenv("CUTOVER_SANDBOX_PIDFILE"), []byte(strconv.Itoa(p.Pid())+"\n"), 0o644)
	time.Sleep(time.Minute) // killed by the parent test long before
	os.Exit(3)
}

// zombie tells whether pid has exited but is not reaped yet (its parent,
// init or a subreaper, reaps it soon).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] == "Z"
}
