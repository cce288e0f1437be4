"""Reads an EKS request the way the service does, driven by the EKS service
model botocore ships (the same Smithy model aws-sdk-go-v2 is generated
from): members from the URI path, the query string and the JSON body, each
checked against its shape (type, enum, length and range, the cluster name
pattern). A request that does not fit is an InvalidParameterException, as
EKS answers it."""

import base64
import binascii
import json
import re
from urllib.parse import unquote

import botocore.session

from .errors import InvalidParameterException

_model = None


def model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("eks")
    return _model


def parse(resp, action):
    """The request's input members as a dict (only those present)."""
    op = model().operation_model(action)
    shape = op.input_shape
    body = {}
    raw = resp.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            raise InvalidParameterException("The request body is not valid JSON.")
        if not isinstance(body, dict):
            raise InvalidParameterException("The request body must be a JSON object.")
    out = {}
    if shape is None:
        return out
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "uri":
            value = None
            if resp.uri_match is not None:
                try:
                    value = resp.uri_match.group(wire.replace("-", "_"))
                except IndexError:
                    value = None
            if value is not None:
                out[name] = unquote(value)
        elif loc == "querystring":
            values = resp.querystring.get(wire)
            if values is None:
                continue
            out[name] = _from_query(name, member, values)
        elif loc == "header":
            v = resp.headers.get(wire)
            if v is not None:
                out[name] = v
        elif name in body and body[name] is not None:
            out[name] = body[name]
    for name in shape.required_members:
        if name not in out:
            raise InvalidParameterException(f"Missing required parameter in request: {name}")
    for name, value in out.items():
        check(name, shape.members[name], value)
    return out


def _from_query(name, member, values):
    t = member.type_name
    if t == "list":
        return list(values)
    v = values[0]
    if t == "integer":
        try:
            return int(v)
        except ValueError:
            raise InvalidParameterException(f"{name} must be an integer, got {v!r}")
    if t == "boolean":
        if v not in ("true", "false"):
            raise InvalidParameterException(f"{name} must be true or false, got {v!r}")
        return v == "true"
    return v


_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_TYPES = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
    "timestamp": (str, int, float),
}


def check(path, shape, value):
    """Checks value against shape; raises InvalidParameterException."""
    t = shape.type_name
    want = _TYPES.get(t)
    if want and (not isinstance(value, want) or (t in ("integer", "long") and isinstance(value, bool))):
        raise InvalidParameterException(f"{path}: expected {t}")
    meta = shape.metadata
    if t == "string":
        if shape.enum and value not in shape.enum:
            raise InvalidParameterException(f"{path}: {value!r} is not one of {', '.join(shape.enum)}")
        _check_len(path, meta, len(value))
        if shape.name == "ClusterName" and not _CLUSTER_NAME.match(value):
            raise InvalidParameterException(f"{path}: {value!r} does not match {_CLUSTER_NAME.pattern}")
    elif t in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            raise InvalidParameterException(f"{path}: {value} is less than {meta['min']}")
        if "max" in meta and value > meta["max"]:
            raise InvalidParameterException(f"{path}: {value} is greater than {meta['max']}")
    elif t == "list":
        _check_len(path, meta, len(value))
        for i, v in enumerate(value):
            check(f"{path}[{i}]", shape.member, v)
    elif t == "map":
        _check_len(path, meta, len(value))
        for k, v in value.items():
            check(f"{path}.{k}", shape.value, v)
    elif t == "structure":
        for k in shape.required_members:
            if k not in value:
                raise InvalidParameterException(f"{path}.{k} is required")
        for k, v in value.items():
            # Like the service, ignore members it does not know.
            if v is not None and k in shape.members:
                check(f"{path}.{k}", shape.members[k], v)


def _check_len(path, meta, n):
    if "min" in meta and n < meta["min"]:
        raise InvalidParameterException(f"{path}: length {n} is less than {meta['min']}")
    if "max" in meta and n > meta["max"]:
        raise InvalidParameterException(f"{path}: length {n} is greater than {meta['max']}")


def paginate(items, params, default_max=100):
    """(page, nextToken) of a list, with EKS's maxResults and an opaque
    nextToken."""
    limit = params.get("maxResults") or default_max
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidParameterException("The nextToken provided is invalid.")
        if start < 0 or start > len(items):
            raise InvalidParameterException("The nextToken provided is invalid.")
    end = start + limit
    nxt = None
    if end < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], nxt
