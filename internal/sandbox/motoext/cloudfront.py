"""CloudFront continuous deployment, which moto 5.1 lacks, emulated following
the CloudFront API reference (REST-XML, API version 2020-05-31): the same
paths, XML shapes, HTTP statuses and error codes.

- CopyDistribution: a staging copy of a primary distribution (new Id and
  DomainName, Staging true, no Aliases, no policy); the same CallerReference
  for the same primary answers with the same copy, for anything else it is
  DistributionAlreadyExists;
- Create/Get/GetConfig/Update/Delete/ListContinuousDeploymentPolicies:
  SingleWeight (Weight 0.0-0.15, session stickiness 300-3600 s) or
  SingleHeader (a header named aws-cf-cd-...) traffic; the one staging DNS
  name must be an existing staging distribution's, and a staging
  distribution is in at most one policy (StagingDistributionInUse);
- on moto's own distributions: DistributionConfig's ContinuousDeploymentPolicyId
  and Staging kept and returned by Get/GetConfig/Update/List (Staging cannot
  change; an absent ContinuousDeploymentPolicyId keeps the policy, an empty
  one removes it; only a primary takes a policy, the policy's staging
  distribution must be a copy of that primary, and a policy serves one
  primary: ContinuousDeploymentPolicyInUse); a new ETag on every write,
  which must name the current one (If-Match missing: InvalidIfMatchVersion,
  stale: PreconditionFailed); Status InProgress after every write, Deployed
  once moto's state manager advances it (as moto does for its own writes);
  DeleteDistribution only of a disabled and deployed distribution
  (DistributionNotDisabled); a staging distribution that a policy names is
  neither disabled nor deleted (StagingDistributionInUse);
- UpdateDistributionWithStagingConfig: the staging configuration copied
  onto the primary, except the primary's Aliases, CallerReference, Staging
  and ContinuousDeploymentPolicyId; the policy is disabled (traffic back on
  the primary, which now serves the staging configuration). If-Match holds
  both ETags: "<primary ETag>, <staging ETag>";
- DeleteContinuousDeploymentPolicy refused while a distribution references
  the policy (ContinuousDeploymentPolicyInUse).

Updating a policy that a primary uses puts that primary InProgress (the
change deploys with it), without a new ETag for the primary.

The state lives on moto's objects (the Distribution's `cutover_cd`
attribute, the backend's `cutover_cd_policies`), so moto's reset drops it.
"""

import copy
import itertools
import re
import uuid

import botocore.session
import xmltodict
from moto.cloudfront import responses as cf_responses
from moto.cloudfront import urls as cf_urls
from moto.cloudfront.exceptions import CloudFrontException
from moto.cloudfront.models import Distribution, DistributionConfig, random_id
from moto.cloudfront.responses import XMLNS, CloudFrontResponse
from moto.core.responses import ActionResult
from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow

from .state import LOCK

# CloudFront's limits for continuous deployment (Developer Guide, "Quotas and
# other considerations for continuous deployment").
MAX_WEIGHT = 0.15
STICKINESS_TTL = (300, 3600)
MAX_POLICIES = 20
HEADER_PREFIX = "aws-cf-cd-"
LOCATION = "https://cloudfront.amazonaws.com/2020-05-31"

# ---------------------------------------------------------------------------
# Errors: CloudFront's XML error document (moto's), the status of the error
# shape in the CloudFront service model.


def _error(code, status):
    class _E(CloudFrontException):
        def __init__(self, message):
            super().__init__(code, message)

    _E.code = status
    _E.__name__ = code
    return _E


InvalidArgument = _error("InvalidArgument", 400)
InconsistentQuantities = _error("InconsistentQuantities", 400)
MalformedXML = _error("MalformedXML", 400)
MissingBody = _error("MissingBody", 400)
IllegalUpdate = _error("IllegalUpdate", 400)
InvalidIfMatchVersion = _error("InvalidIfMatchVersion", 400)
TooManyContinuousDeploymentPolicies = _error("TooManyContinuousDeploymentPolicies", 400)
NoSuchDistribution = _error("NoSuchDistribution", 404)
NoSuchContinuousDeploymentPolicy = _error("NoSuchContinuousDeploymentPolicy", 404)
PreconditionFailed = _error("PreconditionFailed", 412)
DistributionAlreadyExists = _error("DistributionAlreadyExists", 409)
DistributionNotDisabled = _error("DistributionNotDisabled", 409)
StagingDistributionInUse = _error("StagingDistributionInUse", 409)
ContinuousDeploymentPolicyInUse = _error("ContinuousDeploymentPolicyInUse", 409)


