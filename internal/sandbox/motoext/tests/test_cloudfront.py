"""CloudFront continuous deployment: staging distributions, continuous
deployment policies, promotion, and the fields and ETag preconditions on
moto's own distributions."""

import urllib.request

import pytest
from botocore.exceptions import ClientError
from conftest import _client

ACCOUNT = "123456789012"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture
def cf(endpoint):
    return _client(endpoint, "cloudfront")


def origin(oid, domain):
    return {
        "Id": oid,
        "DomainName": domain,
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }


def get_head():
    return {"Quantity": 2, "Items": ["GET", "HEAD"], "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}


@pytest.fixture
def make_primary(cf):
    def make(ref="primary", aliases=None, http="http2"):
        cfg = {
            "CallerReference": ref,
            "Comment": "shop " + ref,
            "Enabled": True,
            "HttpVersion": http,
            "Aliases": {"Quantity": len(aliases or []), "Items": aliases or []},
            "Origins": {"Quantity": 2, "Items": [origin("blue", "blue.example.com"), origin("green", "green.example.com")]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "blue",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": CACHING_OPTIMIZED,
                "AllowedMethods": get_head(),
            },
        }
        return cf.create_distribution(DistributionConfig=cfg)["Distribution"]

    return make


def etag(cf, dist_id):
    return cf.get_distribution_config(Id=dist_id)["ETag"]


@pytest.fixture
def make_staging(cf):
    def make(primary_id, ref="staging", **kw):
        return cf.copy_distribution(
            PrimaryDistributionId=primary_id, Staging=True, IfMatch=etag(cf, primary_id), CallerReference=ref, **kw
        )["Distribution"]

    return make


def weight_config(domain, weight=0.05, **weight_kw):
    return {
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [domain]},
        "Enabled": True,
        "TrafficConfig": {"Type": "SingleWeight", "SingleWeightConfig": dict(Weight=weight, **weight_kw)},
    }


def header_config(domain, header="aws-cf-cd-canary", value="1"):
    return {
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [domain]},
        "Enabled": True,
        "TrafficConfig": {"Type": "SingleHeader", "SingleHeaderConfig": {"Header": header, "Value": value}},
    }


def set_policy(cf, dist_id, policy_id):
    out = cf.get_distribution_config(Id=dist_id)
    cfg = out["DistributionConfig"]
    cfg["ContinuousDeploymentPolicyId"] = policy_id
    return cf.update_distribution(Id=dist_id, IfMatch=out["ETag"], DistributionConfig=cfg)


def code_of(excinfo):
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def cd(cf, make_primary, make_staging):
    """A primary, its staging copy on green's origin and a 5 % policy
    attached to the primary."""
    primary = make_primary(aliases=["shop.example.com"])
    staging = make_staging(primary["Id"])
    out = cf.get_distribution_config(Id=staging["Id"])
    cfg = out["DistributionConfig"]
    cfg["DefaultCacheBehavior"]["TargetOriginId"] = "green"
    cf.update_distribution(Id=staging["Id"], IfMatch=out["ETag"], DistributionConfig=cfg)
    policy = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(staging["DomainName"]))
    set_policy(cf, primary["Id"], policy["ContinuousDeploymentPolicy"]["Id"])
    return primary, staging, policy["ContinuousDeploymentPolicy"]


# -- moto's own distributions through the hook


def test_update_and_get_still_round_trip(cf, make_primary):
    d = make_primary()
    assert d["Status"] == "InProgress"
    assert d["DistributionConfig"]["Staging"] is False
    assert "ContinuousDeploymentPolicyId" not in d["DistributionConfig"]
    assert cf.get_distribution(Id=d["Id"])["Distribution"]["Status"] == "Deployed"
    out = cf.get_distribution_config(Id=d["Id"])
    cfg = out["DistributionConfig"]
    cfg["Comment"] = "changed"
    cfg["DefaultCacheBehavior"]["TargetOriginId"] = "green"
    upd = cf.update_distribution(Id=d["Id"], IfMatch=out["ETag"], DistributionConfig=cfg)
    assert upd["ETag"] != out["ETag"]
    assert upd["Distribution"]["Status"] == "InProgress"
    got = cf.get_distribution(Id=d["Id"])
    assert got["ETag"] == upd["ETag"]
    assert got["Distribution"]["Status"] == "Deployed"
    dc = got["Distribution"]["DistributionConfig"]
    assert (dc["Comment"], dc["DefaultCacheBehavior"]["TargetOriginId"], dc["Staging"]) == ("changed", "green", False)
    assert [o["Id"] for o in dc["Origins"]["Items"]] == ["blue", "green"]
    summary = cf.list_distributions()["DistributionList"]["Items"][0]
    assert (summary["Id"], summary["Staging"]) == (d["Id"], False)


