"""SP-API sandbox: a real HTTP server on loopback that behaves like Amazon's SP-API.

Independent of Odoo and of ``amazon_sp`` on purpose. See README.md.
"""

from .faults import Fault, FaultInjector
from .recorder import RECORDER, Exchange
from .scenario import Scenario
from .server import SandboxServer

__all__ = ["SandboxServer", "Scenario", "Fault", "FaultInjector", "RECORDER", "Exchange"]
