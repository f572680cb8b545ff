"""Thresholds: a manual range, Fiji's automatic methods, k-sigma over a robust CCD pedestal, the two-level
(hysteresis) cluster finder, and multi-class intensity rules.

Every threshold is an inclusive range ``low <= value <= high`` in data units, as ImageJ's threshold is; NaN
pixels are never selected. Automatic methods see the image as ImageJ does, as 256 bins:

- 8-bit images: one bin per value.
- other integer images (ImageJ's 16-bit): ``bin = int((v - min) * 256 / (max - min + 1) + 0.5)``, capped at 255.
- float images: ``bin = int((v - min) * 255 / (max - min) + 0.5)`` in float32 arithmetic, capped at 255.

and turn the bin index back into data units as ``ImageProcessor.setAutoThreshold`` does:
``min + bin / 255 * (max - min)``. Unlike ImageJ (which puts NaN in bin 0), NaN pixels are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.autothreshold import METHODS, threshold_index
from ccdstudio.imaging.noise import robust_pedestal, robust_pedestal_lines
from ccdstudio.io.source import ImageSource

Lines = Literal["rows", "columns"]


class NoThreshold(CcdstudioError):
    """No threshold can be found: the image is constant, so nothing stands out from the background."""


@dataclass(frozen=True)
class ImageJHistogram:
    """The 256-bin histogram ImageJ thresholds on, and the data range it spans."""

    counts: np.ndarray
    low: float
    high: float
    eight_bit: bool

    def to_data(self, level: float) -> float:
        """A histogram level (0-255) in data units."""
        if self.eight_bit:
            return float(level)
        return self.low + (level / 255.0) * (self.high - self.low)


def finite_values(image: np.ndarray) -> np.ndarray:
    """The finite pixel values of ``image`` (a view when there is no NaN), or :class:`CcdstudioError`."""
    data = np.asarray(image)
    if data.dtype.kind not in "biuf":
        raise CcdstudioError(f"cannot threshold an image of {data.dtype} values")
    if data.size == 0:
        raise CcdstudioError("the image is empty")
    if data.dtype.kind == "f":
        finite = np.isfinite(data)
        if not finite.all():
            data = data[finite]
            if data.size == 0:
                raise CcdstudioError("the image has no finite pixel values (all NaN or infinite)")
    return data.ravel()


def imagej_histogram(image: np.ndarray) -> ImageJHistogram:
    """The 256-bin histogram of ``image`` binned as ImageJ bins it for thresholding (see the module doc)."""
    values = finite_values(image)
    if values.dtype == np.uint8 or values.dtype == bool:
        return ImageJHistogram(np.bincount(values.view(np.uint8), minlength=256), 0.0, 255.0, True)
    low, high = values.min(), values.max()
    if values.dtype.kind in "iu":
        scale = 256.0 / (float(high) - float(low) + 1.0)
        bins = ((values.astype(np.float64) - float(low)) * scale + 0.5).astype(np.int64)
    else:
        low32, high32 = np.float32(low), np.float32(high)
        if high32 == low32:
            bins = np.zeros(values.size, np.int64)
        else:
            scale = np.float32(255.0) / (high32 - low32)
            bins = ((values.astype(np.float32) - low32) * scale + np.float32(0.5)).astype(np.int64)
    np.minimum(bins, 255, out=bins)
    return ImageJHistogram(np.bincount(bins, minlength=256), float(low), float(high), False)


def auto_threshold(image: np.ndarray, method: str = "Default", dark_background: bool = True) -> tuple[float, float]:
    """``(low, high)`` in data units chosen by one of Fiji's methods (:data:`METHODS`), as ImageJ sets it.

    With a dark background the objects are the bright pixels above the threshold, otherwise the dark ones.

    Raises
    ------
    NoThreshold
        The image is constant.
    CcdstudioError
        Unknown method, or no finite pixel.
    """
    if method not in METHODS:
        raise CcdstudioError(f"unknown threshold method {method!r}; choose from {', '.join(METHODS)}")
    hist = imagej_histogram(image)
    nonzero = np.flatnonzero(hist.counts)
    if (not hist.eight_bit and hist.low == hist.high) or nonzero.size == 1:
        raise NoThreshold(f"the image is constant ({hist.low:g} everywhere): nothing to threshold")
    t = threshold_index(method, hist.counts)
    low, high = (min(t + 1, 255), 255) if dark_background else (0, t)
    return hist.to_data(low), hist.to_data(high)


def threshold_range(image: np.ndarray, low: float, high: float | None = None) -> np.ndarray:
    """Boolean mask of ``low <= value <= high`` (no upper limit when ``high`` is None); NaN is never in."""
    data = np.asarray(image)
    if high is not None and high < low:
        raise CcdstudioError(f"threshold range {low:g}:{high:g} ends before it starts")
    mask = data >= low
    if high is not None:
        mask &= data <= high
    return mask


@dataclass(frozen=True)
class PedestalThreshold:
    """A k-sigma threshold over a robust pedestal, and what it was measured from.

    ``pedestal`` and ``sigma`` are in ADU and broadcast against the image: scalars for the whole image,
    a column (``(h, 1)``) per row or a row (``(1, w)``) per column.
    """

    mask: np.ndarray
    pedestal: np.ndarray
    sigma: np.ndarray
    k: float
    k_low: float | None = None
    gain: float | None = None
    """ADU per electron, when known."""

    @property
    def sigma_electrons(self) -> np.ndarray | None:
        """The noise in electrons (``sigma / gain``), or None without a gain."""
        return None if self.gain is None else self.sigma / self.gain


def robust_background(image: np.ndarray, lines: Lines | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Median pedestal and MAD noise of ``image``, per image or per row/column to follow pedestal drift.

    Returns arrays that broadcast against the image. Raises :class:`NoThreshold` when the noise is zero.
    """
    data = np.asarray(image)
    finite_values(data)  # raises on an all-NaN image
    if lines is None:
        pedestal, sigma = robust_pedestal(data)
        pedestal_a, sigma_a = np.float64(pedestal), np.float64(sigma)
    elif lines in ("rows", "columns"):
        axis = 1 if lines == "rows" else 0
        pedestal_a, sigma_a = robust_pedestal_lines(data, axis=axis)
        pedestal_a, sigma_a = np.expand_dims(pedestal_a, axis), np.expand_dims(sigma_a, axis)
    else:
        raise CcdstudioError(f"pedestal lines must be 'rows' or 'columns', not {lines!r}")
    if not np.any(np.asarray(sigma_a) > 0):
        raise NoThreshold("the image has no noise (its median absolute deviation is 0): nothing stands "
                          "out from the pedestal")
    return pedestal_a, sigma_a


