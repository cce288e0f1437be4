"""EKS Pod Identity associations (CreatePodIdentityAssociation,
DescribePodIdentityAssociation, ListPodIdentityAssociations,
UpdatePodIdentityAssociation, DeletePodIdentityAssociation): one per
namespace and service account (ResourceInUseException), the role an
existing IAM role (InvalidParameterException), an optional target role for
role chaining (EKS then makes an external ID). Associations an add-on made
(podIdentityAssociations of CreateAddon) carry the add-on as ownerArn and
can only be changed through the add-on."""

import json
import re
import string

from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random as random

from . import errors, iam
from .params import paginate
from .state import ext

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LIMIT = 5000


class Association:
    def __init__(self, ctx, cluster, namespace, service_account, role_arn, tags, owner_arn=None):
        now = utcnow()
        self.id = "a-" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(17))
        self.cluster_name = cluster.name
        self.namespace = namespace
        self.service_account = service_account
        self.role_arn = role_arn
        self.arn = f"arn:{ctx.partition}:eks:{ctx.region}:{ctx.account}:podidentityassociation/{cluster.name}/{self.id}"
        self.tags = dict(tags or {})
        self.created_at = now
        self.modified_at = now
        self.owner_arn = owner_arn
        self.disable_session_tags = False
        self.target_role_arn = None
        self.external_id = None
        self.policy = None

    def to_dict(self):
        out = {
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.arn,
            "associationId": self.id,
            "tags": dict(self.tags),
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "disableSessionTags": self.disable_session_tags,
        }
        for k, v in (
            ("ownerArn", self.owner_arn),
            ("targetRoleArn", self.target_role_arn),
            ("externalId", self.external_id),
            ("policy", self.policy),
        ):
            if v is not None:
                out[k] = v
        return out

    def summary(self):
        out = {
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "associationArn": self.arn,
            "associationId": self.id,
        }
        if self.owner_arn:
            out["ownerArn"] = self.owner_arn
        return out


def check_role(ctx, cluster, arn, what="roleArn"):
    if not iam.ROLE_ARN.match(arn or ""):
        raise errors.InvalidParameterException(f"The {what} {arn} is not a valid IAM role ARN.", clusterName=cluster.name)
    if iam.find_role(ctx.account, ctx.partition, arn) is None:
        raise errors.InvalidParameterException(f"The {what} {arn} does not exist.", clusterName=cluster.name)


def check_names(cluster, namespace, service_account):
    if len(namespace) > 63 or not _DNS_LABEL.match(namespace):
        raise errors.InvalidParameterException(
            f"The namespace {namespace!r} is not a valid Kubernetes namespace name.", clusterName=cluster.name
        )
    if len(service_account) > 253 or not _DNS_SUBDOMAIN.match(service_account):
        raise errors.InvalidParameterException(
            f"The serviceAccount {service_account!r} is not a valid Kubernetes service account name.",
            clusterName=cluster.name,
        )


def find(cluster, namespace, service_account):
    for a in ext(cluster).pod_identity.values():
        if a.namespace == namespace and a.service_account == service_account:
            return a
    return None


def add(ctx, cluster, namespace, service_account, role_arn, tags=None, owner_arn=None):
    """Validates and records an association; ResourceInUseException when the
    service account has one."""
    check_names(cluster, namespace, service_account)
    check_role(ctx, cluster, role_arn)
    have = find(cluster, namespace, service_account)
    if have is not None:
        raise errors.ResourceInUseException(
            f"Association already exists: {have.id} for service account {namespace}/{service_account}",
            clusterName=cluster.name,
        )
    if len(ext(cluster).pod_identity) >= LIMIT:
        raise errors.ResourceLimitExceededException(
            f"A cluster has at most {LIMIT} Pod Identity associations.", clusterName=cluster.name
        )
    a = Association(ctx, cluster, namespace, service_account, role_arn, tags, owner_arn)
    ext(cluster).pod_identity[a.id] = a
    return a


