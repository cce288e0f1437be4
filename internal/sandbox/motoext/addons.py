"""EKS add-ons (CreateAddon, DescribeAddon, ListAddons, UpdateAddon,
DeleteAddon, DescribeAddonVersions) over the catalog in catalog.py:

- the add-on must be one EKS offers and its version one compatible with the
  cluster's Kubernetes version (InvalidParameterException); without a
  version EKS installs the default one for the cluster's version;
- one add-on per name (ResourceInUseException); a repeated request with the
  same clientRequestToken answers with the add-on as it is;
- CreateAddon answers CREATING and the add-on becomes ACTIVE config.delay
  seconds later; UpdateAddon goes UPDATING -> ACTIVE with an update
  InProgress -> Successful (DescribeUpdate with addonName); DeleteAddon
  goes DELETING, then the add-on is gone;
- serviceAccountRoleArn and configurationValues (a JSON or YAML object) are
  kept; podIdentityAssociations become Pod Identity associations owned by
  the add-on;
- an add-on that uses IAM (vpc-cni, aws-ebs-csi-driver) with a
  serviceAccountRoleArn is DEGRADED while its service account cannot assume
  that role through the cluster's OIDC provider (see iam.irsa_denial), and
  ACTIVE once it can, as its pods would be (config.irsa_check).
"""

import json

import yaml
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random as random

from . import catalog, errors, iam, podidentity, updates
from .config import config
from .params import paginate
from .state import ext, later

SETTLED = ("ACTIVE", "DEGRADED")


class Addon:
    def __init__(self, ctx, cluster, name, version, role_arn, config_values, tags, namespace):
        now = utcnow()
        self.name = name
        self.cluster = cluster
        self.cluster_name = cluster.name
        self.status = "CREATING"
        self.version = version
        self.arn = f"arn:{ctx.partition}:eks:{ctx.region}:{ctx.account}:addon/{cluster.name}/{name}/{random.uuid4()}"
        self.created_at = now
        self.modified_at = now
        self.service_account_role_arn = role_arn
        self.tags = dict(tags or {})
        self.configuration_values = config_values
        self.namespace = namespace
        self.pod_identity_arns = []
        self.issues = []
        self.account, self.partition = ctx.account, ctx.partition

    def refresh_health(self):
        """DEGRADED while the add-on's service account cannot assume its role."""
        if self.status not in SETTLED:
            return
        self.issues = []
        sa = catalog.ADDONS[self.name]["serviceAccount"]
        if config.irsa_check and self.service_account_role_arn and sa and catalog.ADDONS[self.name]["requiresIamPermissions"]:
            issuer = self.cluster.identity["oidc"]["issuer"]
            why = iam.irsa_denial(self.account, self.partition, self.service_account_role_arn, issuer, self.namespace, sa)
            if why:
                self.issues = [
                    {
                        "code": "AccessDenied",
                        "message": f"sts:AssumeRoleWithWebIdentity failed for service account {self.namespace}/{sa}: {why}",
                        "resourceIds": [f"{self.namespace}/{sa}"],
                    }
                ]
        self.status = "DEGRADED" if self.issues else "ACTIVE"

    def to_dict(self):
        self.refresh_health()
        out = {
            "addonName": self.name,
            "clusterName": self.cluster_name,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": list(self.issues)},
            "addonArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
            "publisher": "eks",
            "owner": "aws",
            "podIdentityAssociations": list(self.pod_identity_arns),
        }
        if self.service_account_role_arn:
            out["serviceAccountRoleArn"] = self.service_account_role_arn
        if self.configuration_values:
            out["configurationValues"] = self.configuration_values
        if self.namespace != "kube-system":
            out["namespaceConfig"] = {"namespace": self.namespace}
        return out


def _get(cluster, name):
    a = ext(cluster).addons.get(name)
    if a is None:
        raise errors.ResourceNotFoundException(
            f"No addon: {name} found in cluster: {cluster.name}", clusterName=cluster.name, addonName=name
        )
    return a


