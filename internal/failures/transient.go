package failures

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// Transient is the (retryable) type of a fault that passes: a 5xx answer, a
// timeout of one call, a refused, reset or dropped connection, a temporary
// DNS failure. Throttling has its own type, Throttled. Neither is ever a
// cause of a migration's failure: retry policies retry them with backoff,
// and activities that retry within themselves (health readings, smoke
// steps) do so for a bounded budget.
const Transient = "Transient"

// This file is the one place that decides whether an error of an external
// read or write (AWS, the Kubernetes API, plain HTTP) is transient or
// definitive:
//
//   - IsTransient and transientKind classify a raw error;
//   - FromAWS (aws.go) maps an AWS SDK error with a service's code table and
//     falls back on them;
//   - FromKube maps a Kubernetes API error;
//   - FromHTTP maps the status of a completed HTTP exchange, and Classify
//     any other error (a transport error of a plain HTTP call);
//   - Retry retries a call while its error is transient, for a budget.
//
// A transient error becomes a retryable Throttled or Transient
// ApplicationError; a definitive one keeps (or gets) its non-retryable type.

// awsThrottleCodes and awsTransientCodes are the AWS error codes the SDK's
// own retryer treats as throttling and as transient (aws/retry), plus the
// variants the services in use answer with. A service's code table may map
// them too; the table wins.
var (
	awsThrottleCodes = map[string]bool{
		"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
		"RequestThrottledException": true, "TooManyRequestsException": true,
		"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
		"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "RequestThrottled": true,
		"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
	}
	awsTransientCodes = map[string]bool{
		"RequestTimeout": true, "RequestTimeoutException": true, "InternalError": true,
		"InternalFailure": true, "InternalServerError": true, "InternalServerException": true,
		"InternalServiceError": true, "InternalServiceException": true, "ServiceUnavailable": true,
		"ServiceUnavailableException": true, "ServiceFailure": true, "ServerException": true,
		"ServerError": true, "IDPCommunicationError": true, "EC2ServerError": true,
	}
)

// IsTransient reports whether err is a fault that passes: a Throttled or
// Transient ApplicationError, or a raw error that transientKind recognises.
// A context.Canceled is not transient (the caller is going away); a
// context.DeadlineExceeded is (one call timed out).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable() && (appErr.Type() == Throttled || appErr.Type() == Transient)
	}
	_, _, ok := transientKind(err)
	return ok
}

// IsDefinitive reports whether err says the thing is really wrong: a
// non-retryable ApplicationError. Everything else is worth another try.
func IsDefinitive(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

// transientKind classifies a raw (untyped) error. It returns Throttled or
// Transient and a short reason ("HTTP 503", "connection refused", ...), or
// ok=false when err is not known to pass.
func transientKind(err error) (typ, reason string, ok bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return "", "", false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient, "timed out", true
	}
	// AWS: the code first (a throttling answer is a 400), then the status.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case awsThrottleCodes[code]:
			return Throttled, code, true
		case awsTransientCodes[code]:
			return Transient, code, true
		}
	}
	if status := awsStatus(err); status != 0 {
		switch {
		case status == http.StatusTooManyRequests:
			return Throttled, "HTTP 429", true
		case status >= 500 && status != http.StatusNotImplemented,
			status == http.StatusRequestTimeout:
			return Transient, fmt.Sprintf("HTTP %d", status), true
		}
		// A completed AWS exchange with another status is an answer, not a
		// fault of the connection; the code table decides what it means.
		return "", "", false
	}
	// Kubernetes API statuses.
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch {
		case apierrors.IsTooManyRequests(err):
			return Throttled, "too many requests", true
		case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err):
			return Transient, "apiserver timeout", true
		case apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err):
			return Transient, "apiserver error", true
		}
		// A response that is not a Status (client-go's "unexpected server
		// response") is judged by its code: a 404 of a resource the
		// apiserver does not serve is an answer, a 502 from a proxy a fault.
		code := status.Status().Code
		if apierrors.IsUnexpectedServerError(err) && code == 0 {
			return Transient, "apiserver error", true
		}
		if code >= 500 && code != http.StatusNotImplemented {
			return Transient, fmt.Sprintf("apiserver HTTP %d", code), true
		}
		return "", "", false
	}
	return netKind(err)
}

// netKind classifies transport errors: DNS, dial, reset, EOF, timeouts.
func netKind(err error) (typ, reason string, ok bool) {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTemporary || dnsErr.IsTimeout {
			return Transient, "temporary DNS failure", true
		}
		// No such host: a wrong name, not a fault that passes.
		return "", "", false
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Transient, "connection refused", true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return Transient, "connection reset", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ETIMEDOUT):
		return Transient, "network unreachable", true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return Transient, "connection closed", true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Transient, "timed out", true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return Transient, "network error", true
	}
	// Errors that only say what they are in their text (http2, client-go's
	// rest client when it flattens a cause).
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset by peer", "broken pipe",
		"i/o timeout", "TLS handshake timeout", "http2: client connection lost", "GOAWAY",
		"server closed idle connection", "unexpected EOF", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return Transient, s, true
		}
	}
	return "", "", false
}

