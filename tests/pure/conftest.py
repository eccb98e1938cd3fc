"""Pure-Python tests: sandbox fixtures, contract check at the end.

Every SP-API response a sandbox serves during the session is recorded and validated at the
end against Amazon's models (skipped when ../shared/sp-api is absent).

With ``$SP_SANDBOX_REJECTION_LOG`` set (``scripts/test`` sets it for the whole run), each
request a sandbox refuses as forbidden by Amazon's models goes there with the test that sent
it, for the run's closing check that the client sends none; tests marked
``forbidden_requests`` send such requests on purpose and keep theirs in a log of their own.
"""

import itertools
import json
import os
from pathlib import Path

import contract
import pytest
from sandbox_helpers import authorized_http

from amazon_sp import _adapter, ratelimit
from sp_sandbox import RECORDER, SandboxServer, Scenario

RECORDER.enable()

REJECTION_LOG = "SP_SANDBOX_REJECTION_LOG"  # read by sp_sandbox/app.py at each refusal
_TEST_LOGS = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "forbidden_requests: the test sends requests Amazon's models forbid on purpose (its "
        "sandbox refusals stay out of the run's rejection log)",
    )


@pytest.fixture(autouse=True)
def _sandbox_rejections(request, tmp_path_factory, monkeypatch):
    """Each test's sandbox refusals in a log of its own; then, unless the test is marked
    ``forbidden_requests``, appended to the run's log with the test's name."""
    run_log = os.environ.get(REJECTION_LOG)
    if not run_log:
        yield
        return
    own = tmp_path_factory.getbasetemp() / f"rejections-{next(_TEST_LOGS)}.jsonl"
    monkeypatch.setenv(REJECTION_LOG, str(own))
    yield
    if not own.exists():
        return
    if request.node.get_closest_marker("forbidden_requests") is None:
        with open(run_log, "a", encoding="utf-8") as handle:
            for line in own.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                entry["test"] = request.node.nodeid
                handle.write(json.dumps(entry) + "\n")
    Path(own).unlink()


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