def amplifier_background(source: ImageSource, lines: Lines | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`robust_background` of each amplifier of a multi-amplifier ``source``, measured on its own plane
    and placed by DETSEC as :class:`~ccdstudio.io.ccd.MosaicSource` places the data: ``(pedestal, sigma)``,
    float32 arrays of the mosaic's size (amplifiers read at pedestals and noises of their own)."""
    from ccdstudio.io.ccd import amplifier_planes, assemble

    pedestals, sigmas = {}, {}
    for plane in amplifier_planes(source):
        data = source.read(plane)
        pedestal, sigma = robust_background(data, lines)
        pedestals[plane] = np.broadcast_to(np.asarray(pedestal, np.float32), data.shape)
        sigmas[plane] = np.broadcast_to(np.asarray(sigma, np.float32), data.shape)
    return assemble(source, pedestals), assemble(source, sigmas)


def sigma_threshold(image: np.ndarray, k: float = 5.0, k_low: float | None = None, *,
                    lines: Lines | None = None, connectivity: int = 8, gain: float | None = None,
                    background: tuple[np.ndarray, np.ndarray] | None = None) -> PedestalThreshold:
    """Pixels ``k`` sigma or more above a robust pedestal (median + MAD), the CCD cluster finder.

    With ``k_low`` the threshold has two levels (hysteresis): seed pixels ``>= k`` sigma grow into their
    connected neighbours ``>= k_low`` sigma (e.g. 5 and 3), with 4- or 8-connectivity. A ``gain`` (ADU per
    electron) does not change the mask (sigma scales with it); it is kept for reporting in electrons.
    ``background`` is ``(pedestal, sigma)`` measured already (:func:`amplifier_background`), instead of
    :func:`robust_background` of the image.
    """
    if k_low is not None and k_low > k:
        raise CcdstudioError(f"the growing level ({k_low:g} sigma) must not exceed the seed level ({k:g} sigma)")
    if gain is not None and not gain > 0:
        raise CcdstudioError(f"the gain must be positive, not {gain:g}")
    data = np.asarray(image)
    pedestal, sigma = robust_background(data, lines) if background is None else background
    with np.errstate(invalid="ignore"):
        significance = (data - pedestal) / np.where(sigma > 0, sigma, np.inf)
        seeds = significance >= k
        mask = seeds if k_low is None else hysteresis(seeds, significance >= k_low, connectivity)
    return PedestalThreshold(mask, np.asarray(pedestal), np.asarray(sigma), k, k_low, gain)


def hysteresis(seeds: np.ndarray, grow: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """The connected components of ``grow | seeds`` that contain at least one seed pixel."""
    import cv2

    if connectivity not in (4, 8):
        raise CcdstudioError(f"connectivity must be 4 or 8, not {connectivity}")
    region = (np.asarray(grow) | np.asarray(seeds)).astype(np.uint8)
    count, labels = cv2.connectedComponents(region, connectivity=connectivity, ltype=cv2.CV_32S)
    keep = np.zeros(count, dtype=bool)
    keep[labels[np.asarray(seeds, dtype=bool)]] = True
    keep[0] = False
    return keep[labels]


def classify_ranges(image: np.ndarray, rules: Sequence[tuple[float, float, int]]) -> np.ndarray:
    """A uint8 label map from intensity rules ``(low, high, class_index)``, inclusive ranges.

    Pixels matching no rule are 0 (background); where rules overlap, the later rule wins. NaN matches none.
    """
    data = np.asarray(image)
    labels = np.zeros(data.shape, dtype=np.uint8)
    for low, high, index in rules:
        if not 0 <= int(index) <= 255:
            raise CcdstudioError(f"class index {index} is outside 0-255")
        labels[threshold_range(data, low, high)] = int(index)
    return labels
