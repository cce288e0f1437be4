// Package failures is the one place where cutover's typed errors live.
//
// Every activity returns one of these (as a Temporal ApplicationError whose
// Type is the constant below), the workflow switches on the type with Is/TypeOf,
// and each retry policy names the non-retryable ones in NonRetryable.
package failures

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
)

// Error types. They are the ApplicationError.Type values seen in the Temporal
// UI, so they are stable API.
const (
	// Validation: the spec is wrong. Never retried.
	Validation = "ValidationError"
	// PreflightBlocked: blue is not safe to move under the spec's policy. Never retried.
	PreflightBlocked = "PreflightBlocked"
	// NotReadyYet: a resource is still converging; retry later.
	NotReadyYet = "NotReadyYet"
	// AccessDenied: the worker's credentials may not do this. Never retried.
	AccessDenied = "AccessDenied"
	// Conflict: something already exists that does not match what we would create. Never retried.
	Conflict = "Conflict"
	// InvalidParameter: the cloud API refused the request as malformed. Never retried.
	InvalidParameter = "InvalidParameter"
	// ResourceInUse: the resource is busy (an update in progress); retry later.
	ResourceInUse = "ResourceInUse"
	// Throttled: the API is rate limiting; retry later.
	Throttled = "Throttled"
	// NotFound: a resource the step needs is missing. Never retried.
	NotFound = "NotFound"
	// StillServingTraffic: refusing to delete a cluster that receives traffic. Never retried.
	StillServingTraffic = "StillServingTraffic"
	// SmokeFailed: green failed its smoke tests. Never retried by Temporal; the workflow decides.
	SmokeFailed = "SmokeFailed"
	// GreenNotReady: green's nodes or core add-ons did not come up. Never retried.
	GreenNotReady = "GreenNotReady"
	// RollbackFailed: traffic could not be returned to blue; a person must act.
	RollbackFailed = "RollbackFailed"
	// Unhealthy: an alarm or probe failed while traffic was on green.
	Unhealthy = "Unhealthy"
	// NotImplemented: the step has no implementation in this build. Never retried.
	NotImplemented = "NotImplemented"
	// ArgoSyncFailed: an Argo CD application's sync failed or it stayed Degraded. Never retried.
	ArgoSyncFailed = "ArgoSyncFailed"
	// VeleroBackupFailed: the Velero backup ended PartiallyFailed, Failed or FailedValidation. Never retried.
	VeleroBackupFailed = "VeleroBackupFailed"
	// VeleroRestoreFailed: the Velero restore failed, or restored with errors. Never retried.
	VeleroRestoreFailed = "VeleroRestoreFailed"
	// ParityFailed: green is not a faithful copy of blue (a workload,
	// identity, add-on, access entry or node group differs). Never retried.
	ParityFailed = "ParityFailed"
	// Rejected: a person rejected a gate, or its timeout rejected it.
	Rejected = "Rejected"
	// Aborted: someone sent the abort signal.
	Aborted = "Aborted"
	// RolledBack: the migration was rolled back; details carry the report.
	RolledBack = "MigrationRolledBack"
)

// NonRetryable lists the types no retry policy retries. Retry policies use it
// directly so the list lives in one place.
var NonRetryable = []string{
	Validation, PreflightBlocked, AccessDenied, Conflict, InvalidParameter,
	NotFound, StillServingTraffic, SmokeFailed, GreenNotReady, NotImplemented,
	ArgoSyncFailed, VeleroBackupFailed, VeleroRestoreFailed, ParityFailed,
}

// New returns an ApplicationError of the given type. Types in NonRetryable
// are marked non-retryable so even a policy that forgot them stops.
func New(typ string, format string, args ...any) error {
	return newError(typ, fmt.Sprintf(format, args...), nil)
}

// Wrap is New with a cause.
func Wrap(typ string, cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return newError(typ, msg, cause)
}

// WithDetails is New with details attached (e.g. the findings that blocked).
func WithDetails(typ string, msg string, details ...any) error {
	return newError(typ, msg, nil, details...)
}

// newError is the one constructor behind New, Wrap and WithDetails.
func newError(typ, msg string, cause error, details ...any) error {
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
		NonRetryable: slices.Contains(NonRetryable, typ),
		Cause:        cause,
		Details:      details,
	})
}

// TypeOf returns the ApplicationError type anywhere in err's chain, or "".
// Activity errors reach the workflow wrapped in an ActivityError; this
// unwraps them.
func TypeOf(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

// Is reports whether err carries the given type.
func Is(err error, typ string) bool { return err != nil && TypeOf(err) == typ }

// Message returns the innermost application message, without the
// "activity error (...)" wrapping, for reports and status.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out (" + timeout.TimeoutType().String() + ")"
	}
	return err.Error()
}
