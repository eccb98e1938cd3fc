"""Pagination tokens: one opaque, signed format for every paginated operation.

A token pins what the first request asked (window, filters, page size) together with where the
next page starts (the last sort key served, or an offset); the client sends it back unchanged
and the sandbox continues exactly there, whatever changed since. Tokens are URL-safe base64 of
a JSON object plus a truncated HMAC: opaque to clients, refused when forged, when issued by
another server, or when sent to another operation or for another order/group.

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

    def resume(self, request, param, kind, **scope):
        """The pinned fields of the request's ``param`` token, or None on a first page."""
        token = request.args.get(param)
        return self.read(token, kind, param, **scope) if token else None
