"""Upgrade insights (ListInsights, DescribeInsight), category
UPGRADE_READINESS, computed on each request from what the emulated account
holds, as EKS computes them from what it observes:

- "Deprecated APIs removed in Kubernetes vX": one per version from the next
  one on that removes APIs (and always one for the next version), from the
  requests to deprecated APIs reported for the cluster through the control
  route (control.py; EKS reads them from the audit log). ERROR for APIs the
  next version removes, WARNING for later ones.
- "Kubelet version skew": managed node groups and reported nodes whose
  kubelet would be more than three minor versions behind the next version
  (ERROR), or exactly three (WARNING).
- "kube-proxy version skew": the kube-proxy add-on, the same way.
- "Amazon EKS add-on version compatibility": installed add-ons whose version
  the next Kubernetes version does not support (WARNING), with the versions
  it does support.
- "Amazon Linux 2 compatibility" (next version 1.33 or later): managed node
  groups on an AL2 AMI type (ERROR; EKS publishes no AL2 AMI there).
- "Cluster health issues": PASSING (moto's clusters have none).

Insight IDs are stable per cluster, name and version; lastTransitionTime is
when the status last changed.
"""

import uuid

from moto.core.utils import utcnow

from . import catalog, errors
from .params import paginate
from .state import ext

_RANK = {"PASSING": 0, "UNKNOWN": 1, "WARNING": 2, "ERROR": 3}


def _worst(statuses, default="PASSING"):
    out = default
    for s in statuses:
        if _RANK[s] > _RANK[out]:
            out = s
    return out


def _insight(cluster, name, version, description, status, reason, recommendation, resources=(), summary=None, info=None):
    iid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cluster.arn}/{name}/{version}"))
    now = utcnow()
    e = ext(cluster)
    last = e.insights.get(iid)
    if last is None or last[0] != status:
        e.insights[iid] = (status, now)
    out = {
        "id": iid,
        "name": name,
        "category": "UPGRADE_READINESS",
        "kubernetesVersion": version,
        "lastRefreshTime": now,
        "lastTransitionTime": e.insights[iid][1],
        "description": description,
        "insightStatus": {"status": status, "reason": reason},
        "recommendation": recommendation,
        "additionalInfo": info or {},
        "resources": list(resources),
        "categorySpecificSummary": summary or {"deprecationDetails": [], "addonCompatibilityDetails": []},
    }
    return out


def _resource(status, reason, uri=None, arn=None):
    r = {"insightStatus": {"status": status, "reason": reason}}
    if uri:
        r["kubernetesResourceUri"] = uri
    if arn:
        r["arn"] = arn
    return r


def _deprecated(cluster, nxt):
    usage = ext(cluster).api_usage
    cur = catalog.minor_of(cluster.version)
    by_version = catalog.removed_apis_by_version()
    versions = {nxt} | {v for v in by_version if catalog.minor_of(v) > cur}
    out = []
    for v in sorted(versions, key=catalog.minor_of):
        details = []
        for gv, resource, removed, repl, since in by_version.get(v, []):
            calls = [u for u in usage if u["groupVersion"] == gv and u["resource"] == resource]
            if not calls:
                continue
            details.append(
                {
                    "usage": catalog.api_path(gv, resource),
                    "replacedWith": catalog.api_path(repl, resource) if repl else "",
                    "stopServingVersion": removed,
                    "startServingReplacementVersion": since or "",
                    "clientStats": [
                        {
                            "userAgent": c["userAgent"],
                            "numberOfRequestsLast30Days": c["requests"],
                            "lastRequestTime": c["lastRequestTime"],
                        }
                        for c in calls
                    ],
                }
            )
        if details:
            status = "ERROR" if v == nxt else "WARNING"
            reason = "Deprecated API usage detected within last 30 days."
        else:
            status, reason = "PASSING", "No deprecated API usage detected within the last 30 days."
        out.append(
            _insight(
                cluster,
                f"Deprecated APIs removed in Kubernetes v{v}",
                v,
                f"Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v{v}. "
                f"Upgrading your cluster before migrating to the updated APIs supported by v{v} could cause application impact.",
                status,
                reason,
                f"Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v{v}.",
                summary={"deprecationDetails": details, "addonCompatibilityDetails": []},
                info={
                    "EKS update cluster documentation": "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
                    "Kubernetes v" + v + " deprecation guide": "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
                },
            )
        )
    return out


def _skew_status(skew):
    if skew > catalog.KUBELET_MAX_SKEW:
        return "ERROR"
    if skew == catalog.KUBELET_MAX_SKEW:
        return "WARNING"
    return "PASSING"


def _kubelet(cluster, nxt):
    target = catalog.minor_of(nxt)
    resources = []
    for name in sorted(cluster.nodegroups):
        ng = cluster.nodegroups[name]
        m = catalog.minor_of(ng.version)
        if m is None:
            continue
        st = _skew_status(target - m)
        resources.append(_resource(st, f"Node group {name} runs Kubernetes {ng.version}.", arn=ng.arn))
    for node in ext(cluster).nodes:
        v = node["kubeletVersion"].lstrip("v")
        m = catalog.minor_of(".".join(v.split(".")[:2]))
        if m is None:
            continue
        st = _skew_status(target - m)
        resources.append(_resource(st, f"kubelet {node['kubeletVersion']}.", uri=f"/api/v1/nodes/{node['name']}"))
    status = _worst(r["insightStatus"]["status"] for r in resources)
    reason = {
        "PASSING": "Node kubelet versions are within the supported skew of the next Kubernetes version.",
        "WARNING": "Some nodes would be at the oldest kubelet version the next Kubernetes version supports.",
        "ERROR": "Some nodes would be more than three minor versions behind the next Kubernetes version.",
    }[status]
    return _insight(
        cluster,
        "Kubelet version skew",
        nxt,
        "Checks for kubelet versions of worker nodes in the cluster to see if upgrade would cause non compliance with supported Kubernetes kubelet version skew policy.",
        status,
        reason,
        "Upgrade your worker nodes to match the Kubernetes version of your cluster control plane.",
        resources=[r for r in resources if r["insightStatus"]["status"] != "PASSING"],
    )


