"""The emulator's control routes, beside moto's own /moto-api routes. They
are not AWS APIs: the sandbox and the tests use them to tell the emulator
what EKS would know from elsewhere.

GET  /moto-api/cutover/eks                the settings (config.py) as JSON
POST /moto-api/cutover/eks                change them: {"delaySeconds": 0.2,
                                          "calendarDate": "2025-06-01",
                                          "irsaCheck": true}
POST /moto-api/cutover/eks/observations   what the cluster's control plane
                                          saw (EKS reads it from the audit
                                          log and the nodes), the input of the
                                          insights; replaces earlier reports:
  {"cluster": "blue", "region": "us-east-1", "accountId": "123456789012",
   "apiUsage": [{"groupVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
                 "resource": "flowschemas", "userAgent": "kubectl/v1.29.0",
                 "requests": 12, "lastRequestTime": "2025-05-30T10:00:00Z"}],
   "nodes": [{"name": "ip-10-0-1-23.ec2.internal", "kubeletVersion": "v1.29.15-eks-473151a"}]}
POST /moto-api/cutover/eks/nodegroup-update-failures
                                          arm (or with "errors": [] clear) the
                                          errors a node group's version
                                          updates fail with (updates.py), e.g.
                                          evictions a PodDisruptionBudget
                                          refused while draining:
  {"cluster": "blue", "region": "us-east-1", "nodegroup": "general",
   "errors": [{"errorCode": "PodEvictionFailure",
               "errorMessage": "Reached max retries while trying to evict pods from nodes in node group general",
               "resourceIds": ["poddisruptionbudget/shop/web"]}]}
GET  /moto-api/cutover/eks/nodegroup-rollouts?cluster=blue&region=us-east-1
                                          whether the cluster's node group
                                          version updates run outside the
                                          emulator, and those waiting for
                                          their node replacement:
  {"cluster": "blue", "external": true,
   "rollouts": [{"nodegroup": "general", "updateId": "...", "fromVersion": "1.29",
                 "version": "1.30", "releaseVersion": "1.30.14-20250519",
                 "launchTemplate": null, "force": false, "maxUnavailable": 1,
                 "maxUnavailablePercentage": null, "desiredSize": 3,
                 "createdAt": "..."}]}
POST /moto-api/cutover/eks/nodegroup-rollouts
                                          carry them out outside (true) or
                                          in the emulator after its delay:
  {"cluster": "blue", "external": true}
POST /moto-api/cutover/eks/nodegroup-rollouts/finish
                                          end one: Successful without errors,
                                          else Failed with them (updates.py):
  {"cluster": "blue", "nodegroup": "general", "updateId": "...",
   "errors": [{"errorCode": "PodEvictionFailure", "errorMessage": "...",
               "resourceIds": ["shop/checkout-7d9f-abcde"]}]}
"""

import datetime
import json
import os

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.eks.models import eks_backends
from moto.moto_api._internal import urls as moto_api_urls

from . import catalog, updates
from .config import config
from .state import LOCK, ext


def _reply(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _body(request):
    raw = request.get_data() if hasattr(request, "get_data") else request.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw or "{}")


def settings(request, full_url, headers):
    if request.method == "GET":
        return _reply(200, config.to_json())
    try:
        config.update(_body(request))
    except (ValueError, TypeError) as e:
        return _reply(400, {"message": str(e)})
    return _reply(200, config.to_json())


def _usage(item):
    gv, resource = item.get("groupVersion"), item.get("resource")
    if catalog.removed_api(gv, resource) is None:
        raise ValueError(f"{gv} {resource} is not a Kubernetes API a later version removes")
    when = item.get("lastRequestTime")
    when = datetime.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else utcnow()
    return {
        "groupVersion": gv,
        "resource": resource,
        "userAgent": str(item.get("userAgent") or "unknown"),
        "requests": int(item.get("requests") or 1),
        "lastRequestTime": when,
    }


def _node(item):
    if not item.get("name") or not item.get("kubeletVersion"):
        raise ValueError("a node needs name and kubeletVersion")
    return {"name": str(item["name"]), "kubeletVersion": str(item["kubeletVersion"])}


def _cluster(body):
    """The EKS cluster a control request names (accountId, region, cluster)."""
    account = body.get("accountId") or os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    region = body.get("region") or "us-east-1"
    return eks_backends[account][region].clusters.get(body.get("cluster"))


def _no_cluster(body):
    """The 404 of a control request naming a cluster that does not exist."""
    return _reply(404, {"message": f"No cluster found for name: {body.get('cluster')}."})


