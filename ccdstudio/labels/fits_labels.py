"""Label maps in FITS: a uint8 image whose ``CLASSn``/``COLORn`` cards name and colour each index.

A label map saved for a FITS image keeps that image's header cards (WCS, exposure, detector keywords), so the
labels line up with the sky and the detector in any FITS tool. Rows are written in array order, exactly like
the image data, so both share one orientation (array row 0 is FITS row 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.io.atomic import writing
from ccdstudio.labels.classes import ClassSet, LabelClass

SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
DEFAULT_EXTNAME = "LABELS"

_CLASS_CARD = re.compile(r"^(CLASS|COLOR)(\d{1,3})$")
# Cards that describe the data's layout and scaling: written fresh for the uint8 labels, never copied.
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|BZERO|BSCALE|BLANK|BUNIT|DATAMIN|DATAMAX|"
    r"CHECKSUM|DATASUM|EXTNAME|EXTVER|EXTLEVEL|ZIMAGE|ZCMPTYPE|ZBITPIX|ZNAXIS\d*|ZTILE\d*|ZNAME\d*|ZVAL\d*|"
    r"ZQUANTIZ|ZDITHER0|ZSIMPLE|ZEXTEND|ZBLOCKED|ZTENSION|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM|END)$"
)


def class_cards(classes: ClassSet) -> list[tuple[str, str, str]]:
    """``(keyword, value, comment)`` cards that describe ``classes``.

    Names are stored JSON-escaped, so plain ASCII names read as themselves and any other name (FITS headers
    are ASCII only, and FITS drops trailing blanks) still round-trips exactly.
    """
    cards = []
    for i, c in enumerate(classes):
        escaped = json.dumps(c.name)[1:-1]
        stripped = escaped.rstrip(" ")
        escaped = stripped + "\\u0020" * (len(escaped) - len(stripped))
        cards.append((f"CLASS{i}", escaped, f"name of label class {i}"))
        cards.append((f"COLOR{i}", "#{:02x}{:02x}{:02x}".format(*c.color), f"display colour of class {i}"))
    return cards


def classes_from_header(header: Any) -> ClassSet | None:
    """The class set described by ``CLASSn``/``COLORn`` cards, or None when there are none."""
    names: dict[int, str] = {}
    colors: dict[int, tuple[int, int, int]] = {}
    for key in header.keys():
        match = _CLASS_CARD.match(str(key))
        if not match:
            continue
        index, value = int(match.group(2)), str(header[key])
        if match.group(1) == "CLASS":
            names[index] = _unescape(value)
        elif re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            colors[index] = (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    if not names:
        return None
    padded = ClassSet.default(max(names) + 1)
    named = [LabelClass(names.get(i, c.name), c.color) for i, c in enumerate(padded)]
    try:
        return ClassSet(LabelClass(c.name, colors.get(i, c.color)) for i, c in enumerate(ClassSet(named)))
    except CcdstudioError as error:
        raise FormatError(f"the CLASSn cards do not form a class set: {error}") from None


def _unescape(value: str) -> str:
    try:
        return json.loads(f'"{value}"')
    except ValueError:
        return value


def label_header(classes: ClassSet, header: Mapping[str, Any] | Any | None = None):
    """An astropy header for a label image: ``header``'s non-structural cards plus the class cards."""
    from astropy.io import fits

    kept = []
    if header is not None:
        for card in header.cards if hasattr(header, "cards") else header.items():
            key = str(card[0]).upper()
            if not (_STRUCTURAL.match(key) or _CLASS_CARD.match(key)):
                kept.append(card if isinstance(card, fits.Card) else fits.Card(card[0], card[1]))
    # Built in one go: adding cards one at a time is quadratic in astropy (slow for 256 classes).
    return fits.Header(kept + [fits.Card(*card) for card in class_cards(classes)])


def save(path: str | os.PathLike[str], labels: np.ndarray, classes: ClassSet,
         header: Mapping[str, Any] | Any | None = None) -> None:
    """Write ``labels`` as the primary image of a new FITS file (atomically), keeping ``header``'s cards."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(data=labels, header=label_header(classes, header))
    with writing(path, "labels") as tmp:
        hdu.writeto(tmp, overwrite=True, output_verify="silentfix")


def save_extension(fits_path: str | os.PathLike[str], labels: np.ndarray, classes: ClassSet,
                   extname: str = DEFAULT_EXTNAME, header: Mapping[str, Any] | Any | None = None) -> None:
    """Add (or replace) an image extension ``extname`` holding ``labels`` in an existing FITS file.

    Every other HDU is copied unchanged. The extension's header takes the cards of ``header``, by default
    those of the first image HDU with the labels' shape (so WCS keywords apply to the labels too).
    """
    from astropy.io import fits

    from ccdstudio.labels.io import check_labels

    labels = check_labels(labels, classes)
    path = Path(fits_path)
    if not path.is_file():
        raise CcdstudioError(f"no FITS file {path} to add labels to")
    extname = extname.upper()
    try:
        # the stored values as stored: a BZERO/BSCALE integer frame is neither rescaled nor refused a memory map
        with writing(path, "labels") as tmp, fits.open(path, memmap=True, do_not_scale_image_data=True) as hdus:
            kept = [hdu for hdu in hdus if hdu.name.upper() != extname or isinstance(hdu, fits.PrimaryHDU)]
            if header is None:
                header = next((h.header for h in kept if h.is_image and h.shape == labels.shape), None)
            extension = fits.ImageHDU(data=labels, header=label_header(classes, header), name=extname)
            fits.HDUList([*kept, extension]).writeto(tmp, overwrite=True, output_verify="silentfix")
    except (ValueError, TypeError) as error:
        raise FormatError(f"cannot add labels to {path}: {error}") from None


def load(path: str | os.PathLike[str], extname: str | None = None) -> tuple[np.ndarray, ClassSet | None]:
    """The label image of a FITS file and its class set (None without ``CLASSn`` cards).

    Reads HDU ``extname`` if given, else a ``LABELS`` extension if there is one, else the first 2-D image.
    """
    with _open(path) as hdus:
        hdu = _label_hdu(hdus, path, extname)
        return np.array(hdu.data), classes_from_header(hdu.header)


def read_header(path: str | os.PathLike[str], extname: str | None = None):
    """The header of the HDU :func:`load` reads (to carry WCS and other cards into a converted file)."""
    with _open(path) as hdus:
        return _label_hdu(hdus, path, extname).header.copy()


@contextlib.contextmanager
def _open(path: str | os.PathLike[str]) -> Iterator[Any]:
    from astropy.io import fits
    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyUserWarning)  # "file may have been truncated" must not pass
        with fits.open(path, memmap=False) as hdus:
            yield hdus


def _label_hdu(hdus: Any, path: str | os.PathLike[str], extname: str | None) -> Any:
    names = [hdu.name.upper() for hdu in hdus]
    if extname is not None and extname.upper() not in names:
        raise CcdstudioError(f"{path} has no HDU called {extname}; it has {', '.join(names)}")
    wanted = (extname or (DEFAULT_EXTNAME if DEFAULT_EXTNAME in names else "")).upper()
    for hdu in hdus:
        if (hdu.name.upper() == wanted) if wanted else (hdu.is_image and hdu.data is not None):
            if hdu.data is None:
                raise FormatError(f"HDU {hdu.name} of {path} holds no data")
            return hdu
    raise FormatError(f"{path} holds no image to read labels from")
