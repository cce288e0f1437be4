"""Access entries and access policy associations (CreateAccessEntry,
DescribeAccessEntry, ListAccessEntries, UpdateAccessEntry,
DeleteAccessEntry, AssociateAccessPolicy, DisassociateAccessPolicy,
ListAssociatedAccessPolicies, ListAccessPolicies), with the rules of the EKS
API reference:

- the cluster's authentication mode must include the API (API or
  API_AND_CONFIG_MAP), else InvalidRequestException;
- the principal is an existing IAM role or user (InvalidParameterException);
- one entry per principal (ResourceInUseException);
- only STANDARD entries take a username, Kubernetes groups and access
  policies; EKS names the node types' username and groups itself;
- Kubernetes groups and usernames may not use the reserved prefixes.
"""

import re

from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random as random

from . import catalog, errors, iam
from .params import paginate
from .state import ext

TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX")
_NODE_IDENTITY = {
    "EC2_LINUX": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes"]),
    "EC2_WINDOWS": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes", "eks:kube-proxy-windows"]),
    "EC2": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes"]),
    "FARGATE_LINUX": ("system:node:{{SessionName}}", ["system:nodes", "system:node-proxier"]),
    "HYBRID_LINUX": ("system:node:{{SessionName}}", ["system:nodes"]),
    "HYPERPOD_LINUX": ("system:node:hyperpod-{{SessionName}}", ["system:nodes"]),
}
_RESERVED = ("system:", "eks:", "aws:", "amazon:", "iam:")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\*?$|^\*$")
_NOT_API = "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."


class AccessEntry:
    def __init__(self, cluster, principal_arn, type_, username, groups, tags, arn):
        now = utcnow()
        self.cluster_name = cluster.name
        self.principal_arn = principal_arn
        self.kubernetes_groups = groups
        self.access_entry_arn = arn
        self.created_at = now
        self.modified_at = now
        self.tags = tags
        self.username = username
        self.type = type_
        self.policies = {}  # policy ARN -> dict (AssociatedAccessPolicy)

    def to_dict(self):
        return {
            "clusterName": self.cluster_name,
            "principalArn": self.principal_arn,
            "kubernetesGroups": list(self.kubernetes_groups),
            "accessEntryArn": self.access_entry_arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
            "username": self.username,
            "type": self.type,
        }


def _default_username(ctx, principal_arn):
    m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$", principal_arn)
    if m:
        return f"arn:{m.group(1)}:sts::{m.group(2)}:assumed-role/{m.group(3)}/{{{{SessionName}}}}"
    return principal_arn


def new_entry(ctx, cluster, principal_arn, type_, username, groups, tags):
    """An entry as EKS fills it in (no validation: also used for the entries
    EKS itself makes)."""
    if type_ in _NODE_IDENTITY:
        username, groups = _NODE_IDENTITY[type_]
    elif not username:
        username = _default_username(ctx, principal_arn)
    kind_and_path = principal_arn.split(":", 5)[5]  # role/path/name or user/name
    kind, _, rest = kind_and_path.partition("/")
    arn = (
        f"arn:{ctx.partition}:eks:{ctx.region}:{ctx.account}:access-entry/{cluster.name}/"
        f"{kind}/{ctx.account}/{rest.split('/')[-1]}/{random.uuid4()}"
    )
    return AccessEntry(cluster, principal_arn, type_, username, sorted(set(groups or [])), dict(tags or {}), arn)


def attach_policy(entry, policy_arn, scope):
    now = utcnow()
    have = entry.policies.get(policy_arn)
    scope = {"type": scope["type"], "namespaces": list(scope.get("namespaces") or [])}
    if have:
        have["accessScope"] = scope
        have["modifiedAt"] = now
        return have
    entry.policies[policy_arn] = {"policyArn": policy_arn, "accessScope": scope, "associatedAt": now, "modifiedAt": now}
    return entry.policies[policy_arn]


def _api_cluster(ctx):
    cluster = ctx.cluster()
    if ext(cluster).access_config["authenticationMode"] not in ("API", "API_AND_CONFIG_MAP"):
        raise errors.InvalidRequestException(_NOT_API, clusterName=cluster.name)
    return cluster


def _entry(ctx, cluster, principal_arn):
    entry = ext(cluster).access_entries.get(principal_arn)
    if entry is None:
        raise errors.ResourceNotFoundException(
            "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
            clusterName=cluster.name,
        )
    return entry


def _check_identity(cluster, username, groups):
    for g in groups or []:
        if not g or any(g.startswith(p) for p in _RESERVED):
            raise errors.InvalidParameterException(
                f"The kubernetes group name {g} is invalid, it cannot start with {', '.join(_RESERVED)}",
                clusterName=cluster.name,
            )
    if username is not None and (not username or any(username.startswith(p) for p in _RESERVED)):
        raise errors.InvalidParameterException(
            f"The username {username} is invalid, it cannot start with {', '.join(_RESERVED)}", clusterName=cluster.name
        )


_CREATE_FIELDS = ("principalArn", "kubernetesGroups", "tags", "username", "type")