def test_update_needs_the_current_etag(cf, make_primary):
    d = make_primary()
    out = cf.get_distribution_config(Id=d["Id"])
    cf.update_distribution(Id=d["Id"], IfMatch=out["ETag"], DistributionConfig=out["DistributionConfig"])
    with pytest.raises(ClientError) as e:
        cf.update_distribution(Id=d["Id"], IfMatch=out["ETag"], DistributionConfig=out["DistributionConfig"])
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        cf.update_distribution(Id=d["Id"], DistributionConfig=out["DistributionConfig"])
    assert code_of(e) == ("InvalidIfMatchVersion", 400)
    with pytest.raises(ClientError) as e:
        cf.update_distribution(Id="ENOSUCH", IfMatch="x", DistributionConfig=out["DistributionConfig"])
    assert code_of(e) == ("NoSuchDistribution", 404)


def test_create_refuses_staging_and_policies(cf, make_primary):
    d = make_primary()
    cfg = cf.get_distribution_config(Id=d["Id"])["DistributionConfig"]
    for field, value in (("Staging", True), ("ContinuousDeploymentPolicyId", "some-policy")):
        c = dict(cfg, CallerReference="other-" + field, **{field: value})
        with pytest.raises(ClientError) as e:
            cf.create_distribution(DistributionConfig=c)
        assert code_of(e) == ("InvalidArgument", 400)


def test_delete_needs_a_disabled_deployed_distribution(cf, make_primary):
    d = make_primary()
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=d["Id"], IfMatch=etag(cf, d["Id"]))
    assert code_of(e) == ("DistributionNotDisabled", 409)
    out = cf.get_distribution_config(Id=d["Id"])
    cfg = dict(out["DistributionConfig"], Enabled=False)
    upd = cf.update_distribution(Id=d["Id"], IfMatch=out["ETag"], DistributionConfig=cfg)
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=d["Id"], IfMatch=upd["ETag"])
    assert code_of(e) == ("DistributionNotDisabled", 409)  # still InProgress
    assert cf.get_distribution(Id=d["Id"])["Distribution"]["Status"] == "Deployed"
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=d["Id"], IfMatch=out["ETag"])
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=d["Id"])
    assert code_of(e) == ("InvalidIfMatchVersion", 400)
    cf.delete_distribution(Id=d["Id"], IfMatch=upd["ETag"])
    with pytest.raises(ClientError) as e:
        cf.get_distribution(Id=d["Id"])
    assert code_of(e) == ("NoSuchDistribution", 404)


# -- CopyDistribution


