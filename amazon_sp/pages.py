"""The pages an orders search yields, and what becomes of each raw order (no I/O).

Re-exported by :mod:`.orders`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import errors
from .parsing import parse_datetime


@dataclass
class Page:
    """One page of raw orders, as Amazon's JSON (``search_raw``)."""

    number: int
    raw_orders: list
    next_token: str | None
    window_end: datetime | None  # naive UTC: the lastUpdatedBefore we sent (every page)


@dataclass(frozen=True)
class OrderFailure:
    """An order Amazon sent that cannot become a :class:`~.types.Order`."""

    order_id: str | None  # None: Amazon sent it without a usable reference
    problem: str  # what is wrong, without the order id ("missing or not a string")
    message: str  # the whole sentence, order id and field path included
    raw: object = field(default=None, repr=False, compare=False)  # the order as Amazon sent it

    def __str__(self):
        return self.message

    @classmethod
    def from_error(cls, exc, raw=None):
        order_id = None if exc.order_id in (None, "<unknown>") else exc.order_id
        return cls(order_id=order_id, problem=exc.problem, message=str(exc), raw=raw)


SKIP_NON_AMAZON = "non_amazon_channel"


@dataclass(frozen=True)
class OrderSkip:
    """An order Amazon sent that is not an Amazon sale (``salesChannel.channelName``
    other than AMAZON; v0 ``SalesChannel`` "Non-Amazon"): not imported, counted."""

    order_id: str | None
    reason: str  # SKIP_NON_AMAZON
    message: str
    raw: object = field(default=None, repr=False, compare=False)

    def __str__(self):
        return self.message


def skip_reason(raw):
    """:class:`OrderSkip` for a raw order (either version) that is not an Amazon sale,
    else None."""
    if not isinstance(raw, dict):
        return None
    channel = raw.get("salesChannel")
    if isinstance(channel, dict):
        name = channel.get("channelName")
        order_id = raw.get("orderId")
    else:
        name = raw.get("SalesChannel")
        name = "NON_AMAZON" if isinstance(name, str) and name.lower() == "non-amazon" else None
        order_id = raw.get("AmazonOrderId")
    if name is None or str(name).upper() == "AMAZON":
        return None
    return OrderSkip(
        order_id=order_id if isinstance(order_id, str) else None,
        reason=SKIP_NON_AMAZON,
        message=f"Amazon order {order_id}: sold on the channel {name}, not on Amazon",
        raw=raw,
    )


@dataclass
class OrdersPage:
    """One page of a search, parsed: every raw order is in ``orders`` or in ``failures``."""

    number: int
    orders: list  # [types.Order]
    failures: list  # [OrderFailure]
    raw_orders: list = field(repr=False)
    next_token: str | None = None
    window_end: datetime | None = None  # naive UTC: the lastUpdatedBefore we sent
    skipped: list = field(default_factory=list)  # [OrderSkip]: not Amazon sales


def _window_end(value, operation):
    """Window end of a search response -> naive UTC (ISO 8601, or epoch seconds as in
    one of Amazon's own v0 examples: "1.569521782042E9")."""
    if not value:
        return None
    try:
        if isinstance(value, (int, float)) or re.fullmatch(r"[0-9.]+(E[0-9]+)?", str(value)):
            seconds = float(value)
            return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise errors.SpApiResponseError(
            f"unparseable window end {value!r}", operation=operation
        ) from None


def _pages(fetch, token=None):
    """Yield :class:`Page` objects of a paginated search; ``fetch(token)`` returns one
    page as (raw orders, next token or None, window end); the first call gets ``token``
    (None: the first page; a page token: resume a search there)."""
    number = 0
    while True:
        orders, token, window_end = fetch(token)
        number += 1
        yield Page(number=number, raw_orders=orders, next_token=token, window_end=window_end)
        if not token:
            return


def _empty_window(last_updated_after):
    """The one page of a window that is empty on Amazon's clock (``last_updated_after``
    less than the margin ago): nothing is asked, the window does not move."""
    after = last_updated_after
    if isinstance(after, str):
        after = parse_datetime(after)
    elif after.tzinfo is not None:
        after = after.astimezone(timezone.utc).replace(tzinfo=None)
    return Page(number=1, raw_orders=[], next_token=None, window_end=after)


def strip_nul(raw):
    """``raw`` without NUL characters (PostgreSQL refuses them in text; they carry nothing):
    a buyer name holding one must not make the order fail."""
    if isinstance(raw, str):
        return raw.replace("\x00", "") if "\x00" in raw else raw
    if isinstance(raw, dict):
        return {key: strip_nul(value) for key, value in raw.items()}
    if isinstance(raw, list):
        return [strip_nul(value) for value in raw]
    return raw
