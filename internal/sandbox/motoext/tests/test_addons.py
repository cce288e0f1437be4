import json

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, error_of, role_arn, wait_for


def status(eks, name, cluster="blue"):
    return eks.describe_addon(clusterName=cluster, addonName=name)["addon"]["status"]


def test_create_goes_creating_then_active_with_the_default_version(eks, make_cluster):
    make_cluster(version="1.30")
    a = eks.create_addon(clusterName="blue", addonName="coredns")["addon"]
    assert a["status"] == "CREATING"
    assert a["addonVersion"] == "v1.11.1-eksbuild.13"  # the default for 1.30
    assert a["addonArn"].startswith(f"arn:aws:eks:us-east-1:{ACCOUNT}:addon/blue/coredns/")
    assert wait_for(lambda: status(eks, "coredns"), "ACTIVE") == "ACTIVE"
    assert eks.list_addons(clusterName="blue")["addons"] == ["coredns"]


def test_role_and_configuration_values_are_kept(eks, make_cluster, make_role):
    make_cluster()
    role = make_role("ebs-csi")
    values = json.dumps({"controller": {"replicaCount": 3}})
    eks.create_addon(
        clusterName="blue",
        addonName="aws-ebs-csi-driver",
        addonVersion="v1.38.1-eksbuild.2",
        serviceAccountRoleArn=role,
        configurationValues=values,
        tags={"team": "platform"},
    )
    a = eks.describe_addon(clusterName="blue", addonName="aws-ebs-csi-driver")["addon"]
    assert (a["addonVersion"], a["serviceAccountRoleArn"], a["configurationValues"], a["tags"]) == (
        "v1.38.1-eksbuild.2",
        role,
        values,
        {"team": "platform"},
    )


def test_yaml_configuration_values_are_accepted(eks, make_cluster):
    make_cluster()
    eks.create_addon(clusterName="blue", addonName="coredns", configurationValues="replicaCount: 3\n")
    assert eks.describe_addon(clusterName="blue", addonName="coredns")["addon"]["configurationValues"] == "replicaCount: 3\n"


def test_unknown_cluster(eks):
    with pytest.raises(ClientError) as e:
        eks.create_addon(clusterName="nope", addonName="vpc-cni")
    code, http, header, msg = error_of(e)
    assert (code, http, header) == ("ResourceNotFoundException", 404, "ResourceNotFoundException")
    assert msg == "No cluster found for name: nope."
    assert e.value.response["clusterName"] == "nope"


def test_conflicting_addon(eks, make_cluster):
    make_cluster()
    eks.create_addon(clusterName="blue", addonName="vpc-cni")
    with pytest.raises(ClientError) as e:
        eks.create_addon(clusterName="blue", addonName="vpc-cni", addonVersion="v1.18.3-eksbuild.3")
    assert error_of(e)[:3] == ("ResourceInUseException", 409, "ResourceInUseException")
    assert e.value.response["addonName"] == "vpc-cni"


def test_same_client_request_token_answers_with_the_addon(eks, make_cluster):
    make_cluster()
    first = eks.create_addon(clusterName="blue", addonName="vpc-cni", clientRequestToken="tok-1")["addon"]
    again = eks.create_addon(clusterName="blue", addonName="vpc-cni", clientRequestToken="tok-1")["addon"]
    assert again["addonArn"] == first["addonArn"]
    with pytest.raises(ClientError) as e:
        eks.create_addon(clusterName="blue", addonName="vpc-cni", clientRequestToken="tok-1", addonVersion="v1.18.3-eksbuild.3")
    assert error_of(e)[0] == "InvalidParameterException"


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"addonName": "no-such-addon"}, "not supported"),
        ({"addonName": "vpc-cni", "addonVersion": "v9.9.9-eksbuild.1"}, "not supported"),
        ({"addonName": "kube-proxy", "addonVersion": "v1.31.9-eksbuild.3"}, "not compatible with Kubernetes version 1.29"),
        ({"addonName": "coredns", "addonVersion": "v1.12.1-eksbuild.2"}, "not compatible"),
        ({"addonName": "coredns", "configurationValues": "[1, 2]"}, "ConfigurationValue"),
        ({"addonName": "coredns", "configurationValues": "{not: [valid"}, "ConfigurationValue"),
        ({"addonName": "vpc-cni", "serviceAccountRoleArn": "arn:aws:iam::123456789012:user/x"}, "not a valid IAM role ARN"),
        ({"addonName": "vpc-cni", "resolveConflicts": "SOMETIMES"}, "resolveConflicts"),
    ],
)
def test_invalid_create(eks, make_cluster, kw, why):
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.create_addon(clusterName="blue", **kw)
    code, http, header, msg = error_of(e)
    assert (code, http, header) == ("InvalidParameterException", 400, "InvalidParameterException")
    assert why in msg
    assert eks.list_addons(clusterName="blue")["addons"] == []


