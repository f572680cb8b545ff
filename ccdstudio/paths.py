"""Where the shipped files are: ``resources/`` (demo data, icons, presets) and ``models/`` (bundled models).

They sit beside the package in a checkout or editable install, under ``share/ccdstudio`` in a wheel
install, and beside the executable in a PyInstaller bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _candidates(name: str) -> list[Path]:
    here = Path(__file__).resolve().parent
    roots = [here.parent, Path(sys.prefix) / "share" / "ccdstudio"]
    if getattr(sys, "frozen", False):
        roots.insert(0, Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)))
    return [root / name for root in roots]


def shipped(name: str) -> Path:
    """The shipped folder ``name`` (``"resources"`` or ``"models"``); the first candidate if none exists."""
    candidates = _candidates(name)
    return next((path for path in candidates if path.is_dir()), candidates[0])


def resource(*parts: str) -> Path:
    """A file under ``resources/``, e.g. ``resource("demo", "ccd_demo.fits")``."""
    return shipped("resources").joinpath(*parts)


def models_dir() -> Path:
    """The folder of bundled model files."""
    return shipped("models")


def cache_dir() -> Path:
    """Where ccdstudio keeps data it can make again (simulated training sets, decoded segment layers):
    ``$CCDSTUDIO_CACHE``, else ``$XDG_CACHE_HOME/ccdstudio``, else ``~/.cache/ccdstudio``."""
    import os

    if os.environ.get("CCDSTUDIO_CACHE"):
        return Path(os.environ["CCDSTUDIO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ccdstudio"
