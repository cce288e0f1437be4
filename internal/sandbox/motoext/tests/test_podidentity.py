import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, error_of, role_arn


def test_create_describe_list_update_delete(eks, make_cluster, make_role):
    make_cluster()
    role = make_role("shop-api")
    other = make_role("shop-api-v2")
    a = eks.create_pod_identity_association(
        clusterName="blue", namespace="shop", serviceAccount="api", roleArn=role, tags={"app": "shop"}
    )["association"]
    assert a["associationId"].startswith("a-") and len(a["associationId"]) == 19
    assert a["associationArn"] == f"arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/blue/{a['associationId']}"
    assert (a["namespace"], a["serviceAccount"], a["roleArn"], a["disableSessionTags"]) == ("shop", "api", role, False)
    got = eks.describe_pod_identity_association(clusterName="blue", associationId=a["associationId"])["association"]
    assert got["tags"] == {"app": "shop"}
    eks.create_pod_identity_association(clusterName="blue", namespace="pay", serviceAccount="ledger", roleArn=role)
    listed = eks.list_pod_identity_associations(clusterName="blue")["associations"]
    assert [(x["namespace"], x["serviceAccount"]) for x in listed] == [("pay", "ledger"), ("shop", "api")]
    assert len(eks.list_pod_identity_associations(clusterName="blue", namespace="shop")["associations"]) == 1
    assert eks.list_pod_identity_associations(clusterName="blue", serviceAccount="nope")["associations"] == []

    u = eks.update_pod_identity_association(
        clusterName="blue", associationId=a["associationId"], roleArn=other, targetRoleArn=role
    )["association"]
    assert (u["roleArn"], u["targetRoleArn"]) == (other, role)
    assert u["externalId"]
    deleted = eks.delete_pod_identity_association(clusterName="blue", associationId=a["associationId"])["association"]
    assert deleted["associationId"] == a["associationId"]
    with pytest.raises(ClientError) as e:
        eks.describe_pod_identity_association(clusterName="blue", associationId=a["associationId"])
    assert error_of(e)[:2] == ("ResourceNotFoundException", 404)


def test_one_association_per_service_account(eks, make_cluster, make_role):
    make_cluster()
    role = make_role("shop-api")
    eks.create_pod_identity_association(clusterName="blue", namespace="shop", serviceAccount="api", roleArn=role)
    with pytest.raises(ClientError) as e:
        eks.create_pod_identity_association(clusterName="blue", namespace="shop", serviceAccount="api", roleArn=role)
    assert error_of(e)[:3] == ("ResourceInUseException", 409, "ResourceInUseException")


@pytest.mark.parametrize(
    "kw, why",
    [
        ({"roleArn": role_arn("missing")}, "does not exist"),
        ({"roleArn": "arn:aws:iam::123456789012:user/someone"}, "not a valid IAM role ARN"),
        ({"namespace": "Shop"}, "not a valid Kubernetes namespace"),
        ({"serviceAccount": "api_v1"}, "not a valid Kubernetes service account"),
        ({"targetRoleArn": role_arn("missing")}, "targetRoleArn"),
        ({"policy": "{not json"}, "policy"),
    ],
)
def test_invalid_association(eks, make_cluster, make_role, kw, why):
    make_cluster()
    args = {"clusterName": "blue", "namespace": "shop", "serviceAccount": "api", "roleArn": make_role("shop-api")}
    args.update(kw)
    with pytest.raises(ClientError) as e:
        eks.create_pod_identity_association(**args)
    code, http, _, msg = error_of(e)
    assert (code, http) == ("InvalidParameterException", 400)
    assert why in msg
    assert eks.list_pod_identity_associations(clusterName="blue")["associations"] == []


def test_unknown_cluster_and_association(eks, make_cluster):
    with pytest.raises(ClientError) as e:
        eks.list_pod_identity_associations(clusterName="nope")
    assert error_of(e)[0] == "ResourceNotFoundException"
    make_cluster()
    with pytest.raises(ClientError) as e:
        eks.update_pod_identity_association(clusterName="blue", associationId="a-00000000000000000", roleArn=role_arn("x"))
    assert error_of(e)[0] == "ResourceNotFoundException"
