"""What an export reads: the image planes in a layer range, the label map and the mask of a source.

Everything stays lazy: a plane is wrapped as a 2-D array-like (:class:`PlaneArray`) that reads only the
window it is sliced with, so a 65-layer segment is never loaded whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.source import ImageSource
from ccdstudio.labels.classes import ClassSet


class PlaneArray:
    """One plane of a source as a lazy 2-D array: ``shape``, ``dtype`` and numpy slicing.

    Integer indices read a one-pixel window, so point reads (the sampler's mask checks) stay cheap.
    """

    def __init__(self, source: ImageSource, plane: int):
        self.source, self.plane = source, plane
        self.shape: tuple[int, int] = tuple(source.planes[plane].shape)  # type: ignore[assignment]
        self.dtype = np.dtype(source.planes[plane].dtype)
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key, slice(None))
        window, squeeze = [], []
        for axis, k in enumerate(key):
            if isinstance(k, (int, np.integer)):
                k = int(k) % self.shape[axis]
                window.append(slice(k, k + 1))
                squeeze.append(axis)
            else:
                window.append(k)
        out = self.source.read(self.plane, (window[0], window[1]))
        return out.squeeze(axis=tuple(squeeze)) if squeeze else out


def layer_planes(source: ImageSource, layers: tuple[int, int] | None = None) -> list[int]:
    """Plane indices of the image layers ``first..last`` (inclusive, 0-based; all when None).

    A segment's layers are its first ``metadata["layers"]`` planes (its IR image is an image plane but not
    a layer); any other source's layers are its image planes.
    """
    if source.format == "segment":
        candidates = list(range(int(source.metadata["layers"])))
    else:
        candidates = source.indices("image")
    if not candidates:
        raise CcdstudioError(f"{_name(source)} has no image plane to export")
    if layers is None:
        return candidates
    first, last = layers
    if first < 0 or last < first or last >= len(candidates):
        raise CcdstudioError(
            f"layers {first}-{last} are outside {_name(source)}, which has {len(candidates)} "
            f"layer{'s' if len(candidates) != 1 else ''} (0-{len(candidates) - 1})"
        )
    return candidates[first : last + 1]


def source_labels(source: ImageSource) -> tuple[Any | None, ClassSet | None]:
    """The source's own label map as class indices, and its classes when the file says (else None).

    A label plane backed by a file of its own (a segment's ``inklabels.png``) is read through
    :func:`ccdstudio.labels.io.load_labels`, which turns the Vesuvius 0/255 convention into indices 0/1;
    any other label plane is read lazily as it is.
    """
    planes = source.indices("labels")
    if not planes:
        return None, None
    plane = source.planes[planes[0]]
    file = plane.header.get("file") if hasattr(plane.header, "get") else None
    if file and source.path is not None and (Path(source.path) / file).is_file():
        from ccdstudio.labels.io import load_labels

        return load_labels(Path(source.path) / file)
    return PlaneArray(source, planes[0]), None


def source_mask(source: ImageSource) -> PlaneArray | None:
    """The source's mask plane (non-zero inside), or None."""
    planes = source.indices("mask")
    return PlaneArray(source, planes[0]) if planes else None


def check_same_shape(shape: tuple[int, int], **arrays: Any) -> None:
    """Raise when any of the named arrays (None skipped) does not have ``shape``."""
    for name, array in arrays.items():
        if array is not None and tuple(array.shape) != tuple(shape):
            verb = "are" if name.endswith("s") else "is"
            raise CcdstudioError(
                f"the {name} {verb} {array.shape[-1]}x{array.shape[-2]} but the image is {shape[1]}x{shape[0]}"
            )


def classes_for(labels: Any | None, classes: ClassSet | None) -> ClassSet | None:
    """The given classes, or generic ones up to the largest index in an in-memory label map."""
    if classes is not None or labels is None:
        return classes
    top = int(np.max(labels)) if isinstance(labels, np.ndarray) and labels.size else 1
    return ClassSet.from_names(["background"] + [f"class {i}" for i in range(1, max(top, 1) + 1)])


def _name(source: ImageSource) -> str:
    return Path(source.path).name if source.path is not None else "the image"
