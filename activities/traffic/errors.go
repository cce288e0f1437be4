package traffic

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/failures"
)

// awsError maps an error returned by a Route53, CloudFront or CloudWatch
// call into the project's typed errors; it is the one place where AWS error
// codes are read. what (with args) says what was being done and prefixes the
// message. ApplicationErrors and context errors pass through; unknown AWS
// errors stay retryable.
func awsError(err error, what string, args ...any) error {
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
	detail := apiErr.ErrorCode()
	if m := apiErr.ErrorMessage(); m != "" {
		detail += ": " + m
	}
	text := msg + ": " + detail
	switch apiErr.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
		"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
		"ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch",
		"IncompleteSignature", "MissingAuthenticationToken", "NotAuthorizedException":
		return failures.New(failures.AccessDenied, "%s", text)
	case "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "RequestThrottled":
		return failures.New(failures.Throttled, "%s", text)
	case "PreconditionFailed", "InvalidIfMatchVersion":
		// CloudFront: someone else updated the distribution between our read
		// and our write (ETag race). Re-reading and retrying is the fix.
		return failures.New(failures.ResourceInUse, "%s", text)
	case "PriorRequestNotComplete", "ConcurrentModification", "ConcurrentModificationException":
		return failures.New(failures.ResourceInUse, "%s", text)
	case "InvalidInput", "InvalidChangeBatch", "InvalidArgument", "InvalidParameterValue",
		"InvalidParameterValueException", "InvalidParameterCombination",
		"InvalidParameterCombinationException", "MissingParameter", "MissingRequiredParameterException",
		"ValidationError", "ValidationException", "InvalidDomainName", "InvalidOrigin",
		"InvalidTargetOriginId", "InconsistentQuantities", "IllegalUpdate", "InvalidNextToken",
		"InvalidPaginationToken", "InvalidRequiredProtocol", "InvalidOriginReadTimeout",
		"InvalidOriginKeepaliveTimeout", "InvalidOriginAccessControl", "InvalidOriginAccessIdentity",
		"MalformedXML", "MalformedInput", "BadRequest":
		return failures.New(failures.InvalidParameter, "%s", text)
	case "NoSuchHostedZone", "NoSuchDistribution", "NoSuchChange", "NoSuchHealthCheck",
		"NoSuchOrigin", "ResourceNotFound", "ResourceNotFoundException", "NotFound":
		return failures.New(failures.NotFound, "%s", text)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// hasCode reports whether err is an AWS API error with one of the codes.
func hasCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}

func invalidf(format string, args ...any) error {
	return failures.New(failures.InvalidParameter, format, args...)
}

func notFoundf(format string, args ...any) error {
	return failures.New(failures.NotFound, format, args...)
}

func conflictf(format string, args ...any) error {
	return failures.New(failures.Conflict, format, args...)
}

func unknownProvider(p string) error {
	return invalidf("traffic provider %q: must be %q or %q", p, "route53", "cloudfront")
}
