"""EKS errors as the EKS API sends them: HTTP status of the error shape,
header x-amzn-ErrorType: <code>, JSON body {"message": ..., <fields>} with
the fields the error shape has (clusterName, addonName, nodegroupName, ...).
aws-sdk-go-v2 and botocore both read the code from the header and the
message from the body."""

from moto.eks.exceptions import EKSError


class _Error(EKSError):
    def __init__(self, message, **fields):
        body = {"message": message}
        body.update({k: v for k, v in fields.items() if v is not None})
        super().__init__(**body)
        self.message = message


class ResourceNotFoundException(_Error):
    TYPE = "ResourceNotFoundException"
    STATUS = 404


class ResourceInUseException(_Error):
    TYPE = "ResourceInUseException"
    STATUS = 409


class InvalidParameterException(_Error):
    TYPE = "InvalidParameterException"
    STATUS = 400


class InvalidRequestException(_Error):
    TYPE = "InvalidRequestException"
    STATUS = 400


class InvalidStateException(_Error):
    TYPE = "InvalidStateException"
    STATUS = 400


class ResourceLimitExceededException(_Error):
    TYPE = "ResourceLimitExceededException"
    STATUS = 400


def cluster_not_found(name):
    return ResourceNotFoundException(f"No cluster found for name: {name}.", clusterName=name)
