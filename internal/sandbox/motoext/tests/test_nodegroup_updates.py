"""UpdateNodegroupConfig as an update, force on UpdateNodegroupVersion, and
node group updates made to fail on demand (PodEvictionFailure)."""

import pytest
from botocore.exceptions import ClientError
from conftest import error_of, post, wait_for

PDB_ERROR = {
    "errorCode": "PodEvictionFailure",
    "errorMessage": "Reached max retries while trying to evict pods from nodes in node group general",
    "resourceIds": ["poddisruptionbudget/shop/web"],
}


def _status(eks, u, ng="general"):
    return eks.describe_update(name="blue", updateId=u["id"], nodegroupName=ng)["update"]["status"]


def test_update_nodegroup_config_is_an_update(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.30")
    u = eks.update_nodegroup_config(clusterName="blue", nodegroupName="general", updateConfig={"maxUnavailable": 2})["update"]
    assert (u["status"], u["type"]) == ("InProgress", "ConfigUpdate")
    assert {p["type"]: p["value"] for p in u["params"]} == {"MaxUnavailable": "2"}
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")
    assert error_of(e)[0] == "ResourceInUseException"
    assert wait_for(lambda: _status(eks, u), "Successful") == "Successful"
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]
    assert ng["status"] == "ACTIVE" and ng["updateConfig"] == {"maxUnavailable": 2}
    assert eks.list_updates(name="blue", nodegroupName="general")["updateIds"] == [u["id"]]


def test_update_nodegroup_config_scaling(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.30")
    u = eks.update_nodegroup_config(clusterName="blue", nodegroupName="general", scalingConfig={"desiredSize": 3})["update"]
    assert {p["type"]: p["value"] for p in u["params"]} == {"DesiredSize": "3"}
    wait_for(lambda: _status(eks, u), "Successful")
    sc = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]["scalingConfig"]
    assert sc == {"minSize": 1, "maxSize": 3, "desiredSize": 3}


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"updateConfig": {"maxUnavailable": 101}}, "maxUnavailable must be between 1 and 100"),
        ({"updateConfig": {"maxUnavailablePercentage": 101}}, "maxUnavailablePercentage: 101 is greater than 100"),
        ({"updateConfig": {"maxUnavailable": 1, "maxUnavailablePercentage": 10}}, "exactly one of"),
        ({"updateConfig": {}}, "exactly one of"),
        ({"scalingConfig": {"desiredSize": 4}}, "minSize <= desiredSize <= maxSize"),
        ({"scalingConfig": {"minSize": 3, "desiredSize": 2}}, "minSize <= desiredSize <= maxSize"),
        ({}, "No changes requested"),
    ],
)
def test_update_nodegroup_config_validation(eks, make_cluster, make_nodegroup, kw, why):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.30")
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_config(clusterName="blue", nodegroupName="general", **kw)
    code, status, _, msg = error_of(e)
    assert (code, status) == ("InvalidParameterException", 400) and why in msg
    assert eks.list_updates(name="blue", nodegroupName="general")["updateIds"] == []
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_config(clusterName="blue", nodegroupName="nope", updateConfig={"maxUnavailable": 1})
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def _arm(endpoint, errors, nodegroup="general"):
    return post(endpoint, "/moto-api/cutover/eks/nodegroup-update-failures", {"cluster": "blue", "nodegroup": nodegroup, "errors": errors})


def test_an_armed_pod_eviction_failure_fails_the_update(eks, endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    assert _arm(endpoint, [PDB_ERROR])[0] == 200
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")["update"]
    assert wait_for(lambda: _status(eks, u), "Failed") == "Failed"
    got = eks.describe_update(name="blue", updateId=u["id"], nodegroupName="general")["update"]
    assert got["errors"] == [PDB_ERROR]
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]
    assert (ng["status"], ng["version"]) == ("ACTIVE", "1.29")

    # force replaces the nodes despite the budget.
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general", force=True)["update"]
    assert wait_for(lambda: _status(eks, u), "Successful") == "Successful"
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]["version"] == "1.30"


