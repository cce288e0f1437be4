package failures

import (
	"context"
	"errors"
	"strings"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// ActivityInterceptor returns the worker interceptor that keeps a typed
// error typed at the activity boundary. Temporal reads only the outermost
// error an activity returns: fmt.Errorf("resolve cluster %s: %w", ref,
// failures.New(failures.NotFound, ...)) reaches it as a retryable
// ApplicationError of type "wrapError", and the NotFound inside is retried
// until the activity's retry policy gives up (for ever without
// MaximumAttempts). The interceptor returns Surface(err) instead, so the
// typed failure is what Temporal records. Every cutover worker runs it
// (wiring.NewWorker).
func ActivityInterceptor() interceptor.WorkerInterceptor { return &workerInterceptor{} }

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*workerInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityInbound{}
	i.Next = next
	return i
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := i.Next.ExecuteActivity(ctx, in)
	return res, Surface(err)
}

// maxDetails bounds how many details Surface copies from a typed error.
const maxDetails = 32

// Surface returns err with the typed failure it wraps on the outside: when
// an ApplicationError is found in err's chain (errors.As) below some
// wrapping, the result is an ApplicationError with the same type,
// non-retryable flag, details, cause, next retry delay and category, whose
// message is err's whole message (the wrapping context followed by the
// typed error's message). Everything else is returned as is: nil, plain
// errors, an ApplicationError that is already outermost, and errors that
// carry a cancellation or a timeout (context.Canceled,
// context.DeadlineExceeded, temporal.CanceledError, temporal.TimeoutError),
// which the SDK reports by their own rules.
//
// Details are copied by value when they were attached in this process (the
// only kind an activity makes); when they cannot be read back (details
// decoded from another failure, or more than maxDetails of them) the typed
// error itself is returned, which keeps type, flag and details and loses
// only the wrapping context of the message.
func Surface(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || error(appErr) == err || canceledOrTimedOut(err) {
		return err
	}
	details, ok := detailsOf(appErr)
	if !ok {
		return appErr
	}
	// err.Error() holds appErr.Error(), which appends "(type: X,
	// retryable: v)" and the cause; the new error says those itself.
	msg := strings.Replace(err.Error(), appErr.Error(), appErr.Message(), 1)
	return temporal.NewApplicationErrorWithOptions(msg, appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Cause:          appErr.Unwrap(),
		Details:        details,
		NextRetryDelay: appErr.NextRetryDelay(),
		Category:       appErr.Category(),
	})
}

func canceledOrTimedOut(err error) bool {
	var canceled *temporal.CanceledError
	var timeout *temporal.TimeoutError
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &canceled) || errors.As(err, &timeout)
}

// detailsOf reads e's details back as values. The SDK keeps them
// unexported and lets them be read only into pointers, n at a time, failing
// when n exceeds their number; so they are read with one more pointer each
// time until that fails. ok is false when they cannot be read back.
func detailsOf(e *temporal.ApplicationError) (values []any, ok bool) {
	if !e.HasDetails() {
		return nil, true
	}
	defer func() {
		// A nil detail makes the SDK's reflection panic.
		if recover() != nil {
			values, ok = nil, false
		}
	}()
	for n := 1; n <= maxDetails; n++ {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if e.Details(ptrs...) != nil {
			return values, values != nil
		}
		values = vals
	}
	// Details decoded from a payload never report too many pointers: their
	// number is unknown.
	return nil, false
}
