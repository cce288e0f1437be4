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

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
