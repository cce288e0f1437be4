import json

import pytest
from botocore.exceptions import ClientError
from conftest import error_of, wait_for


def test_cluster_versions_follow_the_calendar_date(eks):
    out = eks.describe_cluster_versions()["clusterVersions"]
    by = {v["clusterVersion"]: v for v in out}
    # At 2025-06-01: 1.29 in extended support, 1.30-1.33 in standard, 1.34 not released.
    assert by["1.29"]["versionStatus"] == "EXTENDED_SUPPORT" and by["1.29"]["status"] == "extended-support"
    assert all(by[v]["versionStatus"] == "STANDARD_SUPPORT" for v in ("1.30", "1.31", "1.32", "1.33"))
    assert "1.34" not in by and "1.25" not in by  # 1.25 is unsupported: only with includeAll
    assert [v["clusterVersion"] for v in out if v["defaultVersion"]] == ["1.32"]
    assert by["1.30"]["endOfStandardSupportDate"].strftime("%Y-%m-%d") == "2025-07-23"
    every = eks.describe_cluster_versions(includeAll=True)["clusterVersions"]
    assert {v["clusterVersion"]: v["versionStatus"] for v in every}["1.25"] == "UNSUPPORTED"
    one = eks.describe_cluster_versions(clusterVersions=["1.30"], includeAll=True)["clusterVersions"]
    assert [v["clusterVersion"] for v in one] == ["1.30"]
    assert [v["clusterVersion"] for v in eks.describe_cluster_versions(defaultOnly=True)["clusterVersions"]] == ["1.32"]
    ext = eks.describe_cluster_versions(versionStatus="EXTENDED_SUPPORT")["clusterVersions"]
    assert {v["clusterVersion"] for v in ext} == {"1.26", "1.27", "1.28", "1.29"}


def test_a_later_calendar_date(eks, endpoint):
    from conftest import post

    assert post(endpoint, "/moto-api/cutover/eks", {"calendarDate": "2026-12-01"})[0] == 200
    by = {v["clusterVersion"]: v["versionStatus"] for v in eks.describe_cluster_versions(includeAll=True)["clusterVersions"]}
    assert (by["1.30"], by["1.32"], by["1.34"]) == ("UNSUPPORTED", "EXTENDED_SUPPORT", "STANDARD_SUPPORT")
    assert post(endpoint, "/moto-api/cutover/eks", {"calendarDate": "yesterday"})[0] == 400


def test_clusters_get_their_own_issuer_and_access_config(eks, make_cluster):
    a = make_cluster("a")
    b = make_cluster("b", mode="API", upgradePolicy={"supportType": "STANDARD"})
    assert a["identity"]["oidc"]["issuer"] != b["identity"]["oidc"]["issuer"]
    assert a["identity"]["oidc"]["issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    d = eks.describe_cluster(name="b")["cluster"]
    assert d["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert d["upgradePolicy"] == {"supportType": "STANDARD"}
    assert d["identity"] == b["identity"]


def test_create_cluster_version_rules(eks, make_cluster):
    assert make_cluster("default", version=None)["version"] == "1.32"
    for bad in ("1.19", "1.99"):
        with pytest.raises(ClientError) as e:
            make_cluster("bad", version=bad)
        code, http, _, msg = error_of(e)
        assert (code, http) == ("InvalidParameterException", 400)
        assert msg == f"unsupported Kubernetes version {bad}"


def test_node_groups_default_to_the_cluster_version(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.31")
    ng = make_nodegroup("blue")
    assert ng["version"] == "1.31"
    assert ng["releaseVersion"].startswith("1.31.")


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"version": "1.32"}, "newer than the cluster's Kubernetes version 1.31"),
        ({"version": "1.31", "amiType": "AL2_x86_64"}, None),
    ],
)
def test_create_node_group_version_rules(eks, make_cluster, make_nodegroup, kw, why):
    make_cluster(version="1.31")
    if why is None:
        assert make_nodegroup("blue", **kw)["version"] == "1.31"
        return
    with pytest.raises(ClientError) as e:
        make_nodegroup("blue", **kw)
    assert error_of(e)[0] == "InvalidParameterException" and why in error_of(e)[3]


