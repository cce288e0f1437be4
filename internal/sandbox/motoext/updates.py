"""Version updates (UpdateClusterVersion, UpdateNodegroupVersion) and the
updates EKS reports for clusters, node groups and add-ons (DescribeUpdate,
ListUpdates).

An update is InProgress, and its cluster or node group UPDATING, for
config.delay seconds; then the new version is in moto's backend (the
Cluster's and Nodegroup's version, release and launch template version) and
the update is Successful. What EKS refuses is refused:

- UpdateClusterVersion: only to the next minor version, one EKS offers; not
  while the cluster is not ACTIVE or an update runs (ResourceInUseException);
  not while a managed node group is at an older version than the cluster
  (InvalidRequestException); not while an UPGRADE_READINESS insight for the
  target version is ERROR, unless force (InvalidStateException);
- UpdateNodegroupVersion: not newer than the cluster, never older than the
  node group; Amazon Linux 2 not past 1.32; with a launch template whose
  version sets a custom AMI, no Kubernetes version or release version;
- UpdateNodegroupConfig: a ConfigUpdate like the version updates (moto's
  own applies at once and records no update), with the API reference's
  bounds: updateConfig has exactly one of maxUnavailable (1-100) and
  maxUnavailablePercentage (1-100); scalingConfig minSize >= 0, maxSize >=
  1, minSize <= desiredSize <= maxSize; not while the node group is not
  ACTIVE or an update runs (ResourceInUseException).

A cluster's node group version updates can instead be carried out outside
the emulator (control.py, /moto-api/cutover/eks/nodegroup-rollouts): the
sandbox replaces the nodes on the cluster's kube-apiserver as EKS's
rolling update does (new nodes at the target, old ones tainted, drained
through the Eviction API, removed) and then ends the update, Successful or
Failed with the errors it met (PodEvictionFailure naming the pods a
PodDisruptionBudget kept).

A node group's version updates can be made to fail on demand (control.py,
/moto-api/cutover/eks/nodegroup-update-failures): while errors are armed
for a node group, its version updates end Failed with those errors (e.g.
PodEvictionFailure naming the PodDisruptionBudget that refused the
evictions) and the node group stays ACTIVE at its old version, as EKS
leaves it when the rolling update gives up. force=true overrides
PodEvictionFailure errors only (EKS: force replaces nodes even when a PDB
refuses the drain), not the others.
"""

import json

from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random as random

from . import catalog, clusters, errors, insights
from .config import config
from .params import paginate
from .state import ext, later


class Update:
    def __init__(self, target, type_, changes):
        self.id = str(random.uuid4())
        self.target = target  # ("cluster", None) | ("nodegroup", name) | ("addon", name)
        self.status = "InProgress"
        self.type = type_
        self.params = [{"type": t, "value": v} for t, v in changes]
        self.created_at = utcnow()
        self.errors = []

    def to_dict(self):
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": list(self.params),
            "createdAt": self.created_at,
            "errors": list(self.errors),
        }


POD_EVICTION_FAILURE = "PodEvictionFailure"


def armed_failures(cluster):
    """nodegroup name -> the errors its version updates fail with."""
    e = ext(cluster)
    if not hasattr(e, "nodegroup_failures"):
        e.nodegroup_failures = {}
    return e.nodegroup_failures


def start(cluster, target, type_, changes, apply, fail=None, rollout=None):
    """Records an InProgress update of target; after config.delay apply() runs
    and the update is Successful. fail, if given, is called first with the
    errors the rollout met (none when the emulator runs it): it returns the
    update's errors (the update is Failed) or none (apply).

    rollout, if given, is what a node replacement needs to know (a node
    group's version update on a cluster whose rollouts run outside the
    emulator): the update then stays InProgress until finish_rollout."""
    u = Update(target, type_, changes)
    ext(cluster).updates[u.id] = u

    def finish(given=()):
        errs = fail(list(given)) if fail else list(given)
        if errs:
            u.errors = errs
            u.status = "Failed"
            return
        apply()
        u.status = "Successful"

    if rollout is not None and external_rollouts(cluster):
        u.rollout = dict(rollout, updateId=u.id, createdAt=u.created_at.isoformat())
        u.finish = finish
    else:
        later(cluster, finish)
    return u


def external_rollouts(cluster):
    """Whether the cluster's node group version updates are carried out
    outside the emulator (the sandbox's node replacement on the cluster's
    kube-apiserver), which ends each with finish_rollout."""
    return getattr(ext(cluster), "external_rollouts", False)


