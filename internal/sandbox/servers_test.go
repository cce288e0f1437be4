package sandbox_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestServersStartAndStop(t *testing.T) {
	ctx := context.Background()
	tmp := sandboxtest.Temporal(t)
	moto := sandboxtest.Moto(t)
	kube := sandboxtest.Kube(t, "solo")

	c, err := tmp.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckHealth(ctx, nil); err != nil {
		t.Fatalf("Temporal CheckHealth: %v", err)
	}
	c.Close()

	cfg, _ := moto.AWS().ForRegion(ctx, moto.Region)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("moto GetCallerIdentity: %v", err)
	}
	t.Logf("moto account %s", *id.Account)

	cs, err := kube.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.31.14" {
		t.Errorf("apiserver version %s, want v1.31.14", v.GitVersion)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	pids := append(append(tmp.Pids(), moto.Pids()...), kube.Pids()...)
	for _, stop := range []func() error{tmp.Stop, moto.Stop, kube.Stop} {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill -0: %v)", pid, err)
		}
	}
}

func TestMissingToolSaysMakeTools(t *testing.T) {
	_, err := sandbox.StartTemporal(context.Background(), sandbox.Options{Dir: t.TempDir(), ToolsDir: t.TempDir(), VenvDir: t.TempDir()})
	var missing *sandbox.ToolMissingError
	if !errors.As(err, &missing) || !containsMakeTools(err.Error()) {
		t.Fatalf("StartTemporal without tools: %v, want a ToolMissingError naming `make tools`", err)
	}
}

func containsMakeTools(s string) bool {
	for i := 0; i+len("make tools") <= len(s); i++ {
		if s[i:i+len("make tools")] == "make tools" {
			return true
		}
	}
	return false
}