def test_force_does_not_override_other_errors_and_clearing_works(eks, endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    other = {"errorCode": "NodeCreationFailure", "errorMessage": "Instances failed to join", "resourceIds": ["i-0abc"]}
    _arm(endpoint, [other])
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general", force=True)["update"]
    assert wait_for(lambda: _status(eks, u), "Failed") == "Failed"
    assert _arm(endpoint, [])[0] == 200
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")["update"]
    assert wait_for(lambda: _status(eks, u), "Successful") == "Successful"


def test_failure_route_validation(endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.30")
    assert _arm(endpoint, [{"errorCode": "Nope"}])[0] == 400
    assert _arm(endpoint, [dict(PDB_ERROR, resourceIds=[""])])[0] == 400
    assert _arm(endpoint, [PDB_ERROR], nodegroup="nope")[0] == 404
    assert post(endpoint, "/moto-api/cutover/eks/nodegroup-update-failures", {"cluster": "nope", "nodegroup": "general"})[0] == 404


def _rollouts(endpoint, cluster="blue"):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/moto-api/cutover/eks/nodegroup-rollouts?cluster={cluster}&region=us-east-1") as resp:
        return json.loads(resp.read())


def _finish(endpoint, update_id, errors=(), nodegroup="general"):
    return post(endpoint, "/moto-api/cutover/eks/nodegroup-rollouts/finish",
                {"cluster": "blue", "nodegroup": nodegroup, "updateId": update_id, "errors": list(errors)})


def test_external_rollouts_wait_for_the_node_replacement(eks, endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    assert _rollouts(endpoint) == {"cluster": "blue", "external": False, "rollouts": []}
    assert post(endpoint, "/moto-api/cutover/eks/nodegroup-rollouts", {"cluster": "blue", "external": True})[0] == 200
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")["update"]
    # Past the emulator's delay the update still waits for its nodes.
    import time
    time.sleep(0.3)
    assert _status(eks, u) == "InProgress"
    got = _rollouts(endpoint)
    assert got["external"] is True and len(got["rollouts"]) == 1
    r = got["rollouts"][0]
    assert (r["nodegroup"], r["updateId"], r["fromVersion"], r["version"], r["force"]) == ("general", u["id"], "1.29", "1.30", False)
    assert r["releaseVersion"].startswith("1.30.")
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]["status"] == "UPDATING"

    # Finished with PodEvictionFailure: Failed, the node group ACTIVE at 1.29.
    err = dict(PDB_ERROR, resourceIds=["shop/checkout-0"])
    assert _finish(endpoint, u["id"], [err])[0] == 200
    assert _status(eks, u) == "Failed"
    assert eks.describe_update(name="blue", updateId=u["id"], nodegroupName="general")["update"]["errors"] == [err]
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]
    assert (ng["status"], ng["version"]) == ("ACTIVE", "1.29")
    assert _rollouts(endpoint)["rollouts"] == []
    # A finished rollout cannot be finished again.
    assert _finish(endpoint, u["id"])[0] == 404

    # Finished without errors: Successful at the update's version.
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general", force=True)["update"]
    assert _rollouts(endpoint)["rollouts"][0]["force"] is True
    assert _finish(endpoint, u["id"])[0] == 200
    assert _status(eks, u) == "Successful"
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]
    assert (ng["status"], ng["version"]) == ("ACTIVE", "1.30")


def test_rollout_route_validation(endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    assert post(endpoint, "/moto-api/cutover/eks/nodegroup-rollouts", {"cluster": "blue", "external": "yes"})[0] == 400
    assert post(endpoint, "/moto-api/cutover/eks/nodegroup-rollouts", {"cluster": "nope", "external": True})[0] == 404
    assert _finish(endpoint, "no-such-update")[0] == 404
    assert _finish(endpoint, "x", [{"errorCode": "Nope"}])[0] == 400
