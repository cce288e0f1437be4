import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, error_of, role_arn

ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
CREATOR = f"arn:aws:iam::{ACCOUNT}:user/moto"  # moto's identity for unknown keys


def test_config_map_clusters_have_no_access_entry_api(eks, make_cluster, make_role):
    make_cluster(mode=None)
    assert eks.describe_cluster(name="blue")["cluster"]["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    ci = make_role("ci")
    for call in (
        lambda: eks.list_access_entries(clusterName="blue"),
        lambda: eks.create_access_entry(clusterName="blue", principalArn=ci),
    ):
        with pytest.raises(ClientError) as e:
            call()
        code, http, _, msg = error_of(e)
        assert (code, http) == ("InvalidRequestException", 400)
        assert "authentication mode must be set to one of [API, API_AND_CONFIG_MAP]" in msg


def test_the_cluster_creator_gets_an_admin_entry(eks, make_cluster):
    make_cluster()
    assert eks.list_access_entries(clusterName="blue")["accessEntries"] == [CREATOR]
    pols = eks.list_associated_access_policies(clusterName="blue", principalArn=CREATOR)["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]["type"]) for p in pols] == [(ADMIN, "cluster")]


def test_no_creator_entry_when_not_asked(eks, make_cluster):
    make_cluster(mode=None, accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False})
    assert eks.list_access_entries(clusterName="blue")["accessEntries"] == []


def test_create_describe_update_delete(eks, make_cluster, make_role):
    make_cluster()
    ci = make_role("deployer", path="/ci/")
    assert ci == f"arn:aws:iam::{ACCOUNT}:role/ci/deployer"
    e = eks.create_access_entry(clusterName="blue", principalArn=ci, kubernetesGroups=["deployers"], tags={"team": "ci"})["accessEntry"]
    assert e["type"] == "STANDARD"
    assert e["username"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/{{{{SessionName}}}}"
    assert e["kubernetesGroups"] == ["deployers"]
    assert e["accessEntryArn"].startswith(f"arn:aws:eks:us-east-1:{ACCOUNT}:access-entry/blue/role/{ACCOUNT}/deployer/")
    assert eks.describe_access_entry(clusterName="blue", principalArn=ci)["accessEntry"]["tags"] == {"team": "ci"}
    u = eks.update_access_entry(clusterName="blue", principalArn=ci, username="ci-deployer", kubernetesGroups=["a", "b"])["accessEntry"]
    assert (u["username"], u["kubernetesGroups"]) == ("ci-deployer", ["a", "b"])
    assert sorted(eks.list_access_entries(clusterName="blue")["accessEntries"]) == sorted([CREATOR, ci])
    eks.delete_access_entry(clusterName="blue", principalArn=ci)
    with pytest.raises(ClientError) as ex:
        eks.describe_access_entry(clusterName="blue", principalArn=ci)
    assert error_of(ex)[:2] == ("ResourceNotFoundException", 404)


def test_duplicate_access_entry(eks, make_cluster, make_role):
    make_cluster()
    ci = make_role("ci")
    eks.create_access_entry(clusterName="blue", principalArn=ci)
    with pytest.raises(ClientError) as e:
        eks.create_access_entry(clusterName="blue", principalArn=ci)
    code, http, header, msg = error_of(e)
    assert (code, http, header) == ("ResourceInUseException", 409, "ResourceInUseException")
    assert msg == "The specified access entry resource is already in use on this cluster."


def test_client_request_token_replay(eks, make_cluster, make_role):
    make_cluster()
    ci = make_role("ci")
    first = eks.create_access_entry(clusterName="blue", principalArn=ci, clientRequestToken="tok")["accessEntry"]
    again = eks.create_access_entry(clusterName="blue", principalArn=ci, clientRequestToken="tok")["accessEntry"]
    assert again["accessEntryArn"] == first["accessEntryArn"]


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"principalArn": "not-an-arn"}, "not the ARN of an IAM role or user"),
        ({"principalArn": role_arn("missing")}, "does not exist"),
        ({"principalArn": role_arn("ci"), "kubernetesGroups": ["system:masters"]}, "cannot start with system:"),
        ({"principalArn": role_arn("ci"), "username": "eks:me"}, "is invalid"),
        ({"principalArn": role_arn("ci"), "type": "EC2_LINUX", "kubernetesGroups": ["nodes"]}, "cannot be specified"),
        ({"principalArn": role_arn("ci"), "type": "BANANA"}, "type BANANA is invalid"),
    ],
)
def test_invalid_access_entry(eks, make_cluster, make_role, kw, why):
    make_cluster()
    make_role("ci")
    with pytest.raises(ClientError) as e:
        eks.create_access_entry(clusterName="blue", **kw)
    code, http, _, msg = error_of(e)
    assert (code, http) == ("InvalidParameterException", 400)
    assert why in msg


