"""One moto server with the extension for the whole session, reset before
each test (moto's /moto-api/reset, and the emulator's settings)."""

import json
import os
import sys
import time
import urllib.request

import boto3
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("MOTO_ACCOUNT_ID", "123456789012")

import motoext  # noqa: E402
from motoext.config import config  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
# How long the emulator's asynchronous changes take: long enough that a
# test asserting the in-between state (CREATING, InProgress, an update
# refused while another runs) sees it on a loaded machine, short enough
# that the 21 waits cost seconds.
DELAY = 0.5


@pytest.fixture(scope="session")
def endpoint():
    motoext.install()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def post(endpoint, path, body):
    req = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(autouse=True)
def reset(endpoint):
    post(endpoint, "/moto-api/reset", {})
    config.reset()
    config.update({"delaySeconds": DELAY})
    yield


def _client(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def eks(endpoint):
    return _client(endpoint, "eks")


@pytest.fixture
def iam(endpoint):
    return _client(endpoint, "iam")


@pytest.fixture
def ec2(endpoint):
    return _client(endpoint, "ec2")


def role_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@pytest.fixture
def make_role(iam):
    def make(name, trust=None, path="/"):
        doc = trust or {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]

    return make


@pytest.fixture
def make_cluster(eks):
    def make(name="blue", version="1.29", mode="API_AND_CONFIG_MAP", **kw):
        args = dict(
            name=name,
            roleArn=role_arn("eks-cluster"),
            resourcesVpcConfig={"subnetIds": ["subnet-0a1", "subnet-0b2"]},
            **kw,
        )
        if version:
            args["version"] = version
        if mode:
            args["accessConfig"] = {"authenticationMode": mode}
        return eks.create_cluster(**args)["cluster"]

    return make


@pytest.fixture
def make_nodegroup(eks):
    def make(cluster, name="general", **kw):
        args = dict(
            clusterName=cluster,
            nodegroupName=name,
            nodeRole=role_arn("eks-nodes"),
            subnets=["subnet-0a1"],
            scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        )
        args.update(kw)
        return eks.create_nodegroup(**args)["nodegroup"]

    return make


def wait_for(fn, want, timeout=5.0):
    """Polls fn() until it returns want; returns the last value."""
    deadline = time.time() + timeout
    got = fn()
    while got != want and time.time() < deadline:
        time.sleep(DELAY / 2)
        got = fn()
    return got


def error_of(excinfo):
    """(code, HTTP status, x-amzn-errortype header, message) of a ClientError."""
    r = excinfo.value.response
    return (
        r["Error"]["Code"],
        r["ResponseMetadata"]["HTTPStatusCode"],
        r["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype"),
        r["Error"]["Message"],
    )
