"""Label maps on disk: indexed PNG, TIFF, NPY and FITS, each carrying its class set.

A label map is a 2-D uint8 array of class indices. The class set travels with it so that no file is
ambiguous: PNG keeps the class colours as its palette, TIFF keeps them as an ImageJ colour map and the whole
set in the ImageJ ``Info`` property, FITS keeps ``CLASSn``/``COLORn`` cards, and PNG, TIFF and NPY also get a
JSON sidecar ``<file>.classes.json``. Every write is atomic: a crash, a full disk or a read-only folder leaves
the previous file as it was.

The Vesuvius convention (``inklabels.png``: grey 0 = no ink, 255 = ink) is read with ``convention="ink"``
(or detected: a grey file holding only 0 and 255 and no class list) and written by :func:`save_ink_labels`.

Arrays are row-major ``[y, x]``. FITS rows are written in array order, exactly like the image they label, so
both share one orientation (row 0 is FITS row 1, shown at the bottom by FITS viewers).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.labels import fits_labels
from ccdstudio.io.atomic import write_text, writing
from ccdstudio.labels.classes import ClassSet, LabelClass

Convention = Literal["auto", "index", "ink"]

SIDECAR_SUFFIX = ".classes.json"
_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".npy": "npy"} | {s: "fits" for s in fits_labels.SUFFIXES}
_TIFF_INFO_KEY = "ccdstudio_classes="


def label_format(path: str | os.PathLike[str]) -> str:
    """The label format chosen by ``path``'s extension: ``"png"``, ``"tiff"``, ``"npy"`` or ``"fits"``."""
    name = Path(path).name.lower()
    for suffix, kind in sorted(_FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix):
            return kind
    raise CcdstudioError(f"cannot tell the label format of {path}: use .png, .tif, .npy or .fits")


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON file beside a label file that holds its class set: ``labels.png.classes.json``."""
    return Path(f"{os.fspath(path)}{SIDECAR_SUFFIX}")


def check_labels(labels: np.ndarray, classes: ClassSet | None = None) -> np.ndarray:
    """``labels`` as a 2-D uint8 array, checked against ``classes`` (every index must name a class)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise CcdstudioError(f"a label map must be 2-D, got shape {labels.shape}")
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    if labels.dtype != np.uint8:
        raise CcdstudioError(f"a label map must be uint8 class indices, got {labels.dtype}")
    if classes is not None and labels.size and int(labels.max()) >= len(classes):
        raise CcdstudioError(f"the label map uses class {int(labels.max())} but the class set has only "
                             f"{len(classes)} classes ({', '.join(classes.names)})")
    return labels


# ----------------------------------------------------------------------------------------------- saving


def save_labels(path: str | os.PathLike[str], labels: np.ndarray, classes: ClassSet,
                header: Mapping[str, Any] | None = None) -> None:
    """Write a label map and its class set; the format follows the extension.

    Parameters
    ----------
    path
        ``.png`` (indexed colour), ``.tif``/``.tiff`` (ImageJ), ``.npy`` or ``.fits``/``.fit``/``.fts``
        (optionally ``.gz``).
    labels
        2-D uint8 class indices, each below ``len(classes)``.
    classes
        The class set that gives the indices their names and colours.
    header
        For FITS only: the labelled image's header, whose cards (WCS, exposure, ...) are kept.

    Raises
    ------
    CcdstudioError
        Bad labels, an unknown extension, or a failed write (read-only folder, full disk); the previous
        file is then unchanged.
    """
    kind = label_format(path)
    labels = check_labels(labels, classes)
    if kind == "fits":
        fits_labels.save(path, labels, classes, header)
        return
    with writing(path, "labels") as tmp:
        _WRITERS[kind](tmp, labels, classes)
    _save_sidecar(path, classes)


def save_ink_labels(path: str | os.PathLike[str], labels: np.ndarray) -> None:
    """Write the Vesuvius convention: grey 0 where ``labels`` is 0, 255 elsewhere (PNG or TIFF).

    No sidecar is written (a stale one is removed) so the file reads back as the ``"ink"`` preset.
    """
    kind = label_format(path)
    if kind not in ("png", "tiff"):
        raise CcdstudioError(f"ink labels are written as grey PNG or TIFF, not {kind.upper()}: {path}")
    grey = np.where(check_labels(labels) > 0, np.uint8(255), np.uint8(0))
    with writing(path, "ink labels") as tmp:
        if kind == "png":
            _pil_image(grey, "L").save(tmp, format="PNG", compress_level=3)
        else:
            import tifffile

            tifffile.imwrite(tmp, grey, imagej=True, compression="zlib")
    with contextlib.suppress(FileNotFoundError):
        sidecar_path(path).unlink()


