"""The output folder of an export: checked first, filled in a staging folder, swapped in at the end.

Nothing is ever silently overwritten. A folder that exists and is not empty is refused unless
``overwrite`` is set, and even then only when it holds a previous ccdstudio export (its ``export.json``),
so a mistyped ``--out ~ --overwrite`` cannot delete a home folder. The export is written beside the
target and renamed into place when complete: a cancelled or failed export leaves the old folder as it
was and no half-written one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError

MANIFEST = "export.json"
"""The file that describes an export (kind, parameters, every sample and its origin)."""

FORMAT_VERSION = 1


def check_output(out: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Raise unless ``out`` may be written (absent, empty, or a previous export with ``overwrite``)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CcdstudioError(f"{out} is a file; choose a folder for the export")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise CcdstudioError(f"{out} is not empty; choose a new folder or pass --overwrite")
        if not (out / MANIFEST).is_file():
            raise CcdstudioError(f"{out} is not empty and holds no ccdstudio export ({MANIFEST}); "
                                 "refusing to overwrite it")
    return out


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``out`` when the block ends without an error."""
    out = check_output(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:  # cancelled, failed or the job closed early: drop the partial export
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def manifest(kind: str, source: Any, parameters: Mapping[str, Any], **content: Any) -> dict[str, Any]:
    """The common head of every ``export.json``: kind, format version, source and parameters.

    No date or host is recorded, so the same inputs and seed give a byte-identical file.
    """
    return {"ccdstudio_export": kind, "version": FORMAT_VERSION, "source": str(source or ""),
            "parameters": dict(parameters), **content}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (numpy scalars become plain numbers)."""
    path.write_text(json.dumps(data, indent=2, default=_plain) + "\n")


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``export.json`` of an export folder."""
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CcdstudioError(f"{folder} is not a ccdstudio export: no {MANIFEST}") from None
    except json.JSONDecodeError as error:
        raise CcdstudioError(f"{path} is damaged: {error}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
