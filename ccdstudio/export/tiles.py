"""Fixed tiles covering a whole frame, with a manifest to stitch predictions back.

The frame is cut into ``size x size`` tiles in rows and columns from the top-left pixel (array order,
0-based ``[y, x]``). When the size does not divide the frame, the remainder is not dropped: either the last
tile of a row or column is moved back so it ends at the frame's edge and overlaps its neighbour
(``mode="overlap"``, every tile is real data), or it starts at the next multiple of ``size`` and the part
beyond the frame is filled with zeros in the image and background in the labels (``mode="pad"``).

The folder holds ``images/NNNN.tif`` (the chosen planes, stacked when more than one), ``labels/NNNN.png``
(indexed, with the class set) and ``export.json`` whose ``tiles`` list each tile's name and origin;
:func:`stitch_tiles` puts tiles (or predictions made on them) back into a frame.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.inputs import check_same_shape, classes_for, layer_planes, source_labels
from ccdstudio.export.output import check_output, manifest, read_manifest, staged_folder, write_json
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.io.write import write_tiff
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.labels.classes import ClassSet

TileMode = Literal["overlap", "pad"]


def tile_origins(length: int, size: int, mode: TileMode = "overlap") -> list[int]:
    """Start positions of tiles of ``size`` covering ``0..length-1`` along one axis."""
    if size < 1:
        raise CcdstudioError(f"the tile size must be positive, got {size}")
    if mode not in ("overlap", "pad"):
        raise CcdstudioError(f"unknown tile mode {mode!r}; choose overlap or pad")
    if mode == "overlap" and size > length:
        raise CcdstudioError(f"tiles of {size} pixels are larger than the image side of {length}; "
                             "use a smaller size or --pad")
    origins = list(range(0, length, size))
    if mode == "overlap" and origins[-1] + size > length:
        origins[-1] = length - size  # the last tile ends at the edge and overlaps the one before
    return sorted(set(origins))


def tile_windows(shape: tuple[int, int], size: int, mode: TileMode = "overlap") -> list[Window]:
    """Tile windows covering a frame, row by row; with ``"pad"`` the last ones may reach past the edge."""
    return [(slice(y, y + size), slice(x, x + size))
            for y in tile_origins(shape[0], size, mode) for x in tile_origins(shape[1], size, mode)]


def export_tiles(
    source: ImageSource,
    out: str | os.PathLike[str],
    size: int = 256,
    *,
    layers: tuple[int, int] | None = None,
    labels: Any | None = None,
    classes: ClassSet | None = None,
    mode: TileMode = "overlap",
    skip_without: int | None = None,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Job[Path]:
    """Cut ``source`` (and its labels) into tiles in ``out``; return ``out``.

    Parameters
    ----------
    layers
        ``(first, last)`` image planes to put in each tile (inclusive); all when None.
    labels, classes
        The label map (default: the source's own) and its classes.
    skip_without
        Write only tiles that hold at least one pixel of this class (needs labels).
    """
    check_output(out, overwrite)
    planes = layer_planes(source, layers)
    shape = tuple(source.planes[planes[0]].shape)
    if labels is None:
        labels, found = source_labels(source)
        classes = classes or found
    check_same_shape(shape, labels=labels)
    windows = tile_windows(shape, size, mode)
    if skip_without is not None:
        if labels is None:
            raise CcdstudioError("skipping tiles without a class needs labels")
        if not np.any(np.asarray(labels[:, :]) == skip_without):
            raise CcdstudioError(f"the labels contain no pixel of class {skip_without}; no tile would be written")
    classes = classes_for(labels, classes)

    records = []
    with staged_folder(out, overwrite) as staging:
        for i, window in enumerate(windows):
            check(cancel)
            valid = _inside(window, shape)
            tile_labels = None if labels is None else _padded(np.asarray(labels[valid]), size)
            if skip_without is not None and not np.any(tile_labels == skip_without):
                yield Progress((i + 1) / len(windows), f"tile {i + 1}/{len(windows)} skipped")
                continue
            name = f"{len(records):04d}"
            image = _padded(source.read_stack(planes, valid), size)
            write_tiff(staging / "images" / f"{name}.tif", image[0] if len(planes) == 1 else image)
            if tile_labels is not None:
                from ccdstudio.labels.io import save_labels

                save_labels(staging / "labels" / f"{name}.png", tile_labels, classes)
            records.append({"name": name, "y": window[0].start, "x": window[1].start,
                            "height": valid[0].stop - valid[0].start, "width": valid[1].stop - valid[1].start})
            yield Progress((i + 1) / len(windows), f"tile {i + 1}/{len(windows)}")
        if not records:
            raise CcdstudioError(f"no tile holds class {skip_without}")
        parameters = {"size": size, "mode": mode, "skip_without": skip_without,
                      "layer_planes": [source.planes[p].name for p in planes]}
        write_json(staging / "export.json", manifest(
            "tiles", source.path, parameters, image_shape=list(shape), tile_size=size,
            classes=classes.to_dict()["classes"] if classes else None, tiles=records))
    return Path(out)


def stitch_tiles(manifest: Mapping[str, Any] | str | os.PathLike[str],
                 tiles: Sequence[np.ndarray] | Mapping[str, np.ndarray], fill: float = 0) -> np.ndarray:
    """Put tiles (or per-tile predictions) back into a frame of the manifest's ``image_shape``.

    Parameters
    ----------
    manifest
        The tile export's ``export.json`` content, or its folder.
    tiles
        One array per manifest tile, in manifest order or by tile name; the last two axes are ``[y, x]``
        (leading axes, such as class probabilities, are kept). Padding beyond the frame is dropped.
    fill
        The value of pixels no tile covers (tiles skipped at export).

    Where tiles overlap, the later tile in the manifest wins; the overlap holds the same source pixels, so
    stitching the exported images gives the frame back exactly.
    """
    data = manifest if isinstance(manifest, Mapping) else read_manifest(manifest)
    if data.get("ccdstudio_export") != "tiles":
        raise CcdstudioError("not the manifest of a tile export")
    records = data["tiles"]
    arrays = [tiles[r["name"]] for r in records] if isinstance(tiles, Mapping) else list(tiles)
    if len(arrays) != len(records):
        raise CcdstudioError(f"{len(arrays)} tiles given for a manifest of {len(records)}")
    size = data["tile_size"]
    lead = np.asarray(arrays[0]).shape[:-2]
    frame = np.full((*lead, *data["image_shape"]), fill, dtype=np.asarray(arrays[0]).dtype)
    for record, tile in zip(records, arrays):
        tile = np.asarray(tile)
        if tile.shape != (*lead, size, size):
            raise CcdstudioError(f"tile {record['name']} is {tile.shape}, expected {(*lead, size, size)}")
        y, x, h, w = record["y"], record["x"], record["height"], record["width"]
        frame[..., y : y + h, x : x + w] = tile[..., :h, :w]
    return frame


def _inside(window: Window, shape: tuple[int, int]) -> Window:
    """The part of ``window`` inside the frame."""
    return (slice(window[0].start, min(window[0].stop, shape[0])),
            slice(window[1].start, min(window[1].stop, shape[1])))


def _padded(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` with zeros appended below and to the right up to ``size x size``."""
    pad = [(0, 0)] * (array.ndim - 2) + [(0, size - array.shape[-2]), (0, size - array.shape[-1])]
    return np.pad(array, pad) if any(p[1] for p in pad) else array