def _no_such_distribution():
    return NoSuchDistribution("The specified distribution does not exist.")


def _no_such_policy():
    return NoSuchContinuousDeploymentPolicy("The specified continuous deployment policy does not exist.")


def _missing_if_match():
    return InvalidIfMatchVersion("The If-Match version is missing or not valid for the resource.")


def _staging_in_use(policy):
    return StagingDistributionInUse(
        f"The specified staging distribution is currently used by continuous deployment policy {policy.id}. "
        "Update or delete the policy first."
    )


def _stale(what):
    return PreconditionFailed(f"The If-Match version does not match the current version of the {what}.")


# ---------------------------------------------------------------------------
# Request bodies, read against the shapes of the CloudFront service model.

_model = None


def model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("cloudfront")
    return _model


def _bool(value, where):
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedXML(f"{where}: {value!r} is not a boolean.")


def _from_xml(shape, node, where, body_only=False):
    """The typed value of an xmltodict node for a botocore shape; unknown
    elements, missing required ones and bad scalars are MalformedXML.
    body_only: the shape is an operation's input, whose members bound to
    the URI, headers or query string are not elements."""
    t = shape.type_name
    if t == "structure":
        if node is None or node == "":
            node = {}
        if not isinstance(node, dict):
            raise MalformedXML(f"{where}: expected elements, got text.")
        members = {n: m for n, m in shape.members.items() if not (body_only and m.serialization.get("location"))}
        wire = {m.serialization.get("name", n): n for n, m in members.items()}
        out = {}
        for key, value in node.items():
            if key.startswith("@"):
                continue
            if key not in wire:
                raise MalformedXML(f"{where}: unexpected element {key}.")
            name = wire[key]
            out[name] = _from_xml(shape.members[name], value, f"{where}.{name}")
        for name in shape.required_members:
            if name in members and name not in out:
                raise MalformedXML(f"{where}: missing required element {name}.")
        return out
    if t == "list":
        if node is None or node == "":
            return []
        item = shape.member.serialization.get("name", "member")
        if not isinstance(node, dict) or set(k for k in node if not k.startswith("@")) - {item}:
            raise MalformedXML(f"{where}: expected {item} elements.")
        items = node.get(item)
        if items is None:
            return []
        if not isinstance(items, list):
            items = [items]
        return [_from_xml(shape.member, v, f"{where}.{item}") for v in items]
    if isinstance(node, (dict, list)):
        raise MalformedXML(f"{where}: expected a value.")
    text = "" if node is None else str(node)
    if t == "boolean":
        return _bool(text, where)
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
    except ValueError:
        raise MalformedXML(f"{where}: {text!r} is not a number.")
    return text


def _body(resp, shape_name):
    """The request body's root element (named shape_name) read against the
    model's shape of that name (its members in the body only)."""
    raw = resp.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if not raw or not raw.strip():
        raise MissingBody("The request body is empty.")
    try:
        doc = xmltodict.parse(raw, dict_constructor=dict)
    except Exception as e:  # expat's errors have no common base worth naming
        raise MalformedXML(f"The XML document is not well formed: {e}.")
    if not isinstance(doc, dict) or shape_name not in doc:
        raise MalformedXML(f"The root element must be {shape_name}.")
    return _from_xml(model().shape_for(shape_name), doc[shape_name], shape_name, body_only=True)


# ---------------------------------------------------------------------------
# State.


class DistExt:
    """What the emulator adds to one moto Distribution."""

    def __init__(self):
        self.staging = False
        self.policy_id = ""
        # For a staging distribution: the primary it was copied from.
        self.primary_id = ""


def ext(dist):
    e = dist.__dict__.get("cutover_cd")
    if e is None:
        e = dist.__dict__.setdefault("cutover_cd", DistExt())
    return e


