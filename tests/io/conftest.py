"""Small files of every kind the readers meet, written into the test's temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def make_segment(tmp_path: Path) -> Callable[..., Path]:
    """Write a segment folder whose layer ``i`` is filled with the value ``i`` (uint16)."""

    def make(
        segment_id: str = "20230702185753",
        layers: int = 5,
        shape: tuple[int, int] = (24, 32),
        digits: int = 2,
        suffix: str = ".tif",
        folder: str = "layers",
        mask: str | None = "mask.png",
        inklabels: str | None = "inklabels.png",
        ir: bool = False,
    ) -> Path:
        import cv2
        import tifffile

        root = tmp_path / segment_id
        (root / folder).mkdir(parents=True)
        for i in range(layers):
            name = root / folder / f"{i:0{digits}d}{suffix}"
            if suffix == ".tif":
                tifffile.imwrite(name, np.full(shape, 1000 + i, np.uint16))
            else:
                cv2.imwrite(str(name), np.full(shape, 10 * i, np.uint8))
        pieces = {"mask": mask, "inklabels": inklabels, "ir": "ir.png" if ir else None}
        for piece, name in pieces.items():
            if name:
                image = np.zeros(shape, np.uint8)
                image[: shape[0] // 2] = {"mask": 255, "inklabels": 1, "ir": 77}[piece]
                cv2.imwrite(str(root / name), image)
        return root

    return make


@pytest.fixture
def sparse_fits() -> Callable[..., Path]:
    """Write a FITS file whose data is a hole in the file system: reading it all would take GBs of memory."""
    return _sparse_fits


def _sparse_fits(path: Path, shape: tuple[int, int], bitpix: int = -32) -> Path:
    from astropy.io import fits

    header = fits.Header([("SIMPLE", True), ("BITPIX", bitpix), ("NAXIS", 2), ("NAXIS1", shape[1]),
                          ("NAXIS2", shape[0]), ("EXTEND", True)])
    text = header.tostring().encode()
    nbytes = shape[0] * shape[1] * abs(bitpix) // 8
    with open(path, "wb") as handle:
        handle.write(text)
        handle.truncate(len(text) + -(-nbytes // 2880) * 2880)
    return path
