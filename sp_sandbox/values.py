"""Time and money values every part of the sandbox reads and writes.

The bottom of the package's import graph: it imports nothing of the sandbox but ``data``.
"""

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from . import data

UTC = timezone.utc


def parse_time(value):
    """ISO 8601 -> aware UTC datetime. Raises ValueError."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"not an ISO 8601 date: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value):
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value, currency):
    return Decimal(str(value)).quantize(data.quantum(currency), ROUND_HALF_UP)


def tax_of(amount, rate, included, currency):
    """Tax contained in ``amount`` (prices include tax) or charged on top of it."""
    if not amount:
        return money(0, currency)
    if included:
        return money(amount * rate / (1 + rate), currency)
    return money(amount * rate, currency)
