package failures

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// recorded is what Temporal records for an activity error: the type and
// retryability of the outermost failure, as the SDK's failure converter
// sends them.
func recorded(t *testing.T, err error) (typ string, nonRetryable bool, msg string) {
	t.Helper()
	f := temporal.GetDefaultFailureConverter().ErrorToFailure(err)
	info := f.GetApplicationFailureInfo()
	if info == nil {
		t.Fatalf("%v: recorded as %v, not an application failure", err, f)
	}
	return info.GetType(), info.GetNonRetryable(), f.GetMessage()
}

func TestSurfaceKeepsTheTypeAcrossWrapping(t *testing.T) {
	cases := []struct {
		name         string
		err          error
		typ, msg     string
		nonRetryable bool
	}{
		{"wrapped NotFound", fmt.Errorf("resolve cluster eu-west-1/green: %w", New(NotFound, "cluster green: kubeconfig /k/green.kubeconfig does not exist")),
			NotFound, "resolve cluster eu-west-1/green: cluster green: kubeconfig /k/green.kubeconfig does not exist", true},
		{"wrapped twice", fmt.Errorf("preflight: %w", fmt.Errorf("list nodes: %w", New(AccessDenied, "forbidden"))),
			AccessDenied, "preflight: list nodes: forbidden", true},
		{"wrapped Throttled with a cause", fmt.Errorf("list pods: %w", Wrap(Throttled, io.ErrUnexpectedEOF, "read nodes")),
			Throttled, "list pods: read nodes: unexpected EOF", false},
		{"flag kept for a type outside NonRetryable", fmt.Errorf("wait: %w", temporal.NewNonRetryableApplicationError("node group FAILED", "EKSResourceFailed", nil)),
			"EKSResourceFailed", "wait: node group FAILED", true},
		{"flag kept when a NonRetryable type was made retryable", fmt.Errorf("describe: %w", temporal.NewApplicationError("not there yet", NotFound)),
			NotFound, "describe: not there yet", false},
		{"joined", errors.Join(errors.New("first"), fmt.Errorf("second: %w", New(Conflict, "tag mismatch"))),
			Conflict, "first\nsecond: tag mismatch", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if typ, _, _ := recorded(t, c.err); typ == c.typ {
				t.Fatalf("the case does not show the problem: recorded as %s already", typ)
			}
			got := Surface(c.err)
			var appErr *temporal.ApplicationError
			if !errors.As(got, &appErr) || error(appErr) != got {
				t.Fatalf("Surface = %T %v, want an outermost ApplicationError", got, got)
			}
			if appErr.Type() != c.typ || appErr.NonRetryable() != c.nonRetryable || appErr.Message() != c.msg {
				t.Errorf("Surface = type %q non-retryable %v message %q, want %q %v %q",
					appErr.Type(), appErr.NonRetryable(), appErr.Message(), c.typ, c.nonRetryable, c.msg)
			}
			if typ, nonRetryable, msg := recorded(t, got); typ != c.typ || nonRetryable != c.nonRetryable || msg != c.msg {
				t.Errorf("recorded as type %q non-retryable %v message %q, want %q %v %q", typ, nonRetryable, msg, c.typ, c.nonRetryable, c.msg)
			}
			if Message(got) != c.msg {
				t.Errorf("Message = %q, want %q", Message(got), c.msg)
			}
		})
	}
}

