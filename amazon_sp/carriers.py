"""Carrier and tracking reference rules of confirmShipment (pure logic, no Odoo import).

One place decides what Amazon is told about a carrier: the client's ``confirm_shipment``
and the Odoo models both call :func:`resolve_carrier`.
"""

from __future__ import annotations

from . import const

_BY_LOWER = {name.lower(): name for name in const.AMAZON_CARRIERS}
_SELF_DELIVERY = {name.lower() for name in const.SELF_DELIVERY_NAMES}

# Reasons a tracking reference is refused (InvalidTrackingRef.reason).
TRACKING_EMPTY = "empty"
TRACKING_TOO_LONG = "too_long"
TRACKING_CONTROL_CHARS = "control_characters"


class InvalidTrackingRef(ValueError):
    """A tracking reference Amazon would refuse, or that no buyer could use."""

    def __init__(self, reason, ref=None):
        self.reason = reason
        self.ref = ref
        messages = {
            TRACKING_EMPTY: "the tracking reference is empty",
            TRACKING_TOO_LONG: (
                f"the tracking reference is longer than {const.TRACKING_REF_MAX_LENGTH} characters"
            ),
            TRACKING_CONTROL_CHARS: "the tracking reference contains line breaks or tabs",
        }
        super().__init__(messages.get(reason, reason))


def _normalize(name):
    return " ".join((name or "").split())


def resolve_carrier(name):
    """Carrier name as the seller typed it -> ``(carrier_code, carrier_name)`` for Amazon.

    * one of Amazon's carriers (any case, extra spaces ignored) -> (Amazon's spelling, None);
    * a self-delivery name (English, Spanish...: ``const.SELF_DELIVERY_NAMES``) ->
      (``const.CARRIER_SELF_DELIVERY``, None);
    * anything else -> (``const.CARRIER_OTHER``, the name as given, trimmed): Amazon shows
      the free-text name to the buyer.

    :raise ValueError: for an empty name
    """
    clean = _normalize(name)
    if not clean:
        raise ValueError("the carrier name is empty")
    key = clean.lower()
    if key in _SELF_DELIVERY:
        return const.CARRIER_SELF_DELIVERY, None
    if key in _BY_LOWER:
        return _BY_LOWER[key], None
    return const.CARRIER_OTHER, clean


def validate_tracking_ref(ref):
    """Return the tracking reference trimmed, or raise :class:`InvalidTrackingRef` for an
    obviously invalid one (empty or blank, line breaks/tabs inside, longer than
    ``const.TRACKING_REF_MAX_LENGTH``)."""
    # Falsy values (None, and False as Odoo gives an empty field) are no reference at all.
    clean = str(ref).strip() if ref else ""
    if not clean:
        raise InvalidTrackingRef(TRACKING_EMPTY, ref)
    if any(ord(char) < 32 or ord(char) == 127 for char in clean):
        raise InvalidTrackingRef(TRACKING_CONTROL_CHARS, ref)
    if len(clean) > const.TRACKING_REF_MAX_LENGTH:
        raise InvalidTrackingRef(TRACKING_TOO_LONG, ref)
    return clean