def _check_version(cluster, name, version):
    if catalog.addon_version_row(name, version) is None:
        raise errors.InvalidParameterException(
            f"Addon version {version} specified is not supported for addon {name}",
            clusterName=cluster.name,
            addonName=name,
        )
    if not catalog.addon_compatible(name, version, cluster.version):
        raise errors.InvalidParameterException(
            f"Addon version {version} of {name} is not compatible with Kubernetes version {cluster.version}; "
            f"compatible versions: {', '.join(catalog.addon_versions_for(name, cluster.version)) or 'none'}",
            clusterName=cluster.name,
            addonName=name,
        )


def _check_role(cluster, name, arn):
    if not iam.ROLE_ARN.match(arn):
        raise errors.InvalidParameterException(
            f"serviceAccountRoleArn {arn} is not a valid IAM role ARN", clusterName=cluster.name, addonName=name
        )


def _check_configuration(cluster, name, values):
    try:
        doc = json.loads(values)
    except ValueError:
        try:
            doc = yaml.safe_load(values)
        except yaml.YAMLError as e:
            raise errors.InvalidParameterException(
                f"ConfigurationValue provided in request is not supported: not valid JSON or YAML: {e}",
                clusterName=cluster.name,
                addonName=name,
            )
    if not isinstance(doc, dict):
        raise errors.InvalidParameterException(
            "ConfigurationValue provided in request is not supported: it must be a JSON or YAML object",
            clusterName=cluster.name,
            addonName=name,
        )


def _pod_identities(ctx, cluster, addon, wanted):
    """Creates the add-on's Pod Identity associations (all or none)."""
    made = []
    try:
        for w in wanted:
            a = podidentity.add(ctx, cluster, addon.namespace, w["serviceAccount"], w["roleArn"], owner_arn=addon.arn)
            made.append(a)
    except errors.EKSError:
        for a in made:
            del ext(cluster).pod_identity[a.id]
        raise
    return made


def _remove_pod_identities(cluster, addon):
    e = ext(cluster)
    for aid in [k for k, a in e.pod_identity.items() if a.owner_arn == addon.arn]:
        del e.pod_identity[aid]
    addon.pod_identity_arns = []


_CREATE_FIELDS = (
    "addonName",
    "addonVersion",
    "serviceAccountRoleArn",
    "resolveConflicts",
    "tags",
    "configurationValues",
    "podIdentityAssociations",
    "namespaceConfig",
)


