"""CreateLaunchTemplateVersion with SourceVersion inherits the source's data."""

import base64

import pytest
from botocore.exceptions import ClientError


def test_source_version_is_inherited(ec2):
    ud = base64.b64encode(b"#!/bin/bash\n/etc/eks/bootstrap.sh blue\n").decode()
    t = ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={"ImageId": "ami-1", "InstanceType": "m6i.large", "UserData": ud},
    )["LaunchTemplate"]
    v = ec2.create_launch_template_version(
        LaunchTemplateId=t["LaunchTemplateId"], SourceVersion="1", VersionDescription="new AMI", LaunchTemplateData={"ImageId": "ami-2"}
    )["LaunchTemplateVersion"]
    assert v["VersionNumber"] == 2
    got = ec2.describe_launch_template_versions(LaunchTemplateId=t["LaunchTemplateId"], Versions=["2"])["LaunchTemplateVersions"][0]
    data = got["LaunchTemplateData"]
    assert (data["ImageId"], data["InstanceType"], data["UserData"]) == ("ami-2", "m6i.large", ud)
    # Without SourceVersion only the given fields, as EC2 does.
    ec2.create_launch_template_version(LaunchTemplateName="nodes", LaunchTemplateData={"ImageId": "ami-3"})
    data = ec2.describe_launch_template_versions(LaunchTemplateName="nodes", Versions=["3"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data == {"ImageId": "ami-3"}
    with pytest.raises(ClientError) as e:
        ec2.create_launch_template_version(LaunchTemplateName="nodes", SourceVersion="9", LaunchTemplateData={"ImageId": "ami-4"})
    assert e.value.response["Error"]["Code"] == "InvalidLaunchTemplateId.VersionNotFound"
