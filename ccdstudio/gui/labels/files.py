"""Which label file belongs to an image, and reading and writing it (outside a project).

An opened image finds its labels without asking: a scroll segment's ``inklabels.png`` (the 0/255 ink
convention), a FITS file's own ``LABELS`` extension, or ``<name>_labels.<ext>`` beside the image (written by
Save); of several, the one saved last (the image file's time for its extension). Otherwise it starts with
empty labels of the default class set: ink for segments, CCD for the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui.document import Document
from ccdstudio.gui.labels.session import LabelSession, SaveTarget
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.fits_labels import DEFAULT_EXTNAME
from ccdstudio.labels.io import (
    label_format,
    load_labels,
    save_ink_labels,
    save_labels,
    save_labels_extension,
)

LABEL_FILTER = ("PNG, indexed (*.png);;TIFF, ImageJ (*.tif *.tiff);;NumPy (*.npy);;FITS (*.fits *.fit *.fts)"
                ";;All label files (*.png *.tif *.tiff *.npy *.fits *.fit *.fts *.fits.gz)")
_IMAGE_SUFFIXES = (".fits.gz", ".fit.gz", ".fts.gz", ".fits", ".fit", ".fts", ".fz", ".tiff", ".tif", ".png",
                   ".npy", ".jpeg", ".jpg")


def image_stem(path: Path) -> str:
    """The image's name without its extension (a segment folder's name as it is)."""
    name = path.name
    for suffix in _IMAGE_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def default_preset(document: Document) -> str:
    """``"ink"`` for scroll segments, ``"ccd"`` for everything else."""
    return "ink" if document.source.format == "segment" else "ccd"


def has_label_extension(document: Document) -> bool:
    return document.is_fits and any(p.name.upper() == DEFAULT_EXTNAME for p in document.source.planes)


def ink_labels_path(document: Document) -> Path | None:
    """The ``inklabels`` piece of a segment, if it has one."""
    if document.source.format != "segment":
        return None
    plane = next((p for p in document.source.planes if p.role == "labels"), None)
    return Path(document.source.path) / plane.header["file"] if plane is not None else None


def suggested_path(document: Document) -> Path:
    """Where Save labels as… proposes to write: beside the image, FITS for FITS images, else PNG."""
    if document.source.format == "segment":
        return Path(document.path) / "inklabels.png"
    suffix = ".fits" if document.is_fits else ".png"
    return Path(document.path).with_name(f"{image_stem(Path(document.path))}_labels{suffix}")


def find_labels(document: Document) -> tuple[np.ndarray, ClassSet, SaveTarget] | None:
    """The labels saved for ``document``'s image, if any (see the module docstring for where)."""
    shape = tuple(document.plane_info.shape)
    ink = ink_labels_path(document)
    candidates: list[tuple[SaveTarget, dict]] = []
    if ink is not None:
        candidates.append((SaveTarget(ink, "ink"), {"convention": "ink"}))
    if has_label_extension(document):
        candidates.append((SaveTarget(Path(document.path), "extension"), {"extname": DEFAULT_EXTNAME}))
    beside = suggested_path(document)
    if document.source.format != "segment":
        for suffix in (".png", ".tif", ".npy", ".fits"):
            candidates.append((SaveTarget(beside.with_suffix(suffix)), {}))
    found = [(target, options) for target, options in candidates if target.path.is_file()]
    found.sort(key=lambda candidate: candidate[0].path.stat().st_mtime, reverse=True)  # the last saved first
    for target, options in found:
        labels, classes = load_labels(target.path, **options)
        if labels.shape == shape:
            return labels, classes, target
    return None


def open_labels(path: Path, shape: tuple[int, int]) -> tuple[np.ndarray, ClassSet, SaveTarget]:
    """Read a label file chosen by the user for an image of ``shape``."""
    labels, classes = load_labels(path)
    if labels.shape != tuple(shape):
        raise CcdstudioError(f"{path.name} is {labels.shape[1]} x {labels.shape[0]} but the image is "
                             f"{shape[1]} x {shape[0]}")
    kind = "ink" if path.name.lower().endswith("inklabels.png") and classes == ClassSet.preset("ink") else "file"
    return labels, classes, SaveTarget(path, kind)  # type: ignore[arg-type]


def write(session: LabelSession, target: SaveTarget) -> None:
    """Save the session's labels to ``target`` (atomically; raises CcdstudioError with the reason)."""
    if target.kind == "extension":
        save_labels_extension(target.path, session.labels, session.classes)
    elif target.kind == "ink" and len(session.classes) == 2:
        save_ink_labels(target.path, session.labels)
    else:
        header = session.header if label_format(target.path) == "fits" else None
        save_labels(target.path, session.labels, session.classes, header=header)
