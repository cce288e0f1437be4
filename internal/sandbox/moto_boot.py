# Boot script for the sandbox's moto server (written to the sandbox dir and
# run with the project venv's python). It serves the EKS-optimized AMI public
# SSM parameters (/aws/service/eks/optimized-ami/...) that real AWS publishes
# in every account and region: moto serves the ECS and Amazon Linux ones but
# not these, and refuses PutParameter under /aws/. The values come from the
# JSON file named by CUTOVER_MOTO_SSM_PUBLIC ({"name": "value", ...}).
import json
import os
import sys
from collections import defaultdict

from moto.core.utils import utcnow
from moto.server import main
from moto.ssm import models

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
