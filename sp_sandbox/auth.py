"""Authorization: LWA access tokens, restricted data tokens (RDTs), and who may call what.

Access tokens and RDTs expire in real (monotonic) time: ``access_token_ttl``/``rdt_ttl`` s.
"""

import hmac
import secrets
import threading
import time

from .api.common import ApiError

# Operations Amazon serves only with an RDT (a plain access token gets 403).
RESTRICTED = {"getOrderBuyerInfo", "getOrderAddress", "getOrderItemsBuyerInfo"}
# Operations Amazon serves only with a grantless token (LWA client_credentials grant), and
# the scope that token must carry.
GRANTLESS = {
    "getDestinations",
    "createDestination",
    "getDestination",
    "deleteDestination",
    "getSubscriptionById",
    "deleteSubscriptionById",
}
GRANTLESS_SCOPES = ("sellingpartnerapi::notifications",)
DENIED = "Access to requested resource is denied."
_CREDENTIALS = (
    ("client_id", "clientId"),
    ("client_secret", "clientSecret"),
    ("refresh_token", "refreshToken"),
)


def _lwa_error(status, error, description):
    return status, {"error": error, "error_description": description}


def _unauthorized(details):
    return ApiError(403, "Unauthorized", DENIED, details)


class Authority:
    """The seller's LWA credentials and the tokens this server issued."""

    def __init__(self, seller):
        self.credentials = {
            key: seller.get(scenario_key) or None for key, scenario_key in _CREDENTIALS
        }
        self.access_token_ttl = 3600
        self.rdt_ttl = 3600
        self._tokens = {}  # access token -> expiry (monotonic)
        self._rdts = {}  # rdt -> (expiry, grants)
        self._grantless = {}  # grantless access token -> expiry
        self._lock = threading.Lock()

    def set_credentials(self, client_id=None, client_secret=None, refresh_token=None):
        self.credentials = {
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }

    def _matches(self, key, value):
        expected = self.credentials.get(key)
        return expected is None or hmac.compare_digest(str(expected), str(value))

    def exchange(self, form):
        """LWA's refresh_token grant: (HTTP status, JSON body), a new access token on success
        (the client_credentials grant: see :meth:`grantless`)."""
        if form.get("grant_type") == "client_credentials":
            return self.grantless(form)
        if form.get("grant_type") != "refresh_token":
            return _lwa_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        if not form.get("client_id") or not form.get("client_secret"):
            return _lwa_error(
                400,
                "invalid_request",
                "The request is missing a required parameter : client_id/client_secret",
            )
        if not form.get("refresh_token"):
            return _lwa_error(
                400,
                "invalid_request",
                "The request is missing a required parameter : refresh_token",
            )
        if not self._matches("client_id", form["client_id"]) or not self._matches(
            "client_secret", form["client_secret"]
        ):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        if not self._matches("refresh_token", form["refresh_token"]):
            return _lwa_error(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token",
            )
        token = "Atza|sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + float(self.access_token_ttl)
        return 200, {
            "access_token": token,
            "refresh_token": form["refresh_token"],
            "token_type": "bearer",
            "expires_in": int(self.access_token_ttl),
        }

    def grantless(self, form):
        """LWA's client_credentials grant (no seller): a token for the grantless operations."""
        if not form.get("client_id") or not form.get("client_secret"):
            return _lwa_error(
                400,
                "invalid_request",
                "The request is missing a required parameter : client_id/client_secret",
            )
        if form.get("scope") not in GRANTLESS_SCOPES:
            return _lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
        if not self._matches("client_id", form["client_id"]) or not self._matches(
            "client_secret", form["client_secret"]
        ):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        token = "Atc|sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._grantless[token] = time.monotonic() + float(self.access_token_ttl)
        return 200, {
            "access_token": token,
            "scope": form["scope"],
            "token_type": "bearer",
            "expires_in": int(self.access_token_ttl),
        }

    def grant_rdt(self, grants):
        """A new RDT for ``grants`` (method, path regex, data elements): (token, expiresIn)."""
        token = "Atz.sprdt|sandbox-" + secrets.token_urlsafe(24)
        with self._lock:
            self._rdts[token] = (time.monotonic() + float(self.rdt_ttl), grants)
        return token, int(self.rdt_ttl)

    def authorize(self, request, name):
        """Return the RDT data elements granted for this request (empty for a plain token)."""
        token = request.headers.get("x-amz-access-token", "")
        now = time.monotonic()
        with self._lock:
            expiry = self._tokens.get(token)
            rdt = self._rdts.get(token)
            grantless = self._grantless.get(token)
        if grantless is not None:
            if now >= grantless:
                raise _unauthorized("The access token you provided has expired.")
            if name not in GRANTLESS:
                raise _unauthorized("This operation requires the seller's authorization.")
            return ()
        if expiry is not None and name in GRANTLESS:
            raise _unauthorized("This operation requires a grantless access token.")
        if expiry is not None:
            if now >= expiry:
                raise _unauthorized("The access token you provided has expired.")
            if name in RESTRICTED:
                raise _unauthorized("This operation requires a Restricted Data Token.")
            return ()
        if rdt is not None:
            rdt_expiry, grants = rdt
            if now >= rdt_expiry:
                raise _unauthorized("The access token you provided has expired.")
            for grant in grants:
                if grant["method"] == request.method and grant["regex"].match(request.path):
                    return tuple(grant.get("dataElements") or ())
            raise _unauthorized("The Restricted Data Token does not cover this resource.")
        if not token:
            raise _unauthorized("Missing access token.")
        raise _unauthorized("The access token you provided is revoked, malformed or invalid.")
