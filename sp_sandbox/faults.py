"""Fault injection: per operation, random (seeded) or counted."""

import random
import threading
from dataclasses import dataclass, field

KINDS = ("400", "429", "500", "503", "slow", "reset", "malformed", "missing_field")
AFTER_EFFECT_KINDS = ("slow", "500", "reset")


@dataclass
class Fault:
    operation: str
    kind: str
    probability: float = 1.0
    count: int | None = None  # None = unlimited
    delay: float = 5.0
    after_effect: bool = False
    hits: int = field(default=0)

    def matches(self, names):
        return self.operation == "*" or self.operation in names

    @property
    def exhausted(self):
        return self.count is not None and self.hits >= self.count


class FaultInjector:
    """``srv.faults``: add(), clear(), list()."""

    def __init__(self, seed=None):
        self._faults = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def seed(self, seed):
        with self._lock:
            self._rng = random.Random(seed)

    def add(
        self, operation="*", kind="500", probability=1.0, count=None, delay=5.0, after_effect=False
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if after_effect and kind not in AFTER_EFFECT_KINDS:
            raise ValueError(f"after_effect only for {AFTER_EFFECT_KINDS}")
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError("probability must be within 0..1")
        fault = Fault(
            operation=operation,
            kind=kind,
            probability=float(probability),
            count=None if count is None else int(count),
            delay=float(delay),
            after_effect=bool(after_effect),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self._faults.clear()

    def list(self):
        with self._lock:
            return list(self._faults)

    def pick(self, names, after_effect=False, wildcard=True):
        """The fault hitting this request (and count it), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or fault.after_effect != after_effect:
                    continue
                if fault.operation == "*" and not wildcard:
                    continue
                if not fault.matches(names):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
        return None