def test_copy_makes_a_staging_distribution(cf, make_primary):
    p = make_primary(aliases=["shop.example.com"])
    tag = etag(cf, p["Id"])
    out = cf.copy_distribution(PrimaryDistributionId=p["Id"], Staging=True, IfMatch=tag, CallerReference="stage-1")
    s = out["Distribution"]
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["Location"] == f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{s['Id']}"
    assert out["ETag"] and out["ETag"] != tag
    assert s["Id"] != p["Id"] and s["DomainName"] != p["DomainName"] and s["DomainName"].endswith(".cloudfront.net")
    assert s["ARN"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{s['Id']}" or s["ARN"].endswith(s["Id"])
    c = s["DistributionConfig"]
    assert (c["Staging"], c["CallerReference"], c["Enabled"], c["Aliases"]["Quantity"]) == (True, "stage-1", True, 0)
    assert c["Comment"] == "shop primary"
    assert c["DefaultCacheBehavior"]["TargetOriginId"] == "blue"
    assert "ContinuousDeploymentPolicyId" not in c
    assert s["Status"] == "InProgress"
    assert cf.get_distribution(Id=s["Id"])["Distribution"]["Status"] == "Deployed"
    assert cf.get_distribution_config(Id=s["Id"])["DistributionConfig"]["Staging"] is True
    # The primary is unchanged.
    assert etag(cf, p["Id"]) == tag
    assert cf.get_distribution_config(Id=p["Id"])["DistributionConfig"]["Staging"] is False
    staging = {d["Id"]: d["Staging"] for d in cf.list_distributions()["DistributionList"]["Items"]}
    assert staging == {p["Id"]: False, s["Id"]: True}


def test_copy_disabled(cf, make_primary):
    p = make_primary()
    s = cf.copy_distribution(
        PrimaryDistributionId=p["Id"], Staging=True, IfMatch=etag(cf, p["Id"]), CallerReference="off", Enabled=False
    )["Distribution"]
    assert s["DistributionConfig"]["Enabled"] is False


def test_copy_is_idempotent_on_the_caller_reference(cf, make_primary):
    p = make_primary()
    first = cf.copy_distribution(PrimaryDistributionId=p["Id"], Staging=True, IfMatch=etag(cf, p["Id"]), CallerReference="ref")
    again = cf.copy_distribution(PrimaryDistributionId=p["Id"], Staging=True, IfMatch=etag(cf, p["Id"]), CallerReference="ref")
    assert again["Distribution"]["Id"] == first["Distribution"]["Id"]
    assert again["ETag"] == first["ETag"]
    assert len(cf.list_distributions()["DistributionList"]["Items"]) == 2
    other = make_primary(ref="other")
    with pytest.raises(ClientError) as e:
        cf.copy_distribution(PrimaryDistributionId=other["Id"], Staging=True, IfMatch=etag(cf, other["Id"]), CallerReference="ref")
    assert code_of(e) == ("DistributionAlreadyExists", 409)
    with pytest.raises(ClientError) as e:  # a CreateDistribution's reference
        cf.copy_distribution(PrimaryDistributionId=p["Id"], Staging=True, IfMatch=etag(cf, p["Id"]), CallerReference="other")
    assert code_of(e) == ("DistributionAlreadyExists", 409)


def test_copy_refusals(cf, make_primary, make_staging):
    p = make_primary()
    tag = etag(cf, p["Id"])
    for kw, want in (
        (dict(Staging=False, IfMatch=tag), ("InvalidArgument", 400)),
        (dict(IfMatch=tag), ("InvalidArgument", 400)),
        (dict(Staging=True), ("InvalidIfMatchVersion", 400)),
        (dict(Staging=True, IfMatch="E0LD"), ("PreconditionFailed", 412)),
    ):
        with pytest.raises(ClientError) as e:
            cf.copy_distribution(PrimaryDistributionId=p["Id"], CallerReference="x", **kw)
        assert code_of(e) == want, kw
    with pytest.raises(ClientError) as e:
        cf.copy_distribution(PrimaryDistributionId="ENOSUCH", Staging=True, IfMatch=tag, CallerReference="x")
    assert code_of(e) == ("NoSuchDistribution", 404)
    s = make_staging(p["Id"])
    with pytest.raises(ClientError) as e:
        cf.copy_distribution(PrimaryDistributionId=s["Id"], Staging=True, IfMatch=etag(cf, s["Id"]), CallerReference="y")
    assert code_of(e) == ("InvalidArgument", 400)


def test_staging_flag_and_aliases_on_update(cf, make_primary, make_staging):
    p = make_primary()
    s = make_staging(p["Id"])
    for dist_id, change in (
        (p["Id"], {"Staging": True}),
        (s["Id"], {"Staging": False}),
        (s["Id"], {"Aliases": {"Quantity": 1, "Items": ["stage.example.com"]}}),
        (s["Id"], {"ContinuousDeploymentPolicyId": "x"}),
    ):
        out = cf.get_distribution_config(Id=dist_id)
        with pytest.raises(ClientError) as e:
            cf.update_distribution(Id=dist_id, IfMatch=out["ETag"], DistributionConfig=dict(out["DistributionConfig"], **change))
        assert code_of(e)[0] in ("IllegalUpdate", "InvalidArgument"), change
        if "Staging" in change:
            assert code_of(e) == ("IllegalUpdate", 400)


# -- continuous deployment policies


def test_policy_lifecycle(cf, make_primary, make_staging):
    p = make_primary()
    s = make_staging(p["Id"])
    out = cf.create_continuous_deployment_policy(
        ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], 0.05, SessionStickinessConfig={"IdleTTL": 300, "MaximumTTL": 600})
    )
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    pol = out["ContinuousDeploymentPolicy"]
    assert out["Location"] == f"https://cloudfront.amazonaws.com/2020-05-31/continuous-deployment-policy/{pol['Id']}"
    cfg = pol["ContinuousDeploymentPolicyConfig"]
    assert cfg["StagingDistributionDnsNames"] == {"Quantity": 1, "Items": [s["DomainName"]]}
    assert cfg["TrafficConfig"] == {
        "Type": "SingleWeight",
        "SingleWeightConfig": {"Weight": 0.05, "SessionStickinessConfig": {"IdleTTL": 300, "MaximumTTL": 600}},
    }
    got = cf.get_continuous_deployment_policy(Id=pol["Id"])
    assert got["ETag"] == out["ETag"] and got["ContinuousDeploymentPolicy"]["Id"] == pol["Id"]
    conf = cf.get_continuous_deployment_policy_config(Id=pol["Id"])
    assert conf["ETag"] == out["ETag"] and conf["ContinuousDeploymentPolicyConfig"] == cfg

    upd = cf.update_continuous_deployment_policy(Id=pol["Id"], IfMatch=out["ETag"], ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], 0.15))
    assert upd["ETag"] != out["ETag"]
    assert upd["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["TrafficConfig"]["SingleWeightConfig"] == {"Weight": 0.15}
    with pytest.raises(ClientError) as e:
        cf.update_continuous_deployment_policy(Id=pol["Id"], IfMatch=out["ETag"], ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], 0.1))
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        cf.update_continuous_deployment_policy(Id=pol["Id"], ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], 0.1))
    assert code_of(e) == ("InvalidIfMatchVersion", 400)
    # A header policy instead.
    upd = cf.update_continuous_deployment_policy(Id=pol["Id"], IfMatch=upd["ETag"], ContinuousDeploymentPolicyConfig=header_config(s["DomainName"]))
    assert upd["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["TrafficConfig"] == {
        "Type": "SingleHeader",
        "SingleHeaderConfig": {"Header": "aws-cf-cd-canary", "Value": "1"},
    }

    with pytest.raises(ClientError) as e:
        cf.delete_continuous_deployment_policy(Id=pol["Id"], IfMatch=out["ETag"])
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        cf.delete_continuous_deployment_policy(Id=pol["Id"])
    assert code_of(e) == ("InvalidIfMatchVersion", 400)
    cf.delete_continuous_deployment_policy(Id=pol["Id"], IfMatch=upd["ETag"])
    for call in (cf.get_continuous_deployment_policy, cf.get_continuous_deployment_policy_config):
        with pytest.raises(ClientError) as e:
            call(Id=pol["Id"])
        assert code_of(e) == ("NoSuchContinuousDeploymentPolicy", 404)
    with pytest.raises(ClientError) as e:
        cf.delete_continuous_deployment_policy(Id=pol["Id"], IfMatch=upd["ETag"])
    assert code_of(e) == ("NoSuchContinuousDeploymentPolicy", 404)


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.15])
def test_weights_within_the_cap(cf, make_primary, make_staging, weight):
    s = make_staging(make_primary()["Id"])
    out = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], weight))
    assert out["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["TrafficConfig"]["SingleWeightConfig"]["Weight"] == weight


@pytest.mark.parametrize(
    "mutate, want",
    [
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(Weight=0.16), "InvalidArgument"),
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(Weight=0.2), "InvalidArgument"),
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(Weight=-0.01), "InvalidArgument"),
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(SessionStickinessConfig={"IdleTTL": 299, "MaximumTTL": 600}), "InvalidArgument"),
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(SessionStickinessConfig={"IdleTTL": 300, "MaximumTTL": 3601}), "InvalidArgument"),
        (lambda c: c["TrafficConfig"]["SingleWeightConfig"].update(SessionStickinessConfig={"IdleTTL": 900, "MaximumTTL": 600}), "InvalidArgument"),
        (lambda c: c["TrafficConfig"].update(Type="SingleHeader"), "InvalidArgument"),
        (lambda c: c["TrafficConfig"].update(SingleHeaderConfig={"Header": "aws-cf-cd-x", "Value": "1"}), "InvalidArgument"),
        (lambda c: c.pop("TrafficConfig"), "InvalidArgument"),
        (lambda c: c["StagingDistributionDnsNames"].update(Quantity=2), "InconsistentQuantities"),
        (lambda c: c["StagingDistributionDnsNames"].update(Quantity=0, Items=[]), "InvalidArgument"),
        (lambda c: c["StagingDistributionDnsNames"].update(Items=["d0nosuch000000.cloudfront.net"]), "InvalidArgument"),
    ],
)
def test_policy_refusals(cf, make_primary, make_staging, mutate, want):
    s = make_staging(make_primary()["Id"])
    cfg = weight_config(s["DomainName"])
    mutate(cfg)
    with pytest.raises(ClientError) as e:
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=cfg)
    assert code_of(e) == (want, 400)
    assert cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]["Quantity"] == 0