def _posted(request, parse):
    """The POSTed body and parse(body), or the reply refusing them: 405 for
    another method, 400 for a body parse rejects."""
    if request.method != "POST":
        return None, None, _reply(405, {"message": "POST only"})
    try:
        body = _body(request)
        return body, parse(body), None
    except (ValueError, TypeError, AttributeError) as e:
        return None, None, _reply(400, {"message": str(e)})


def observations(request, full_url, headers):
    body, parsed, refused = _posted(request, lambda b: ([_usage(u) for u in b.get("apiUsage") or []], [_node(n) for n in b.get("nodes") or []]))
    if refused:
        return refused
    usage, nodes = parsed
    with LOCK:
        cluster = _cluster(body)
        if cluster is None:
            return _no_cluster(body)
        ext(cluster).api_usage = usage
        ext(cluster).nodes = nodes
    return _reply(200, {"cluster": cluster.name, "apiUsage": len(usage), "nodes": len(nodes)})


# ErrorCode values of the EKS API's ErrorDetail.
_ERROR_CODES = {
    "SubnetNotFound", "SecurityGroupNotFound", "EniLimitReached", "IpNotAvailable", "AccessDenied",
    "OperationNotPermitted", "VpcIdNotFound", "Unknown", "NodeCreationFailure", "PodEvictionFailure",
    "InsufficientFreeAddresses", "ClusterUnreachable", "InsufficientNumberOfReplicas",
    "ConfigurationConflict", "AdmissionRequestDenied", "UnsupportedAddonModification", "K8sResourceNotFound",
}


def _update_error(item):
    code = item.get("errorCode")
    if code not in _ERROR_CODES:
        raise ValueError(f"errorCode {code!r} is not an EKS ErrorDetail code")
    ids = item.get("resourceIds") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise ValueError("resourceIds must be a list of non-empty strings")
    return {"errorCode": code, "errorMessage": str(item.get("errorMessage") or code), "resourceIds": list(ids)}


def nodegroup_update_failures(request, full_url, headers):
    body, errs, refused = _posted(request, lambda b: [_update_error(e) for e in b.get("errors") or []])
    if refused:
        return refused
    with LOCK:
        cluster = _cluster(body)
        if cluster is None:
            return _no_cluster(body)
        name = body.get("nodegroup")
        if name not in cluster.nodegroups:
            return _reply(404, {"message": f"No node group found for name: {name}."})
        armed = updates.armed_failures(cluster)
        if errs:
            armed[name] = errs
        else:
            armed.pop(name, None)
    return _reply(200, {"cluster": cluster.name, "nodegroup": name, "errors": len(errs)})


def _query(request, full_url):
    from urllib.parse import parse_qs, urlparse

    q = parse_qs(urlparse(full_url).query)
    return {k: v[0] for k, v in q.items() if v}


def nodegroup_rollouts(request, full_url, headers):
    if request.method == "GET":
        body = _query(request, full_url)
    elif request.method == "POST":
        try:
            body = _body(request)
        except (ValueError, TypeError) as e:
            return _reply(400, {"message": str(e)})
        if not isinstance(body.get("external"), bool):
            return _reply(400, {"message": "external must be true or false"})
    else:
        return _reply(405, {"message": "GET or POST only"})
    with LOCK:
        cluster = _cluster(body)
        if cluster is None:
            return _no_cluster(body)
        if request.method == "POST":
            ext(cluster).external_rollouts = body["external"]
        return _reply(200, {"cluster": cluster.name, "external": updates.external_rollouts(cluster), "rollouts": updates.pending_rollouts(cluster)})


def nodegroup_rollout_finish(request, full_url, headers):
    body, errs, refused = _posted(request, lambda b: [_update_error(e) for e in b.get("errors") or []])
    if refused:
        return refused
    with LOCK:
        cluster = _cluster(body)
        if cluster is None:
            return _no_cluster(body)
        try:
            updates.finish_rollout(cluster, body.get("nodegroup"), body.get("updateId"), errs)
        except KeyError as e:
            return _reply(404, {"message": e.args[0]})
        u = ext(cluster).updates[body["updateId"]]
    return _reply(200, {"cluster": cluster.name, "nodegroup": body["nodegroup"], "updateId": u.id, "status": u.status})


def install():
    moto_api_urls.url_paths["{0}/moto-api/cutover/eks$"] = settings
    moto_api_urls.url_paths["{0}/moto-api/cutover/eks/observations$"] = observations
    moto_api_urls.url_paths["{0}/moto-api/cutover/eks/nodegroup-update-failures$"] = nodegroup_update_failures
    moto_api_urls.url_paths["{0}/moto-api/cutover/eks/nodegroup-rollouts$"] = nodegroup_rollouts
    moto_api_urls.url_paths["{0}/moto-api/cutover/eks/nodegroup-rollouts/finish$"] = nodegroup_rollout_finish