def _save_sidecar(path: str | os.PathLike[str], classes: ClassSet) -> None:
    rows = ",\n".join(f"  {json.dumps(row)}" for row in classes.to_dict()["classes"])
    text = f'{{"format": "ccdstudio-classes", "version": 1, "classes": [\n{rows}\n]}}\n'
    write_text(sidecar_path(path), text, "the class list")


def _pil_image(array: np.ndarray, mode: str):
    from PIL import Image

    array = np.ascontiguousarray(array)
    height, width = array.shape
    return Image.frombuffer(mode, (width, height), array, "raw", mode, 0, 1)


def _write_png(tmp: Path, labels: np.ndarray, classes: ClassSet) -> None:
    image = _pil_image(labels, "P")
    image.putpalette(classes.lut()[: len(classes)].ravel().tolist())
    image.save(tmp, format="PNG", compress_level=3)


def _write_tiff(tmp: Path, labels: np.ndarray, classes: ClassSet) -> None:
    import tifffile

    # An ImageJ palette image: Fiji shows the class colours, and the class set rides in the Info property
    # (7-bit ASCII, which json.dumps guarantees by escaping).
    colormap = classes.lut().T.astype(np.uint16) * 257
    tifffile.imwrite(tmp, labels, imagej=True, photometric="palette", colormap=colormap, compression="zlib",
                     metadata={"Info": _TIFF_INFO_KEY + classes.to_json()})


def _write_npy(tmp: Path, labels: np.ndarray, classes: ClassSet) -> None:
    with open(tmp, "wb") as handle:
        np.save(handle, labels, allow_pickle=False)


_WRITERS = {"png": _write_png, "tiff": _write_tiff, "npy": _write_npy}


# ---------------------------------------------------------------------------------------------- loading


