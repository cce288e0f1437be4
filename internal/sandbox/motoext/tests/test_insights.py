import pytest
from botocore.exceptions import ClientError
from conftest import error_of, post, wait_for


def insights(eks, cluster="blue", **filt):
    kw = {"clusterName": cluster}
    if filt:
        kw["filter"] = filt
    return {(i["kubernetesVersion"], i["name"]): i for i in eks.list_insights(**kw)["insights"]}


def describe(eks, insight, cluster="blue"):
    return eks.describe_insight(clusterName=cluster, id=insight["id"])["insight"]


def observe(endpoint, **body):
    body.setdefault("cluster", "blue")
    return post(endpoint, "/moto-api/cutover/eks/observations", body)


def test_a_clean_cluster_passes_for_the_next_version(eks, make_cluster):
    make_cluster(version="1.29")
    got = insights(eks)
    assert set(got) == {
        ("1.30", "Deprecated APIs removed in Kubernetes v1.30"),
        ("1.30", "Kubelet version skew"),
        ("1.30", "kube-proxy version skew"),
        ("1.30", "Amazon EKS add-on version compatibility"),
        ("1.30", "Cluster health issues"),
        ("1.32", "Deprecated APIs removed in Kubernetes v1.32"),
    }
    assert {i["insightStatus"]["status"] for i in got.values()} == {"PASSING"}
    assert {i["category"] for i in got.values()} == {"UPGRADE_READINESS"}
    assert set(insights(eks, kubernetesVersions=["1.30"])) == {k for k in got if k[0] == "1.30"}
    # IDs are stable.
    assert {i["id"] for i in insights(eks).values()} == {i["id"] for i in got.values()}