def _kube_proxy(cluster, nxt):
    addon = ext(cluster).addons.get("kube-proxy")
    resources = []
    if addon is not None:
        m = catalog.minor_of(".".join(addon.version.lstrip("v").split(".")[:2]))
        if m is not None:
            st = _skew_status(catalog.minor_of(nxt) - m)
            resources.append(_resource(st, f"kube-proxy {addon.version}.", arn=addon.arn))
    status = _worst(r["insightStatus"]["status"] for r in resources)
    reason = "kube-proxy is within the supported skew of the next Kubernetes version." if status == "PASSING" else (
        "kube-proxy would be too far behind the next Kubernetes version."
    )
    return _insight(
        cluster,
        "kube-proxy version skew",
        nxt,
        "Checks version of kube-proxy in cluster to see if upgrade would cause non compliance with supported Kubernetes kube-proxy version skew policy.",
        status,
        reason,
        "Update kube-proxy to a version compatible with the next Kubernetes version before upgrading.",
        resources=[r for r in resources if r["insightStatus"]["status"] != "PASSING"],
    )


def _addons(cluster, nxt):
    details, resources = [], []
    for name in sorted(ext(cluster).addons):
        addon = ext(cluster).addons[name]
        compatible = catalog.addon_versions_for(name, nxt)
        details.append({"name": name, "compatibleVersions": compatible})
        if addon.version not in compatible:
            resources.append(
                _resource("WARNING", f"{name} {addon.version} does not support Kubernetes {nxt}.", arn=addon.arn)
            )
    status = "WARNING" if resources else "PASSING"
    reason = (
        "Some add-ons are at versions the next Kubernetes version does not support."
        if resources
        else "All installed add-ons are compatible with the next Kubernetes version."
    )
    return _insight(
        cluster,
        "Amazon EKS add-on version compatibility",
        nxt,
        "Checks version of installed EKS add-ons to ensure they are compatible with the next version of Kubernetes.",
        status,
        reason,
        "Upgrade your EKS add-ons to versions compatible with the next Kubernetes version.",
        resources=resources,
        summary={"deprecationDetails": [], "addonCompatibilityDetails": details},
    )


def _al2(cluster, nxt):
    resources = []
    for name in sorted(cluster.nodegroups):
        ng = cluster.nodegroups[name]
        if ng.ami_type in catalog.AL2_AMI_TYPES:
            resources.append(
                _resource(
                    "ERROR",
                    f"Node group {name} uses {ng.ami_type}; use {catalog.AL2_SUCCESSOR.get(ng.ami_type, 'AL2023')}.",
                    arn=ng.arn,
                )
            )
    status = "ERROR" if resources else "PASSING"
    return _insight(
        cluster,
        "Amazon Linux 2 compatibility",
        nxt,
        f"Checks for managed node groups that use Amazon Linux 2 AMIs, which are not available for Kubernetes 1.{catalog.AL2_LAST_MINOR + 1} and later.",
        status,
        "Managed node groups use Amazon Linux 2." if resources else "No managed node group uses Amazon Linux 2.",
        "Move node groups to Amazon Linux 2023 or Bottlerocket AMI types before upgrading.",
        resources=resources,
    )


def _health(cluster, nxt):
    return _insight(
        cluster,
        "Cluster health issues",
        nxt,
        "Checks for any cluster health issues that prevent successful upgrade to the next version on EKS.",
        "PASSING",
        "No cluster health issues detected.",
        "Resolve the cluster health issues before upgrading.",
    )


def compute(ctx, cluster):
    """Every insight of the cluster, sorted by version and name."""
    nxt = catalog.next_version(cluster.version)
    if nxt is None:
        return []
    out = _deprecated(cluster, nxt) + [_kubelet(cluster, nxt), _kube_proxy(cluster, nxt), _addons(cluster, nxt), _health(cluster, nxt)]
    if catalog.minor_of(nxt) > catalog.AL2_LAST_MINOR:
        out.append(_al2(cluster, nxt))
    return sorted(out, key=lambda i: (catalog.minor_of(i["kubernetesVersion"]), i["name"]))


_SUMMARY = ("id", "name", "category", "kubernetesVersion", "lastRefreshTime", "lastTransitionTime", "description", "insightStatus")


def list_insights(ctx):
    p = ctx.params
    cluster = ctx.cluster()
    f = p.get("filter") or {}
    items = compute(ctx, cluster)
    if f.get("categories"):
        items = [i for i in items if i["category"] in f["categories"]]
    if f.get("kubernetesVersions"):
        items = [i for i in items if i["kubernetesVersion"] in f["kubernetesVersions"]]
    if f.get("statuses"):
        items = [i for i in items if i["insightStatus"]["status"] in f["statuses"]]
    page, nxt = paginate([{k: i[k] for k in _SUMMARY} for i in items], p)
    return {"insights": page, "nextToken": nxt}


def describe_insight(ctx):
    cluster = ctx.cluster()
    for i in compute(ctx, cluster):
        if i["id"] == ctx.params["id"]:
            return {"insight": i}
    raise errors.ResourceNotFoundException(f"No insight found for id: {ctx.params['id']}.", clusterName=cluster.name)