def load_labels(path: str | os.PathLike[str], convention: Convention = "auto",
                extname: str | None = None, as_saved: bool = False) -> tuple[np.ndarray, ClassSet]:
    """Read a label map and its class set.

    Parameters
    ----------
    path
        A file written by :func:`save_labels`, or a label image from elsewhere (grey or indexed PNG/TIFF,
        integer NPY/FITS with values 0–255, a colour PNG whose colours match its sidecar's classes).
    convention
        ``"index"``: pixel values are class indices. ``"ink"``: the Vesuvius convention, any value of at
        least 128 (or at least 1 in a 0/1 file) is ink. ``"auto"``: indices, unless the file has no class
        list and holds only 0 and 255, which reads as ink.
    extname
        For FITS: the HDU to read; by default the ``LABELS`` extension if there is one, else the first image.
    as_saved
        For the label file of a project's image: read it in the classes it was saved with. By default the
        remaps the project recorded since then (merges, reorders) are applied, so exports and training see
        the project's current classes (:func:`ccdstudio.labels.project.in_project_classes`).

    Returns
    -------
    labels, classes
        Writable, C-contiguous uint8 ``[y, x]`` indices and their classes. Without class information the
        classes are ``background, class 1, ...`` up to the largest index.
    """
    path = Path(path)
    kind = label_format(path)
    if not path.is_file():
        raise CcdstudioError(f"no label file {path}")
    try:
        if kind == "fits":
            raw, classes = fits_labels.load(path, extname)
        else:
            raw, embedded = _READERS[kind](path)
            sidecar = _load_sidecar(path)
            # TIFF's Info property is the full class set; a PNG palette has colours but no names.
            classes = (embedded or sidecar) if kind == "tiff" else (sidecar or embedded)
    except (CcdstudioError, MemoryError):
        raise
    except Exception as error:  # decoders (Pillow, tifffile, imagecodecs, astropy) each raise their own kinds
        raise FormatError(f"cannot read labels from {path}: {error}") from None
    labels, classes = _interpret(raw, classes, convention, path)
    if not as_saved:
        from ccdstudio.labels.project import in_project_classes  # the project module builds on this one

        labels, classes = in_project_classes(path, labels, classes)
    # Decoders may hand back read-only views (Pillow); callers edit label maps in place.
    return np.require(labels, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"]), classes


def load_ink_labels(path: str | os.PathLike[str]) -> tuple[np.ndarray, ClassSet]:
    """Read a Vesuvius ``inklabels.png`` (grey 0/255) as 0 = background, 1 = ink (the ``"ink"`` preset)."""
    return load_labels(path, convention="ink")


def _load_sidecar(path: Path) -> ClassSet | None:
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        return ClassSet.from_dict(json.loads(side.read_text(encoding="utf-8")))
    except (OSError, ValueError, CcdstudioError) as error:
        raise FormatError(f"the class list {side} is unreadable: {error}") from None


@contextlib.contextmanager
def _unlimited_pil() -> Iterator[None]:
    # Scroll-segment label maps exceed Pillow's decompression-bomb guard; they are the user's own files.
    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _read_png(path: Path) -> tuple[np.ndarray, ClassSet | None]:
    from PIL import Image

    with _unlimited_pil(), Image.open(path) as image:
        if image.format != "PNG":
            raise FormatError(f"{path} is not a PNG file")
        if image.mode in ("P", "PA"):
            palette = np.array(image.getpalette() or [], np.uint8).reshape(-1, 3)
            array = np.asarray(image.getchannel(0) if image.mode == "PA" else image)
            return array, _palette_classes(array, palette)
        if image.mode in ("LA", "RGBA"):
            image = image.convert("L" if image.mode == "LA" else "RGB")
        return np.asarray(image), None


def _palette_classes(array: np.ndarray, palette: np.ndarray) -> ClassSet:
    """Colours from a PNG palette, default names, as many classes as the largest index needs."""
    count = max(int(array.max()) + 1 if array.size else 1, 1)
    default = ClassSet.default(count)
    colors = [tuple(int(v) for v in palette[i]) if i < len(palette) else c.color for i, c in enumerate(default)]
    return ClassSet(LabelClass(c.name, color) for c, color in zip(default, colors))


def _read_tiff(path: Path) -> tuple[np.ndarray, ClassSet | None]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if len(tif.series) == 0:
            raise FormatError(f"{path} holds no image")
        array = tif.series[0].asarray()
        info = (tif.imagej_metadata or {}).get("Info", "") if tif.is_imagej else ""
    for line in str(info).splitlines():
        if line.startswith(_TIFF_INFO_KEY):
            return array, ClassSet.from_json(line[len(_TIFF_INFO_KEY):])
    return array, None


def _read_npy(path: Path) -> tuple[np.ndarray, ClassSet | None]:
    return np.load(path, allow_pickle=False), None


_READERS = {"png": _read_png, "tiff": _read_tiff, "npy": _read_npy}


def _interpret(raw: np.ndarray, classes: ClassSet | None, convention: Convention,
               path: Path) -> tuple[np.ndarray, ClassSet]:
    """Turn what a file holds into uint8 indices and a class set that names every index."""
    array = np.asarray(raw)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = _from_colors(array[..., :3], classes, convention, path)
    if array.ndim != 2:
        raise FormatError(f"{path} is not a 2-D label map (shape {raw.shape})")
    if convention == "ink":
        return _ink(array), ClassSet.preset("ink")
    array = _as_indices(array, path)
    if classes is None and convention == "auto" and _is_ink(array):
        return _ink(array), ClassSet.preset("ink")
    top = int(array.max()) if array.size else 0
    if classes is None:
        classes = ClassSet.default(top + 1)
    elif top >= len(classes):
        # A class list shorter than the data (edited elsewhere): name the extra indices rather than fail.
        classes = classes.padded(top + 1)
    return array, classes


def _as_indices(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.size and (not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255
                       or not np.array_equal(array, np.round(array))):
        raise FormatError(f"{path} holds values that are not class indices 0-255")
    return array.astype(np.uint8)


def _is_ink(array: np.ndarray) -> bool:
    counts = np.bincount(array.ravel(), minlength=256)
    return bool(counts[255]) and counts[1:255].sum() == 0


def _ink(array: np.ndarray) -> np.ndarray:
    # 0/255 grey (midpoint threshold, robust to anti-aliased edges) or already 0/1.
    threshold = 128 if array.size and array.max() > 1 else 1
    return (array >= threshold).astype(np.uint8)


def _from_colors(rgb: np.ndarray, classes: ClassSet | None, convention: Convention, path: Path) -> np.ndarray:
    """A colour label image: grey if its channels agree, else each colour looked up in ``classes``."""
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return rgb[..., 0]
    if classes is None or convention == "ink":
        raise FormatError(f"{path} is a colour image; a colour label map needs its class list "
                          f"({sidecar_path(path).name}) to map colours to classes")
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in classes.colors], np.uint32)
    if len(set(keys.tolist())) != len(keys):
        raise FormatError(f"{path}: two classes share a colour, so colours cannot be mapped to classes")
    order = np.argsort(keys)
    position = np.clip(np.searchsorted(keys[order], packed), 0, len(keys) - 1)
    if not np.array_equal(keys[order][position], packed):
        raise FormatError(f"{path} has colours that match none of its classes")
    return order[position].astype(np.uint8)


def save_labels_extension(fits_path: str | os.PathLike[str], labels: np.ndarray, classes: ClassSet,
                          extname: str = fits_labels.DEFAULT_EXTNAME) -> None:
    """Add or replace the label extension ``extname`` beside the image data of an existing FITS file.

    The other HDUs and their headers are kept as they are; the extension copies the header cards of the
    image it labels (WCS etc.). The write is atomic like every other.
    """
    fits_labels.save_extension(fits_path, labels, classes, extname)
