"""Switches for the questions Amazon's models leave open (see README "Strictness and
conventions"). Defaults keep the historical behaviour; tests flip them to make the client prove
it does not rely on one answer."""

import threading

# name -> allowed values, default first
CHOICES = {
    "proceeds": ("tax_included", "itemized"),
    "window_echo": (True, False),
    "package_echo": (True, False),
    "fulfilled_by": (True, False),
}
_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _coerce(name, value):
    if name not in CHOICES:
        raise ValueError(f"unknown convention {name!r} (known: {', '.join(CHOICES)})")
    allowed = CHOICES[name]
    if isinstance(allowed[0], bool) and isinstance(value, str):
        value = _WORDS.get(value.strip().lower(), value)
    if value not in allowed or (isinstance(allowed[0], bool) and not isinstance(value, bool)):
        raise ValueError(f"convention {name}: {value!r} is not one of {list(allowed)}")
    return value


def parse_assignment(text):
    """``"name=value"`` (command line) -> (name, value)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    name = name.strip()
    return name, _coerce(name, value)


class Conventions:
    """The current value of each switch; thread-safe, settable at run time."""

    def __init__(self, values=None):
        self._lock = threading.Lock()
        self._values = {name: allowed[0] for name, allowed in CHOICES.items()}
        self.set(**(values or {}))

    def set(self, **values):
        checked = {name: _coerce(name, value) for name, value in values.items()}
        with self._lock:
            self._values.update(checked)
            return dict(self._values)

    def get(self, name):
        with self._lock:
            return self._values[name]

    def __getitem__(self, name):
        return self.get(name)

    def as_dict(self):
        with self._lock:
            return dict(self._values)