def create_addon(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    name = p["addonName"]
    e = ext(cluster)
    if name in e.addons:
        if ctx.is_replay(cluster, "CreateAddon", _CREATE_FIELDS):
            return {"addon": e.addons[name].to_dict()}
        raise errors.ResourceInUseException("Addon already exists.", clusterName=cluster.name, addonName=name)
    if name not in catalog.ADDONS:
        raise errors.InvalidParameterException(
            f"Addon {name} specified is not supported", clusterName=cluster.name, addonName=name
        )
    if cluster.status != "ACTIVE":
        raise errors.InvalidRequestException(
            f"Cluster {cluster.name} is not in ACTIVE state (it is {cluster.status})", clusterName=cluster.name, addonName=name
        )
    version = p.get("addonVersion")
    if version:
        _check_version(cluster, name, version)
    else:
        version = catalog.addon_default_version(name, cluster.version)
        if version is None:
            raise errors.InvalidParameterException(
                f"Addon {name} has no version compatible with Kubernetes version {cluster.version}",
                clusterName=cluster.name,
                addonName=name,
            )
    role = p.get("serviceAccountRoleArn")
    if role:
        _check_role(cluster, name, role)
    values = p.get("configurationValues") or None
    if values:
        _check_configuration(cluster, name, values)
    namespace = (p.get("namespaceConfig") or {}).get("namespace") or "kube-system"
    addon = Addon(ctx, cluster, name, version, role, values, p.get("tags"), namespace)
    made = _pod_identities(ctx, cluster, addon, p.get("podIdentityAssociations") or [])
    addon.pod_identity_arns = [a.arn for a in made]
    e.addons[name] = addon
    ctx.remember(cluster, "CreateAddon", _CREATE_FIELDS)

    def become_active():
        if addon.status == "CREATING":
            addon.status = "ACTIVE"
            addon.modified_at = utcnow()

    later(cluster, become_active)
    return {"addon": addon.to_dict()}


def describe_addon(ctx):
    cluster = ctx.cluster()
    return {"addon": _get(cluster, ctx.params["addonName"]).to_dict()}


def list_addons(ctx):
    cluster = ctx.cluster()
    page, nxt = paginate(sorted(ext(cluster).addons), ctx.params)
    return {"addons": page, "nextToken": nxt}


def update_addon(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    name = p["addonName"]
    addon = _get(cluster, name)
    addon.refresh_health()
    if addon.status not in SETTLED + ("CREATE_FAILED", "UPDATE_FAILED"):
        raise errors.ResourceInUseException(
            f"Addon {name} is {addon.status}; wait until it is ACTIVE", clusterName=cluster.name, addonName=name
        )
    changes = []
    version = p.get("addonVersion")
    if version and version != addon.version:
        _check_version(cluster, name, version)
        changes.append(("AddonVersion", version))
    role = p.get("serviceAccountRoleArn")
    if role:
        _check_role(cluster, name, role)
    if role is not None and role != (addon.service_account_role_arn or ""):
        changes.append(("ServiceAccountRoleArn", role))
    values = p.get("configurationValues")
    if values:
        _check_configuration(cluster, name, values)
    if values is not None and values != (addon.configuration_values or ""):
        changes.append(("ConfigurationValues", values))
    if p.get("resolveConflicts"):
        changes.append(("ResolveConflicts", p["resolveConflicts"]))
    wanted = p.get("podIdentityAssociations")
    if wanted is not None:
        e = ext(cluster)
        before = [a for a in e.pod_identity.values() if a.owner_arn == addon.arn]
        _remove_pod_identities(cluster, addon)
        try:
            made = _pod_identities(ctx, cluster, addon, wanted)
        except errors.EKSError:
            for a in before:
                e.pod_identity[a.id] = a
            addon.pod_identity_arns = [a.arn for a in before]
            raise
        addon.pod_identity_arns = [a.arn for a in made]
        changes.append(("PodIdentityAssociations", json.dumps(addon.pod_identity_arns)))
    if version:
        addon.version = version
    if role is not None:
        addon.service_account_role_arn = role or None
    if values is not None:
        addon.configuration_values = values or None
    addon.status = "UPDATING"
    addon.modified_at = utcnow()

    def done():
        if addon.status == "UPDATING":
            addon.status = "ACTIVE"
            addon.modified_at = utcnow()

    update = updates.start(cluster, ("addon", name), "AddonUpdate", changes, done)
    return {"update": update.to_dict()}


def delete_addon(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    name = p["addonName"]
    addon = _get(cluster, name)
    addon.status = "DELETING"
    addon.modified_at = utcnow()
    out = addon.to_dict()

    def gone():
        e = ext(cluster)
        if e.addons.get(name) is addon:
            _remove_pod_identities(cluster, addon)
            del e.addons[name]

    later(cluster, gone)
    return {"addon": out}


def describe_addon_versions(ctx):
    p = ctx.params
    k8s = p.get("kubernetesVersion")
    if k8s is not None and catalog.parse_minor(k8s) is None:
        raise errors.InvalidParameterException(f"Invalid kubernetesVersion {k8s}")
    names = sorted(catalog.ADDONS)
    if p.get("addonName"):
        names = [n for n in names if n == p["addonName"]]
    if p.get("types"):
        names = [n for n in names if catalog.ADDONS[n]["type"] in p["types"]]
    if p.get("publishers") and "eks" not in p["publishers"]:
        names = []
    if p.get("owners") and "aws" not in p["owners"]:
        names = []
    known = [v["clusterVersion"] for v in catalog.cluster_versions(config.calendar_date)]
    infos = [catalog.addon_info(n, k8s, known) for n in names]
    infos = [i for i in infos if i["addonVersions"]]
    page, nxt = paginate(infos, p)
    return {"addons": page, "nextToken": nxt}