class Policy:
    _seq = itertools.count()

    def __init__(self, config):
        self.id = str(uuid.uuid4())
        self.seq = next(Policy._seq)
        self.config = config
        self.etag = random_id()
        self.last_modified = utcnow()

    def changed(self):
        self.etag = random_id()
        self.last_modified = utcnow()

    def dns_names(self):
        return list((self.config.get("StagingDistributionDnsNames") or {}).get("Items") or [])

    def to_dict(self):
        return {"Id": self.id, "LastModifiedTime": self.last_modified, "ContinuousDeploymentPolicyConfig": self.config}


def policies(backend):
    p = backend.__dict__.get("cutover_cd_policies")
    if p is None:
        p = backend.__dict__.setdefault("cutover_cd_policies", {})
    return p


def _written(dist):
    """A write to dist: new ETag, InProgress until moto's state manager
    advances it."""
    dist.etag = random_id()
    _deploying(dist)


def _deploying(dist):
    dist.status = "InProgress"
    dist._tick = 0
    dist.last_modified_time = iso_8601_datetime_with_milliseconds()


def _enabled(dist):
    v = dist.distribution_config.enabled
    return v is True or str(v).lower() == "true"


def _check_if_match(if_match, current, what):
    if not if_match:
        raise _missing_if_match()
    if if_match.strip() != current:
        raise _stale(what)


# ---------------------------------------------------------------------------
# XML of distributions: moto's templates plus ContinuousDeploymentPolicyId
# and Staging.

_ANCHOR = "<IsIPV6Enabled>{{ 'true' if distribution.distribution_config.is_ipv6_enabled else 'false' }}</IsIPV6Enabled>"
_CONFIG_FIELDS = (
    "\n      {% if cd(distribution).policy_id %}<ContinuousDeploymentPolicyId>"
    "{{ cd(distribution).policy_id }}</ContinuousDeploymentPolicyId>{% endif %}"
    "\n      <Staging>{{ 'true' if cd(distribution).staging else 'false' }}</Staging>"
)
_SUMMARY_FIELDS = "\n      <Staging>{{ 'true' if cd(distribution).staging else 'false' }}</Staging>"


def _with_fields(template, fields):
    if template.count(_ANCHOR) < 1:
        raise RuntimeError("moto's CloudFront templates changed: cannot add the continuous deployment fields")
    return template.replace(_ANCHOR, _ANCHOR + fields)


DISTRIBUTION_TEMPLATE = _with_fields(cf_responses.GET_DISTRIBUTION_TEMPLATE, _CONFIG_FIELDS)
DISTRIBUTION_CONFIG_TEMPLATE = _with_fields(cf_responses.GET_DISTRIBUTION_CONFIG_TEMPLATE, _CONFIG_FIELDS)
LIST_TEMPLATE = _with_fields(cf_responses.LIST_TEMPLATE, _SUMMARY_FIELDS)


# ---------------------------------------------------------------------------
# The response class.


