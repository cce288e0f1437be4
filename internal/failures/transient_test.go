package failures

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// awsResponseError is what the SDK returns for an answered call: the API
// error inside a ResponseError with the HTTP status.
func awsResponseError(status int, code string) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "m"},
		},
	}
}

func dialError(errno syscall.Errno) error {
	return &url.Error{Op: "Get", URL: "https://x", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &os.SyscallError{Syscall: "connect", Err: errno}}}
}

func TestTransientClassification(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		name string
		err  error
		typ  string // "" = not transient
	}{
		{"aws throttling 400", awsResponseError(400, "Throttling"), Throttled},
		{"aws throttling exception", awsResponseError(400, "ThrottlingException"), Throttled},
		{"aws 503 unknown code", awsResponseError(503, "Weird"), Transient},
		{"aws 500 internal", awsResponseError(500, "InternalFailure"), Transient},
		{"aws ServiceUnavailable code only", &smithy.GenericAPIError{Code: "ServiceUnavailable"}, Transient},
		{"aws 400 validation", awsResponseError(400, "ValidationError"), ""},
		{"aws 501 NotImplemented code", awsResponseError(501, "NotImplemented"), ""},
		{"aws 403", awsResponseError(403, "AccessDenied"), ""},
		{"kube too many requests", apierrors.NewTooManyRequests("slow down", 1), Throttled},
		{"kube server timeout", apierrors.NewServerTimeout(gr, "list", 1), Transient},
		{"kube timeout", apierrors.NewTimeoutError("t", 1), Transient},
		{"kube internal", apierrors.NewInternalError(errors.New("etcd")), Transient},
		{"kube unavailable", apierrors.NewServiceUnavailable("down"), Transient},
		{"kube unexpected server error", apierrors.NewGenericServerResponse(502, "get", gr, "x", "bad gateway", 0, true), Transient},
		{"kube unexpected 404 (resource not served)", apierrors.NewGenericServerResponse(404, "list", gr, "", "404 page not found", 0, true), ""},
		{"kube unexpected 403", apierrors.NewGenericServerResponse(403, "list", gr, "", "forbidden", 0, true), ""},
		{"kube not found", apierrors.NewNotFound(gr, "x"), ""},
		{"kube forbidden", apierrors.NewForbidden(gr, "x", errors.New("no")), ""},
		{"kube conflict", apierrors.NewConflict(gr, "x", errors.New("changed")), ""},
		{"connection refused", dialError(syscall.ECONNREFUSED), Transient},
		{"connection reset", dialError(syscall.ECONNRESET), Transient},
		{"EOF", &url.Error{Op: "Get", URL: "https://x", Err: io.EOF}, Transient},
		{"unexpected EOF wrapped", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), Transient},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, Transient},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, Transient},
		{"dns no such host", &url.Error{Op: "Get", URL: "https://x", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}}, ""},
		{"deadline of one call", fmt.Errorf("get: %w", context.DeadlineExceeded), Transient},
		{"canceled", context.Canceled, ""},
		{"http2 text", errors.New("http2: client connection lost"), Transient},
		{"plain", errors.New("something else"), ""},
		{"typed throttled", New(Throttled, "x"), Throttled},
		{"typed transient", New(Transient, "x"), Transient},
		{"typed not ready", New(NotReadyYet, "x"), ""},
		{"typed access denied", New(AccessDenied, "x"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsTransient(c.err); got != (c.typ != "") {
				t.Fatalf("IsTransient(%v) = %v, want %v", c.err, got, c.typ != "")
			}
			if TypeOf(c.err) != "" {
				return
			}
			typ, _, ok := transientKind(c.err)
			if ok != (c.typ != "") || typ != c.typ {
				t.Fatalf("transientKind(%v) = %q %v, want %q", c.err, typ, ok, c.typ)
			}
		})
	}
}

func retryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && !appErr.NonRetryable()
}

func TestFromAWSTransient(t *testing.T) {
	codes := Codes(map[string][]string{AccessDenied: {"AccessDenied"}, Throttled: {"Throttling"}})
	for _, c := range []struct {
		err          error
		typ          string
		nonRetryable bool
	}{
		{awsResponseError(503, "Whatever"), Transient, false},
		{awsResponseError(400, "Throttling"), Throttled, false},
		{awsResponseError(400, "ThrottlingException"), Throttled, false}, // not in the table: the SDK's list
		{awsResponseError(403, "AccessDenied"), AccessDenied, true},
		{dialError(syscall.ECONNREFUSED), Transient, false},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), Transient, false},
	} {
		err := FromAWS(c.err, codes, "describe %s", "x")
		if TypeOf(err) != c.typ || IsDefinitive(err) != c.nonRetryable {
			t.Errorf("FromAWS(%v) = %v (type %q, definitive %v), want type %q definitive %v", c.err, err, TypeOf(err), IsDefinitive(err), c.typ, c.nonRetryable)
		}
		if !c.nonRetryable && !retryable(err) {
			t.Errorf("FromAWS(%v) must be a retryable ApplicationError, got %T", c.err, err)
		}
	}
	if err := FromAWS(fmt.Errorf("op: %w", context.DeadlineExceeded), codes, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the cause of a timed out call must stay reachable: %v", err)
	}
}