def pending_rollouts(cluster):
    """The node group version updates waiting for their node replacement."""
    return [u.rollout for u in ext(cluster).updates.values() if u.status == "InProgress" and getattr(u, "rollout", None)]


def finish_rollout(cluster, nodegroup, update_id, errs):
    """Ends a rollout: Successful (the node group at the update's version
    and release) without errors, else Failed with them and the node group
    ACTIVE at its old version, as EKS leaves it when the rolling update
    gives up. Raises KeyError for an update that is not a pending rollout
    of the node group."""
    u = ext(cluster).updates.get(update_id)
    if u is None or u.target != ("nodegroup", nodegroup) or u.status != "InProgress" or not getattr(u, "rollout", None):
        raise KeyError(f"no rollout {update_id} in progress for node group {nodegroup}")
    u.finish(errs)


def running(cluster, target):
    for u in ext(cluster).updates.values():
        if u.target == target and u.status == "InProgress":
            return u
    return None


def update_cluster_version(ctx):
    p = ctx.params
    cluster = ctx.cluster(p["name"])
    version = p["version"]
    if cluster.status != "ACTIVE" or running(cluster, ("cluster", None)):
        raise errors.ResourceInUseException(
            f"Cluster {cluster.name} is {cluster.status}: an update is already in progress", clusterName=cluster.name
        )
    if catalog.parse_minor(version) is None:
        raise errors.InvalidParameterException(f"Invalid Kubernetes version {version}", clusterName=cluster.name)
    if version != catalog.next_version(cluster.version):
        raise errors.InvalidParameterException(
            f"Unsupported Kubernetes minor version update from {cluster.version} to {version}", clusterName=cluster.name
        )
    info = catalog.version_info(version, config.calendar_date)
    if info is None or info["versionStatus"] == catalog.UNSUPPORTED:
        raise errors.InvalidParameterException(f"unsupported Kubernetes version {version}", clusterName=cluster.name)
    behind = sorted(n for n, ng in cluster.nodegroups.items() if ng.version != cluster.version)
    if behind:
        raise errors.InvalidRequestException(
            f"Nodegroups {', '.join(behind)} must be updated to match cluster version {cluster.version} "
            "before updating cluster version",
            clusterName=cluster.name,
        )
    blocking = [i for i in insights.compute(ctx, cluster) if i["kubernetesVersion"] == version and i["insightStatus"]["status"] == "ERROR"]
    if blocking and not p.get("force"):
        raise errors.InvalidStateException(
            "Amazon EKS detected upgrade readiness issues: "
            + "; ".join(i["name"] for i in blocking)
            + ". Call the ListInsights API to view detected upgrade blocking issues. "
            "Pass the force flag when updating to override upgrade readiness errors.",
            clusterName=cluster.name,
        )
    platform = catalog.platform_version(version, config.calendar_date)
    cluster.status = "UPDATING"

    def apply():
        cluster.version = version
        cluster.platformVersion = platform
        cluster.status = "ACTIVE"

    u = start(cluster, ("cluster", None), "VersionUpdate", [("Version", version), ("PlatformVersion", platform)], apply)
    return {"update": u.to_dict()}


