"""pytest plugin (loaded by pyproject's addopts): collect the addon's folders as plain
directories, not Python packages.

The repo root is an Odoo addon and ``tests/`` holds its Odoo tests: their ``__init__.py``
import Odoo models, which only load inside Odoo. pytest (8+) would import them to look for
package-level fixtures before running the pure tests below them; nothing there is for pytest.
"""

import pytest

ROOT_MARKER = "__manifest__.py"


def pytest_collect_directory(path, parent):
    addon_root = path if (path / ROOT_MARKER).exists() else path.parent
    if (addon_root / ROOT_MARKER).exists() and path in (addon_root, addon_root / "tests"):
        return pytest.Dir.from_parent(parent, path=path)
    return None
