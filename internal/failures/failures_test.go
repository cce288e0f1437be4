package failures

import (
	"context"
	"strings"

	"errors"
	"github.com/aws/smithy-go"
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

func TestFromAWS(t *testing.T) {
	codes := Codes(map[string][]string{Throttled: {"Throttling"}, NotFound: {"NoSuchThing"}})
	api := &smithy.GenericAPIError{Code: "NoSuchThing", Message: "zone Z1"}
	err := FromAWS(api, codes, "read zone %s", "Z1")
	if TypeOf(err) != NotFound || Message(err) != "read zone Z1: NoSuchThing: zone Z1" {
		t.Errorf("mapped: %v", err)
	}
	if err := FromAWS(&smithy.GenericAPIError{Code: "Weird"}, codes, "x"); TypeOf(err) != "" || !strings.Contains(err.Error(), "x: ") {
		t.Errorf("unknown code must stay a plain retryable error: %v", err)
	}
	typed := New(Conflict, "already typed")
	if FromAWS(typed, codes, "x") != typed || FromAWS(context.Canceled, codes, "x") != context.Canceled || FromAWS(nil, codes, "x") != nil {
		t.Error("typed, context and nil errors must pass through")
	}
}
