package clusters

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/failures"
)

func TestAPIError(t *testing.T) {
	gr := schema.GroupResource{Group: "velero.io", Resource: "backups"}
	typed := failures.New(failures.Conflict, "already typed")
	cases := []struct {
		err      error
		typ, msg string
	}{
		{&meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "velero.io", Kind: "Backup"}}, failures.NotFound, "get backup b1 (are the Velero CRDs installed?): "},
		{apierrors.NewForbidden(gr, "b1", errors.New("no")), failures.AccessDenied, "get backup b1: "},
		{apierrors.NewUnauthorized("no"), failures.AccessDenied, "get backup b1: "},
		{apierrors.NewTooManyRequests("slow down", 1), failures.Throttled, "get backup b1: "},
		{apierrors.NewBadRequest("bad"), failures.InvalidParameter, "get backup b1: "},
		{apierrors.NewInvalid(schema.GroupKind{Group: "velero.io", Kind: "Backup"}, "b1", nil), failures.InvalidParameter, "get backup b1: "},
		{typed, failures.Conflict, "already typed"},
		{apierrors.NewNotFound(gr, "b1"), "", "get backup b1: "},
	}
	for _, c := range cases {
		err := APIError(c.err, "Velero", "get backup %s", "b1")
		if failures.TypeOf(err) != c.typ || !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("APIError(%v) = %v (type %q), want type %q and prefix %q", c.err, err, failures.TypeOf(err), c.typ, c.msg)
		}
	}
	if APIError(nil, "Velero", "get") != nil {
		t.Error("APIError(nil) != nil")
	}
}

func TestNewControllerClientDefaults(t *testing.T) {
	s, err := NewScheme(corev1.AddToScheme)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Recognizes(corev1.SchemeGroupVersion.WithKind("Pod")) {
		t.Fatal("scheme lacks core v1")
	}
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	if _, err := NewControllerClient(cfg, s); err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 0 || cfg.UserAgent != "" {
		t.Fatalf("NewControllerClient changed its argument: %+v", cfg)
	}
}
