"""Typed errors of the SP-API client layer.

Every failure the client raises is an :class:`SpApiError` (or :class:`OrderParseError`
for data that cannot become a :class:`~.types.Order`); a caller that set a deadline may
also get :class:`SpApiOutOfTimeError`, which is no failure. Messages are written for a
human (they name the operation, the HTTP status and Amazon's own code/message) and
are passed through :func:`.redact.redact` so no secret can end up in them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .redact import redact


@dataclass(frozen=True)
class AmazonError:
    """One entry of Amazon's ``{"errors": [{"code", "message", "details"}]}`` body."""

    code: str | None
    message: str | None
    details: str | None = None

    def __str__(self):
        text = f"{self.code or '?'}: {self.message or ''}".rstrip(": ")
        if self.details:
            text += f" ({self.details})"
        return redact(text)


class SpApiError(Exception):
    """Any failure talking to the SP-API (or to Login with Amazon)."""

    default_summary = "SP-API request failed"

    def __init__(
        self,
        summary=None,
        *,
        status=None,
        operation=None,
        errors=(),
        request_id=None,
        outcome_unknown=False,
        retry_after=None,
    ):
        self.summary = redact(summary or self.default_summary)
        self.status = status
        self.operation = operation
        self.errors = list(errors or ())
        self.request_id = request_id
        # True when the request may have reached Amazon and been acted upon
        # (read timeout / reset after sending a non-idempotent POST).
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self):
        parts = []
        if self.operation:
            parts.append(f"{self.operation}:")
        parts.append(self.summary)
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.errors:
            parts.append("- Amazon says: " + "; ".join(str(e) for e in self.errors))
        if self.request_id:
            parts.append(f"[request id {self.request_id}]")
        if self.outcome_unknown:
            parts.append(
                "- the request may have reached Amazon: check the outcome before resending"
            )
        return redact(" ".join(parts))

    def __str__(self):
        return self._message()

    def __repr__(self):
        return f"{type(self).__name__}({self._message()!r})"


class SpApiAuthError(SpApiError):
    """Login with Amazon refused the credentials, or the SP-API answered 401/403."""

    default_summary = "authorization failed"


class SpApiBadRequestError(SpApiError):
    """HTTP 400: Amazon rejected the request (bad parameter, invalid state...)."""

    default_summary = "request rejected by Amazon"


class SpApiNotFoundError(SpApiError):
    """HTTP 404."""

    default_summary = "resource not found"


class SpApiThrottledError(SpApiError):
    """HTTP 429 still received after the retry bound."""

    default_summary = "throttled by Amazon (quota exceeded) after retrying"


class SpApiServerError(SpApiError):
    """HTTP 5xx still received after the retry bound."""

    default_summary = "Amazon server error"


class SpApiTransportError(SpApiError):
    """Timeouts, connection resets... after the retry bound (or at once for a
    non-idempotent request that may have been received: ``outcome_unknown``)."""

    default_summary = "network error talking to Amazon"


class SpApiResponseError(SpApiError):
    """The response could not be used: malformed JSON, missing required fields."""

    default_summary = "unusable response from Amazon"


class SpApiOutOfTimeError(Exception):
    """The deadline the caller gave the client (:meth:`~.client.SpApiClient.set_deadline`,
    a scheduled run's time budget) would pass before ``operation`` could be sent: waiting
    for its rate limit, or for a retry after a 429/5xx. Raised before sending, so nothing
    was sent by the attempt it stops; ``retry_after`` is the seconds until the wait would
    have ended (when to come back).

    Not an :class:`SpApiError` on purpose: it is no failure of Amazon nor of the request,
    and the handlers that record a failure of one order, delivery or invoice on
    ``except SpApiError`` must let it through, up to the run, which stops there with work
    left. ``outcome_unknown`` is that of the error that led to the retry given up (as
    when the client gives up after ``max_attempts``): a non-idempotent call is only
    retried after an answer showing it was not acted upon (429) or a failure before
    sending, so for those it is False; never True without reason to believe the request
    may have reached Amazon. ``error`` is that last error (None: out of time waiting for
    the rate limit before the first attempt)."""

    def __init__(self, operation, retry_after, *, outcome_unknown=False, error=None):
        self.operation = operation
        self.retry_after = max(0.0, float(retry_after))
        self.outcome_unknown = outcome_unknown
        self.error = error
        after = f" after {error.summary}" if error is not None else ""
        super().__init__(
            redact(
                f"{operation}: not sent{after}: the next attempt would wait "
                f"{self.retry_after:.1f}s, past the deadline"
            )
        )


def require_fields(body, keys, operation):
    """Raise :class:`SpApiResponseError` naming the ``keys`` empty or absent in ``body``."""
    missing = [key for key in keys if not body.get(key)]
    if missing:
        raise SpApiResponseError(
            f"missing required field(s) {', '.join(missing)}", operation=operation
        )


class OrderParseError(ValueError):
    """An order that cannot be turned into a :class:`~.types.Order`."""

    def __init__(self, order_id, field, problem):
        self.order_id = order_id or "<unknown>"
        self.field = field
        self.problem = problem
        super().__init__(redact(f"Amazon order {self.order_id}: field '{field}': {problem}"))


class FulfilledByUnknownError(OrderParseError):
    """A v2026 order without ``fulfillment.fulfilledBy`` and no other evidence: the orders
    object resolves it with filtered searches (see :mod:`.orders`)."""
