"""What the emulator adds to moto's clusters and node groups:

- each cluster gets its own OIDC issuer (moto gives every cluster the same
  one), its access configuration (authentication mode; the cluster
  creator's admin access entry when asked), its upgrade policy and deletion
  protection, as DescribeCluster returns them;
- CreateCluster refuses a Kubernetes version EKS does not offer, and without
  a version uses EKS's default (moto's is 1.19);
- CreateNodegroup defaults the node group to the cluster's version and the
  recommended AMI release (the public SSM parameter), refuses a version
  newer than the cluster's and Amazon Linux 2 at 1.33 or later, and gives
  the node role an EC2_LINUX access entry on clusters whose authentication
  mode includes the API, as EKS does;
- DescribeClusterVersions from the calendar in catalog.py.
"""

from moto.moto_api._internal import mock_random as random

from . import access, catalog, errors
from .config import config
from .params import paginate
from .state import ext

API_MODES = ("API", "API_AND_CONFIG_MAP")


def check_create_cluster(ctx):
    """Validates what moto does not before it creates the cluster."""
    p = ctx.params
    version = p.get("version")
    if version is not None:
        info = catalog.version_info(version, config.calendar_date)
        if info is None or info["versionStatus"] == catalog.UNSUPPORTED:
            raise errors.InvalidParameterException(f"unsupported Kubernetes version {version}", clusterName=p.get("name"))
    mode = (p.get("accessConfig") or {}).get("authenticationMode")
    if mode is not None and mode not in ("CONFIG_MAP",) + API_MODES:
        raise errors.InvalidParameterException(f"Unsupported authentication mode {mode}", clusterName=p.get("name"))


def after_create_cluster(ctx, cluster):
    p = ctx.params
    e = ext(cluster)
    if p.get("version") is None:
        cluster.version = catalog.default_version(config.calendar_date)
    cluster.platformVersion = catalog.platform_version(cluster.version, config.calendar_date)
    cluster.identity = {"oidc": {"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{random.uuid4().hex.upper()}"}}
    ac = p.get("accessConfig") or {}
    e.access_config = {
        "authenticationMode": ac.get("authenticationMode", "CONFIG_MAP"),
        "bootstrapClusterCreatorAdminPermissions": ac.get("bootstrapClusterCreatorAdminPermissions", True),
    }
    if p.get("upgradePolicy"):
        e.upgrade_policy = dict(p["upgradePolicy"])
    cluster.access_config = e.access_config
    cluster.upgrade_policy = e.upgrade_policy
    cluster.deletion_protection = bool(p.get("deletionProtection", False))
    if e.access_config["authenticationMode"] in API_MODES and e.access_config["bootstrapClusterCreatorAdminPermissions"]:
        entry = access.new_entry(ctx, cluster, ctx.caller_arn(), "STANDARD", None, [], {})
        access.attach_policy(
            entry, catalog.access_policy_arn(catalog.CLUSTER_ADMIN_POLICY, ctx.partition), {"type": "cluster"}
        )
        e.access_entries[entry.principal_arn] = entry


def check_create_nodegroup(ctx):
    p = ctx.params
    cluster = ctx.backend.clusters.get(p.get("clusterName"))
    if cluster is None:
        return  # moto answers ResourceNotFoundException
    version = p.get("version") or cluster.version
    check_nodegroup_version(cluster, p.get("nodegroupName"), version, p.get("amiType"))


def check_nodegroup_version(cluster, nodegroup, version, ami_type):
    want, have = catalog.minor_of(version), catalog.minor_of(cluster.version)
    if want is None:
        raise errors.InvalidParameterException(
            f"Invalid Kubernetes version {version}", clusterName=cluster.name, nodegroupName=nodegroup
        )
    if have is not None and want > have:
        raise errors.InvalidParameterException(
            f"Requested Nodegroup Kubernetes version {version} is newer than the cluster's Kubernetes version {cluster.version}",
            clusterName=cluster.name,
            nodegroupName=nodegroup,
        )
    if ami_type in catalog.AL2_AMI_TYPES and want > catalog.AL2_LAST_MINOR:
        raise errors.InvalidParameterException(
            f"AMI Type {ami_type} is only supported for kubernetes versions 1.{catalog.AL2_LAST_MINOR} or earlier",
            clusterName=cluster.name,
            nodegroupName=nodegroup,
        )


def recommended_release(ctx, ami_type, version):
    """The AMI release EKS would pick: the public SSM parameter the sandbox
    serves, else a made-up one."""
    family = "amazon-linux-2023/x86_64/standard" if (ami_type or "").startswith("AL2023") else "amazon-linux-2"
    name = f"/aws/service/eks/optimized-ami/{version}/{family}/recommended/release_version"
    try:
        from moto.ssm.models import ssm_backends

        param = ssm_backends[ctx.account][ctx.region].get_parameter(name)
        if param is not None:
            return param.value
    except Exception:  # noqa: BLE001 - no parameter: fall back
        pass
    return f"{version}.0-20250519"


def launch_template_image(ctx, spec):
    """The AMI the launch template version a node group names sets, or None."""
    from .updates import _launch_template  # updates imports this module

    _, version = _launch_template(ctx, spec)
    data = getattr(version, "data", None) or {}
    return data.get("ImageId")


def after_create_nodegroup(ctx, nodegroup):
    p = ctx.params
    cluster = ctx.backend.clusters[p["clusterName"]]
    if p.get("amiType") is None and p.get("launchTemplate") and launch_template_image(ctx, p["launchTemplate"]):
        # A launch template that sets an AMI: EKS reports the AMI type CUSTOM
        # (moto would default it to AL2_x86_64).
        nodegroup.ami_type = "CUSTOM"
    if p.get("version") is None:
        nodegroup.version = cluster.version
    if p.get("releaseVersion") is None:
        nodegroup.release_version = recommended_release(ctx, nodegroup.ami_type, nodegroup.version)
    e = ext(cluster)
    role = nodegroup.node_role
    if e.access_config["authenticationMode"] in API_MODES and role not in e.access_entries:
        e.access_entries[role] = access.new_entry(ctx, cluster, role, "EC2_LINUX", None, [], {})


def describe_cluster_versions(ctx):
    p = ctx.params
    versions = catalog.cluster_versions(config.calendar_date)
    if p.get("clusterType") not in (None, "eks"):
        versions = []
    if p.get("clusterVersions"):
        for v in p["clusterVersions"]:
            if catalog.parse_minor(v) is None:
                raise errors.InvalidParameterException(f"Invalid cluster version {v}")
        versions = [v for v in versions if v["clusterVersion"] in p["clusterVersions"]]
    if p.get("defaultOnly"):
        versions = [v for v in versions if v["defaultVersion"]]
    if p.get("versionStatus"):
        versions = [v for v in versions if v["versionStatus"] == p["versionStatus"]]
    elif p.get("status"):
        versions = [v for v in versions if v["status"] == p["status"]]
    elif not p.get("includeAll"):
        versions = [v for v in versions if v["versionStatus"] != catalog.UNSUPPORTED]
    versions = sorted(versions, key=lambda v: catalog.parse_minor(v["clusterVersion"]), reverse=True)
    page, nxt = paginate(versions, p)
    return {"clusterVersions": page, "nextToken": nxt}