def test_node_types_get_their_node_identity(eks, make_cluster, make_role):
    make_cluster()
    arn = make_role("fargate-pods")
    e = eks.create_access_entry(clusterName="blue", principalArn=arn, type="FARGATE_LINUX")["accessEntry"]
    assert e["username"] == "system:node:{{SessionName}}"
    assert "system:nodes" in e["kubernetesGroups"]
    with pytest.raises(ClientError) as ex:
        eks.associate_access_policy(clusterName="blue", principalArn=arn, policyArn=VIEW, accessScope={"type": "cluster"})
    assert error_of(ex)[0] == "InvalidRequestException"


def test_a_node_group_gives_its_role_an_ec2_linux_entry(eks, make_cluster, make_nodegroup):
    make_cluster()
    make_nodegroup("blue")
    e = eks.describe_access_entry(clusterName="blue", principalArn=role_arn("eks-nodes"))["accessEntry"]
    assert (e["type"], e["username"], e["kubernetesGroups"]) == ("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", ["system:nodes"])


def test_policy_associations(eks, make_cluster, make_role):
    make_cluster()
    ci = make_role("ci")
    eks.create_access_entry(clusterName="blue", principalArn=ci)
    out = eks.associate_access_policy(
        clusterName="blue", principalArn=ci, policyArn=EDIT, accessScope={"type": "namespace", "namespaces": ["shop", "pay*"]}
    )
    assert out["associatedAccessPolicy"]["accessScope"] == {"type": "namespace", "namespaces": ["pay*", "shop"]}
    eks.associate_access_policy(clusterName="blue", principalArn=ci, policyArn=VIEW, accessScope={"type": "cluster"})
    # Associating again replaces the scope.
    eks.associate_access_policy(clusterName="blue", principalArn=ci, policyArn=EDIT, accessScope={"type": "namespace", "namespaces": ["shop"]})
    pols = eks.list_associated_access_policies(clusterName="blue", principalArn=ci)["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]) for p in pols] == [
        (EDIT, {"type": "namespace", "namespaces": ["shop"]}),
        (VIEW, {"type": "cluster", "namespaces": []}),
    ]
    assert eks.list_access_entries(clusterName="blue", associatedPolicyArn=VIEW)["accessEntries"] == [ci]
    eks.disassociate_access_policy(clusterName="blue", principalArn=ci, policyArn=VIEW)
    pols = eks.list_associated_access_policies(clusterName="blue", principalArn=ci)["associatedAccessPolicies"]
    assert [p["policyArn"] for p in pols] == [EDIT]
    with pytest.raises(ClientError) as e:
        eks.disassociate_access_policy(clusterName="blue", principalArn=ci, policyArn=VIEW)
    assert error_of(e)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "policy, scope, code",
    [
        ("arn:aws:eks::aws:cluster-access-policy/NoSuchPolicy", {"type": "cluster"}, "InvalidParameterException"),
        (VIEW, {"type": "namespace"}, "InvalidParameterException"),
        (VIEW, {"type": "cluster", "namespaces": ["shop"]}, "InvalidParameterException"),
        (VIEW, {"type": "namespace", "namespaces": ["Not_A_Namespace"]}, "InvalidParameterException"),
    ],
)
def test_invalid_policy_association(eks, make_cluster, make_role, policy, scope, code):
    make_cluster()
    ci = make_role("ci")
    eks.create_access_entry(clusterName="blue", principalArn=ci)
    with pytest.raises(ClientError) as e:
        eks.associate_access_policy(clusterName="blue", principalArn=ci, policyArn=policy, accessScope=scope)
    assert error_of(e)[0] == code


def test_association_on_a_missing_entry(eks, make_cluster):
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.associate_access_policy(clusterName="blue", principalArn=role_arn("ci"), policyArn=VIEW, accessScope={"type": "cluster"})
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def test_list_access_policies(eks):
    pols = eks.list_access_policies()["accessPolicies"]
    assert {"name": "AmazonEKSClusterAdminPolicy", "arn": ADMIN} in pols
    page = eks.list_access_policies(maxResults=2)
    assert len(page["accessPolicies"]) == 2 and page["nextToken"]