def test_describe_unknown_addon(eks, make_cluster):
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.describe_addon(clusterName="blue", addonName="vpc-cni")
    code, http, _, msg = error_of(e)
    assert (code, http, msg) == ("ResourceNotFoundException", 404, "No addon: vpc-cni found in cluster: blue")
    assert e.value.response["addonName"] == "vpc-cni"


def test_list_paginates_and_checks_max_results(eks, make_cluster):
    make_cluster()
    for name in ("vpc-cni", "coredns", "kube-proxy"):
        eks.create_addon(clusterName="blue", addonName=name)
    first = eks.list_addons(clusterName="blue", maxResults=2)
    assert first["addons"] == ["coredns", "kube-proxy"]
    second = eks.list_addons(clusterName="blue", maxResults=2, nextToken=first["nextToken"])
    assert second["addons"] == ["vpc-cni"] and "nextToken" not in second
    paginator = eks.get_paginator("list_addons")
    names = [n for page in paginator.paginate(clusterName="blue", PaginationConfig={"PageSize": 1}) for n in page["addons"]]
    assert names == ["coredns", "kube-proxy", "vpc-cni"]
    with pytest.raises(ClientError) as e:
        eks.list_addons(clusterName="blue", nextToken="garbage")
    assert error_of(e)[0] == "InvalidParameterException"


def test_update_moves_updating_to_active_and_reports_the_update(eks, make_cluster, make_role):
    make_cluster()
    eks.create_addon(clusterName="blue", addonName="vpc-cni", addonVersion="v1.18.3-eksbuild.3")
    with pytest.raises(ClientError) as e:  # still CREATING
        eks.update_addon(clusterName="blue", addonName="vpc-cni", addonVersion="v1.18.6-eksbuild.1")
    assert error_of(e)[:2] == ("ResourceInUseException", 409)
    wait_for(lambda: status(eks, "vpc-cni"), "ACTIVE")
    role = make_role("cni")
    u = eks.update_addon(
        clusterName="blue", addonName="vpc-cni", addonVersion="v1.18.6-eksbuild.1", serviceAccountRoleArn=role, resolveConflicts="OVERWRITE"
    )["update"]
    assert (u["status"], u["type"]) == ("InProgress", "AddonUpdate")
    assert {p["type"]: p["value"] for p in u["params"]} == {
        "AddonVersion": "v1.18.6-eksbuild.1",
        "ServiceAccountRoleArn": role,
        "ResolveConflicts": "OVERWRITE",
    }
    a = eks.describe_addon(clusterName="blue", addonName="vpc-cni")["addon"]
    assert (a["status"], a["addonVersion"]) == ("UPDATING", "v1.18.6-eksbuild.1")
    got = wait_for(lambda: eks.describe_update(name="blue", updateId=u["id"], addonName="vpc-cni")["update"]["status"], "Successful")
    assert got == "Successful"
    assert eks.list_updates(name="blue", addonName="vpc-cni")["updateIds"] == [u["id"]]
    assert eks.list_updates(name="blue")["updateIds"] == []
    with pytest.raises(ClientError) as e:  # the update is the add-on's, not the cluster's
        eks.describe_update(name="blue", updateId=u["id"])
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_update_refuses_an_incompatible_version(eks, make_cluster):
    make_cluster()
    eks.create_addon(clusterName="blue", addonName="kube-proxy")
    wait_for(lambda: status(eks, "kube-proxy"), "ACTIVE")
    with pytest.raises(ClientError) as e:
        eks.update_addon(clusterName="blue", addonName="kube-proxy", addonVersion="v1.30.13-eksbuild.3")
    assert error_of(e)[0] == "InvalidParameterException"
    assert status(eks, "kube-proxy") == "ACTIVE"


def test_delete_goes_deleting_then_gone(eks, make_cluster):
    make_cluster()
    eks.create_addon(clusterName="blue", addonName="coredns")
    assert eks.delete_addon(clusterName="blue", addonName="coredns")["addon"]["status"] == "DELETING"
    assert wait_for(lambda: eks.list_addons(clusterName="blue")["addons"], []) == []
    with pytest.raises(ClientError) as e:
        eks.delete_addon(clusterName="blue", addonName="coredns")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_addon_versions_per_kubernetes_version(eks):
    out = eks.describe_addon_versions(kubernetesVersion="1.30", addonName="coredns")["addons"]
    assert [a["addonName"] for a in out] == ["coredns"]
    versions = out[0]["addonVersions"]
    assert [v["addonVersion"] for v in versions] == ["v1.11.4-eksbuild.14", "v1.11.3-eksbuild.2", "v1.11.1-eksbuild.13"]
    assert [c["clusterVersion"] for v in versions for c in v["compatibilities"]] == ["1.30"] * 3
    assert [v["addonVersion"] for v in versions if v["compatibilities"][0]["defaultVersion"]] == ["v1.11.1-eksbuild.13"]
    assert out[0]["type"] == "networking" and out[0]["owner"] == "aws"

    kp = eks.describe_addon_versions(kubernetesVersion="1.31", addonName="kube-proxy")["addons"][0]["addonVersions"]
    assert all(v["addonVersion"].startswith("v1.31.") for v in kp)

    every = eks.describe_addon_versions(kubernetesVersion="1.32")["addons"]
    assert sorted(a["addonName"] for a in every) == [
        "aws-ebs-csi-driver",
        "coredns",
        "eks-pod-identity-agent",
        "kube-proxy",
        "vpc-cni",
    ]
    cni = next(a for a in every if a["addonName"] == "vpc-cni")
    assert cni["addonVersions"][0]["requiresIamPermissions"] is True
    storage = eks.describe_addon_versions(types=["storage"])["addons"]
    assert [a["addonName"] for a in storage] == ["aws-ebs-csi-driver"]
    assert len(storage[0]["addonVersions"][0]["compatibilities"]) > 1
    assert eks.describe_addon_versions(addonName="no-such-addon")["addons"] == []
    assert eks.describe_addon_versions(kubernetesVersion="1.10")["addons"] == []
    with pytest.raises(ClientError) as e:
        eks.describe_addon_versions(kubernetesVersion="latest")
    assert error_of(e)[0] == "InvalidParameterException"


