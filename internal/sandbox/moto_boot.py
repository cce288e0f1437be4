# Boot script for the sandbox's moto server (written to the sandbox dir with
# the motoext package beside it, and run with the project venv's python).
#
# - It installs motoext, the emulation of the EKS operations moto lacks
#   (add-ons, access entries, Pod Identity, insights, cluster versions,
#   version updates) and of CloudFront continuous deployment (staging
#   distributions, continuous deployment policies, promotion); see
#   motoext/__init__.py.
# - It serves the EKS-optimized AMI public SSM parameters
#   (/aws/service/eks/optimized-ami/...) that real AWS publishes in every
#   account and region: moto serves the ECS and Amazon Linux ones but not
#   these, and refuses PutParameter under /aws/. The values come from the
#   JSON file named by CUTOVER_MOTO_SSM_PUBLIC ({"name": "value", ...}).
# - With CUTOVER_MOTO_EKS_IMAGES (a JSON file {"ami-...": "name", ...}), EC2
#   also holds the AMIs those parameters name, as the Amazon-owned public
#   images AWS publishes under those names: a launch template version that
#   pins one (cutover writes such versions for green) is recognised as an
#   EKS-optimized AMI when it is read again.
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import motoext  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.server import main  # noqa: E402
from moto.ssm import models  # noqa: E402

motoext.install()

_path = os.environ.get("CUTOVER_MOTO_SSM_PUBLIC")
_public = {}
if _path:
    with open(_path) as f:
        _public = json.load(f)

_orig = models.ParameterDict._check_loading_status


def _check_loading_status(self, key):
    _orig(self, key)
    if str(key or "").startswith("/aws/service/eks/") and not getattr(self, "_cutover_eks_loaded", False):
        self._cutover_eks_loaded = True
        for name, value in sorted(_public.items()):
            defaultdict.__getitem__(self, name).append(
                models.Parameter(
                    account_id=self.account_id,
                    name=name,
                    value=value,
                    parameter_type="String",
                    description=None,
                    allowed_pattern=None,
                    keyid=None,
                    last_modified_date=utcnow(),
                    version=1,
                    data_type="text",
                )
            )


models.ParameterDict._check_loading_status = _check_loading_status

_images_path = os.environ.get("CUTOVER_MOTO_EKS_IMAGES")
if _images_path:
    from moto.ec2.models import amis  # noqa: E402

    with open(_images_path) as f:
        _images = json.load(f)
    _orig_load_amis = amis.AmiBackend._load_amis

    def _load_amis(self):
        _orig_load_amis(self)
        for ami_id, name in sorted(_images.items()):
            self.amis[ami_id] = amis.Ami(
                self,
                ami_id=ami_id,
                name=name,
                description="EKS-optimized node AMI " + name,
                owner_id="602401143452",
                owner_alias="amazon",
                public=True,
                architecture="x86_64",
                virtualization_type="hvm",
                hypervisor="xen",
                root_device_type="ebs",
                root_device_name="/dev/xvda",
            )

    amis.AmiBackend._load_amis = _load_amis

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
