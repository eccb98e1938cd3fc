"""The end of an orders sync window, on Amazon's clock (pure logic, no I/O).

The orders searches send ``lastUpdatedBefore`` themselves (Orders v2026; v0:
``LastUpdatedBefore``) so the window is fixed across pages and known whether or not the
response echoes it. Amazon's model requires it "at least two minutes before the time of
the request": the end is Amazon's time minus :data:`WINDOW_MARGIN`.

Amazon's time is the ``Date`` header of an earlier response of the same client (any
SP-API operation; the client keeps the latest with the local monotonic time it arrived
at), advanced by the time elapsed since. The header has whole seconds and is truncated,
so the estimate never runs ahead of Amazon. The local wall clock is never used.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from email.utils import parsedate_to_datetime

from .parsing import parse_datetime

# Amazon's minimum is 2 minutes; 30 s more absorb the request's travel and queueing.
WINDOW_MARGIN = timedelta(minutes=2, seconds=30)


def parse_http_date(value):
    """An HTTP ``Date`` header -> naive UTC datetime, or None when absent/unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _naive_utc(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def window_end(amazon_now, last_updated_after, requested_before=None, margin=WINDOW_MARGIN):
    """``lastUpdatedBefore`` to send: the caller's ``requested_before`` as given (Amazon
    judges it), else ``amazon_now()`` (a callable: Amazon's time is asked only when
    needed) minus ``margin``. None when the window would be empty (the end not after
    ``last_updated_after``): nothing to search yet."""
    if requested_before is not None:
        end = _naive_utc(requested_before)
    else:
        end = amazon_now() - margin
    end = end.replace(microsecond=0)
    after = _naive_utc(last_updated_after)
    if after is not None and end <= after:
        return None
    return end
