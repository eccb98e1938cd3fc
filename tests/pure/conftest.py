"""Pure-Python tests: sandbox fixtures, contract check at the end.

Every SP-API response a sandbox serves during the session is recorded and validated at the
end against Amazon's models (skipped when ../shared/sp-api is absent).
"""

import contract
import pytest
from sandbox_helpers import authorized_http

from amazon_sp import _adapter, ratelimit
from sp_sandbox import RECORDER, SandboxServer, Scenario

RECORDER.enable()


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts and ends with no cached access token and fresh rate buckets (the
    client keeps both per process, like Odoo's workers)."""
    _adapter.clear_token_cache()
    ratelimit.LIMITER.forget()
    yield
    _adapter.clear_token_cache()
    ratelimit.LIMITER.forget()


@pytest.fixture(scope="session")
def sandbox_scenario():
    """300 generated orders (seed 1), shared read-only by the session."""
    return Scenario.generate(orders=300, seed=1)


@pytest.fixture
def sandbox(sandbox_scenario):
    """A fresh sandbox server (speed 1000: rate limits barely bite) for one test."""
    with SandboxServer(sandbox_scenario, port=0, speed=1000.0) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def sandbox_contract_check():
    """After the session: every non-faulted body served must match Amazon's models."""
    yield
    exchanges = RECORDER.exchanges()
    if not exchanges or not contract.models_available():
        return
    failures = contract.validate_exchanges(exchanges)
    assert not failures, (
        f"{len(failures)} sandbox response(s) break Amazon's contract:\n" + "\n".join(failures[:20])
    )


@pytest.fixture
def sandbox_http(sandbox):
    """Plain httpx client on ``sandbox`` holding a fresh LWA access token."""
    with authorized_http(sandbox) as client:
        yield client
