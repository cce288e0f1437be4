"""Where the emulator keeps what it adds to moto's EKS backend, and how
asynchronous changes happen.

Everything lives on moto's own objects, so moto's reset (/moto-api/reset)
and DeleteCluster drop it with them: per cluster a ClusterExt in the
Cluster object's `_cutover` attribute; the backend's clusters stay moto's.

A change EKS makes asynchronously (an add-on CREATING -> ACTIVE, an update
InProgress -> Successful) is scheduled with `later` and applied by `settle`,
which the response class calls before serving each EKS request: a change is
never visible in the response of the request that caused it, and always in
the first request made config.delay seconds after it.
"""

import itertools
import threading

from moto.core.utils import utcnow

from .config import config

# One lock for all emulated state: moto's server is threaded.
LOCK = threading.RLock()

_seq = itertools.count()


class ClusterExt:
    """The emulated part of one EKS cluster."""

    def __init__(self):
        self.access_config = {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
        self.upgrade_policy = {"supportType": "EXTENDED"}
        self.addons = {}  # name -> addons.Addon
        self.access_entries = {}  # principal ARN -> access.AccessEntry
        self.pod_identity = {}  # association ID -> podidentity.Association
        self.updates = {}  # update ID -> updates.Update
        self.api_usage = []  # observed requests to deprecated APIs (control route)
        self.nodes = []  # observed nodes and their kubelet versions (control route)
        self.insights = {}  # insight ID -> (status, last transition time)
        self.tokens = {}  # (operation, clientRequestToken) -> fingerprint of the request
        self.pending = []  # [(due, seq, fn)]


def ext(cluster):
    """The ClusterExt of a moto Cluster, made on first use."""
    e = cluster.__dict__.get("_cutover")
    if e is None:
        e = cluster.__dict__.setdefault("_cutover", ClusterExt())
    return e


def later(cluster, fn, delay=None):
    """Runs fn() once delay (default config.delay) seconds have passed, at
    the first settle after that."""
    d = config.delay if delay is None else delay
    due = utcnow().timestamp() + d
    ext(cluster).pending.append((due, next(_seq), fn))


def settle(backend):
    """Applies every change of the backend's clusters that is due."""
    now = utcnow().timestamp()
    with LOCK:
        for cluster in list(backend.clusters.values()):
            e = ext(cluster)
            if not e.pending:
                continue
            due = sorted(p for p in e.pending if p[0] <= now)
            if not due:
                continue
            e.pending = [p for p in e.pending if p[0] > now]
            for _, _, fn in due:
                fn()
