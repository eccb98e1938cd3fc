"""python-amazon-sp-api is pinned because ``amazon_sp/_adapter.py`` overrides its internals.

The adapter subclasses the library's ``AccessTokenClient`` and mixes into its ``Client``
(constructor keywords, ``_request``, ``_check_response``, ``headers``, ``auth``, the
``_transport`` attribute). None of that is public API, so a new release may change it without
notice. These tests fail loudly, naming the piece, when the installed library is not the pinned
one or when one of the overridden internals differs from what the adapter was written against.

To move to another release: read each named function of the new release against
``_adapter.py``, adapt the adapter, then update ``PINNED`` in requirements.txt and the
fingerprints below (``python -m pytest tests/pure/test_sp_api_pin.py`` prints the new ones).
"""

import hashlib
import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"

# sha256 (first 12 hex digits) of the source of each library internal the adapter relies on,
# in python-amazon-sp-api as pinned in requirements.txt.
FINGERPRINTS = {
    "sp_api.base.client:Client.__init__": "00b3907d4f19",
    "sp_api.base.client:Client._request": "3f117667072f",
    "sp_api.base.client:Client._check_response": "da20f39e1283",
    "sp_api.base.client:Client.headers": "af07f01f4464",
    "sp_api.base.client:Client.auth": None,
    "sp_api.auth.access_token_client:AccessTokenClient.__init__": "722e8607ce0d",
    "sp_api.auth.access_token_client:AccessTokenClient._request": "40e094ae5d1c",
    "sp_api.auth.access_token_client:AccessTokenClient.get_auth": "2f6fa021e599",
    "sp_api.auth.access_token_client:AccessTokenClient.data": "429d652204be",
    "sp_api.auth.access_token_client:AccessTokenClient.headers": "f044f8afe426",
    "sp_api.auth.credentials:Credentials.__init__": "d533b93f527e",
}


def _pinned_version():
    for line in REQUIREMENTS.read_text().splitlines():
        found = re.match(r"\s*python-amazon-sp-api\s*==\s*([\w.]+)", line)
        if found:
            return found[1]
    return None


def _resolve(name):
    module_name, _, path = name.partition(":")
    obj = importlib.import_module(module_name)
    for part in path.split("."):
        obj = inspect.getattr_static(obj, part)
    return obj.fget if isinstance(obj, property) else obj


def _fingerprint(obj):
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:12]


def test_requirements_pin_one_exact_release():
    pinned = _pinned_version()
    assert pinned, "requirements.txt must pin python-amazon-sp-api==X.Y.Z (see this file)"
    installed = importlib.metadata.version("python-amazon-sp-api")
    assert installed == pinned, (
        f"python-amazon-sp-api {installed} is installed, the adapter was written against "
        f"{pinned}: install the pinned release (pip install -r requirements.txt)"
    )


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_overridden_internal_unchanged(name):
    try:
        obj = _resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{name} is gone from python-amazon-sp-api ({exc}): adapt _adapter.py")
    expected = FINGERPRINTS[name]
    if expected is None:  # only its presence matters (a one-line property)
        return
    actual = _fingerprint(obj)
    assert actual == expected, (
        f"{name} changed in the installed python-amazon-sp-api (fingerprint {actual}, "
        f"expected {expected}): re-read it against amazon_sp/_adapter.py before trusting "
        f"the adapter, then update the pin and this fingerprint"
    )