def _launch_template(ctx, spec):
    """The moto LaunchTemplate and version a specification names."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[ctx.account][ctx.region]
    try:
        if spec.get("id"):
            t = ec2.get_launch_template(spec["id"])
        else:
            t = ec2.get_launch_template_by_name(spec["name"])
        return t, t.get_version(spec.get("version") or "$Default")
    except Exception:  # noqa: BLE001 - moto's EC2 errors: not found
        return None, None


def update_nodegroup_version(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    ng = ctx.nodegroup(cluster, p["nodegroupName"])
    if cluster.status != "ACTIVE":
        raise errors.ResourceInUseException(
            f"Cluster {cluster.name} is {cluster.status}", clusterName=cluster.name, nodegroupName=ng.nodegroup_name
        )
    if ng.status != "ACTIVE" or running(cluster, ("nodegroup", ng.nodegroup_name)):
        raise errors.ResourceInUseException(
            f"Nodegroup {ng.nodegroup_name} is {ng.status}: an update is already in progress",
            clusterName=cluster.name,
            nodegroupName=ng.nodegroup_name,
        )
    lt_spec = p.get("launchTemplate")
    current_lt = ng.launch_template or None
    if lt_spec:
        if not current_lt:
            raise errors.InvalidParameterException(
                "A launch template can only be specified for a node group that was created with one",
                clusterName=cluster.name,
                nodegroupName=ng.nodegroup_name,
            )
        same = (lt_spec.get("id") and lt_spec["id"] == current_lt.get("id")) or (
            lt_spec.get("name") and lt_spec["name"] == current_lt.get("name")
        )
        if not same:
            raise errors.InvalidParameterException(
                "The launch template must be the one the node group was created with "
                f"({current_lt.get('name') or current_lt.get('id')})",
                clusterName=cluster.name,
                nodegroupName=ng.nodegroup_name,
            )
    custom_ami = False
    effective = dict(current_lt or {})
    if lt_spec:
        effective.update({k: v for k, v in lt_spec.items() if v})
    if effective:
        t, tv = _launch_template(ctx, effective)
        if lt_spec and t is None:
            raise errors.InvalidParameterException(
                f"Launch template {effective.get('name') or effective.get('id')} version {effective.get('version')} not found",
                clusterName=cluster.name,
                nodegroupName=ng.nodegroup_name,
            )
        custom_ami = bool(tv is not None and tv.data.get("ImageId"))
    if custom_ami and (p.get("version") or p.get("releaseVersion")):
        raise errors.InvalidParameterException(
            "You cannot specify the field kubernetesVersion when using custom AMIs.",
            clusterName=cluster.name,
            nodegroupName=ng.nodegroup_name,
        )
    version = p.get("version") or cluster.version
    clusters.check_nodegroup_version(cluster, ng.nodegroup_name, version, ng.ami_type)
    if catalog.minor_of(version) < (catalog.minor_of(ng.version) or 0):
        raise errors.InvalidParameterException(
            f"Requested Nodegroup Kubernetes version {version} is older than the node group's version {ng.version}",
            clusterName=cluster.name,
            nodegroupName=ng.nodegroup_name,
        )
    release = p.get("releaseVersion") or (ng.release_version if custom_ami else clusters.recommended_release(ctx, ng.ami_type, version))
    changes = [("Version", version), ("ReleaseVersion", release)]
    if lt_spec:
        changes += [("LaunchTemplateName", effective.get("name", "")), ("LaunchTemplateVersion", str(effective.get("version", "")))]
    ng.status = "UPDATING"

    def apply():
        ng.version = version
        ng.release_version = release
        if lt_spec:
            ng.launch_template = effective
        ng.status = "ACTIVE"
        ng.modified_at = utcnow()

    force = bool(p.get("force"))

    def fail(given):
        errs = given + [dict(e) for e in armed_failures(cluster).get(ng.nodegroup_name) or []]
        if force:
            errs = [e for e in errs if e["errorCode"] != POD_EVICTION_FAILURE]
        if errs:
            ng.status = "ACTIVE"
            ng.modified_at = utcnow()
        return errs

    uc = ng.update_config or {}
    rollout = {
        "nodegroup": ng.nodegroup_name,
        "fromVersion": ng.version,
        "version": version,
        "releaseVersion": release,
        "launchTemplate": effective or None,
        "force": force,
        "maxUnavailable": uc.get("maxUnavailable"),
        "maxUnavailablePercentage": uc.get("maxUnavailablePercentage"),
        "desiredSize": (ng.scaling_config or {}).get("desiredSize"),
    }
    u = start(cluster, ("nodegroup", ng.nodegroup_name), "VersionUpdate", changes, apply, fail, rollout=rollout)
    return {"update": u.to_dict()}


def _bounded(cluster, ng, field, value, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.InvalidParameterException(
            f"{field} must be {bound}", clusterName=cluster.name, nodegroupName=ng.nodegroup_name
        )


def update_nodegroup_config(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    ng = ctx.nodegroup(cluster, p["nodegroupName"])
    changes = []
    uc = p.get("updateConfig")
    if uc is not None:
        have = [k for k in ("maxUnavailable", "maxUnavailablePercentage") if uc.get(k) is not None]
        if len(have) != 1:
            raise errors.InvalidParameterException(
                "updateConfig needs exactly one of maxUnavailable and maxUnavailablePercentage",
                clusterName=cluster.name,
                nodegroupName=ng.nodegroup_name,
            )
        _bounded(cluster, ng, f"updateConfig.{have[0]}", uc[have[0]], 1, 100)
        changes.append(("MaxUnavailable" if have[0] == "maxUnavailable" else "MaxUnavailablePercentage", str(uc[have[0]])))
    sc = p.get("scalingConfig")
    if sc is not None:
        merged = dict(ng.scaling_config)
        merged.update({k: v for k, v in sc.items() if v is not None})
        _bounded(cluster, ng, "scalingConfig.minSize", merged.get("minSize"), 0, None)
        _bounded(cluster, ng, "scalingConfig.maxSize", merged.get("maxSize"), 1, None)
        _bounded(cluster, ng, "scalingConfig.desiredSize", merged.get("desiredSize"), 0, None)
        if not merged["minSize"] <= merged["desiredSize"] <= merged["maxSize"]:
            raise errors.InvalidParameterException(
                "scalingConfig: minSize <= desiredSize <= maxSize is required "
                f"(got {merged['minSize']}, {merged['desiredSize']}, {merged['maxSize']})",
                clusterName=cluster.name,
                nodegroupName=ng.nodegroup_name,
            )
        changes += [(t, str(merged[k])) for t, k in (("MinSize", "minSize"), ("MaxSize", "maxSize"), ("DesiredSize", "desiredSize")) if k in sc]
    labels = p.get("labels")
    if labels:
        if labels.get("addOrUpdateLabels"):
            changes.append(("LabelsToAdd", json.dumps(labels["addOrUpdateLabels"], sort_keys=True)))
        if labels.get("removeLabels"):
            changes.append(("LabelsToRemove", json.dumps(labels["removeLabels"])))
    taints = p.get("taints")
    if taints:
        if taints.get("addOrUpdateTaints"):
            changes.append(("TaintsToAdd", json.dumps(taints["addOrUpdateTaints"], sort_keys=True)))
        if taints.get("removeTaints"):
            changes.append(("TaintsToRemove", json.dumps(taints["removeTaints"], sort_keys=True)))
    if not changes and not p.get("nodeRepairConfig"):
        raise errors.InvalidParameterException(
            "No changes requested for the node group", clusterName=cluster.name, nodegroupName=ng.nodegroup_name
        )
    if ng.status != "ACTIVE" or running(cluster, ("nodegroup", ng.nodegroup_name)):
        raise errors.ResourceInUseException(
            f"Nodegroup {ng.nodegroup_name} is {ng.status}: an update is already in progress",
            clusterName=cluster.name,
            nodegroupName=ng.nodegroup_name,
        )
    ng.status = "UPDATING"
    backend = ctx.backend

    def apply():
        backend.update_nodegroup_config(
            cluster_name=cluster.name,
            nodegroup_name=ng.nodegroup_name,
            labels=labels,
            taints=taints,
            scaling_config=sc,
            update_config=uc,
            node_repair_config=p.get("nodeRepairConfig"),
        )
        ng.status = "ACTIVE"

    u = start(cluster, ("nodegroup", ng.nodegroup_name), "ConfigUpdate", changes, apply)
    return {"update": u.to_dict()}


def _target(ctx, cluster):
    p = ctx.params
    if p.get("nodegroupName"):
        ctx.nodegroup(cluster, p["nodegroupName"])
        return ("nodegroup", p["nodegroupName"])
    if p.get("addonName"):
        if p["addonName"] not in ext(cluster).addons:
            raise errors.ResourceNotFoundException(
                f"No addon: {p['addonName']} found in cluster: {cluster.name}",
                clusterName=cluster.name,
                addonName=p["addonName"],
            )
        return ("addon", p["addonName"])
    return ("cluster", None)


def describe_update(ctx):
    cluster = ctx.cluster(ctx.params["name"])
    target = _target(ctx, cluster)
    u = ext(cluster).updates.get(ctx.params["updateId"])
    if u is None or u.target != target:
        raise errors.ResourceNotFoundException(
            f"No update found for ID: {ctx.params['updateId']}",
            clusterName=cluster.name,
            nodegroupName=ctx.params.get("nodegroupName"),
            addonName=ctx.params.get("addonName"),
        )
    return {"update": u.to_dict()}


def list_updates(ctx):
    cluster = ctx.cluster(ctx.params["name"])
    target = _target(ctx, cluster)
    ids = [u.id for u in sorted(ext(cluster).updates.values(), key=lambda u: u.created_at) if u.target == target]
    page, nxt = paginate(ids, ctx.params)
    return {"updateIds": page, "nextToken": nxt}
