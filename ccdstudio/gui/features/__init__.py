"""Features that plug into the main window, one module each.

Every module in this package whose name does not start with ``_`` defines ``install(window) -> object``:
it adds its docks (``window.add_dock``), menus (``window.menus`` / ``window.menuBar()``), toolbar actions
(``window.toolbar``), listens to ``window.documentChanged`` and may add a ``window.close_guards`` entry. The
returned object is kept in ``window.features[name]`` so tests can reach it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def install_features(window: Any) -> dict[str, Any]:
    """Install every feature module into ``window``, in name order."""
    installed = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            installed[module.name] = importlib.import_module(f"{__name__}.{module.name}").install(window)
    return installed
