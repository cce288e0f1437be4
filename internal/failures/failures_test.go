package failures

import (
	"errors"
	"io"
	"testing"

	"go.temporal.io/sdk/temporal"
)

func TestNewMarksNonRetryableTypes(t *testing.T) {
	for typ, want := range map[string]bool{Validation: true, Conflict: true, AccessDenied: true, Throttled: false, NotReadyYet: false, ResourceInUse: false} {
		var appErr *temporal.ApplicationError
		if !errors.As(New(typ, "x"), &appErr) || appErr.NonRetryable() != want || appErr.Type() != typ {
			t.Errorf("%s: non-retryable %v, want %v", typ, appErr.NonRetryable(), want)
		}
	}
}

func TestWrapKeepsTheCause(t *testing.T) {
	for _, typ := range []string{Throttled, Conflict} {
		err := Wrap(typ, io.ErrUnexpectedEOF, "read %s", "cluster")
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: cause lost: %v", typ, err)
		}
		if TypeOf(err) != typ || Message(err) != "read cluster: unexpected EOF" {
			t.Errorf("%s: type %q message %q", typ, TypeOf(err), Message(err))
		}
	}
}