def test_deprecated_api_usage(eks, endpoint, make_cluster):
    make_cluster(version="1.31")
    status, _ = observe(
        endpoint,
        apiUsage=[
            {"groupVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "resource": "flowschemas", "userAgent": "kubectl/v1.29.0", "requests": 12}
        ],
    )
    assert status == 200
    got = insights(eks)
    ins = got[("1.32", "Deprecated APIs removed in Kubernetes v1.32")]
    assert ins["insightStatus"]["status"] == "ERROR"
    d = describe(eks, ins)
    dep = d["categorySpecificSummary"]["deprecationDetails"]
    assert [(x["usage"], x["replacedWith"], x["stopServingVersion"], x["startServingReplacementVersion"]) for x in dep] == [
        ("/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", "1.32", "1.29")
    ]
    assert dep[0]["clientStats"][0]["userAgent"] == "kubectl/v1.29.0"
    assert dep[0]["clientStats"][0]["numberOfRequestsLast30Days"] == 12
    assert "1.32" in d["recommendation"]
    assert set(insights(eks, statuses=["ERROR"])) == {("1.32", "Deprecated APIs removed in Kubernetes v1.32")}


def test_usage_of_an_api_removed_later_is_a_warning(eks, endpoint, make_cluster):
    make_cluster(version="1.29")
    observe(endpoint, apiUsage=[{"groupVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "resource": "prioritylevelconfigurations"}])
    got = insights(eks)
    assert got[("1.32", "Deprecated APIs removed in Kubernetes v1.32")]["insightStatus"]["status"] == "WARNING"
    assert got[("1.30", "Deprecated APIs removed in Kubernetes v1.30")]["insightStatus"]["status"] == "PASSING"


def test_kubelet_skew_from_node_groups_and_nodes(eks, endpoint, make_cluster, make_nodegroup):
    make_cluster(version="1.32")
    make_nodegroup("blue", "old", version="1.29")
    make_nodegroup("blue", "current")
    ins = insights(eks)[("1.33", "Kubelet version skew")]
    assert ins["insightStatus"]["status"] == "ERROR"
    d = describe(eks, ins)
    assert [r["insightStatus"]["status"] for r in d["resources"]] == ["ERROR"]
    assert "nodegroup/blue/old/" in d["resources"][0]["arn"]

    eks.delete_nodegroup(clusterName="blue", nodegroupName="old")
    observe(endpoint, nodes=[{"name": "ip-10-0-1-5.ec2.internal", "kubeletVersion": "v1.30.9-eks-1234"}])
    ins = insights(eks)[("1.33", "Kubelet version skew")]
    assert ins["insightStatus"]["status"] == "WARNING"
    assert describe(eks, ins)["resources"][0]["kubernetesResourceUri"] == "/api/v1/nodes/ip-10-0-1-5.ec2.internal"
    assert ins["lastTransitionTime"] <= ins["lastRefreshTime"]


def test_al2_node_groups_before_1_33(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.32")
    make_nodegroup("blue", "al2", amiType="AL2_x86_64")
    make_nodegroup("blue", "al2023", amiType="AL2023_x86_64_STANDARD")
    ins = insights(eks)[("1.33", "Amazon Linux 2 compatibility")]
    assert ins["insightStatus"]["status"] == "ERROR"
    res = describe(eks, ins)["resources"]
    assert len(res) == 1 and "/al2/" in res[0]["arn"] and "AL2023_x86_64_STANDARD" in res[0]["insightStatus"]["reason"]
    make_cluster("older", version="1.31")
    assert not any(k[1] == "Amazon Linux 2 compatibility" for k in insights(eks, "older"))


def test_addon_compatibility_and_kube_proxy_skew(eks, make_cluster):
    make_cluster(version="1.31")
    eks.create_addon(clusterName="blue", addonName="kube-proxy")
    eks.create_addon(clusterName="blue", addonName="vpc-cni", addonVersion="v1.18.3-eksbuild.3")
    eks.create_addon(clusterName="blue", addonName="coredns")
    got = insights(eks)
    compat = got[("1.32", "Amazon EKS add-on version compatibility")]
    assert compat["insightStatus"]["status"] == "WARNING"
    d = describe(eks, compat)
    details = {x["name"]: x["compatibleVersions"] for x in d["categorySpecificSummary"]["addonCompatibilityDetails"]}
    assert details["kube-proxy"][0].startswith("v1.32.")
    assert "v1.18.3-eksbuild.3" not in details["vpc-cni"]
    assert sorted(r["arn"].split("/")[2] for r in d["resources"]) == ["kube-proxy", "vpc-cni"]
    assert got[("1.32", "kube-proxy version skew")]["insightStatus"]["status"] == "PASSING"


def test_unknown_insight_and_cluster(eks, make_cluster):
    with pytest.raises(ClientError) as e:
        eks.list_insights(clusterName="nope")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.describe_insight(clusterName="blue", id="00000000-0000-0000-0000-000000000000")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def test_error_insights_block_the_upgrade_unless_forced(eks, endpoint, make_cluster):
    make_cluster(version="1.31")
    observe(endpoint, apiUsage=[{"groupVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "resource": "flowschemas"}])
    with pytest.raises(ClientError) as e:
        eks.update_cluster_version(name="blue", version="1.32")
    code, http, _, msg = error_of(e)
    assert (code, http) == ("InvalidStateException", 400)
    assert "Deprecated APIs removed in Kubernetes v1.32" in msg and "force" in msg
    u = eks.update_cluster_version(name="blue", version="1.32", force=True)["update"]
    assert wait_for(lambda: eks.describe_update(name="blue", updateId=u["id"])["update"]["status"], "Successful") == "Successful"
    # At 1.32 the next version is 1.33 and the old usage no longer matters.
    assert {k[0] for k in insights(eks)} == {"1.33"}


def test_observations_are_validated(endpoint, make_cluster):
    make_cluster()
    assert observe(endpoint, apiUsage=[{"groupVersion": "apps/v1", "resource": "deployments"}])[0] == 400
    assert observe(endpoint, nodes=[{"name": "n"}])[0] == 400
    assert observe(endpoint, cluster="nope")[0] == 404
