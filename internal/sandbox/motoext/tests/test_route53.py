import pytest

from conftest import _client


@pytest.fixture
def route53(endpoint):
    return _client(endpoint, "route53")


def _weighted(name, set_id, weight, value):
    return {
        "Name": name,
        "Type": "CNAME",
        "SetIdentifier": set_id,
        "Weight": weight,
        "TTL": 60,
        "ResourceRecords": [{"Value": value}],
    }


def _records(route53, zone):
    out = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return sorted((r["Name"], r["Type"], r.get("SetIdentifier", ""), r.get("Weight", -1)) for r in out if r["Type"] in ("CNAME", "TXT"))


def test_delete_weighted_record_removes_only_that_record_set(route53):
    # Two migrations' weighted pairs in one zone, with the same set
    # identifiers, and a TXT record with one too: deleting app's pair (to
    # make it a simple record) leaves api's pair and the TXT record.
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="r")["HostedZone"]["Id"]
    txt = {"Name": "app.example.com", "Type": "TXT", "SetIdentifier": "blue", "Weight": 1, "TTL": 60, "ResourceRecords": [{"Value": '"owner"'}]}
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": _weighted("app.example.com", "blue", 0, "app-blue")},
        {"Action": "CREATE", "ResourceRecordSet": _weighted("app.example.com", "green", 100, "app-green")},
        {"Action": "CREATE", "ResourceRecordSet": _weighted("api.example.com", "blue", 0, "api-blue")},
        {"Action": "CREATE", "ResourceRecordSet": _weighted("api.example.com", "green", 100, "api-green")},
        {"Action": "CREATE", "ResourceRecordSet": txt},
    ]})
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": _weighted("app.example.com", "blue", 0, "app-blue")},
        {"Action": "DELETE", "ResourceRecordSet": _weighted("app.example.com", "green", 100, "app-green")},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "app-green"}]}},
    ]})
    assert _records(route53, zone) == [
        ("api.example.com.", "CNAME", "blue", 0),
        ("api.example.com.", "CNAME", "green", 100),
        ("app.example.com.", "CNAME", "", -1),
        ("app.example.com.", "TXT", "blue", 1),
    ]
    # One record of a pair goes alone.
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": _weighted("api.example.com", "green", 100, "api-green")},
    ]})
    assert _records(route53, zone) == [
        ("api.example.com.", "CNAME", "blue", 0),
        ("app.example.com.", "CNAME", "", -1),
        ("app.example.com.", "TXT", "blue", 1),
    ]