def _irsa_trust(issuer, sa):
    host = issuer.split("://")[1]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:kube-system:{sa}", f"{host}:aud": "sts.amazonaws.com"}},
            }
        ],
    }


def test_an_addon_whose_role_does_not_trust_the_cluster_is_degraded(eks, iam, make_cluster, make_role):
    blue = make_cluster()
    green = make_cluster(name="green", version="1.30")
    assert blue["identity"]["oidc"]["issuer"] != green["identity"]["oidc"]["issuer"]
    iam.create_open_id_connect_provider(Url=blue["identity"]["oidc"]["issuer"], ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    role = make_role("cni-irsa", trust=_irsa_trust(blue["identity"]["oidc"]["issuer"], "aws-node"))
    eks.create_addon(clusterName="blue", addonName="vpc-cni", serviceAccountRoleArn=role)
    eks.create_addon(clusterName="green", addonName="vpc-cni", serviceAccountRoleArn=role)
    assert wait_for(lambda: status(eks, "vpc-cni"), "ACTIVE") == "ACTIVE"
    assert wait_for(lambda: status(eks, "vpc-cni", "green"), "DEGRADED") == "DEGRADED"
    issue = eks.describe_addon(clusterName="green", addonName="vpc-cni")["addon"]["health"]["issues"][0]
    assert issue["code"] == "AccessDenied"
    assert "OIDC provider for the cluster's issuer" in issue["message"]

    # Green's provider and a trust statement for green's issuer heal it.
    issuer = green["identity"]["oidc"]["issuer"]
    iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    assert status(eks, "vpc-cni", "green") == "DEGRADED"
    doc = _irsa_trust(blue["identity"]["oidc"]["issuer"], "aws-node")
    doc["Statement"] += _irsa_trust(issuer, "aws-node")["Statement"]
    iam.update_assume_role_policy(RoleName="cni-irsa", PolicyDocument=json.dumps(doc))
    assert status(eks, "vpc-cni", "green") == "ACTIVE"


def test_a_trust_for_another_service_account_does_not_do(eks, iam, make_cluster, make_role):
    c = make_cluster()
    issuer = c["identity"]["oidc"]["issuer"]
    iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    role = make_role("ebs-irsa", trust=_irsa_trust(issuer, "aws-node"))
    eks.create_addon(clusterName="blue", addonName="aws-ebs-csi-driver", serviceAccountRoleArn=role)
    assert wait_for(lambda: status(eks, "aws-ebs-csi-driver"), "DEGRADED") == "DEGRADED"


def test_addon_pod_identity_associations_are_owned_by_the_addon(eks, make_cluster, make_role):
    make_cluster()
    role = make_role("cni-pod-identity")
    a = eks.create_addon(
        clusterName="blue", addonName="vpc-cni", podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": role}]
    )["addon"]
    assert len(a["podIdentityAssociations"]) == 1
    assoc = eks.list_pod_identity_associations(clusterName="blue")["associations"]
    assert [(x["namespace"], x["serviceAccount"], x["ownerArn"]) for x in assoc] == [("kube-system", "aws-node", a["addonArn"])]
    with pytest.raises(ClientError) as e:
        eks.delete_pod_identity_association(clusterName="blue", associationId=assoc[0]["associationId"])
    assert error_of(e)[0] == "InvalidRequestException"
    eks.delete_addon(clusterName="blue", addonName="vpc-cni")
    assert wait_for(lambda: eks.list_pod_identity_associations(clusterName="blue")["associations"], []) == []


def test_addon_pod_identity_needs_an_existing_role(eks, make_cluster):
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.create_addon(
            clusterName="blue", addonName="vpc-cni", podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": role_arn("missing")}]
        )
    assert error_of(e)[0] == "InvalidParameterException"
    assert eks.list_addons(clusterName="blue")["addons"] == []