@pytest.mark.parametrize("header, value", [("x-canary", "1"), ("aws-cf-cd-", "1"), ("aws-cf-cd-canary", "")])
def test_header_policy_refusals(cf, make_primary, make_staging, header, value):
    s = make_staging(make_primary()["Id"])
    with pytest.raises(ClientError) as e:
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=header_config(s["DomainName"], header, value))
    assert code_of(e) == ("InvalidArgument", 400)


def test_policy_needs_a_staging_distribution_of_its_own(cf, make_primary, make_staging):
    p = make_primary()
    with pytest.raises(ClientError) as e:  # a primary's domain name
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(p["DomainName"]))
    assert code_of(e) == ("InvalidArgument", 400)
    s = make_staging(p["Id"])
    first = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"]))
    with pytest.raises(ClientError) as e:
        cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=header_config(s["DomainName"]))
    assert code_of(e) == ("StagingDistributionInUse", 409)
    s2 = make_staging(p["Id"], ref="staging-2")
    second = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s2["DomainName"]))
    with pytest.raises(ClientError) as e:  # moving the second onto the first's staging distribution
        cf.update_continuous_deployment_policy(
            Id=second["ContinuousDeploymentPolicy"]["Id"], IfMatch=second["ETag"], ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"])
        )
    assert code_of(e) == ("StagingDistributionInUse", 409)
    # Updating a policy with its own staging distribution is fine.
    cf.update_continuous_deployment_policy(
        Id=first["ContinuousDeploymentPolicy"]["Id"], IfMatch=first["ETag"], ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"], 0.1)
    )


