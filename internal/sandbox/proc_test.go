package sandbox

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFailedStartShowsLogTail(t *testing.T) {
	dir := t.TempDir()
	p, err := startProc(slog.New(slog.DiscardHandler), "doomed", filepath.Join(dir, "doomed.log"), "/bin/sh",
		[]string{"-c", "for i in $(seq 1 40); do echo line $i; done; echo 'fatal: address already in use' >&2; exit 3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(context.Background(), 10*time.Second, func(context.Context) error { return errors.New("not yet") })
	if err == nil {
		t.Fatal("waitReady succeeded for a process that exited")
	}
	msg := err.Error()
	for _, want := range []string{"doomed", "exited before it was ready", "line 40", "address already in use"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 5\n") {
		t.Errorf("error should hold only the last lines:\n%s", msg)
	}
	if !portTaken(p.logPath) {
		t.Error("portTaken did not see 'address already in use'")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
}

func TestWaitReadyDeadline(t *testing.T) {
	p, err := startProc(slog.New(slog.DiscardHandler), "sleeper", filepath.Join(t.TempDir(), "s.log"), "/bin/sh", []string{"-c", "echo starting; exec sleep 60"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	start := time.Now()
	err = p.waitReady(context.Background(), 500*time.Millisecond, func(context.Context) error { return errors.New("still booting") })
	if err == nil || !strings.Contains(err.Error(), "not ready after") || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("waitReady: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("deadline not honoured: %s", time.Since(start))
	}
	if err := p.Stop(); err != nil || !p.exited() {
		t.Errorf("Stop: %v, exited %v", err, p.exited())
	}
}

func TestHelmReleaseSecretFormat(t *testing.T) {
	s, err := HelmReleaseSecret("payments", "ledger", 2, helmLedgerManifest)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "sh.helm.release.v1.ledger.v2" || s.Type != "helm.sh/release.v1" || s.Labels["owner"] != "helm" || s.Labels["status"] != "deployed" {
		t.Fatalf("secret meta %+v", s.ObjectMeta)
	}
	gz, err := base64.StdEncoding.DecodeString(string(s.Data["release"]))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	var rel struct {
		Name, Namespace, Manifest string
		Version                   int
		Info                      struct{ Status string }
	}
	if err := json.Unmarshal(raw, &rel); err != nil {
		t.Fatal(err)
	}
	if rel.Name != "ledger" || rel.Version != 2 || rel.Info.Status != "deployed" || !strings.Contains(rel.Manifest, "apiVersion: policy/v1beta1") {
		t.Errorf("release %+v", rel)
	}
}
