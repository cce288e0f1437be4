"""cutover's extension of moto's EKS and CloudFront: what moto 5.1 lacks,
emulated following the EKS and CloudFront API references (request
validation, error codes, HTTP shapes), served by the sandbox's moto process.

- add-ons: CreateAddon, DescribeAddon, ListAddons, UpdateAddon, DeleteAddon,
  DescribeAddonVersions (addons.py, catalog.py);
- access entries and access policies: Create/Describe/List/Update/Delete
  AccessEntry, Associate/DisassociateAccessPolicy,
  ListAssociatedAccessPolicies, ListAccessPolicies (access.py);
- Pod Identity associations: Create/Describe/List/Update/Delete
  (podidentity.py);
- upgrade insights: ListInsights, DescribeInsight (insights.py);
- versions: DescribeClusterVersions (clusters.py), UpdateClusterVersion,
  UpdateNodegroupVersion, DescribeUpdate, ListUpdates (updates.py);
- on moto's own clusters and node groups: a distinct OIDC issuer per
  cluster, accessConfig, upgradePolicy, version validation and defaults,
  the access entries EKS makes itself (clusters.py);
- CloudFront continuous deployment: CopyDistribution (staging
  distributions), the continuous deployment policies,
  UpdateDistributionWithStagingConfig, and on moto's distributions the
  ContinuousDeploymentPolicyId and Staging fields and ETag preconditions
  (cloudfront.py);
- Route53: a DELETE of a weighted (or other routing policy) record removes
  that record set only, by name, type and set identifier, not every record
  set of the zone with its set identifier (route53.py).

install() registers it on moto; it must run before moto serves its first
request (the sandbox's moto_boot.py calls it). control.py adds a few
non-AWS routes under /moto-api/cutover/eks for the sandbox and the tests.
"""

_installed = False


def install():
    """Extends moto's EKS, CloudFront, Route53 and EC2 (idempotent)."""
    global _installed
    if _installed:
        return
    from . import cloudfront, control, ec2, responses, route53

    responses.install()
    ec2.install()
    cloudfront.install()
    route53.install()
    control.install()
    _installed = True