def create_access_entry(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    e = ext(cluster)
    principal = p["principalArn"]
    if principal in e.access_entries:
        if ctx.is_replay(cluster, "CreateAccessEntry", _CREATE_FIELDS):
            return {"accessEntry": e.access_entries[principal].to_dict()}
        raise errors.ResourceInUseException(
            "The specified access entry resource is already in use on this cluster.", clusterName=cluster.name
        )
    if not (iam.ROLE_ARN.match(principal) or iam.USER_ARN.match(principal)):
        raise errors.InvalidParameterException(
            f"The specified principalArn is invalid: {principal} is not the ARN of an IAM role or user.",
            clusterName=cluster.name,
        )
    # The caller exists by definition (moto's default identity is in no IAM).
    if principal != ctx.caller_arn() and not iam.principal_exists(ctx.account, ctx.partition, principal):
        raise errors.InvalidParameterException(
            f"The specified principalArn is invalid: {principal} does not exist.", clusterName=cluster.name
        )
    type_ = p.get("type", "STANDARD")
    if type_ not in TYPES:
        raise errors.InvalidParameterException(
            f"The specified type {type_} is invalid, valid types are {', '.join(TYPES)}.", clusterName=cluster.name
        )
    if type_ != "STANDARD":
        if p.get("username") is not None or p.get("kubernetesGroups"):
            raise errors.InvalidParameterException(
                f"Username and Kubernetes groups cannot be specified for an access entry of type {type_}.",
                clusterName=cluster.name,
            )
        if not iam.ROLE_ARN.match(principal):
            raise errors.InvalidParameterException(
                f"An access entry of type {type_} must have an IAM role as its principal.", clusterName=cluster.name
            )
    _check_identity(cluster, p.get("username"), p.get("kubernetesGroups"))
    entry = new_entry(ctx, cluster, principal, type_, p.get("username"), p.get("kubernetesGroups"), p.get("tags"))
    e.access_entries[principal] = entry
    ctx.remember(cluster, "CreateAccessEntry", _CREATE_FIELDS)
    return {"accessEntry": entry.to_dict()}


def describe_access_entry(ctx):
    cluster = _api_cluster(ctx)
    return {"accessEntry": _entry(ctx, cluster, ctx.params["principalArn"]).to_dict()}


def list_access_entries(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    entries = sorted(ext(cluster).access_entries.values(), key=lambda x: x.principal_arn)
    if p.get("associatedPolicyArn"):
        entries = [x for x in entries if p["associatedPolicyArn"] in x.policies]
    page, nxt = paginate([x.principal_arn for x in entries], p)
    return {"accessEntries": page, "nextToken": nxt}


def update_access_entry(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    entry = _entry(ctx, cluster, p["principalArn"])
    if entry.type != "STANDARD" and (p.get("username") is not None or p.get("kubernetesGroups") is not None):
        raise errors.InvalidParameterException(
            f"Username and Kubernetes groups cannot be specified for an access entry of type {entry.type}.",
            clusterName=cluster.name,
        )
    _check_identity(cluster, p.get("username"), p.get("kubernetesGroups"))
    if p.get("username") is not None:
        entry.username = p["username"]
    if p.get("kubernetesGroups") is not None:
        entry.kubernetes_groups = sorted(set(p["kubernetesGroups"]))
    entry.modified_at = utcnow()
    return {"accessEntry": entry.to_dict()}


def delete_access_entry(ctx):
    cluster = _api_cluster(ctx)
    entry = _entry(ctx, cluster, ctx.params["principalArn"])
    del ext(cluster).access_entries[entry.principal_arn]
    return {}


def _policy_arn(ctx, cluster, arn):
    known = {x["arn"] for x in catalog.access_policies(ctx.partition)}
    if arn not in known:
        raise errors.InvalidParameterException(
            f"The specified policyArn {arn} is invalid. You can view the available access policies with 'list-access-policies'.",
            clusterName=cluster.name,
        )


def associate_access_policy(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    entry = _entry(ctx, cluster, p["principalArn"])
    _policy_arn(ctx, cluster, p["policyArn"])
    if entry.type != "STANDARD":
        raise errors.InvalidRequestException(
            f"Access policies can only be associated with access entries of type STANDARD, not {entry.type}.",
            clusterName=cluster.name,
        )
    scope = p["accessScope"]
    kind, namespaces = scope.get("type"), scope.get("namespaces") or []
    if kind is None:
        raise errors.InvalidParameterException("accessScope.type is required.", clusterName=cluster.name)
    if kind == "cluster" and namespaces:
        raise errors.InvalidParameterException(
            "Namespaces cannot be specified for an access scope of type cluster.", clusterName=cluster.name
        )
    if kind == "namespace":
        if not namespaces:
            raise errors.InvalidParameterException(
                "At least one namespace must be specified for an access scope of type namespace.", clusterName=cluster.name
            )
        for ns in namespaces:
            if len(ns) > 63 or not _NAMESPACE.match(ns):
                raise errors.InvalidParameterException(f"The namespace {ns} is invalid.", clusterName=cluster.name)
    assoc = attach_policy(entry, p["policyArn"], {"type": kind, "namespaces": sorted(set(namespaces))})
    entry.modified_at = utcnow()
    return {"clusterName": cluster.name, "principalArn": entry.principal_arn, "associatedAccessPolicy": dict(assoc)}


def disassociate_access_policy(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    entry = _entry(ctx, cluster, p["principalArn"])
    if p["policyArn"] not in entry.policies:
        raise errors.ResourceNotFoundException(
            f"The policy {p['policyArn']} is not associated with the access entry of {entry.principal_arn}.",
            clusterName=cluster.name,
        )
    del entry.policies[p["policyArn"]]
    entry.modified_at = utcnow()
    return {}


def list_associated_access_policies(ctx):
    p = ctx.params
    cluster = _api_cluster(ctx)
    entry = _entry(ctx, cluster, p["principalArn"])
    policies = [dict(entry.policies[k]) for k in sorted(entry.policies)]
    page, nxt = paginate(policies, p)
    return {
        "clusterName": cluster.name,
        "principalArn": entry.principal_arn,
        "associatedAccessPolicies": page,
        "nextToken": nxt,
    }


def list_access_policies(ctx):
    page, nxt = paginate(catalog.access_policies(ctx.partition), ctx.params)
    return {"accessPolicies": page, "nextToken": nxt}
