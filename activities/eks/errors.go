package eks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/failures"
)

// ResourceFailed is the error type of a cluster, node group or add-on that
// EKS put in a FAILED state (CREATE_FAILED, DELETE_FAILED, ...). The error
// message carries the resource's health issues. It is never retried: a
// person has to look.
const ResourceFailed = "EKSResourceFailed"

// UpdateFailed is the error type of an EKS update (cluster version, node
// group version or config, add-on) that EKS reports Failed or Cancelled.
// Its details carry the update's errors ([]UpdateIssue). Never retried:
// EKS cannot downgrade, a person decides.
const UpdateFailed = "EKSUpdateFailed"

// PodEvictionBlocked is UpdateFailed for a node group update that EKS
// stopped because pods could not be evicted (PodEvictionFailure, mostly
// PodDisruptionBudgets): details carry the update's errors, whose
// ResourceIDs name the pods or budgets. Retrying with force, or after the
// budgets allow a disruption, is a person's decision.
const PodEvictionBlocked = "EKSPodEvictionBlocked"

// eksCodes are the EKS, SSM and STS error codes with a type of their own;
// any other code stays retryable.
var eksCodes = failures.Codes(map[string][]string{
	failures.AccessDenied: {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation",
		"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
		"ExpiredToken", "InvalidSignatureException", "SignatureDoesNotMatch"},
	failures.ResourceInUse: {"ResourceInUseException"},
	failures.Throttled: {"ThrottlingException", "Throttling", "TooManyRequestsException",
		"RequestLimitExceeded", "RequestThrottled", "ThrottledException",
		"ProvisionedThroughputExceededException"},
	failures.InvalidParameter: {"InvalidParameterException", "InvalidParameterValue", "InvalidParameterValueException",
		"ValidationException", "ValidationError", "UnsupportedAvailabilityZoneException",
		"InvalidParameterCombination", "BadRequestException",
		// An update EKS refuses for the cluster's upgrade readiness
		// (insights in ERROR): a person must look, or pass force.
		"InvalidStateException"},
	failures.NotFound: {"ResourceNotFoundException", "NotFoundException", "ParameterNotFound",
		"ParameterVersionNotFound"},
	// EKS says InvalidRequest when the request does not fit the current
	// state of the resource (e.g. a node group on a cluster that is not
	// ACTIVE yet): retry later.
	failures.NotReadyYet: {"InvalidRequestException", "ResourcePropagationDelayException"},
})

// awsError maps an error returned by an AWS SDK call into the project's typed
// errors (failures.FromAWS with eksCodes). what says what was being done
// ("create cluster green"); it prefixes the message. An operation the
// endpoint does not implement at all is NotImplemented.
func awsError(err error, what string, args ...any) error {
	if isUnimplemented(err) && !passThrough(err) {
		// A permanent property of the endpoint (moto lacks the operation).
		return failures.New(failures.NotImplemented, "%s: the AWS endpoint does not implement this operation (bare HTTP 404): %v", fmt.Sprintf(what, args...), err)
	}
	var ire *ekstypes.InvalidRequestException
	if errors.As(err, &ire) && definitiveInvalidRequest(aws.ToString(ire.Message)) {
		return failures.New(failures.InvalidParameter, "%s: InvalidRequestException: %s", fmt.Sprintf(what, args...), aws.ToString(ire.Message))
	}
	return failures.FromAWS(err, eksCodes, what, args...)
}

// definitiveInvalidRequest tells the InvalidRequestExceptions that no wait
// cures (the cluster's configuration forbids the request) from those that
// say "not yet" (the cluster or node group is still changing).
func definitiveInvalidRequest(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"authentication mode", "authenticationmode", "not supported", "is not allowed",
		// UpdateClusterVersion while node groups are behind: only updating
		// them cures it, not waiting.
		"must be updated to match cluster version"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// passThrough reports whether err is already typed or a context error.
func passThrough(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// isNotFound reports whether an SDK error says the resource does not exist.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ResourceNotFoundException", "NotFoundException", "ParameterNotFound":
			return true
		}
	}
	return false
}

// isInUse reports whether an SDK error is ResourceInUseException (already
// exists, or busy).
func isInUse(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceInUseException"
}

// isUnimplemented reports whether the endpoint does not know the operation at
// all: an HTTP 404 whose body is not an AWS error (moto's answer for
// operations it does not implement). Real EKS answers unknown resources with
// ResourceNotFoundException, which is not this.
func isUnimplemented(err error) bool {
	if err == nil || isNotFound(err) {
		return false
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		return code == "" || code == "UnknownError" || code == "NotFound" || strings.HasPrefix(code, "<")
	}
	return true
}

// invalidf is a non-retryable InvalidParameter error for inputs the activity
// cannot work with.
func invalidf(format string, args ...any) error {
	return failures.New(failures.InvalidParameter, format, args...)
}

// conflictf is a non-retryable Conflict error.
func conflictf(format string, args ...any) error {
	return failures.New(failures.Conflict, format, args...)
}

// failedf is a non-retryable ResourceFailed error.
func failedf(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ResourceFailed, nil)
}

// updateFailedf is a non-retryable UpdateFailed (or PodEvictionBlocked)
// error carrying the update's issues as details.
func updateFailedf(typ string, issues []UpdateIssue, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil, issues)
}

// notReadyf is a retryable NotReadyYet error.
func notReadyf(format string, args ...any) error {
	return failures.New(failures.NotReadyYet, format, args...)
}

// notFoundf is a non-retryable NotFound error.
func notFoundf(format string, args ...any) error {
	return failures.New(failures.NotFound, format, args...)
}
