"""JPEG segment layers decoded once into an on-disk cache of uncompressed planes, read by memory map.

A JPEG cannot be read a window at a time: every read of a 10000 x 8000 layer would decode all 80 MB of
it (about a second), and a projection that walks 30 layers a block of rows at a time would decode each
layer once per block. So the first read of a JPEG layer decodes it and writes the pixels as an ``.npy``
file; that read and every later one is a window of a memory map, which costs what the window holds.

Where: ``<cache>/decoded-layers/<key>/<stem>-<bytes>-<mtime>.npy``, with ``<cache>`` from
:func:`ccdstudio.paths.cache_dir` (``$CCDSTUDIO_CACHE`` or ``~/.cache/ccdstudio``) and ``<key>`` a hash of
the layer folder's absolute path; ``source.txt`` in each key folder names the folder it caches. The JPEG's
size and modification time are in the file name, so an edited layer is decoded again.

How much: at most ``$CCDSTUDIO_LAYER_CACHE_GB`` (default :data:`DEFAULT_LIMIT_GB`) in all; after each new
file the least recently used files (by modification time, which a read refreshes) are deleted down to the
limit. A limit of 0, or a cache folder that cannot be written, falls back to decoding into memory.

Files are written beside their final name and renamed into place, without ``fsync``: the cache holds
nothing that cannot be decoded again, and a file cut short by a crash fails to map and is redone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np

from ccdstudio.errors import FormatError
from ccdstudio.io.atomic import atomic_path
from ccdstudio.io.raster import decode, raster_header, to_grey
from ccdstudio.io.source import Window

log = logging.getLogger(__name__)

DEFAULT_LIMIT_GB = 20.0
"""About four decoded 65-layer 10000 x 8000 segments (5.2 GB each as 8-bit)."""

FOLDER = "decoded-layers"


def cache_limit() -> int:
    """The cache's size limit in bytes (``$CCDSTUDIO_LAYER_CACHE_GB``); 0 turns the cache off."""
    text = os.environ.get("CCDSTUDIO_LAYER_CACHE_GB", "")
    try:
        gigabytes = float(text) if text.strip() else DEFAULT_LIMIT_GB
    except ValueError:
        log.warning("CCDSTUDIO_LAYER_CACHE_GB=%r is not a number; using %g", text, DEFAULT_LIMIT_GB)
        gigabytes = DEFAULT_LIMIT_GB
    return max(0, int(gigabytes * 2**30))


def cache_root() -> Path:
    """The folder holding every segment's decoded layers."""
    from ccdstudio.paths import cache_dir

    return cache_dir() / FOLDER


def cached_file(path: Path, root: Path | None = None) -> Path:
    """Where the decoded pixels of the layer file ``path`` are (or will be) kept."""
    path = path.resolve()
    key = hashlib.sha1(str(path.parent).encode()).hexdigest()[:16]
    stat = path.stat()
    return (root or cache_root()) / key / f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}.npy"


class DecodedLayer:
    """A JPEG (or PNG) layer read through the decoded-layer cache; decoded on the first read.

    ``shape`` and ``dtype`` come from the file header, so creating one decodes nothing.
    """

    def __init__(self, path: str | os.PathLike[str], root: Path | None = None):
        self.path = Path(path)
        self.shape, self.dtype, _ = raster_header(self.path)
        self._root = root
        self._pixels: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def cached(self) -> bool:
        """Whether the pixels are a memory map of a cache file (rather than decoded into memory)."""
        return isinstance(self._pixels, np.memmap)

    def read(self, window: Window | None = None) -> np.ndarray:
        with self._lock:
            if self._pixels is None:
                self._pixels = self._load()
            pixels = self._pixels
        return np.array(pixels if window is None else pixels[window])

    def close(self) -> None:
        with self._lock:
            self._pixels = None

    def _load(self) -> np.ndarray:
        limit = cache_limit()
        if limit == 0:
            return self._decode()
        target = cached_file(self.path, self._root)
        mapped = _map(target, self.shape, self.dtype)
        if mapped is not None:
            _touch(target)
            return mapped
        pixels = self._decode()
        try:
            _write(target, pixels, self.path)
            _evict(target.parent.parent, limit, keep=target)
        except OSError as error:  # read-only or full disk: work from memory, as without a cache
            log.info("cannot cache the decoded %s (%s); keeping it in memory", self.path.name, error)
            return pixels
        mapped = _map(target, self.shape, self.dtype)
        return pixels if mapped is None else mapped

    def _decode(self) -> np.ndarray:
        pixels = to_grey(decode(self.path))
        if pixels.shape != self.shape:
            raise FormatError(f"{self.path.name}: decoded size {pixels.shape} differs from its header")
        return pixels


def _map(target: Path, shape: tuple[int, int], dtype: np.dtype) -> np.memmap | None:
    """The cache file as a read-only memory map, or None when it is missing or not the expected plane."""
    if not target.is_file():
        return None
    try:
        pixels = np.load(target, mmap_mode="r")
    except (OSError, ValueError):  # cut short or damaged: decode again
        return None
    return pixels if pixels.shape == shape and pixels.dtype == dtype else None


def _touch(target: Path) -> None:
    """Mark a file as recently used (access times are often not kept, so the modification time is)."""
    try:
        os.utime(target)
    except OSError:
        pass


def _write(target: Path, pixels: np.ndarray, source: Path) -> None:
    """Write ``pixels`` as ``target`` (renamed into place); drop older decodes of the same layer."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    label = folder / "source.txt"
    if not label.is_file():
        label.write_text(f"{source.resolve().parent}\n")
    with atomic_path(target, durable=False) as tmp:
        np.save(tmp, pixels)
    for old in folder.glob(f"{source.stem}-*.npy"):  # layer stems are digits, so this is this layer only
        if old != target:
            old.unlink(missing_ok=True)


def _evict(root: Path, limit: int, keep: Path) -> None:
    """Delete the least recently used cache files until the cache holds at most ``limit`` bytes."""
    files = []
    for path in root.glob("*/*.npy"):
        if path.name.startswith("."):  # a file still being written (see the stale ones below)
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        if path == keep:
            continue
        try:
            path.unlink()  # a reader's memory map of it stays valid (POSIX)
        except OSError:  # e.g. mapped by another process on Windows
            continue
        total -= size
    for stale in root.glob("*/.*.tmp.npy"):  # left by a crash an hour or more ago
        try:
            if time.time() - stale.stat().st_mtime > 3600:
                stale.unlink()
        except OSError:
            pass
