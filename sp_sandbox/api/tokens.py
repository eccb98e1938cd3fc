"""Tokens API: ``createRestrictedDataToken`` for the restricted Orders v0 resources."""

import re

from .. import data
from .common import Operation, invalid

TOKENS = "tokens_2021-03-01"
RDT_PATHS = [
    re.compile(p)
    for p in (
        r"^/orders/v0/orders$",
        r"^/orders/v0/orders/[^/]+$",
        r"^/orders/v0/orders/[^/]+/orderItems$",
        r"^/orders/v0/orders/[^/]+/address$",
        r"^/orders/v0/orders/[^/]+/buyerInfo$",
        r"^/orders/v0/orders/[^/]+/orderItems/buyerInfo$",
    )
]


def _grant(resource):
    """One restricted resource of the request as a grant: method, path regex, data elements."""
    if not isinstance(resource, dict):
        raise invalid("Each restricted resource must be an object.")
    method, path = resource.get("method"), resource.get("path")
    if method not in ("GET", "PUT", "POST", "DELETE") or not isinstance(path, str):
        raise invalid("Each restricted resource needs a method and a path.")
    concrete = re.sub(r"\{[^/]+\}", "X", path)
    if not any(p.match(concrete) for p in RDT_PATHS):
        raise invalid("Invalid restricted resource path.", f"{path} is not a restricted resource.")
    elements = resource.get("dataElements") or []
    bad = [e for e in elements if e not in data.RDT_DATA_ELEMENTS]
    if bad:
        raise invalid("Invalid dataElements.", ", ".join(map(str, bad)))
    pattern = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(path)) + "$"
    return {"method": method, "regex": re.compile(pattern), "dataElements": list(elements)}


def create_rdt(app, request, elements):
    body = request.get_json(silent=True, force=True)
    resources = body.get("restrictedResources") if isinstance(body, dict) else None
    if not isinstance(resources, list) or not resources:
        raise invalid("restrictedResources is required.")
    token, ttl = app.auth.grant_rdt([_grant(resource) for resource in resources])
    return 200, {"restrictedDataToken": token, "expiresIn": ttl}


ROUTES = [
    Operation(
        "/tokens/2021-03-01/restrictedDataToken",
        "POST",
        TOKENS,
        "createRestrictedDataToken",
        create_rdt,
    ),
]
