"""Atomic file writes: write beside the target, flush to disk, then rename over it.

A crash or a full disk mid-write leaves the previous file intact and at most a stray temporary file, and
:func:`writing` turns the operating system's failure into a message for the user.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ccdstudio.errors import CcdstudioError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "no permission to write there",
    errno.EPERM: "no permission to write there",
    errno.EROFS: "the folder is on a read-only file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
}


def _new_file_mode(target: Path) -> int:
    """The mode the written file gets: the replaced file's, else what ``open()`` would give (0666 less umask)."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The temporary name keeps the target's suffix so writers that choose a format by extension work.
    ``durable`` flushes the file to disk before the rename; a cache that can always be made again skips it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    except OSError as error:
        raise _about(error, target) from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, _new_file_mode(target))  # mkstemp made it 0600
        os.replace(tmp, target)
    except OSError as error:
        if error.filename != tmp_name:
            raise
        raise _about(error, target) from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _about(error: OSError, target: Path) -> OSError:
    """``error`` (of the same class) naming ``target``, the file the user asked for, not the temporary one."""
    return OSError(error.errno, error.strerror, str(target))


def write_error(path: str | os.PathLike[str], what: str, error: OSError) -> CcdstudioError:
    """A user-facing error for a failed write of ``what`` to ``path``."""
    reason = _REASONS.get(error.errno or 0, error.strerror or str(error))
    return CcdstudioError(f"could not save {what} to {path}: {reason} (the previous file, if any, is unchanged)")


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], what: str = "the file") -> Iterator[Path]:
    """:func:`atomic_path` that raises :class:`CcdstudioError` on any operating-system failure.

    ``what`` names the data for the message, e.g. ``"labels"`` or ``"the project"``.
    """
    try:
        with atomic_path(path) as tmp:
            yield tmp
    except OSError as error:
        raise write_error(path, what, error) from error


def write_text(path: str | os.PathLike[str], text: str, what: str = "the file") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with writing(path, what) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