// awsStatus is the HTTP status of a completed AWS exchange, or 0.
func awsStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var sre *smithyhttp.ResponseError
	if errors.As(err, &sre) {
		return sre.HTTPStatusCode()
	}
	return 0
}

// transientError is the typed, retryable error of a transient err.
func transientError(typ, reason string, err error, msg string) error {
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: %s (%s, will be retried)", msg, err, reason), typ, err)
}

// Classify maps any error of an external call to a typed error: typed and
// context.Canceled errors as they are, Kubernetes API statuses as FromKube
// does, transient faults to Throttled or Transient. What is left is wrapped
// plainly (retryable: it is not known to be definitive).
func Classify(err error, format string, args ...any) error {
	return FromKube(err, format, args...)
}

// FromKube maps an error of a Kubernetes API call (client-go, the dynamic or
// controller-runtime clients) to a typed error: Forbidden and Unauthorized
// are AccessDenied, Invalid and BadRequest InvalidParameter, an unknown kind
// (no CRD) NotFound, TooManyRequests Throttled, server timeouts, 5xx and
// transport faults Transient. Typed and context.Canceled errors pass
// through; anything else (NotFound, Conflict, ...: the caller decides what
// they mean) is wrapped plainly.
func FromKube(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if TypeOf(err) != "" || errors.Is(err, context.Canceled) {
		return err
	}
	msg := fmt.Sprintf(format, args...)
	switch {
	case meta.IsNoMatchError(err):
		return Wrap(NotFound, err, "%s", msg)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return Wrap(AccessDenied, err, "%s", msg)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return Wrap(InvalidParameter, err, "%s", msg)
	}
	if typ, reason, ok := transientKind(err); ok {
		return transientError(typ, reason, err, msg)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// FromHTTP maps the status of a completed plain HTTP exchange (a webhook,
// an API without an SDK) to a typed error, or nil for 2xx: 429 is Throttled
// (retried after retryAfter when > 0), 408, 425 and 5xx Transient, 401 and
// 403 AccessDenied, any other status InvalidParameter (the receiver
// refuses what we sent; sending it again does not help).
func FromHTTP(status int, retryAfter time.Duration, format string, args ...any) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	msg := fmt.Sprintf(format, args...) + fmt.Sprintf(": HTTP %d %s", status, http.StatusText(status))
	switch {
	case status == http.StatusTooManyRequests:
		return temporal.NewApplicationErrorWithOptions(msg, Throttled, temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter})
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status >= 500:
		return temporal.NewApplicationErrorWithOptions(msg, Transient, temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter})
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return New(AccessDenied, "%s", msg)
	}
	return New(InvalidParameter, "%s", msg)
}

// Annotate prefixes a typed error's message with what was being done,
// keeping its type and retryability; an untyped error is classified (a
// transient one becomes Throttled or Transient, anything else a retryable
// wrap).
func Annotate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return Classify(err, format, args...)
	}
	msg := fmt.Sprintf(format, args...) + ": " + appErr.Message()
	if appErr.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(msg, appErr.Type(), err)
	}
	return temporal.NewApplicationErrorWithCause(msg, appErr.Type(), err)
}

// Backoff bounds Retry: the first wait, the longest wait and the budget of
// time over which transient errors are retried. Zero fields take the
// defaults (1s, 10s, one minute).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Budget  time.Duration
	// OnRetry, when set, is told about each transient error before the wait
	// (to log it or heartbeat).
	OnRetry func(err error, attempt int, wait time.Duration)
	// now and sleep are replaced by tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Retry calls fn until it succeeds, fails with an error that is not
// retryable (IsTransient false: a definitive answer, or one fn's caller
// must see), or the budget is spent; then it returns fn's last error as is.
// Waits double from Initial to Max. ctx ends it early with ctx's error.
func Retry(ctx context.Context, b Backoff, fn func(ctx context.Context) error) error {
	return RetryIf(ctx, b, IsTransient, fn)
}

// RetryIf is Retry with another test of what is worth retrying.
func RetryIf(ctx context.Context, b Backoff, retry func(error) bool, fn func(ctx context.Context) error) error {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.Budget <= 0 {
		b.Budget = time.Minute
	}
	now, sleep := b.now, b.sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	deadline := now().Add(b.Budget)
	wait := b.Initial
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !retry(err) || ctx.Err() != nil {
			return err
		}
		left := deadline.Sub(now())
		if left <= 0 {
			return err
		}
		w := min(wait, left)
		if b.OnRetry != nil {
			b.OnRetry(err, attempt, w)
		}
		if serr := sleep(ctx, w); serr != nil {
			return err
		}
		wait = min(2*wait, b.Max)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
