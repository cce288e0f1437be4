"""What EKS publishes and the emulator serves as reference data: the
Kubernetes version calendar (DescribeClusterVersions), the add-on catalog
with per-version compatibility (DescribeAddonVersions), the access policies
(ListAccessPolicies) and the Kubernetes APIs removed by each version (the
deprecated-API insights).

The calendar is read at a fixed date (config.calendar_date, default
2025-06-01) so the sandbox's estate (blue at 1.29, green at 1.30) keeps the
same support statuses whatever day the tests run.
"""

import datetime
import re

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def parse_minor(version):
    """(major, minor) of "1.30", or None for anything else."""
    m = _VERSION.match(version or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def minor_of(version):
    """The minor number of "1.30" (30), or None."""
    p = parse_minor(version)
    return p[1] if p else None


def next_version(version):
    """The next minor version: "1.29" -> "1.30"."""
    p = parse_minor(version)
    if not p:
        return None
    return f"{p[0]}.{p[1] + 1}"


def _d(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)


# Kubernetes version lifecycle on EKS: (version, EKS release, end of standard
# support, end of extended support, latest patch, default platform version).
CALENDAR = [
    ("1.24", "2022-11-15", "2024-01-31", "2025-01-31", "1.24.17", "eks.27"),
    ("1.25", "2023-02-22", "2024-05-01", "2025-05-01", "1.25.16", "eks.28"),
    ("1.26", "2023-04-11", "2024-06-11", "2025-06-11", "1.26.15", "eks.29"),
    ("1.27", "2023-05-24", "2024-07-24", "2025-07-24", "1.27.16", "eks.30"),
    ("1.28", "2023-09-26", "2024-11-26", "2025-11-26", "1.28.15", "eks.31"),
    ("1.29", "2024-01-23", "2025-03-23", "2026-03-23", "1.29.15", "eks.32"),
    ("1.30", "2024-05-23", "2025-07-23", "2026-07-23", "1.30.13", "eks.29"),
    ("1.31", "2024-09-26", "2025-11-26", "2026-11-26", "1.31.9", "eks.25"),
    ("1.32", "2025-01-23", "2026-03-23", "2027-03-23", "1.32.5", "eks.12"),
    ("1.33", "2025-05-29", "2026-07-29", "2027-07-29", "1.33.1", "eks.5"),
    ("1.34", "2025-10-02", "2026-12-02", "2027-12-02", "1.34.1", "eks.4"),
]

STANDARD = "STANDARD_SUPPORT"
EXTENDED = "EXTENDED_SUPPORT"
UNSUPPORTED = "UNSUPPORTED"
_LEGACY_STATUS = {STANDARD: "standard-support", EXTENDED: "extended-support", UNSUPPORTED: "unsupported"}


def legacy_status(version_status):
    """The deprecated lowercase `status` field for a versionStatus."""
    return _LEGACY_STATUS[version_status]


def cluster_versions(as_of):
    """The versions EKS had released at as_of, oldest first, each a dict in
    the shape of ClusterVersionInformation (dates as datetimes)."""
    released = [row for row in CALENDAR if _d(row[1]) <= as_of]
    out = []
    for i, (version, release, std, ext, patch, platform) in enumerate(released):
        if as_of < _d(std):
            vs = STANDARD
        elif as_of < _d(ext):
            vs = EXTENDED
        else:
            vs = UNSUPPORTED
        out.append(
            {
                "clusterVersion": version,
                "clusterType": "eks",
                "defaultPlatformVersion": platform,
                # New clusters get the newest version but one, as EKS does.
                "defaultVersion": i == len(released) - 2,
                "releaseDate": _d(release),
                "endOfStandardSupportDate": _d(std),
                "endOfExtendedSupportDate": _d(ext),
                "status": legacy_status(vs),
                "versionStatus": vs,
                "kubernetesPatchVersion": patch,
            }
        )
    return out


def version_info(version, as_of):
    for v in cluster_versions(as_of):
        if v["clusterVersion"] == version:
            return v
    return None


def default_version(as_of):
    for v in cluster_versions(as_of):
        if v["defaultVersion"]:
            return v["clusterVersion"]
    return None


def platform_version(version, as_of):
    info = version_info(version, as_of)
    return info["defaultPlatformVersion"] if info else "eks.1"


# ---------------------------------------------------------------------------
# Add-ons. Each version: (addonVersion, oldest and newest compatible
# Kubernetes minor, minors it is the default for).


def _kube_proxy_versions():
    out = []
    patches = {24: 17, 25: 16, 26: 15, 27: 16, 28: 15, 29: 15, 30: 13, 31: 9, 32: 5, 33: 1, 34: 1}
    for minor, patch in patches.items():
        out.append((f"v1.{minor}.{max(patch - 4, 0)}-eksbuild.2", minor, minor, ()))
        out.append((f"v1.{minor}.{patch}-eksbuild.3", minor, minor, (minor,)))
    return out


ADDONS = {
    "vpc-cni": {
        "type": "networking",
        "serviceAccount": "aws-node",
        "requiresIamPermissions": True,
        "versions": [
            ("v1.16.4-eksbuild.2", 24, 29, (24, 25, 26, 27, 28)),
            ("v1.18.3-eksbuild.3", 25, 31, ()),
            ("v1.18.6-eksbuild.1", 25, 32, (29, 30)),
            ("v1.19.2-eksbuild.1", 25, 33, (31, 32)),
            ("v1.19.5-eksbuild.1", 27, 34, (33, 34)),
        ],
    },
    "coredns": {
        "type": "networking",
        "serviceAccount": "coredns",
        "requiresIamPermissions": False,
        "versions": [
            ("v1.9.3-eksbuild.22", 24, 28, (24, 25, 26, 27)),
            ("v1.10.1-eksbuild.18", 25, 29, (28,)),
            ("v1.11.1-eksbuild.13", 29, 31, (29, 30)),
            ("v1.11.3-eksbuild.2", 29, 32, (31,)),
            ("v1.11.4-eksbuild.14", 29, 33, (32,)),
            ("v1.12.1-eksbuild.2", 33, 34, (33, 34)),
        ],
    },
    "kube-proxy": {
        "type": "networking",
        "serviceAccount": "kube-proxy",
        "requiresIamPermissions": False,
        "versions": _kube_proxy_versions(),
    },
    "aws-ebs-csi-driver": {
        "type": "storage",
        "serviceAccount": "ebs-csi-controller-sa",
        "requiresIamPermissions": True,
        "versions": [
            ("v1.28.0-eksbuild.1", 24, 29, (24, 25, 26, 27, 28)),
            ("v1.35.0-eksbuild.2", 25, 31, ()),
            ("v1.38.1-eksbuild.2", 25, 32, (29, 30, 31, 32)),
            ("v1.44.0-eksbuild.1", 27, 34, (33, 34)),
        ],
    },
    "eks-pod-identity-agent": {
        "type": "security",
        "serviceAccount": None,
        "requiresIamPermissions": False,
        "versions": [
            ("v1.2.0-eksbuild.1", 24, 30, ()),
            ("v1.3.4-eksbuild.1", 24, 32, tuple(range(24, 33))),
            ("v1.3.7-eksbuild.2", 26, 34, (33, 34)),
        ],
    },
}


def addon_version_row(name, version):
    for row in ADDONS.get(name, {}).get("versions", []):
        if row[0] == version:
            return row
    return None


def addon_compatible(name, version, k8s_version):
    row = addon_version_row(name, version)
    minor = minor_of(k8s_version)
    return bool(row) and minor is not None and row[1] <= minor <= row[2]


def addon_versions_for(name, k8s_version):
    """Versions of add-on name compatible with k8s_version, newest first."""
    minor = minor_of(k8s_version)
    if minor is None:
        return []
    rows = [r for r in ADDONS.get(name, {}).get("versions", []) if r[1] <= minor <= r[2]]
    return [r[0] for r in reversed(rows)]


def addon_default_version(name, k8s_version):
    minor = minor_of(k8s_version)
    compatible = []
    for row in ADDONS.get(name, {}).get("versions", []):
        if minor in row[3]:
            return row[0]
        if minor is not None and row[1] <= minor <= row[2]:
            compatible.append(row[0])
    return compatible[-1] if compatible else None


def addon_info(name, k8s_version=None, known_versions=()):
    """An AddonInfo of DescribeAddonVersions; with k8s_version only the
    versions compatible with it (and only that compatibility) are listed."""
    spec = ADDONS[name]
    minors = [minor_of(v) for v in known_versions]
    versions = []
    for version, lo, hi, defaults in reversed(spec["versions"]):
        if k8s_version is not None:
            m = minor_of(k8s_version)
            if m is None or not lo <= m <= hi:
                continue
            compat_minors = [m]
        else:
            compat_minors = [m for m in minors if m is not None and lo <= m <= hi]
        versions.append(
            {
                "addonVersion": version,
                "architecture": ["amd64", "arm64"],
                "computeTypes": ["ec2", "hybrid"] if name != "aws-ebs-csi-driver" else ["ec2"],
                "compatibilities": [
                    {"clusterVersion": f"1.{m}", "platformVersions": ["*"], "defaultVersion": m in defaults}
                    for m in compat_minors
                ],
                "requiresConfiguration": False,
                "requiresIamPermissions": spec["requiresIamPermissions"],
            }
        )
    return {
        "addonName": name,
        "type": spec["type"],
        "addonVersions": versions,
        "publisher": "eks",
        "owner": "aws",
        "defaultNamespace": "kube-system",
    }


# ---------------------------------------------------------------------------
# Access policies (ListAccessPolicies).

_POLICY_NAMES = [
    "AmazonAIOpsAssistantPolicy",
    "AmazonARCRegionSwitchScalingPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStorageClusterPolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSComputeClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEKSLoadBalancingClusterPolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingClusterPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
]


def access_policy_arn(name, partition="aws"):
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


def access_policies(partition="aws"):
    return [{"name": n, "arn": access_policy_arn(n, partition)} for n in _POLICY_NAMES]


CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


# ---------------------------------------------------------------------------
# Kubernetes APIs removed by a version (the deprecated API migration guide):
# (group/version, resource, removed in, replacement group/version, replacement
# served since).

REMOVED_APIS = [
    ("batch/v1beta1", "cronjobs", "1.25", "batch/v1", "1.21"),
    ("discovery.k8s.io/v1beta1", "endpointslices", "1.25", "discovery.k8s.io/v1", "1.21"),
    ("events.k8s.io/v1beta1", "events", "1.25", "events.k8s.io/v1", "1.19"),
    ("autoscaling/v2beta1", "horizontalpodautoscalers", "1.25", "autoscaling/v2", "1.23"),
    ("policy/v1beta1", "poddisruptionbudgets", "1.25", "policy/v1", "1.21"),
    ("policy/v1beta1", "podsecuritypolicies", "1.25", None, None),
    ("node.k8s.io/v1beta1", "runtimeclasses", "1.25", "node.k8s.io/v1", "1.20"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "flowschemas", "1.26", "flowcontrol.apiserver.k8s.io/v1beta3", "1.26"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "prioritylevelconfigurations",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "1.26",
    ),
    ("autoscaling/v2beta2", "horizontalpodautoscalers", "1.26", "autoscaling/v2", "1.23"),
    ("storage.k8s.io/v1beta1", "csistoragecapacities", "1.27", "storage.k8s.io/v1", "1.24"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "flowschemas", "1.29", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "prioritylevelconfigurations",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
        "1.29",
    ),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "flowschemas", "1.32", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "prioritylevelconfigurations",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
        "1.29",
    ),
]


def api_path(group_version, resource):
    """The request path of a resource collection: /apis/<gv>/<resource>, or
    /api/v1/<resource> for the core group."""
    if "/" not in group_version:
        return f"/api/{group_version}/{resource}"
    return f"/apis/{group_version}/{resource}"


def removed_api(group_version, resource):
    for row in REMOVED_APIS:
        if row[0] == group_version and row[1] == resource:
            return row
    return None


def removed_apis_by_version():
    out = {}
    for row in REMOVED_APIS:
        out.setdefault(row[2], []).append(row)
    return out


# Amazon Linux 2 AMIs are not published for Kubernetes 1.33 and later.
AL2_LAST_MINOR = 32
AL2_AMI_TYPES = ("AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64")
AL2_SUCCESSOR = {"AL2_x86_64": "AL2023_x86_64_STANDARD", "AL2_x86_64_GPU": "AL2023_x86_64_NVIDIA", "AL2_ARM_64": "AL2023_ARM_64_STANDARD"}

# Kubernetes version skew policy: the kubelet may be up to three minor
# versions older than kube-apiserver (since 1.28), and so may kube-proxy.
KUBELET_MAX_SKEW = 3
