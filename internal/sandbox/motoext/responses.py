"""The emulated EKS operations, registered on moto's EKS service: URL routes
in moto.eks.urls (the REST paths of the EKS API) served by a subclass of
moto's EKSResponse, whose responses moto serializes from the EKS service
model like its own. moto dispatches every EKS request to an action by
method and path from the same model, so the SDKs' own serializers reach
these handlers unchanged."""

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.eks import urls as eks_urls
from moto.eks.responses import EKSResponse

from . import access, addons, clusters, insights, podidentity, updates
from .context import Ctx
from .state import LOCK, settle

# Operation -> handler(ctx) returning the output as a dict.
HANDLERS = {
    "CreateAddon": addons.create_addon,
    "DescribeAddon": addons.describe_addon,
    "ListAddons": addons.list_addons,
    "UpdateAddon": addons.update_addon,
    "DeleteAddon": addons.delete_addon,
    "DescribeAddonVersions": addons.describe_addon_versions,
    "CreateAccessEntry": access.create_access_entry,
    "DescribeAccessEntry": access.describe_access_entry,
    "ListAccessEntries": access.list_access_entries,
    "UpdateAccessEntry": access.update_access_entry,
    "DeleteAccessEntry": access.delete_access_entry,
    "AssociateAccessPolicy": access.associate_access_policy,
    "DisassociateAccessPolicy": access.disassociate_access_policy,
    "ListAssociatedAccessPolicies": access.list_associated_access_policies,
    "ListAccessPolicies": access.list_access_policies,
    "CreatePodIdentityAssociation": podidentity.create_pod_identity_association,
    "DescribePodIdentityAssociation": podidentity.describe_pod_identity_association,
    "ListPodIdentityAssociations": podidentity.list_pod_identity_associations,
    "UpdatePodIdentityAssociation": podidentity.update_pod_identity_association,
    "DeletePodIdentityAssociation": podidentity.delete_pod_identity_association,
    "ListInsights": insights.list_insights,
    "DescribeInsight": insights.describe_insight,
    "DescribeClusterVersions": clusters.describe_cluster_versions,
    "UpdateClusterVersion": updates.update_cluster_version,
    "UpdateNodegroupVersion": updates.update_nodegroup_version,
    "UpdateNodegroupConfig": updates.update_nodegroup_config,
    "DescribeUpdate": updates.describe_update,
    "ListUpdates": updates.list_updates,
}

# The REST paths of those operations (regexes on the decoded path, as moto's
# own routes; a principal ARN arrives with its slashes decoded).
ROUTES = [
    "{0}/addons/supported-versions$",
    "{0}/access-policies$",
    "{0}/cluster-versions$",
    "{0}/clusters/(?P<name>[^/]+)/addons$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$",
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$",
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/insights$",
    "{0}/clusters/(?P<name>[^/]+)/insights/(?P<id>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/updates$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
]


class EmulatedEKSResponse(EKSResponse):
    """moto's EKS responses plus the emulated operations."""

    def call_action(self):
        with LOCK:
            settle(self.eks_backend)
            return super().call_action()

    def create_cluster(self):
        ctx = Ctx(self, "CreateCluster")
        clusters.check_create_cluster(ctx)
        result = super().create_cluster()
        clusters.after_create_cluster(ctx, result.result["cluster"])
        return result

    def untag_resource(self):
        # The tagKeys query parameter repeats, one key per value (EKS API
        # reference, UntagResource); moto reads only its first value.
        keys = self.querystring.get("tagKeys") or []
        self.eks_backend.untag_resource(self._extract_arn_from_path(), keys)
        return EmptyResult()

    def create_nodegroup(self):
        ctx = Ctx(self, "CreateNodegroup")
        clusters.check_create_nodegroup(ctx)
        result = super().create_nodegroup()
        clusters.after_create_nodegroup(ctx, result.result["nodegroup"])
        return result


def _method(action, handler):
    def method(self):
        return ActionResult(handler(Ctx(self, action)))

    method.__name__ = camelcase_to_underscores(action)
    method.__doc__ = f"EKS {action} (emulated)."
    return method


for _action, _handler in HANDLERS.items():
    setattr(EmulatedEKSResponse, camelcase_to_underscores(_action), _method(_action, _handler))


def install():
    """Routes moto's EKS paths and the emulated ones to EmulatedEKSResponse.
    Must run before moto's server serves its first EKS request (it builds
    the service's routes then)."""
    for path in list(eks_urls.url_paths):
        eks_urls.url_paths[path] = EmulatedEKSResponse.dispatch
    for path in ROUTES:
        eks_urls.url_paths[path] = EmulatedEKSResponse.dispatch