def test_list_pages(cf, make_primary, make_staging):
    p = make_primary()
    ids = []
    for i in range(3):
        s = make_staging(p["Id"], ref=f"s{i}")
        ids.append(cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"]))["ContinuousDeploymentPolicy"]["Id"])
    page = cf.list_continuous_deployment_policies(MaxItems="2")["ContinuousDeploymentPolicyList"]
    assert (page["Quantity"], page["MaxItems"]) == (2, 2)
    assert [i["ContinuousDeploymentPolicy"]["Id"] for i in page["Items"]] == ids[:2]
    rest = cf.list_continuous_deployment_policies(MaxItems="2", Marker=page["NextMarker"])["ContinuousDeploymentPolicyList"]
    assert [i["ContinuousDeploymentPolicy"]["Id"] for i in rest["Items"]] == ids[2:]
    assert "NextMarker" not in rest
    with pytest.raises(ClientError) as e:
        cf.list_continuous_deployment_policies(MaxItems="many")
    assert code_of(e) == ("InvalidArgument", 400)


def test_policies_go_with_a_reset(cf, endpoint, make_primary, make_staging):
    s = make_staging(make_primary()["Id"])
    cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"]))
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", data=b"{}", method="POST")).read()
    assert cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]["Quantity"] == 0


# -- a primary and its policy


def test_attach_and_detach(cf, cd):
    primary, staging, policy = cd
    got = cf.get_distribution(Id=primary["Id"])["Distribution"]["DistributionConfig"]
    assert got["ContinuousDeploymentPolicyId"] == policy["Id"]
    assert cf.get_distribution_config(Id=primary["Id"])["DistributionConfig"]["ContinuousDeploymentPolicyId"] == policy["Id"]
    assert "ContinuousDeploymentPolicyId" not in cf.get_distribution_config(Id=staging["Id"])["DistributionConfig"]
    upd = set_policy(cf, primary["Id"], "")
    assert "ContinuousDeploymentPolicyId" not in upd["Distribution"]["DistributionConfig"]
    assert upd["Distribution"]["Status"] == "InProgress"
    # Detached, the policy can be deleted.
    p = cf.get_continuous_deployment_policy(Id=policy["Id"])
    cf.delete_continuous_deployment_policy(Id=policy["Id"], IfMatch=p["ETag"])


