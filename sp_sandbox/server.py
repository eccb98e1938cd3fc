"""``SandboxServer``: the WSGI app served by Werkzeug on 127.0.0.1 in a background thread."""

import logging
import threading
from datetime import timezone
from email.utils import format_datetime

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import SandboxApp
from .faults import FaultInjector
from .ratelimit import RateLimiter
from .scenario import Scenario
from .state import SellerState

_logger = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-"):
        _logger.debug("%s %s -> %s", self.command, self.path.split("?")[0], code)

    def log(self, type, message, *args):  # noqa: A002 - Werkzeug's signature
        _logger.debug(message, *args)

    def date_time_string(self, timestamp=None):
        # Amazon's ``Date`` header is Amazon's clock (clients place their sync window on it):
        # stamp the seller's virtual clock, which tests and campaigns move, not the machine's.
        state = getattr(getattr(self.server, "app", None), "state", None)
        if timestamp is not None or state is None:
            return super().date_time_string(timestamp)
        return format_datetime(state.now().astimezone(timezone.utc), usegmt=True)

    def connection_dropped(self, error, environ=None):
        # a "reset" fault (or a client that went away): never answer on this socket again;
        # the app set SO_LINGER 0 so closing it sends a TCP RST.
        self.close_connection = True


class SandboxServer:
    """An SP-API sandbox on loopback. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        scenario=None,
        port=0,
        speed=1.0,
        host="127.0.0.1",
        fault_seed=None,
        conventions=None,
        models_dir=None,
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only binds to loopback")
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.scenario = scenario if scenario is not None else Scenario.generate(orders=50, seed=1)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = int(port)
        self.speed = float(speed)
        self.rate_limiter = RateLimiter(speed=self.speed)
        self.state = SellerState(
            self.scenario, speed=self.speed, rate_limiter=self.rate_limiter, conventions=conventions
        )
        self.faults = FaultInjector(seed=fault_seed)
        self._stop_event = threading.Event()
        self.app = SandboxApp(
            self.state, self.rate_limiter, self.faults, self._stop_event, models_dir=models_dir
        )
        self._server = None
        self._thread = None

    # --- configuration ------------------------------------------------------
    def set_credentials(self, client_id=None, client_secret=None, refresh_token=None):
        """Credentials LWA accepts; None accepts anything."""
        self.app.auth.set_credentials(client_id, client_secret, refresh_token)

    @property
    def access_token_ttl(self):
        return self.app.auth.access_token_ttl

    @access_token_ttl.setter
    def access_token_ttl(self, seconds):
        self.app.auth.access_token_ttl = seconds

    @property
    def notifier(self):
        """The Notifications API's state and ORDER_CHANGE publisher (``notify.Notifier``)."""
        return self.app.notifier

    # --- lifecycle ----------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        self._stop_event.clear()
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sp-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.app.notifier.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stop_event.set()
        self.app.notifier.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def lwa_url(self):
        return f"{self.url}/auth/o2/token"
