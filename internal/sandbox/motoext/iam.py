"""What the emulated EKS asks of moto's IAM: does a principal exist, and can
a Kubernetes service account of a cluster assume a role through IRSA (the
role's trust policy names the cluster's IAM OIDC provider, the provider
exists, and the audience and subject conditions admit the service account)."""

import fnmatch
import json
import re
from urllib.parse import unquote

from moto.iam.models import iam_backends

ROLE_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
USER_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):user/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


def _iam(account, partition):
    return iam_backends[account][partition]


def find_role(account, partition, arn):
    for role in _iam(account, partition).roles.values():
        if role.arn == arn:
            return role
    return None


def find_user(account, partition, arn):
    for user in _iam(account, partition).users.values():
        if user.arn == arn:
            return user
    return None


def principal_exists(account, partition, arn):
    if ROLE_ARN.match(arn):
        return find_role(account, partition, arn) is not None
    if USER_ARN.match(arn):
        return find_user(account, partition, arn) is not None
    return False


def oidc_provider_exists(account, partition, issuer_host):
    arn = f"arn:{partition}:iam::{account}:oidc-provider/{issuer_host}"
    return arn in _iam(account, partition).open_id_providers


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _policy(role):
    doc = role.assume_role_policy_document or "{}"
    if isinstance(doc, dict):
        return doc
    try:
        return json.loads(doc)
    except ValueError:
        return json.loads(unquote(doc))


def _action_allows(actions, wanted):
    for a in _as_list(actions):
        if a == "*" or a.lower() == wanted.lower() or (a.endswith("*") and wanted.lower().startswith(a[:-1].lower())):
            return True
    return False


def _conditions_admit(conditions, key, value):
    """Whether the StringEquals / StringLike conditions on key (if any)
    admit value."""
    for op, clauses in (conditions or {}).items():
        for k, want in clauses.items():
            if k != key:
                continue
            wants = _as_list(want)
            base = op.split(":")[-1].replace("IfExists", "")
            if base == "StringEquals" and value not in wants:
                return False
            if base == "StringLike" and not any(fnmatch.fnmatchcase(value, w) for w in wants):
                return False
            if base == "StringNotEquals" and value in wants:
                return False
            if base == "StringNotLike" and any(fnmatch.fnmatchcase(value, w) for w in wants):
                return False
    return True


def irsa_denial(account, partition, role_arn, issuer_url, namespace, service_account):
    """None when service account namespace/service_account of the cluster
    whose OIDC issuer is issuer_url can assume role_arn by
    sts:AssumeRoleWithWebIdentity; else the reason it cannot."""
    host = issuer_url.split("://", 1)[-1]
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    role = find_role(account, partition, role_arn)
    if role is None:
        return f"role {role_arn} does not exist"
    if not oidc_provider_exists(account, partition, host):
        return f"the IAM OIDC provider for the cluster's issuer {host} does not exist"
    provider = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
    try:
        statements = _as_list(_policy(role).get("Statement"))
    except ValueError:
        return f"the trust policy of role {role_arn} is not valid JSON"
    for st in statements:
        if st.get("Effect") != "Allow" or not _action_allows(st.get("Action"), "sts:AssumeRoleWithWebIdentity"):
            continue
        principal = st.get("Principal") or {}
        if not isinstance(principal, dict) or provider not in _as_list(principal.get("Federated")):
            continue
        cond = st.get("Condition")
        if _conditions_admit(cond, f"{host}:sub", subject) and _conditions_admit(cond, f"{host}:aud", "sts.amazonaws.com"):
            return None
    return f"the trust policy of role {role_arn} does not let {subject} of OIDC provider {host} assume it"