func TestSurfaceKeepsCauseDetailsDelayAndCategory(t *testing.T) {
	inner := fmt.Errorf("post: %w", temporal.NewApplicationErrorWithOptions("slack rate limited", Throttled, temporal.ApplicationErrorOptions{
		Cause: io.ErrUnexpectedEOF, NextRetryDelay: 7 * time.Second, Category: temporal.ApplicationErrorCategoryBenign,
	}))
	var appErr *temporal.ApplicationError
	if !errors.As(Surface(inner), &appErr) {
		t.Fatal("not an ApplicationError")
	}
	if appErr.NextRetryDelay() != 7*time.Second || appErr.Category() != temporal.ApplicationErrorCategoryBenign || !errors.Is(appErr, io.ErrUnexpectedEOF) {
		t.Errorf("delay %v category %v cause %v", appErr.NextRetryDelay(), appErr.Category(), appErr.Unwrap())
	}

	blocked := fmt.Errorf("preflight on blue: %w", WithDetails(PreflightBlocked, "2 blocking findings", []string{"pdb", "skew"}, 2))
	appErr = nil
	if !errors.As(Surface(blocked), &appErr) || appErr.Type() != PreflightBlocked || !appErr.NonRetryable() {
		t.Fatalf("Surface = %v", appErr)
	}
	var checks []string
	var n int
	if err := appErr.Details(&checks, &n); err != nil || len(checks) != 2 || checks[1] != "skew" || n != 2 {
		t.Errorf("details %v %d (%v)", checks, n, err)
	}
	var extra int
	if err := appErr.Details(&checks, &n, &extra); err == nil {
		t.Error("a third detail appeared")
	}
	// What the workflow decodes after the round trip through Temporal.
	fc := temporal.GetDefaultFailureConverter()
	var back *temporal.ApplicationError
	if !errors.As(fc.FailureToError(fc.ErrorToFailure(appErr)), &back) {
		t.Fatal("round trip lost the ApplicationError")
	}
	checks, n = nil, 0
	if err := back.Details(&checks, &n); err != nil || len(checks) != 2 || n != 2 {
		t.Errorf("details after the round trip: %v %d (%v)", checks, n, err)
	}
}

func TestSurfaceLeavesOtherErrorsAlone(t *testing.T) {
	typed := New(NotFound, "outermost already")
	nilDetail := WithDetails(Conflict, "with a nil detail", nil)
	for name, c := range map[string]struct{ err, want error }{
		"nil":                    {nil, nil},
		"plain":                  {io.EOF, io.EOF},
		"plain wrapped":          {fmt.Errorf("read: %w", io.EOF), nil},
		"outermost typed":        {typed, typed},
		"canceled":               {context.Canceled, context.Canceled},
		"canceled wrapped":       {fmt.Errorf("wait: %w", context.Canceled), nil},
		"deadline in a type":     {fmt.Errorf("list: %w", Wrap(Throttled, context.DeadlineExceeded, "slow")), nil},
		"temporal canceled":      {fmt.Errorf("wait: %w", temporal.NewCanceledError()), nil},
		"temporal timeout":       {fmt.Errorf("child: %w", temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, New(NotReadyYet, "x"))), nil},
		"unreadable details":     {fmt.Errorf("adopt: %w", nilDetail), nilDetail},
		"typed under a canceled": {fmt.Errorf("a: %w", errors.Join(context.Canceled, New(NotFound, "x"))), nil},
	} {
		want := c.want
		if want == nil {
			want = c.err // the same error, untouched
		}
		if got := Surface(c.err); got != want {
			t.Errorf("%s: Surface(%v) = %v, want %v", name, c.err, got, want)
		}
	}
}

// next is the activity the interceptor wraps.
type next struct {
	interceptor.ActivityInboundInterceptorBase
	err error
}

func (n *next) ExecuteActivity(context.Context, *interceptor.ExecuteActivityInput) (any, error) {
	return "result", n.err
}

func TestActivityInterceptor(t *testing.T) {
	wrapped := fmt.Errorf("resolve cluster green: %w", New(NotFound, "no kubeconfig"))
	for _, c := range []struct {
		err     error
		typ     string
		surface bool
	}{{nil, "", false}, {wrapped, NotFound, true}, {context.Canceled, "", false}, {io.EOF, "", false}} {
		i := ActivityInterceptor().InterceptActivity(context.Background(), &next{err: c.err})
		res, err := i.ExecuteActivity(context.Background(), &interceptor.ExecuteActivityInput{})
		if res != "result" {
			t.Errorf("result %v lost", res)
		}
		if c.surface {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || error(appErr) != err || appErr.Type() != c.typ || !appErr.NonRetryable() || appErr.Message() != "resolve cluster green: no kubeconfig" {
				t.Errorf("ExecuteActivity(%v) = %v", c.err, err)
			}
		} else if err != c.err {
			t.Errorf("ExecuteActivity(%v) = %v, want it untouched", c.err, err)
		}
	}
}
