"""The request a handler serves: parsed input, the backend it acts on, who
calls."""

import json

from moto.sts.models import sts_backends

from . import errors
from .params import parse
from .state import ext


class Ctx:
    def __init__(self, resp, action):
        self.resp = resp
        self.action = action
        self.backend = resp.eks_backend
        self.account = resp.current_account
        self.region = resp.region
        self.partition = resp.partition
        self.params = parse(resp, action)

    def cluster(self, name=None):
        """The moto Cluster named by the request (member clusterName or name),
        or ResourceNotFoundException."""
        if name is None:
            name = self.params.get("clusterName", self.params.get("name"))
        c = self.backend.clusters.get(name)
        if c is None:
            raise errors.cluster_not_found(name)
        return c

    def nodegroup(self, cluster, name):
        ng = cluster.nodegroups.get(name)
        if ng is None:
            raise errors.ResourceNotFoundException(
                f"No node group found for name: {name}.", clusterName=cluster.name, nodegroupName=name
            )
        return ng

    def caller_arn(self):
        """The IAM ARN of the caller (an assumed role's role ARN), as EKS
        records the cluster creator."""
        _, arn, _ = sts_backends[self.account][self.partition].get_caller_identity(
            self.resp.get_access_key(), self.region
        )
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "sts":
            res = parts[5]
            if res.startswith("assumed-role/"):
                role = res.split("/")[1]
                return f"arn:{self.partition}:iam::{parts[4]}:role/{role}"
            return f"arn:{self.partition}:iam::{parts[4]}:{res}"
        return arn

    def _token(self, op, fields):
        token = self.params.get("clientRequestToken")
        if not token:
            return None, None
        fingerprint = json.dumps({k: self.params.get(k) for k in fields}, sort_keys=True, default=str)
        return (op, token), fingerprint

    def is_replay(self, cluster, op, fields):
        """Client request tokens: True when this request repeats one that
        succeeded with the same token and the same parameters (the handler
        then answers with the resource as it is);
        InvalidParameterException when the token was used for a request with
        other parameters; False otherwise."""
        key, fingerprint = self._token(op, fields)
        if key is None:
            return False
        seen = ext(cluster).tokens.get(key)
        if seen is None:
            return False
        if seen != fingerprint:
            raise errors.InvalidParameterException(
                "The client request token was already used for a request with different parameters.",
                clusterName=cluster.name,
            )
        return True

    def remember(self, cluster, op, fields):
        """Records the token of a request that succeeded."""
        key, fingerprint = self._token(op, fields)
        if key is not None:
            ext(cluster).tokens[key] = fingerprint
