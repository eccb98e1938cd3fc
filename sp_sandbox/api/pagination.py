"""Pagination tokens: one opaque, signed format for every paginated operation.

A token pins what the first request asked (window, filters, page size) together with where the
next page starts (the last sort key served, or an offset); the client sends it back unchanged
and the sandbox continues exactly there, whatever changed since. Tokens are URL-safe base64 of
a JSON object plus a truncated HMAC: opaque to clients, refused when forged, when issued by
another server, or when sent to another operation or for another order/group.

A token also carries the fingerprint of the first request's filters (every query parameter but
the token and the ``exempt`` ones): a later page sent with other filters is refused. Where the
model says "all other parameters must be provided with the same values" (searchOrders:
``complete=True``) a filter left out counts as a different one; elsewhere only the filters sent
are compared.

Used by searchOrders (``paginationToken``), getOrders, getOrderItems, getOrderItemsBuyerInfo,
listFinancialEventGroups and listFinancialEventsByGroupId (``NextToken``).
"""

import base64
import hashlib
import hmac
import json
from datetime import datetime

from ..values import format_time, parse_time
from .common import invalid

_SIGNATURE_BYTES = 12
_TIME = "$time"  # datetimes travel as {"$time": ISO 8601}; no pinned value is a dict


def _pack(value):
    if isinstance(value, datetime):
        return {_TIME: format_time(value)}
    if isinstance(value, (list, tuple)):
        return [_pack(v) for v in value]
    return value


def _unpack(value):
    if isinstance(value, dict) and set(value) == {_TIME}:
        return parse_time(value[_TIME])
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def fingerprint(request, param, exempt=()):
    """{parameter: short digest of its sorted values} of every query parameter of ``request``
    but the token ``param`` and the ``exempt`` names."""
    prints = {}
    for name in sorted(set(request.args)):
        if name == param or name in exempt:
            continue
        values = sorted(
            v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()
        )
        if values:
            prints[name] = hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:10]
    return prints


def cut(rows, size, offset=0):
    """(the page of ``size`` rows from ``offset``, whether rows remain after it)."""
    end = offset + size
    return rows[offset:end], end < len(rows)


class PageTokens:
    """Issues and reads the tokens of one server (signed with its secret)."""

    def __init__(self, secret):
        self._secret = secret

    def _sign(self, raw):
        return hmac.new(self._secret, raw, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def issue(self, kind, **pinned):
        """A token for operation ``kind`` holding ``pinned`` (JSON values and datetimes)."""
        fields = {key: _pack(value) for key, value in pinned.items()}
        raw = json.dumps({"kind": kind, **fields}, sort_keys=True, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw + self._sign(raw)).decode().rstrip("=")

    def read(self, token, kind, param, **scope):
        """The pinned fields of ``token``; 400 InvalidInput unless this server issued it for
        ``kind`` and every ``scope`` field (e.g. ``order=order_id``) has the same value."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, signature = blob[:-_SIGNATURE_BYTES], blob[-_SIGNATURE_BYTES:]
            valid = hmac.compare_digest(signature, self._sign(raw))
            payload = json.loads(raw) if valid else None
        except (ValueError, TypeError):
            payload = None
        if not isinstance(payload, dict) or payload.pop("kind", None) != kind:
            raise invalid(f"Invalid {param}.", f"The {param} is invalid or has expired.")
        for key, expected in scope.items():
            if payload.get(key) != expected:
                raise invalid(f"Invalid {param}.", f"The {param} belongs to another {key}.")
        return {key: _unpack(value) for key, value in payload.items()}

    def resume(self, request, param, kind, exempt=(), complete=False, **scope):
        """The pinned fields of the request's ``param`` token, or None on a first page. A token
        pinning ``filters`` (from ``fingerprint``) is refused when the request's filters differ
        (``complete``: when any is missing too)."""
        token = request.args.get(param)
        if not token:
            return None
        pinned = self.read(token, kind, param, **scope)
        expected = pinned.get("filters")
        if expected is not None:
            sent = fingerprint(request, param, exempt)
            changed = sorted(
                name
                for name in set(sent) | set(expected)
                if (complete or name in sent) and sent.get(name) != expected.get(name)
            )
            if changed:
                raise invalid(
                    f"Invalid {param}: {', '.join(changed)} differ from the first page's.",
                    "All other parameters must be provided with the same values as in the "
                    f"request that returned the {param}.",
                )
        return pinned