def _set_target(ctx, cluster, a, target):
    if target == "":
        a.target_role_arn, a.external_id = None, None
    elif target is not None:
        check_role(ctx, cluster, target, "targetRoleArn")
        if a.target_role_arn != target:
            a.external_id = str(random.uuid4())
        a.target_role_arn = target


def _set_policy(cluster, a, policy):
    if policy is None:
        return
    if policy == "":
        a.policy = None
        return
    try:
        doc = json.loads(policy)
    except ValueError:
        raise errors.InvalidParameterException("The policy is not a valid JSON policy document.", clusterName=cluster.name)
    if not isinstance(doc, dict) or len(policy) > 2048:
        raise errors.InvalidParameterException(
            "The policy must be a JSON policy document of at most 2048 characters.", clusterName=cluster.name
        )
    a.policy = policy


_CREATE_FIELDS = ("namespace", "serviceAccount", "roleArn", "tags", "disableSessionTags", "targetRoleArn", "policy")


def create_pod_identity_association(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    have = find(cluster, p["namespace"], p["serviceAccount"])
    if have is not None and ctx.is_replay(cluster, "CreatePodIdentityAssociation", _CREATE_FIELDS):
        return {"association": have.to_dict()}
    a = add(ctx, cluster, p["namespace"], p["serviceAccount"], p["roleArn"], p.get("tags"))
    try:
        a.disable_session_tags = bool(p.get("disableSessionTags", False))
        _set_target(ctx, cluster, a, p.get("targetRoleArn") or None)
        _set_policy(cluster, a, p.get("policy"))
    except errors.InvalidParameterException:
        del ext(cluster).pod_identity[a.id]
        raise
    ctx.remember(cluster, "CreatePodIdentityAssociation", _CREATE_FIELDS)
    return {"association": a.to_dict()}


def _get(ctx, cluster, association_id):
    a = ext(cluster).pod_identity.get(association_id)
    if a is None:
        raise errors.ResourceNotFoundException(
            f"No Pod Identity association found for id: {association_id}.", clusterName=cluster.name
        )
    return a


def describe_pod_identity_association(ctx):
    cluster = ctx.cluster()
    return {"association": _get(ctx, cluster, ctx.params["associationId"]).to_dict()}


def list_pod_identity_associations(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    items = sorted(ext(cluster).pod_identity.values(), key=lambda a: (a.namespace, a.service_account))
    if p.get("namespace"):
        items = [a for a in items if a.namespace == p["namespace"]]
    if p.get("serviceAccount"):
        items = [a for a in items if a.service_account == p["serviceAccount"]]
    page, nxt = paginate([a.summary() for a in items], p)
    return {"associations": page, "nextToken": nxt}


def update_pod_identity_association(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    a = _get(ctx, cluster, p["associationId"])
    if a.owner_arn:
        raise errors.InvalidRequestException(
            f"The association {a.id} is owned by {a.owner_arn}; change it through the add-on.", clusterName=cluster.name
        )
    if p.get("roleArn") is not None:
        check_role(ctx, cluster, p["roleArn"])
    _set_target(ctx, cluster, a, p.get("targetRoleArn"))
    _set_policy(cluster, a, p.get("policy"))
    if p.get("roleArn") is not None:
        a.role_arn = p["roleArn"]
    if p.get("disableSessionTags") is not None:
        a.disable_session_tags = bool(p["disableSessionTags"])
    a.modified_at = utcnow()
    return {"association": a.to_dict()}


def delete_pod_identity_association(ctx):
    cluster = ctx.cluster()
    a = _get(ctx, cluster, ctx.params["associationId"])
    if a.owner_arn:
        raise errors.InvalidRequestException(
            f"The association {a.id} is owned by {a.owner_arn}; delete it through the add-on.", clusterName=cluster.name
        )
    del ext(cluster).pod_identity[a.id]
    return {"association": a.to_dict()}