def test_attach_refusals(cf, cd, make_primary, make_staging):
    primary, staging, policy = cd
    other = make_primary(ref="other")
    with pytest.raises(ClientError) as e:  # already used by primary
        set_policy(cf, other["Id"], policy["Id"])
    assert code_of(e) == ("ContinuousDeploymentPolicyInUse", 409)
    foreign = make_staging(other["Id"], ref="foreign")
    fp = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(foreign["DomainName"]))
    with pytest.raises(ClientError) as e:  # the staging distribution of another primary
        set_policy(cf, primary["Id"], fp["ContinuousDeploymentPolicy"]["Id"])
    assert code_of(e) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as e:
        set_policy(cf, primary["Id"], "no-such-policy")
    assert code_of(e) == ("NoSuchContinuousDeploymentPolicy", 404)
    h3 = make_primary(ref="h3", http="http2and3")
    s3 = make_staging(h3["Id"], ref="h3-staging")
    p3 = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s3["DomainName"]))
    with pytest.raises(ClientError) as e:
        set_policy(cf, h3["Id"], p3["ContinuousDeploymentPolicy"]["Id"])
    assert code_of(e) == ("InvalidArgument", 400)
    # The primary still has its own policy.
    assert cf.get_distribution_config(Id=primary["Id"])["DistributionConfig"]["ContinuousDeploymentPolicyId"] == policy["Id"]


def test_policy_in_use_is_not_deleted_nor_its_staging_distribution(cf, cd):
    primary, staging, policy = cd
    p = cf.get_continuous_deployment_policy(Id=policy["Id"])
    with pytest.raises(ClientError) as e:
        cf.delete_continuous_deployment_policy(Id=policy["Id"], IfMatch=p["ETag"])
    assert code_of(e) == ("ContinuousDeploymentPolicyInUse", 409)
    out = cf.get_distribution_config(Id=staging["Id"])
    with pytest.raises(ClientError) as e:  # disabling a staging distribution a policy names
        cf.update_distribution(Id=staging["Id"], IfMatch=out["ETag"], DistributionConfig=dict(out["DistributionConfig"], Enabled=False))
    assert code_of(e) == ("StagingDistributionInUse", 409)
    # CloudFront's order: detach, delete the policy, disable, wait, delete.
    set_policy(cf, primary["Id"], "")
    cf.delete_continuous_deployment_policy(Id=policy["Id"], IfMatch=p["ETag"])
    off = cf.update_distribution(Id=staging["Id"], IfMatch=out["ETag"], DistributionConfig=dict(out["DistributionConfig"], Enabled=False))
    cf.get_distribution(Id=staging["Id"])  # Deployed
    cf.delete_distribution(Id=staging["Id"], IfMatch=off["ETag"])
    assert [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]] == [primary["Id"]]


def test_a_disabled_staging_distribution_in_a_policy_is_not_deleted(cf, make_primary):
    p = make_primary()
    s = cf.copy_distribution(
        PrimaryDistributionId=p["Id"], Staging=True, IfMatch=etag(cf, p["Id"]), CallerReference="off", Enabled=False
    )["Distribution"]
    pol = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig=weight_config(s["DomainName"]))
    tag = cf.get_distribution(Id=s["Id"])["ETag"]  # and Deployed
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=s["Id"], IfMatch=tag)
    assert code_of(e) == ("StagingDistributionInUse", 409)
    cf.delete_continuous_deployment_policy(Id=pol["ContinuousDeploymentPolicy"]["Id"], IfMatch=pol["ETag"])
    cf.delete_distribution(Id=s["Id"], IfMatch=tag)


def test_an_absent_policy_id_keeps_the_policy(cf, cd):
    primary, staging, policy = cd
    out = cf.get_distribution_config(Id=primary["Id"])
    cfg = out["DistributionConfig"]
    del cfg["ContinuousDeploymentPolicyId"]
    cfg["Comment"] = "no policy element"
    upd = cf.update_distribution(Id=primary["Id"], IfMatch=out["ETag"], DistributionConfig=cfg)
    assert upd["Distribution"]["DistributionConfig"]["ContinuousDeploymentPolicyId"] == policy["Id"]
    assert upd["Distribution"]["DistributionConfig"]["Comment"] == "no policy element"


