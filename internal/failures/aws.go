package failures

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"
)

// AWSCodes maps AWS API error codes to error types of this package. Each
// activity package that calls AWS keeps its own table (the services' codes
// differ); FromAWS is the one mapping.
type AWSCodes map[string]string

// FromAWS maps an error returned by an AWS SDK call to a typed error. what
// (with args) says what was being done and prefixes the message.
// ApplicationErrors and context.Canceled pass through unchanged; a code in
// the table gets its type; otherwise a transient fault (throttling and 5xx
// codes and statuses, a timed out call, a dropped connection: see
// transient.go) is a retryable Throttled or Transient error; what is left
// stays a plain (retryable) error that wraps err.
func FromAWS(err error, codes AWSCodes, what string, args ...any) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := fmt.Sprintf(what, args...)
	var apiErr smithy.APIError
	typ, ok := "", false
	if errors.As(err, &apiErr) {
		typ, ok = codes[apiErr.ErrorCode()]
	}
	if !ok {
		if ttyp, reason, transient := transientKind(err); transient {
			return transientError(ttyp, reason, err, msg)
		}
		return fmt.Errorf("%s: %w", msg, err)
	}
	detail := apiErr.ErrorCode()
	if m := apiErr.ErrorMessage(); m != "" {
		detail += ": " + m
	}
	return New(typ, "%s", msg+": "+detail)
}

// Codes builds an AWSCodes table from lists of codes per type.
func Codes(byType map[string][]string) AWSCodes {
	t := AWSCodes{}
	for typ, codes := range byType {
		for _, c := range codes {
			t[c] = typ
		}
	}
	return t
}
