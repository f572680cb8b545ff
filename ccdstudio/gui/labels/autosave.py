"""Autosave of labels outside a project, and finding them again after a crash.

Inside a project, :meth:`ccdstudio.labels.project.Project.autosave` keeps autosaves in the project folder.
Labels edited without a project are autosaved into ``autosave/`` beside the application's settings file
(so tests that redirect the settings also redirect this), one file per image named from the image's
file name and a hash of its full path; ``images.json`` there maps each key back to its image so that the
next start can say which images have unsaved labels. The file format and the crash semantics (atomic
writes, a dead writer's autosave is offered, a live one's is not) are those of
:mod:`ccdstudio.labels.autosave`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import settings
from ccdstudio.io.atomic import write_text
from ccdstudio.labels import autosave as autosaves
from ccdstudio.labels.classes import ClassSet

INTERVAL_KEY = "labels/autosave_seconds"
DEFAULT_INTERVAL_S = 60
_INDEX = "images.json"


def interval_seconds() -> int:
    """How often labels are autosaved (setting ``labels/autosave_seconds``, default 60 s)."""
    try:
        return max(5, int(settings.settings().value(INTERVAL_KEY, DEFAULT_INTERVAL_S)))
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL_S


def folder() -> Path:
    return Path(settings.settings().fileName()).parent / "autosave"


def image_key(image_path: Path) -> str:
    """A file-name-safe key unique to the image (its name, then a hash of its absolute path)."""
    absolute = str(Path(image_path).resolve())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(absolute).name).strip("._")[:40] or "image"
    return f"{stem}-{hashlib.sha1(absolute.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class Found:
    """An autosave left by a session that ended without saving: which image, and the file."""

    image_path: Path
    autosave: autosaves.Autosave


def _index() -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((folder() / _INDEX).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {}


def write(image_path: Path, labels: np.ndarray, classes: ClassSet) -> Path:
    """Autosave the labels of the image at ``image_path`` (atomically)."""
    key = image_key(image_path)
    index = _index()
    if index.get(key) != str(Path(image_path).resolve()):
        index[key] = str(Path(image_path).resolve())
        write_text(folder() / _INDEX, json.dumps(index, indent=1), "the autosave index")
    return autosaves.write(folder(), key, labels, classes)


def remove(image_path: Path) -> None:
    """Delete the image's autosave (after a save, or when the user discards the changes)."""
    autosaves.remove(folder(), image_key(image_path))


def recoverable() -> list[Found]:
    """Autosaves whose writer is gone (a crash, a kill), oldest first."""
    index = _index()
    return [Found(Path(index[a.key]), a) for a in autosaves.scan(folder())
            if a.key in index and not a.owner.alive()]


def recoverable_for(image_path: Path, shape: tuple[int, int]) -> Found | None:
    key = image_key(image_path)
    return next((f for f in recoverable() if f.autosave.key == key and f.autosave.shape == tuple(shape)), None)


def read(found: Found) -> tuple[np.ndarray, ClassSet]:
    """The labels and classes of a recoverable autosave."""
    labels, classes, _ = autosaves.read(found.autosave.path)
    return labels, classes


def discard(found: Found) -> None:
    with contextlib.suppress(OSError, CcdstudioError):
        found.autosave.path.unlink()
