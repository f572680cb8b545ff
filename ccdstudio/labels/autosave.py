"""Autosaves of label maps and finding them again after a crash.

Each autosave is one ``.npz`` file in a folder (the project's ``.autosave/``) holding the labels and a JSON
record of who wrote it (pid, host, process start time) and when. It is written atomically, so a kill at any
moment leaves either the previous autosave or the new one, never a torn file. A session also keeps a lock
file ``session-<pid>.lock`` there while it autosaves, so other windows can see the project is in use.

An autosave is offered for recovery when the process that wrote it is gone (killed, crashed, power cut)
and it is newer than the labels saved on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.io.atomic import write_text, writing
from ccdstudio.labels.classes import ClassSet

SUFFIX = ".autosave.npz"


@dataclass(frozen=True)
class Owner:
    """The process that wrote an autosave. ``started`` tells a live process from a later one with its pid."""

    pid: int
    host: str
    started: float | None

    @classmethod
    def me(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname(), _process_start(os.getpid()))

    def alive(self) -> bool:
        """Whether this process still runs; a process on another host is assumed alive (never robbed)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process with that pid
        except OSError:
            return False
        current = _process_start(self.pid)
        return self.started is None or current is None or abs(current - self.started) < 1e-6

    def to_dict(self) -> dict:
        return {"pid": self.pid, "host": self.host, "started": self.started}

    @classmethod
    def from_dict(cls, data: dict) -> Owner:
        return cls(int(data["pid"]), str(data["host"]), None if data.get("started") is None else float(data["started"]))


def _process_start(pid: int) -> float | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), None where unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path(f"/proc/{pid}/stat").read_text()
        # Field 22 counts from after the ``(name)`` field, which may itself contain spaces.
        return float(text[text.rindex(")") + 2:].split()[19])
    return None


@dataclass(frozen=True)
class Autosave:
    """One autosave file and what its record says."""

    key: str
    path: Path
    time: float
    owner: Owner
    shape: tuple[int, int]


def autosave_path(folder: Path, key: str) -> Path:
    return folder / f"{key}{SUFFIX}"


def write(folder: Path, key: str, labels: np.ndarray, classes: ClassSet, owner: Owner | None = None) -> Path:
    """Write ``labels`` as the autosave of ``key`` (atomically) and return its path."""
    owner = owner or Owner.me()
    record = {"key": key, "time": time.time(), "owner": owner.to_dict(), "shape": list(labels.shape),
              "classes": classes.to_dict()["classes"]}
    path = autosave_path(folder, key)
    with writing(path, "the autosave") as tmp, open(tmp, "wb") as handle:
        # Uncompressed: an autosave must be quick; a unicode array needs no pickle to load.
        np.savez(handle, labels=np.ascontiguousarray(labels), record=np.array(json.dumps(record)))
    return path


def read(path: Path) -> tuple[np.ndarray, ClassSet, Autosave]:
    """The labels, classes and record of an autosave file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            info, classes = _parse_record(path, str(data["record"]))
            labels = data["labels"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise FormatError(f"the autosave {path} is unreadable: {error}") from None
    if labels.shape != info.shape or labels.dtype != np.uint8:
        raise FormatError(f"the autosave {path} does not hold the labels its record describes")
    return labels, classes, info


def read_record(path: Path) -> Autosave | None:
    """The record of an autosave, reading none of its labels; None if the file is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return _parse_record(path, str(data["record"]))[0]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, FormatError):
        return None


def _parse_record(path: Path, text: str) -> tuple[Autosave, ClassSet]:
    try:
        data = json.loads(text)
        classes = ClassSet.from_dict({"classes": data["classes"]})
        info = Autosave(str(data["key"]), path, float(data["time"]), Owner.from_dict(data["owner"]),
                        (int(data["shape"][0]), int(data["shape"][1])))
    except (ValueError, KeyError, TypeError, IndexError, CcdstudioError) as error:
        raise FormatError(f"the autosave {path} has an unreadable record: {error}") from None
    return info, classes


def scan(folder: Path) -> list[Autosave]:
    """Every readable autosave in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [read_record(path) for path in sorted(folder.glob(f"*{SUFFIX}"))]
    return sorted((a for a in found if a is not None), key=lambda a: a.time)


def remove_stray_temporaries(folder: Path, older_than: float = 600.0) -> int:
    """Delete temporary files that killed writers left in ``folder`` (only old ones: a live writer may be
    filling a new one); return how many were removed."""
    removed = 0
    limit = time.time() - older_than
    for path in folder.glob(".*.tmp*") if folder.is_dir() else []:
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
    return removed


def remove(folder: Path, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        autosave_path(folder, key).unlink()


# ------------------------------------------------------------------------------------------ session lock


def lock(folder: Path, owner: Owner | None = None) -> Path:
    """Write this session's lock file (its owner record) into ``folder``."""
    owner = owner or Owner.me()
    path = folder / f"session-{owner.pid}.lock"
    write_text(path, json.dumps(owner.to_dict()) + "\n", "the session lock")
    return path


def unlock(folder: Path, owner: Owner | None = None) -> None:
    owner = owner or Owner.me()
    with contextlib.suppress(FileNotFoundError):
        (folder / f"session-{owner.pid}.lock").unlink()


def live_sessions(folder: Path) -> list[Owner]:
    """Other processes that hold a lock on ``folder`` and still run; stale locks are removed."""
    me = Owner.me()
    live = []
    for path in sorted(folder.glob("session-*.lock")) if folder.is_dir() else []:
        try:
            owner = Owner.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner == me:
            continue
        if owner.alive():
            live.append(owner)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return live