class EmulatedCloudFrontResponse(CloudFrontResponse):
    """moto's CloudFront responses plus continuous deployment."""

    def call_action(self):
        with LOCK:
            return super().call_action()

    def serialized(self, action_result):
        # moto's REST-XML serializer leaves out the namespace CloudFront
        # puts on a payload's root element.
        status, headers, body = super().serialized(action_result)
        if body and "xmlns=" not in body[:200]:
            body = re.sub(r"^(<\?xml[^>]*\?>\s*<[A-Za-z]+)", rf'\1 xmlns="{XMLNS}"', body, count=1)
        return status, headers, body

    # -- helpers

    def _render(self, template, **kw):
        return self.response_template(template).render(xmlns=XMLNS, cd=ext, **kw)

    def _distribution(self, dist_id):
        dist = self.backend.distributions.get(dist_id)
        if dist is None:
            raise _no_such_distribution()
        return dist

    def _path_id(self, index):
        return self.path.split("/")[index]

    def _staging_by_domain(self, domain):
        for d in self.backend.distributions.values():
            if ext(d).staging and d.domain_name == domain:
                return d
        return None

    def _policy(self, policy_id):
        p = policies(self.backend).get(policy_id)
        if p is None:
            raise _no_such_policy()
        return p

    def _policies_naming(self, staging):
        """The policies whose staging DNS name is staging's domain name."""
        return [p for p in policies(self.backend).values() if staging.domain_name in p.dns_names()]

    def _users(self, policy_id):
        """The distributions whose ContinuousDeploymentPolicyId is policy_id."""
        return [d for d in self.backend.distributions.values() if ext(d).policy_id == policy_id]

    @staticmethod
    def _pop_cd_fields(raw):
        """Removes ContinuousDeploymentPolicyId and Staging from an
        xmltodict DistributionConfig: (policy ID, staging), each None when
        its element is absent. An empty policy element is "": CloudFront
        removes the policy then, and keeps it when the element is absent."""
        policy = None
        if "ContinuousDeploymentPolicyId" in raw:
            policy = raw.pop("ContinuousDeploymentPolicyId")
            if isinstance(policy, dict):
                raise MalformedXML("DistributionConfig.ContinuousDeploymentPolicyId: expected a value.")
            policy = str(policy or "").strip()
        staging = raw.pop("Staging", None)
        if staging is not None:
            staging = _bool(staging, "DistributionConfig.Staging")
        return policy, staging

    # -- moto's distribution operations, with the continuous deployment fields

    def create_distribution(self):
        params = self._get_xml_body()
        if "DistributionConfigWithTags" in params:
            config = params.get("DistributionConfigWithTags") or {}
            tags = (config.get("Tags", {}).get("Items") or {}).get("Tag", [])
            if not isinstance(tags, list):
                tags = [tags]
        else:
            config, tags = params, []
        raw = config.get("DistributionConfig")
        if not isinstance(raw, dict):
            raise MissingBody("The request has no DistributionConfig.")
        policy, staging = self._pop_cd_fields(raw)
        if staging:
            raise InvalidArgument("A staging distribution is created with CopyDistribution, not CreateDistribution.")
        if policy:
            raise InvalidArgument(
                "A new distribution has no staging distribution yet: attach a continuous deployment policy with UpdateDistribution."
            )
        dist, location, etag = self.backend.create_distribution(distribution_config=raw, tags=tags)
        ext(dist)
        body = self._render(DISTRIBUTION_TEMPLATE, distribution=dist)
        return 201, {"ETag": etag, "Location": location, "status": 201}, body

    def get_distribution(self):
        dist, etag = self.backend.get_distribution(self._path_id(-1))
        return 200, {"ETag": etag}, self._render(DISTRIBUTION_TEMPLATE, distribution=dist)

    def get_distribution_config(self):
        dist, etag = self.backend.get_distribution_config(self._path_id(-2))
        return 200, {"ETag": etag}, self._render(DISTRIBUTION_CONFIG_TEMPLATE, distribution=dist)

    def list_distributions(self):
        dists = self.backend.list_distributions()
        return 200, {}, self._render(LIST_TEMPLATE, distributions=dists)

    def update_distribution(self):
        dist = self._distribution(self._path_id(-2))
        e = ext(dist)
        _check_if_match(self.headers.get("If-Match"), dist.etag, "distribution")
        raw = self._get_xml_body().get("DistributionConfig")
        if not isinstance(raw, dict):
            raise MissingBody("The request has no DistributionConfig.")
        policy, staging = self._pop_cd_fields(raw)
        if policy is None:
            policy = e.policy_id
        if staging is not None and staging != e.staging:
            raise IllegalUpdate("Staging cannot be changed: a staging distribution is made with CopyDistribution.")
        if e.staging:
            aliases = ((raw.get("Aliases") or {}).get("Items") or {}).get("CNAME")
            if aliases:
                raise InvalidArgument("A staging distribution cannot have alternate domain names (Aliases).")
            if _enabled(dist) and str(raw.get("Enabled", "")).strip().lower() != "true":
                in_policy = self._policies_naming(dist)
                if in_policy:
                    raise _staging_in_use(in_policy[0])
        if policy and policy != e.policy_id:
            self._check_attach(dist, policy, raw)
        elif policy and str(raw.get("HttpVersion", "")).lower() in ("http3", "http2and3"):
            raise InvalidArgument("Continuous deployment cannot be used with a distribution that supports HTTP/3.")
        self.backend.update_distribution(dist_config=raw, _id=dist.distribution_id, if_match=True)
        e.policy_id = policy
        _written(dist)
        body = self._render(DISTRIBUTION_TEMPLATE, distribution=dist)
        return 200, {"ETag": dist.etag, "Location": dist.location}, body

    def _check_attach(self, dist, policy_id, raw):
        """dist may take policy_id as its continuous deployment policy."""
        if ext(dist).staging:
            raise InvalidArgument("A staging distribution cannot have a continuous deployment policy.")
        p = self._policy(policy_id)
        others = [d.distribution_id for d in self._users(policy_id) if d is not dist]
        if others:
            raise ContinuousDeploymentPolicyInUse(
                f"The continuous deployment policy {policy_id} is used by distribution {others[0]}."
            )
        for name in p.dns_names():
            staging = self._staging_by_domain(name)
            if staging is None:
                raise InvalidArgument(f"The continuous deployment policy's staging distribution {name} does not exist.")
            if ext(staging).primary_id != dist.distribution_id:
                raise InvalidArgument(
                    f"The continuous deployment policy's staging distribution {staging.distribution_id} "
                    f"is not a staging distribution of {dist.distribution_id}."
                )
        if str(raw.get("HttpVersion", "")).lower() in ("http3", "http2and3"):
            raise InvalidArgument("Continuous deployment cannot be used with a distribution that supports HTTP/3.")

    def delete_distribution(self):
        dist = self._distribution(self._path_id(-1))
        _check_if_match(self.headers.get("If-Match"), dist.etag, "distribution")
        if _enabled(dist) or dist.status != "Deployed":
            raise DistributionNotDisabled("The distribution you are trying to delete has not been disabled.")
        if ext(dist).staging:
            in_policy = self._policies_naming(dist)
            if in_policy:
                raise _staging_in_use(in_policy[0])
        self.backend.delete_distribution(dist.distribution_id, True)
        return 204, {"status": 204}, ""

    # -- staging distributions

    def copy_distribution(self):
        primary = self._distribution(self._path_id(-2))
        staging_header = self.headers.get("Staging")
        if staging_header is None or staging_header.strip().lower() != "true":
            raise InvalidArgument("Staging must be true: a distribution is copied to a staging distribution.")
        req = _body(self, "CopyDistributionRequest")
        ref = req["CallerReference"]
        if_match = self.headers.get("If-Match")
        if not if_match:
            raise _missing_if_match()
        for d in self.backend.distributions.values():
            if d.distribution_config.caller_reference == ref:
                if ext(d).staging and ext(d).primary_id == primary.distribution_id:
                    # The same request again: the copy it made, as it is.
                    body = self._render(DISTRIBUTION_TEMPLATE, distribution=d)
                    return 201, {"ETag": d.etag, "Location": d.location, "status": 201}, body
                raise DistributionAlreadyExists(
                    "The caller reference that you are using to create a distribution is associated with "
                    f"another distribution. Already exists: {d.distribution_id}"
                )
        if ext(primary).staging:
            raise InvalidArgument("A staging distribution cannot be copied.")
        _check_if_match(if_match, primary.etag, "primary distribution")
        raw = copy.deepcopy(primary.distribution_config.config)
        raw.pop("ContinuousDeploymentPolicyId", None)
        raw.pop("Staging", None)
        raw["CallerReference"] = ref
        raw["Aliases"] = {"Quantity": "0"}
        raw["Enabled"] = "true" if req.get("Enabled", True) else "false"
        dist = Distribution(self.backend.account_id, self.backend.region_name, raw)
        e = ext(dist)
        e.staging = True
        e.primary_id = primary.distribution_id
        self.backend.distributions[dist.distribution_id] = dist
        body = self._render(DISTRIBUTION_TEMPLATE, distribution=dist)
        return 201, {"ETag": dist.etag, "Location": dist.location, "status": 201}, body

    def update_distribution_with_staging_config(self):
        primary = self._distribution(self._path_id(-2))
        staging_id = self._get_param("StagingDistributionId")
        if not staging_id:
            raise InvalidArgument("StagingDistributionId is required.")
        staging = self._distribution(staging_id)
        if_match = self.headers.get("If-Match")
        if not if_match:
            raise _missing_if_match()
        tags = [t.strip() for t in if_match.split(",")]
        if len(tags) != 2 or not all(tags):
            raise InvalidIfMatchVersion("If-Match must hold the ETags of both distributions, the primary's then the staging's, separated by a comma.")
        if not ext(staging).staging:
            raise InvalidArgument(f"Distribution {staging_id} is not a staging distribution.")
        if ext(primary).staging:
            raise InvalidArgument(f"Distribution {primary.distribution_id} is a staging distribution, not a primary.")
        if tags[0] != primary.etag:
            raise _stale("primary distribution")
        if tags[1] != staging.etag:
            raise _stale("staging distribution")
        policy_id = ext(primary).policy_id
        p = policies(self.backend).get(policy_id) if policy_id else None
        if p is None or staging.domain_name not in p.dns_names():
            raise InvalidArgument(
                f"Distribution {primary.distribution_id} has no continuous deployment policy routing to staging distribution {staging_id}."
            )
        mine = primary.distribution_config.config
        raw = copy.deepcopy(staging.distribution_config.config)
        raw.pop("ContinuousDeploymentPolicyId", None)
        raw.pop("Staging", None)
        raw["CallerReference"] = primary.distribution_config.caller_reference
        raw["Aliases"] = copy.deepcopy(mine.get("Aliases")) or {"Quantity": "0"}
        primary.distribution_config = DistributionConfig(raw)
        _written(primary)
        if p.config.get("Enabled"):
            p.config["Enabled"] = False
            p.changed()
        body = self._render(DISTRIBUTION_TEMPLATE, distribution=primary)
        return 200, {"ETag": primary.etag}, body

    # -- continuous deployment policies

    def _check_policy(self, config, policy_id=None):
        names = config["StagingDistributionDnsNames"]
        items = names.get("Items") or []
        if names["Quantity"] != len(items):
            raise InconsistentQuantities(
                f"StagingDistributionDnsNames: Quantity is {names['Quantity']} but there are {len(items)} items."
            )
        if len(items) != 1:
            raise InvalidArgument("StagingDistributionDnsNames must name exactly one staging distribution.")
        for name in items:
            staging = self._staging_by_domain(name)
            if staging is None:
                raise InvalidArgument(f"{name} is not the domain name of a staging distribution.")
            for other in policies(self.backend).values():
                if other.id != policy_id and name in other.dns_names():
                    raise StagingDistributionInUse(
                        f"The staging distribution {staging.distribution_id} is already in continuous deployment policy {other.id}."
                    )
            if policy_id is not None:
                for user in self._users(policy_id):
                    if ext(staging).primary_id != user.distribution_id:
                        raise InvalidArgument(
                            f"The policy is used by distribution {user.distribution_id}, and {staging.distribution_id} "
                            "is not a staging distribution of it."
                        )
        traffic = config.get("TrafficConfig")
        if traffic is None:
            raise InvalidArgument("TrafficConfig is required.")
        kind = traffic["Type"]
        weight, header = traffic.get("SingleWeightConfig"), traffic.get("SingleHeaderConfig")
        if kind == "SingleWeight":
            if weight is None or header is not None:
                raise InvalidArgument("Type SingleWeight takes a SingleWeightConfig and no SingleHeaderConfig.")
            w = weight["Weight"]
            if not 0.0 <= w <= MAX_WEIGHT:
                raise InvalidArgument(f"Weight {w} is out of range: it must be between 0.0 and {MAX_WEIGHT}.")
            sticky = weight.get("SessionStickinessConfig")
            if sticky is not None:
                lo, hi = STICKINESS_TTL
                idle, most = sticky["IdleTTL"], sticky["MaximumTTL"]
                if not (lo <= idle <= hi and lo <= most <= hi):
                    raise InvalidArgument(f"IdleTTL and MaximumTTL must be between {lo} and {hi} seconds.")
                if idle > most:
                    raise InvalidArgument("IdleTTL must be less than or equal to MaximumTTL.")
        elif kind == "SingleHeader":
            if header is None or weight is not None:
                raise InvalidArgument("Type SingleHeader takes a SingleHeaderConfig and no SingleWeightConfig.")
            if not header["Header"].lower().startswith(HEADER_PREFIX) or len(header["Header"]) == len(HEADER_PREFIX):
                raise InvalidArgument(f"The header name must start with {HEADER_PREFIX}.")
            if not header["Value"]:
                raise InvalidArgument("The header value must not be empty.")
        else:
            raise InvalidArgument(f"TrafficConfig Type {kind!r} must be SingleWeight or SingleHeader.")

    @staticmethod
    def _policy_result(p, location=False):
        out = {"ContinuousDeploymentPolicy": p.to_dict(), "ETag": p.etag}
        if location:
            out["Location"] = f"{LOCATION}/continuous-deployment-policy/{p.id}"
        return ActionResult(out)

    def create_continuous_deployment_policy(self):
        config = _body(self, "ContinuousDeploymentPolicyConfig")
        self._check_policy(config)
        store = policies(self.backend)
        if len(store) >= MAX_POLICIES:
            raise TooManyContinuousDeploymentPolicies(
                f"You have reached the maximum number of continuous deployment policies ({MAX_POLICIES})."
            )
        p = Policy(config)
        store[p.id] = p
        return self._policy_result(p, location=True)

    def get_continuous_deployment_policy(self):
        return self._policy_result(self._policy(self._path_id(-1)))

    def get_continuous_deployment_policy_config(self):
        p = self._policy(self._path_id(-2))
        return ActionResult({"ContinuousDeploymentPolicyConfig": p.config, "ETag": p.etag})

    def update_continuous_deployment_policy(self):
        p = self._policy(self._path_id(-1))
        _check_if_match(self.headers.get("If-Match"), p.etag, "continuous deployment policy")
        config = _body(self, "ContinuousDeploymentPolicyConfig")
        self._check_policy(config, policy_id=p.id)
        p.config = config
        p.changed()
        for user in self._users(p.id):
            _deploying(user)
        return self._policy_result(p)

    def delete_continuous_deployment_policy(self):
        p = self._policy(self._path_id(-1))
        _check_if_match(self.headers.get("If-Match"), p.etag, "continuous deployment policy")
        users = self._users(p.id)
        if users:
            raise ContinuousDeploymentPolicyInUse(
                f"The continuous deployment policy is used by distribution {users[0].distribution_id}; remove it from the distribution first."
            )
        del policies(self.backend)[p.id]
        return ActionResult({})

    def list_continuous_deployment_policies(self):
        raw_max = self._get_param("MaxItems")
        try:
            max_items = int(raw_max) if raw_max not in (None, "") else 100
        except ValueError:
            raise InvalidArgument(f"MaxItems {raw_max!r} is not a number.")
        if max_items < 1:
            raise InvalidArgument("MaxItems must be at least 1.")
        ordered = sorted(policies(self.backend).values(), key=lambda p: p.seq)
        marker = self._get_param("Marker")
        if marker:
            ids = [p.id for p in ordered]
            if marker not in ids:
                raise InvalidArgument(f"Marker {marker!r} is not a continuous deployment policy ID.")
            ordered = ordered[ids.index(marker) :]
        page, rest = ordered[:max_items], ordered[max_items:]
        out = {
            "MaxItems": max_items,
            "Quantity": len(page),
            "Items": [{"ContinuousDeploymentPolicy": p.to_dict()} for p in page],
        }
        if rest:
            out["NextMarker"] = rest[0].id
        return ActionResult({"ContinuousDeploymentPolicyList": out})


# The REST paths moto's CloudFront lacks (regexes on the path, as moto's
# own routes).
ROUTES = [
    "{0}/2020-05-31/distribution/(?P<distribution_id>[^/]+)/copy$",
    "{0}/2020-05-31/distribution/(?P<distribution_id>[^/]+)/promote-staging-config$",
    "{0}/2020-05-31/continuous-deployment-policy$",
    "{0}/2020-05-31/continuous-deployment-policy/(?P<policy_id>[^/]+)$",
    "{0}/2020-05-31/continuous-deployment-policy/(?P<policy_id>[^/]+)/config$",
]


def install():
    """Routes moto's CloudFront paths and the emulated ones to
    EmulatedCloudFrontResponse. Must run before moto's server serves its
    first CloudFront request (it builds the service's routes then)."""
    for path, handler in list(cf_urls.url_paths.items()):
        if handler == CloudFrontResponse.dispatch:
            cf_urls.url_paths[path] = EmulatedCloudFrontResponse.dispatch
        elif handler == CloudFrontResponse.tagging:
            cf_urls.url_paths[path] = EmulatedCloudFrontResponse.tagging
    for path in ROUTES:
        cf_urls.url_paths[path] = EmulatedCloudFrontResponse.dispatch
