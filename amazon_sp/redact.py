"""Keep secrets (LWA client secret, refresh token, access tokens, RDTs) out of logs
and error messages.

The client registers every secret it knows or receives (:func:`register_secret`);
:func:`redact` replaces them, plus anything that looks like an access token or an
``x-amz-access-token``/``client_secret``/``refresh_token`` value, with ``***``.
:func:`install_log_filter` puts a :class:`RedactingFilter` on the loggers of
python-amazon-sp-api, httpx and httpcore (the library logs request headers, access
token included, at DEBUG on ``sp_api.base.client``). A filter on a logger only sees
records created on that very logger, so it is installed on each known logger name
and on every existing child of those names.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

_MAX_SECRETS = 2000
_lock = threading.Lock()
_secrets: OrderedDict[str, None] = OrderedDict()
_pattern = None

# Values that are secrets whatever we know: LWA access tokens and RDTs ("Atza|...",
# "Atzr|...", "Atz.sprdt|..."), and key/value shapes that carry secrets.
_GENERIC = [
    re.compile(r"Atz[a-z.]*\|[A-Za-z0-9_\-+/=.|]+"),
    re.compile(
        r"""(?ix)
        (["']?(?:x-amz-access-token|access_token|refresh_token|client_secret|
                 restrictedDataToken|lwa_client_secret|authorization)["']?
         \s*[:=]\s*)
        (b?["']?)([^"'&,\s}]+)"""
    ),
]

LOGGER_NAMES = (
    "sp_api",
    "sp_api.base",
    "sp_api.base.client",
    "sp_api.auth",
    "sp_api.auth.access_token_client",
    "sp_api.api",
    "httpx",
    "httpcore",
    "httpcore.http11",
    "httpcore.connection",
    "amazon_sp",
)


def register_secret(value):
    """Remember a secret value so that :func:`redact` hides it."""
    global _pattern
    if not value or not isinstance(value, str) or len(value) < 4:
        return
    with _lock:
        if value in _secrets:
            _secrets.move_to_end(value)
            return
        _secrets[value] = None
        while len(_secrets) > _MAX_SECRETS:
            _secrets.popitem(last=False)
        _pattern = None


def _secret_pattern():
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            alternatives = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in alternatives))
        return _pattern


def redact(text):
    """Return ``text`` with every known or recognisable secret replaced by ``***``."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _secret_pattern()
    if pattern is not None:
        text = pattern.sub("***", text)
    text = _GENERIC[0].sub("***", text)
    text = _GENERIC[1].sub(lambda m: m.group(1) + m.group(2) + "***", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrite each record's message with secrets redacted (never drops records)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken record: leave it to logging's own handling
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and not record.exc_text:
            # Format the traceback now so its text is redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_log_filter():
    """Install the redacting filter on the library loggers (idempotent)."""
    names = set(LOGGER_NAMES)
    prefixes = tuple(n + "." for n in ("sp_api", "httpx", "httpcore", "amazon_sp"))
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(prefixes):
            names.add(name)
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
