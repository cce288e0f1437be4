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
// ApplicationErrors and context errors pass through unchanged; errors that
// are not AWS API errors, and codes not in the table, stay plain (retryable)
// errors that wrap err.
func FromAWS(err error, codes AWSCodes, what string, args ...any) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := fmt.Sprintf(what, args...)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	typ, ok := codes[apiErr.ErrorCode()]
	if !ok {
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
