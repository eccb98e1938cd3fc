"""Hooks into python-amazon-sp-api (module ``sp_api``) without patching it.

* :class:`LwaTokenClient` replaces the library's ``AccessTokenClient`` through the
  ``auth_token_client_class`` constructor hook: it posts to the configured LWA URL
  and keeps its own token cache keyed by (LWA URL, client id, refresh token + secret),
  honouring ``expires_in`` (the library's module-wide cache is keyed by refresh
  token only, with a fixed 3200 s TTL).
* :func:`make_api` builds a subclass of a library API class (``OrdersV0``,
  ``OrdersV20260101``, ``Sellers``, ``Tokens``, ``FeedsV20210630``) that talks to a
  per-account endpoint (``http://`` allowed: the ``host`` header is computed from
  the URL instead of ``endpoint[8:]``), never adds the library's default
  marketplace to requests, reads credentials only from the code (never env vars
  or ``~/.config``), and checks raw responses strictly (:class:`ResponseChecker`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.auth._core import build_grantless_data
from sp_api.auth.credentials import Credentials
from sp_api.base import Marketplaces
from sp_api.base.credential_provider import FromCodeCredentialProvider, MissingCredentials

from . import errors
from .ratelimit import parse_rate_header
from .redact import redact, register_secret

# --- Access tokens ------------------------------------------------------------

_TOKENS = {}  # (lwa_url, client_id, sha256(refresh token, secret)) -> (response, expires_at)
_TOKENS_LOCK = threading.Lock()
_KEY_LOCKS = {}


def _token_key(lwa_url, client_id, refresh_token, client_secret):
    # The secret is part of the key too: a corrected (or wrong) secret must be tried
    # against LWA, not answered from a token obtained with other credentials.
    secret = f"{refresh_token or ''}\x00{client_secret or ''}"
    return (lwa_url, client_id, hashlib.sha256(secret.encode()).hexdigest())


def clear_token_cache():
    with _TOKENS_LOCK:
        _TOKENS.clear()


class LwaTokenClient(AccessTokenClient):
    """Login with Amazon client for one (LWA URL, client id, refresh token)."""

    def __init__(
        self,
        refresh_token=None,
        credentials=None,
        proxies=None,
        verify=True,
        *,
        lwa_url,
        transport,
        on_request=None,
        clock=time.monotonic,
    ):
        # No super().__init__(): it would open a transport of its own.
        self.cred = Credentials(refresh_token, credentials)
        self.proxies = proxies
        self.verify = verify
        self.lwa_url = lwa_url
        self._transport = transport
        self._on_request = on_request
        self._clock = clock
        self._key = _token_key(
            lwa_url, self.cred.client_id, self.cred.refresh_token, self.cred.client_secret
        )

    def invalidate(self, token=None):
        """Forget the cached tokens (only if it is still ``token`` when given): the seller's
        and the grantless ones of the same application."""
        with _TOKENS_LOCK:
            for key in [self._key, *self._grantless_keys()]:
                entry = _TOKENS.get(key)
                if entry and (token is None or entry[0].get("access_token") == token):
                    del _TOKENS[key]

    def _grantless_keys(self):
        prefix = (self.lwa_url, self.cred.client_id)
        return [key for key in _TOKENS if key[:2] == prefix and key[2].startswith("grantless:")]

    def get_grantless_auth(self, scope="sellingpartnerapi::notifications"):
        """A grantless access token (LWA ``client_credentials`` grant for ``scope``): what
        the Notifications API's destination operations take instead of the seller's."""
        digest = hashlib.sha256(f"{scope}\x00{self.cred.client_secret or ''}".encode()).hexdigest()
        key = (self.lwa_url, self.cred.client_id, f"grantless:{digest}")
        return self._cached(key, lambda: build_grantless_data(self.cred, scope))

    def get_auth(self) -> AccessTokenResponse:
        return self._cached(self._key, lambda: self.data)

    def _cached(self, key, form):
        with _TOKENS_LOCK:
            lock = _KEY_LOCKS.setdefault(key, threading.Lock())
        with lock:
            entry = _TOKENS.get(key)
            if entry and entry[1] > self._clock():
                return AccessTokenResponse(**entry[0])
            data = self._request(self.lwa_url, form(), self.headers)
            expires_in = data.get("expires_in")
            try:
                expires_in = float(expires_in)
            except (TypeError, ValueError):
                expires_in = 3600.0
            margin = min(60.0, expires_in / 10)
            with _TOKENS_LOCK:
                _TOKENS[key] = (data, self._clock() + expires_in - margin)
            return AccessTokenResponse(**data)

    def _request(self, url, data, headers):
        if self._on_request:
            self._on_request()
        operation = "LWA token"
        try:
            response = self._transport.request("POST", url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            error = errors.SpApiTransportError(
                f"cannot reach Login with Amazon: {type(exc).__name__}: {exc}",
                operation=operation,
            )
            error.request_sent = False  # the SP-API request itself was not sent
            raise error from None
        try:
            body = json.loads(response.content or b"null")
        except ValueError:
            body = None
        status = response.status_code
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            code = (body or {}).get("error") if isinstance(body, dict) else None
            text = (body or {}).get("error_description") if isinstance(body, dict) else None
            amazon = [errors.AmazonError(code, text)] if code or text else []
            if status >= 500:
                cls, summary = errors.SpApiServerError, "Login with Amazon server error"
            elif status == 200:
                cls, summary = errors.SpApiResponseError, "Login with Amazon sent no access token"
            elif status == 429:
                cls, summary = errors.SpApiThrottledError, "Login with Amazon throttled us"
            else:
                cls = errors.SpApiAuthError
                summary = (
                    "Login with Amazon refused the credentials (check client id, "
                    "client secret and refresh token)"
                )
            error = cls(summary, status=status, operation=operation, errors=amazon)
            error.request_sent = False
            raise error
        register_secret(body.get("access_token"))
        register_secret(body.get("refresh_token"))
        return body


# --- Responses ----------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    body: object
    headers: httpx.Headers
    rate: float | None
    request_id: str | None


def _retry_after(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


_STATUS_ERRORS = {
    400: errors.SpApiBadRequestError,
    401: errors.SpApiAuthError,
    403: errors.SpApiAuthError,
    404: errors.SpApiNotFoundError,
    413: errors.SpApiBadRequestError,
    415: errors.SpApiBadRequestError,
    429: errors.SpApiThrottledError,
}


def check_response(res, operation, *, expect_body=True):
    """Raw httpx response -> :class:`RawResponse`, or a typed error."""
    status = res.status_code
    rate = parse_rate_header(res.headers.get("x-amzn-RateLimit-Limit"))
    request_id = res.headers.get("x-amzn-RequestId")
    content = res.content or b""
    body = None
    malformed = False
    if content.strip():
        try:
            body = json.loads(content)
        except ValueError:
            malformed = True
    if 200 <= status < 300:
        if not expect_body:
            # e.g. confirmShipment's 204: success is the status; ignore any body.
            return RawResponse(
                status, body if not malformed else None, res.headers, rate, request_id
            )
        if malformed:
            error = errors.SpApiResponseError(
                "malformed JSON in the response body",
                status=status,
                operation=operation,
                request_id=request_id,
            )
            error.transient = True
            raise error
        if expect_body and not isinstance(body, dict):
            raise errors.SpApiResponseError(
                "expected a JSON object in the response body",
                status=status,
                operation=operation,
                request_id=request_id,
            )
        return RawResponse(status, body, res.headers, rate, request_id)
    amazon = []
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        for item in body["errors"]:
            if isinstance(item, dict):
                amazon.append(
                    errors.AmazonError(
                        redact(str(item.get("code"))) if item.get("code") else None,
                        redact(str(item.get("message"))) if item.get("message") else None,
                        redact(str(item.get("details"))) if item.get("details") else None,
                    )
                )
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = errors.SpApiServerError if status >= 500 else errors.SpApiError
    error = cls(
        None,
        status=status,
        operation=operation,
        errors=amazon,
        request_id=request_id,
        retry_after=_retry_after(res.headers.get("Retry-After")),
    )
    error.rate = rate
    raise error


# --- API classes ------------------------------------------------------------------


class _AdapterMixin:
    """Mixed in before a library API class (see :func:`make_api`)."""

    def __init__(self, *, endpoint, credentials, lwa_factory, transport, user_agent, timeout):
        try:
            super().__init__(
                Marketplaces.US,  # only its endpoint/marketplace id, both overridden below
                credentials=credentials,
                credential_providers=(FromCodeCredentialProvider,),
                timeout=timeout,
                auth_token_client_class=lwa_factory,
            )
        except MissingCredentials:
            raise errors.SpApiAuthError(
                "missing LWA credentials (client id and client secret are required)"
            ) from None
        self._transport.close()  # the library opened its own; share the account's
        self._transport = transport
        self.endpoint = endpoint.rstrip("/")
        self.marketplace_id = None
        self.region = None
        self._host = urlsplit(self.endpoint).netloc
        self.user_agent = user_agent
        self.operation = None
        self.expect_body = True

    @property
    def headers(self):
        token = self.restricted_data_token or self.auth.access_token
        return {
            "host": self._host,
            "user-agent": self.user_agent,
            "x-amz-access-token": token,
            "x-amz-date": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
            "content-type": "application/json",
        }

    def _request(
        self,
        path,
        *,
        data=None,
        params=None,
        headers=None,
        add_marketplace=True,
        res_no_data=False,
        bulk=False,
        wrap_list=False,
    ):
        # Marketplaces are always passed explicitly: never let the library add its
        # default (or SP_API_DEFAULT_MARKETPLACE's) marketplace to a request.
        try:
            return super()._request(
                path,
                data=data,
                params=params,
                headers=headers,
                add_marketplace=False,
                res_no_data=res_no_data,
                bulk=bulk,
                wrap_list=wrap_list,
            )
        except httpx.HTTPError as exc:
            sent = not isinstance(
                exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
            )
            error = errors.SpApiTransportError(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                operation=self.operation,
            )
            error.request_sent = sent
            raise error from None

    def _request_grantless_operation(self, path, *, data=None, params=None):
        # The library's own builds the host header as ``endpoint[8:]`` (https only).
        headers = dict(
            self.headers_without_token(),
            **{
                "x-amz-access-token": self.grantless_auth.access_token,
            },
        )
        return self._request(path, data=data, params=params, headers=headers)

    def headers_without_token(self):
        return {
            "host": self._host,
            "user-agent": self.user_agent,
            "x-amz-date": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
            "content-type": "application/json",
        }

    def _check_response(self, res, res_no_data=False, bulk=False, wrap_list=False):
        return check_response(res, self.operation, expect_body=self.expect_body)


@functools.cache
def _adapted(api_class):
    return type(f"Adapted{api_class.__name__}", (_AdapterMixin, api_class), {})


def make_api(api_class, **kwargs):
    return _adapted(api_class)(**kwargs)