def test_updating_an_attached_policy_deploys_the_primary(cf, cd):
    primary, staging, policy = cd
    tag = cf.get_distribution(Id=primary["Id"])["ETag"]
    p = cf.get_continuous_deployment_policy(Id=policy["Id"])
    cf.update_continuous_deployment_policy(Id=policy["Id"], IfMatch=p["ETag"], ContinuousDeploymentPolicyConfig=weight_config(staging["DomainName"], 0.15))
    first = cf.get_distribution(Id=primary["Id"])
    assert first["ETag"] == tag
    assert first["Distribution"]["Status"] == "Deployed"  # moto's state manager: one read advances it
    assert primary["Status"] == "InProgress"


def test_an_attached_policy_keeps_to_the_primary_s_staging_distributions(cf, cd, make_primary, make_staging):
    primary, staging, policy = cd
    foreign = make_staging(make_primary(ref="other")["Id"], ref="foreign")
    p = cf.get_continuous_deployment_policy(Id=policy["Id"])
    with pytest.raises(ClientError) as e:
        cf.update_continuous_deployment_policy(Id=policy["Id"], IfMatch=p["ETag"], ContinuousDeploymentPolicyConfig=weight_config(foreign["DomainName"]))
    assert code_of(e) == ("InvalidArgument", 400)


# -- UpdateDistributionWithStagingConfig


def test_promote_copies_the_staging_configuration(cf, cd):
    primary, staging, policy = cd
    p, s = cf.get_distribution(Id=primary["Id"]), cf.get_distribution(Id=staging["Id"])
    out = cf.update_distribution_with_staging_config(Id=primary["Id"], StagingDistributionId=staging["Id"], IfMatch=f"{p['ETag']}, {s['ETag']}")
    d = out["Distribution"]
    assert out["ETag"] != p["ETag"]
    assert (d["Id"], d["DomainName"], d["Status"]) == (primary["Id"], primary["DomainName"], "InProgress")
    c = d["DistributionConfig"]
    assert c["DefaultCacheBehavior"]["TargetOriginId"] == "green"
    assert (c["CallerReference"], c["Aliases"]["Items"], c["Staging"], c["ContinuousDeploymentPolicyId"]) == (
        "primary",
        ["shop.example.com"],
        False,
        policy["Id"],
    )
    assert cf.get_distribution(Id=primary["Id"])["Distribution"]["Status"] == "Deployed"
    # The policy is disabled: all traffic on the primary, which serves green.
    pol = cf.get_continuous_deployment_policy(Id=policy["Id"])
    assert pol["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]["Enabled"] is False
    # The staging distribution is as it was.
    s2 = cf.get_distribution(Id=staging["Id"])
    assert s2["ETag"] == s["ETag"] and s2["Distribution"]["DistributionConfig"]["Staging"] is True


def test_promote_refusals(cf, cd, make_primary, make_staging):
    primary, staging, policy = cd
    p, s = cf.get_distribution(Id=primary["Id"])["ETag"], cf.get_distribution(Id=staging["Id"])["ETag"]
    for kw, want in (
        (dict(StagingDistributionId=staging["Id"]), ("InvalidIfMatchVersion", 400)),
        (dict(StagingDistributionId=staging["Id"], IfMatch=p), ("InvalidIfMatchVersion", 400)),
        (dict(StagingDistributionId=staging["Id"], IfMatch=f"{s}, {p}"), ("PreconditionFailed", 412)),
        (dict(StagingDistributionId=staging["Id"], IfMatch=f"{p}, OLD"), ("PreconditionFailed", 412)),
        (dict(StagingDistributionId="ENOSUCH", IfMatch=f"{p}, {s}"), ("NoSuchDistribution", 404)),
        (dict(IfMatch=f"{p}, {s}"), ("InvalidArgument", 400)),
        (dict(StagingDistributionId=primary["Id"], IfMatch=f"{p}, {p}"), ("InvalidArgument", 400)),
    ):
        with pytest.raises(ClientError) as e:
            cf.update_distribution_with_staging_config(Id=primary["Id"], **kw)
        assert code_of(e) == want, kw
    # A staging distribution the primary's policy does not route to.
    s2 = make_staging(primary["Id"], ref="unrouted")
    with pytest.raises(ClientError) as e:
        cf.update_distribution_with_staging_config(
            Id=primary["Id"], StagingDistributionId=s2["Id"], IfMatch=f"{etag(cf, primary['Id'])}, {etag(cf, s2['Id'])}"
        )
    assert code_of(e) == ("InvalidArgument", 400)
    # Nothing changed.
    c = cf.get_distribution_config(Id=primary["Id"])["DistributionConfig"]
    assert c["DefaultCacheBehavior"]["TargetOriginId"] == "blue"
