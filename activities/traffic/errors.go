package traffic

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/cutover-dev/cutover/internal/failures"
)

// trafficCodes are the Route53, CloudFront and CloudWatch error codes with
// a type of their own; any other code stays retryable.
var trafficCodes = failures.Codes(map[string][]string{
	failures.AccessDenied: {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
		"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
		"ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch",
		"IncompleteSignature", "MissingAuthenticationToken", "NotAuthorizedException"},
	failures.Throttled: {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "RequestThrottled"},
	// PreconditionFailed/InvalidIfMatchVersion: CloudFront, someone else
	// updated the distribution between our read and our write (ETag race);
	// re-reading and retrying is the fix.
	// DistributionNotDisabled: CloudFront deletes a disabled distribution
	// only once that change is deployed.
	failures.ResourceInUse: {"PreconditionFailed", "InvalidIfMatchVersion",
		"PriorRequestNotComplete", "ConcurrentModification", "ConcurrentModificationException",
		"DistributionNotDisabled"},
	// CloudFront continuous deployment: a staging distribution is in one
	// policy, a policy serves one primary, a caller reference names one
	// distribution. Someone else's resource is in the way: a person acts.
	failures.Conflict: {"StagingDistributionInUse", "ContinuousDeploymentPolicyInUse",
		"ContinuousDeploymentPolicyAlreadyExists", "DistributionAlreadyExists"},
	failures.InvalidParameter: {"InvalidInput", "InvalidChangeBatch", "InvalidArgument", "InvalidParameterValue",
		"InvalidParameterValueException", "InvalidParameterCombination",
		"InvalidParameterCombinationException", "MissingParameter", "MissingRequiredParameterException",
		"ValidationError", "ValidationException", "InvalidDomainName", "InvalidOrigin",
		"InvalidTargetOriginId", "InconsistentQuantities", "IllegalUpdate", "InvalidNextToken",
		"InvalidPaginationToken", "InvalidRequiredProtocol", "InvalidOriginReadTimeout",
		"InvalidOriginKeepaliveTimeout", "InvalidOriginAccessControl", "InvalidOriginAccessIdentity",
		"MalformedXML", "MalformedInput", "BadRequest", "MissingBody"},
	failures.NotFound: {"NoSuchHostedZone", "NoSuchDistribution", "NoSuchChange", "NoSuchHealthCheck",
		"NoSuchOrigin", "ResourceNotFound", "ResourceNotFoundException", "NotFound",
		"NoSuchContinuousDeploymentPolicy", "EntityNotFound"},
})

// awsError maps an error returned by a Route53, CloudFront or CloudWatch
// call into the project's typed errors (failures.FromAWS with
// trafficCodes). what (with args) says what was being done and prefixes
// the message.
func awsError(err error, what string, args ...any) error {
	return failures.FromAWS(err, trafficCodes, what, args...)
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
