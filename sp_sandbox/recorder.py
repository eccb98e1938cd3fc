"""Process-wide record of the SP-API responses sandboxes serve (for contract checks).

Disabled by default; ``RECORDER.enable()`` (the pytest conftest does it) makes every sandbox
server of the process append ``Exchange`` objects.
"""

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Exchange:
    model: str  # model file stem, e.g. "orders_2026-01-01"
    operation_id: str  # Amazon's operationId in that model
    status: int
    body: bytes
    faulted: bool  # deliberately broken by a fault (malformed/missing_field)


class Recorder:
    def __init__(self):
        self.enabled = False
        self._items = []
        self._lock = threading.Lock()

    def enable(self):
        self.enabled = True

    def disable(self):
        self.enabled = False

    def record(self, exchange):
        if self.enabled:
            with self._lock:
                self._items.append(exchange)

    def exchanges(self):
        with self._lock:
            return list(self._items)

    def clear(self):
        with self._lock:
            self._items.clear()


RECORDER = Recorder()