def test_no_al2_at_1_33(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.33")
    with pytest.raises(ClientError) as e:
        make_nodegroup("blue", amiType="AL2_x86_64")
    assert "only supported for kubernetes versions 1.32 or earlier" in error_of(e)[3]
    assert make_nodegroup("blue", amiType="AL2023_x86_64_STANDARD")["version"] == "1.33"


def test_update_cluster_version(eks, make_cluster):
    make_cluster(version="1.29")
    u = eks.update_cluster_version(name="blue", version="1.30")["update"]
    assert (u["type"], u["status"]) == ("VersionUpdate", "InProgress")
    assert {p["type"]: p["value"] for p in u["params"]}["Version"] == "1.30"
    c = eks.describe_cluster(name="blue")["cluster"]
    assert (c["status"], c["version"]) == ("UPDATING", "1.29")
    with pytest.raises(ClientError) as e:
        eks.update_cluster_version(name="blue", version="1.30")
    assert error_of(e)[:2] == ("ResourceInUseException", 409)
    with pytest.raises(ClientError) as e:  # no node groups can be added while it updates
        eks.create_nodegroup(
            clusterName="blue", nodegroupName="ng", nodeRole="arn:aws:iam::123456789012:role/n", subnets=["subnet-1"]
        )
    assert error_of(e)[0] == "InvalidRequestException"
    assert wait_for(lambda: eks.describe_update(name="blue", updateId=u["id"])["update"]["status"], "Successful") == "Successful"
    c = eks.describe_cluster(name="blue")["cluster"]
    assert (c["status"], c["version"], c["platformVersion"]) == ("ACTIVE", "1.30", "eks.29")
    assert eks.list_updates(name="blue")["updateIds"] == [u["id"]]


@pytest.mark.parametrize("version", ["1.31", "1.29", "1.28", "latest"])
def test_update_cluster_version_only_to_the_next_minor(eks, make_cluster, version):
    make_cluster(version="1.29")
    with pytest.raises(ClientError) as e:
        eks.update_cluster_version(name="blue", version=version)
    assert error_of(e)[:2] == ("InvalidParameterException", 400)
    assert eks.describe_cluster(name="blue")["cluster"]["version"] == "1.29"


def test_update_cluster_version_of_unknown_cluster(eks):
    with pytest.raises(ClientError) as e:
        eks.update_cluster_version(name="nope", version="1.30")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        eks.describe_update(name="nope", updateId="x")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_node_groups_must_be_at_the_cluster_version_first(eks, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    with pytest.raises(ClientError) as e:
        eks.update_cluster_version(name="blue", version="1.31")
    code, _, _, msg = error_of(e)
    assert code == "InvalidRequestException" and "general must be updated to match cluster version 1.30" in msg

    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")["update"]
    params = {p["type"]: p["value"] for p in u["params"]}
    assert params["Version"] == "1.30" and params["ReleaseVersion"].startswith("1.30.")
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_version(clusterName="blue", nodegroupName="general")
    assert error_of(e)[0] == "ResourceInUseException"
    got = wait_for(
        lambda: eks.describe_update(name="blue", updateId=u["id"], nodegroupName="general")["update"]["status"], "Successful"
    )
    assert got == "Successful"
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="general")["nodegroup"]
    assert (ng["status"], ng["version"]) == ("ACTIVE", "1.30")
    assert eks.list_updates(name="blue", nodegroupName="general")["updateIds"] == [u["id"]]
    eks.update_cluster_version(name="blue", version="1.31")


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"version": "1.31"}, "newer than the cluster's"),
        ({"version": "1.28"}, "older than the node group's"),
        ({"launchTemplate": {"name": "other"}}, "created with one"),
    ],
)
def test_invalid_node_group_version_update(eks, make_cluster, make_nodegroup, kw, why):
    make_cluster(version="1.30")
    make_nodegroup("blue", version="1.29")
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_version(clusterName="blue", nodegroupName="general", **kw)
    assert error_of(e)[0] == "InvalidParameterException" and why in error_of(e)[3]
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_version(clusterName="blue", nodegroupName="nope")
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def test_launch_template_node_groups(eks, ec2, make_cluster, make_nodegroup):
    make_cluster(version="1.30")
    ec2.create_launch_template(LaunchTemplateName="custom-ami", LaunchTemplateData={"ImageId": "ami-0123456789abcdef0"})
    ec2.create_launch_template_version(LaunchTemplateName="custom-ami", LaunchTemplateData={"ImageId": "ami-0fedcba9876543210"})
    ec2.create_launch_template(LaunchTemplateName="plain", LaunchTemplateData={"UserData": "IyEvYmluL2Jhc2g="})
    make_nodegroup("blue", "custom", launchTemplate={"name": "custom-ami", "version": "1"}, version="1.29")
    make_nodegroup("blue", "plain", launchTemplate={"name": "plain", "version": "1"}, version="1.29")
    # A template that sets an AMI makes the node group CUSTOM, as EKS reports it.
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="custom")["nodegroup"]["amiType"] == "CUSTOM"
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="plain")["nodegroup"]["amiType"] != "CUSTOM"
    with pytest.raises(ClientError) as e:
        eks.update_nodegroup_version(clusterName="blue", nodegroupName="custom", version="1.30")
    assert "You cannot specify the field kubernetesVersion when using custom AMIs." == error_of(e)[3]
    u = eks.update_nodegroup_version(clusterName="blue", nodegroupName="custom", launchTemplate={"name": "custom-ami", "version": "2"})["update"]
    assert {p["type"]: p["value"] for p in u["params"]}["LaunchTemplateVersion"] == "2"
    wait_for(lambda: eks.describe_nodegroup(clusterName="blue", nodegroupName="custom")["nodegroup"]["status"], "ACTIVE")
    assert eks.describe_nodegroup(clusterName="blue", nodegroupName="custom")["nodegroup"]["launchTemplate"]["version"] == "2"
    # A template without an AMI takes a version like any node group.
    eks.update_nodegroup_version(clusterName="blue", nodegroupName="plain", version="1.30")
    assert wait_for(lambda: eks.describe_nodegroup(clusterName="blue", nodegroupName="plain")["nodegroup"]["version"], "1.30") == "1.30"


def test_control_route_settings(endpoint):
    from conftest import post

    status, body = post(endpoint, "/moto-api/cutover/eks", {"delaySeconds": 0.5})
    assert status == 200 and body["delaySeconds"] == 0.5
    assert post(endpoint, "/moto-api/cutover/eks", {"delaySeconds": -1})[0] == 400
    assert json.dumps(body)