func TestFromKube(t *testing.T) {
	gr := schema.GroupResource{Group: "argoproj.io", Resource: "applications"}
	for _, c := range []struct {
		err          error
		typ          string
		nonRetryable bool
	}{
		{apierrors.NewForbidden(gr, "x", errors.New("rbac")), AccessDenied, true},
		{apierrors.NewUnauthorized("expired"), AccessDenied, true},
		{apierrors.NewBadRequest("bad"), InvalidParameter, true},
		{&meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "argoproj.io", Kind: "Application"}}, NotFound, true},
		{apierrors.NewTooManyRequests("x", 1), Throttled, false},
		{apierrors.NewServiceUnavailable("x"), Transient, false},
		{dialError(syscall.ECONNREFUSED), Transient, false},
		{apierrors.NewNotFound(gr, "x"), "", false},
	} {
		err := FromKube(c.err, "read %s", "app")
		if TypeOf(err) != c.typ || IsDefinitive(err) != c.nonRetryable {
			t.Errorf("FromKube(%v) = %v (type %q, definitive %v), want type %q definitive %v", c.err, err, TypeOf(err), IsDefinitive(err), c.typ, c.nonRetryable)
		}
	}
	if FromKube(nil, "x") != nil || FromKube(context.Canceled, "x") != context.Canceled {
		t.Error("nil and context.Canceled must pass through")
	}
}

func TestFromHTTP(t *testing.T) {
	for status, want := range map[int]string{200: "", 204: "", 429: Throttled, 408: Transient, 500: Transient, 502: Transient,
		503: Transient, 504: Transient, 401: AccessDenied, 403: AccessDenied, 400: InvalidParameter, 404: InvalidParameter, 410: InvalidParameter} {
		err := FromHTTP(status, 0, "post webhook")
		if TypeOf(err) != want {
			t.Errorf("FromHTTP(%d) type %q, want %q (%v)", status, TypeOf(err), want, err)
		}
		if want == Throttled || want == Transient {
			if !IsTransient(err) || IsDefinitive(err) {
				t.Errorf("FromHTTP(%d) must be transient and retryable: %v", status, err)
			}
		}
	}
	var appErr *temporal.ApplicationError
	if !errors.As(FromHTTP(429, 7*time.Second, "x"), &appErr) || appErr.NextRetryDelay() != 7*time.Second {
		t.Error("a 429's Retry-After must become the next retry delay")
	}
}

func TestAnnotateKeepsTypeAndRetryability(t *testing.T) {
	nonRetryableCustom := temporal.NewNonRetryableApplicationError("boom", "EKSResourceFailed", nil)
	for _, err := range []error{New(Throttled, "slow"), New(NotFound, "gone"), nonRetryableCustom} {
		got := Annotate(err, "read weight of %s", "blue")
		if TypeOf(got) != TypeOf(err) || IsDefinitive(got) != IsDefinitive(err) {
			t.Errorf("Annotate(%v) = %v: type or retryability changed", err, got)
		}
		if Message(got) != "read weight of blue: "+Message(err) {
			t.Errorf("Annotate message %q", Message(got))
		}
	}
	if got := Annotate(dialError(syscall.ECONNRESET), "read"); TypeOf(got) != Transient {
		t.Errorf("an untyped transient error must be classified, got %v", got)
	}
}

// fakeClock makes Retry's waits instant and measurable.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

func TestRetryBurstThenSuccess(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	calls := 0
	var waits []time.Duration
	err := Retry(context.Background(), Backoff{Initial: time.Second, Max: 4 * time.Second, Budget: time.Minute,
		now: clk.now, sleep: clk.sleep, OnRetry: func(_ error, _ int, w time.Duration) { waits = append(waits, w) }},
		func(context.Context) error {
			calls++
			if calls <= 4 {
				return awsResponseError(400, "Throttling")
			}
			return nil
		})
	if err != nil || calls != 5 {
		t.Fatalf("err %v after %d calls, want success on the 5th", err, calls)
	}
	if fmt.Sprint(waits) != "[1s 2s 4s 4s]" {
		t.Errorf("waits %v, want doubling up to the max", waits)
	}
}

func TestRetryDefinitiveFailsOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	calls := 0
	want := New(AccessDenied, "no")
	err := Retry(context.Background(), Backoff{now: clk.now, sleep: clk.sleep}, func(context.Context) error {
		calls++
		return want
	})
	if err != want || calls != 1 {
		t.Fatalf("err %v after %d calls, want the definitive error after one call", err, calls)
	}
}

func TestRetryStopsAtTheBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	calls := 0
	err := Retry(context.Background(), Backoff{Initial: time.Second, Max: 10 * time.Second, Budget: 30 * time.Second, now: clk.now, sleep: clk.sleep},
		func(context.Context) error {
			calls++
			return apierrors.NewServiceUnavailable("down")
		})
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("want the last transient error back, got %v", err)
	}
	if spent := clk.t.Sub(time.Unix(0, 0)); spent != 30*time.Second {
		t.Errorf("spent %s retrying, want exactly the 30s budget", spent)
	}
	if calls != 7 { // at 0, 1, 3, 7, 15, 25 and 30 s
		t.Errorf("%d calls, want 7", calls)
	}
}
