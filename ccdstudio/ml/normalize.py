"""Input normalisation, part of every model: the method and its parameters live in the model file.

Statistics are measured once per image (on a regular sample of the plane's data section, DATASEC, or of the
whole plane, read lazily) and applied to every tile and crop, so tiles of one frame are scaled identically
and tiled inference matches a whole-image pass. An overscan is left out: its pixels collect no dark charge,
so on a frame whose dark charge is a read noise or more its blocks would be the darkest, and the data would
seem to glow all over.

- ``"ccd"``: ``z = (ADU - pedestal) / sigma`` with the robust pedestal and MAD noise of each plane, so a
  model does not depend on a camera's pedestal or gain; ``z`` is clipped to ``clip`` and, with
  ``softening > 0``, compressed as ``asinh(z / softening)`` so that a 3-sigma cluster pixel and a
  10^4-sigma hot pixel both stay in a range a network trains on. With ``pedestal="dark"`` the pedestal
  and noise come from the frame's darkest blocks (:func:`dark_pedestal`), which stays right when
  amplifier glow covers most of a frame and would pull the median of the whole plane up. With
  ``pedestal="overscan"`` the pedestal is measured row by row in the plane's serial overscan (BIASSEC, or
  the columns beside DATASEC), and the noise there too: pixels that collect no charge show the pedestal with
  its drift and the bare read noise, however much of the frame glows
  (:func:`~ccdstudio.imaging.overscan.plane_pedestal`). Planes without an overscan fall back to the darkest
  blocks.
- ``"percentile"``: ``(x - p_low) / (p_high - p_low)`` with percentiles over all channels together (scroll
  layers share one scale), clipped to ``clip``.
- ``"none"``: the values as float32.

NaN and infinite inputs become 0, the background level of every method.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.noise import CLIPPED_STD, MAD_TO_SIGMA, robust_pedestal
from ccdstudio.imaging.overscan import plane_pedestal
from ccdstudio.io.ccd import clip_window, data_window
from ccdstudio.io.source import ImageSource

Method = Literal["ccd", "percentile", "none"]
Pedestal = Literal["frame", "dark", "overscan"]

_DEFAULT_CLIP = {"ccd": (-20.0, 1000.0), "percentile": (-0.5, 1.5), "none": (-math.inf, math.inf)}


@dataclass(frozen=True)
class Stats:
    """Per-channel offset and scale measured on one image: ``(x - offset - row_pedestal[row]) / scale``."""

    offset: tuple[float, ...]
    scale: tuple[float, ...]
    row_pedestal: np.ndarray | None = field(default=None, compare=False)
    """``(channels, image rows)`` float32 pedestal of each row (from an overscan), or None."""

    def standardize(self, image: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """``image`` (``(h, w)`` or ``(channels, h, w)``, the image's ``rows``) as float32 ``(channels, h, w)``
        in units of the scale, NaN kept."""
        x = np.array(image, dtype=np.float32, ndmin=3, copy=True)
        if x.shape[0] != len(self.offset):
            raise CcdstudioError(f"expected {len(self.offset)} channel(s), got {x.shape[0]}")
        x -= np.asarray(self.offset, np.float32)[:, None, None]
        if self.row_pedestal is not None:
            x -= self.row_pedestal[:, rows, None]
        x /= np.asarray(self.scale, np.float32)[:, None, None]
        return x


@dataclass(frozen=True)
class Normalization:
    """How a model's input is scaled; see the module docstring for the methods."""

    method: Method = "ccd"
    clip: tuple[float, float] | None = None
    softening: float = 3.0
    percentiles: tuple[float, float] = (0.5, 99.5)
    pedestal: Pedestal = "frame"

    def __post_init__(self) -> None:
        if self.method not in _DEFAULT_CLIP:
            raise CcdstudioError(f"unknown normalisation {self.method!r}; choose ccd, percentile or none")
        if self.pedestal not in ("frame", "dark", "overscan"):
            raise CcdstudioError(f"unknown pedestal estimate {self.pedestal!r}; choose frame, dark or overscan")
        if self.clip is None:
            object.__setattr__(self, "clip", _DEFAULT_CLIP[self.method])
        low, high = self.percentiles
        if not 0 <= low < high <= 100:
            raise CcdstudioError(f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}")

    @property
    def summary(self) -> str:
        """A few words for a model card: the method and where its offset and scale come from."""
        if self.method == "percentile":
            return f"percentile ({self.percentiles[0]:g}-{self.percentiles[1]:g} %)"
        if self.method == "none":
            return "none"
        return {"frame": "ccd (pedestal and noise of the whole frame)",
                "dark": "ccd (pedestal and noise of the darkest blocks)",
                "overscan": "ccd (pedestal row by row and noise from the overscan, else the darkest blocks)",
                }[self.pedestal]

    def to_dict(self) -> dict[str, Any]:
        clip = [c if math.isfinite(c) else None for c in self.clip]  # JSON has no infinity
        return {"method": self.method, "clip": clip, "softening": self.softening, "percentiles": list(self.percentiles),
                "pedestal": self.pedestal}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Normalization:
        try:
            clip = data.get("clip")
            if clip is not None:
                clip = (-math.inf if clip[0] is None else float(clip[0]), math.inf if clip[1] is None else float(clip[1]))
            return cls(str(data["method"]), clip, float(data.get("softening", 3.0)),
                       tuple(float(p) for p in data.get("percentiles", (0.5, 99.5))), str(data.get("pedestal", "frame")))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise CcdstudioError(f"not a normalisation description: {error}") from None

    def measure(self, source: ImageSource, planes: Sequence[int]) -> Stats:
        """Statistics of ``source``'s ``planes``: :meth:`fit` on a regular sample, and with
        ``pedestal="overscan"`` each plane's pedestal row by row and noise from its serial overscan (a
        parallel overscan's column pedestal is not used here)."""
        stats = self.fit(sample_planes(source, planes))
        if self.method != "ccd" or self.pedestal != "overscan":
            return stats
        offsets, scales = list(stats.offset), list(stats.scale)
        height = source.planes[planes[0]].shape[0]
        profile, measured = np.zeros((len(planes), height), np.float32), False
        for c, plane in enumerate(planes):
            found = plane_pedestal(source, plane)
            if found is not None:
                profile[c], scales[c], offsets[c], measured = found.rows, found.noise, 0.0, True
        return Stats(tuple(offsets), tuple(scales), profile if measured else None)

    def fit(self, sample: np.ndarray) -> Stats:
        """Statistics of an image (``(h, w)`` or ``(channels, h, w)``; a strided sample is fine).

        ``pedestal="overscan"`` needs the whole plane (:meth:`measure`); on a sample it is ``"dark"``."""
        sample = np.asarray(sample)
        channels = sample.reshape((-1,) + sample.shape[-2:]) if sample.ndim >= 2 else sample.reshape(1, 1, -1)
        n = channels.shape[0]
        if self.method == "none":
            return Stats((0.0,) * n, (1.0,) * n)
        if self.method == "ccd":
            estimate = robust_pedestal if self.pedestal == "frame" else dark_pedestal
            pairs = [estimate(c) for c in channels]
            offsets = tuple(p for p, _ in pairs)
            scales = tuple(s if s > 0 else _fallback_scale(c, p) for (p, s), c in zip(pairs, channels))
        else:
            finite = channels[np.isfinite(channels)] if channels.dtype.kind == "f" else channels.ravel()
            if finite.size == 0:
                offsets, scales = (float("nan"),) * n, (float("nan"),) * n
            else:
                low, high = np.percentile(finite, self.percentiles)
                offsets, scales = (float(low),) * n, (float(high - low) if high > low else 1.0,) * n
        if not all(math.isfinite(v) for v in offsets + scales):
            raise CcdstudioError("the image has no finite pixels to normalise")
        return Stats(offsets, scales)

    def apply(self, image: np.ndarray, stats: Stats, rows: slice = slice(None)) -> np.ndarray:
        """``image`` (``(h, w)`` or ``(channels, h, w)``: ``rows`` of the image ``stats`` were measured on)
        scaled to float32 as ``(channels, h, w)``."""
        x = stats.standardize(image, rows)
        np.nan_to_num(x, copy=False, nan=0.0, posinf=self.clip[1], neginf=self.clip[0])
        np.clip(x, self.clip[0], self.clip[1], out=x)
        if self.method == "ccd" and self.softening > 0:
            x /= self.softening
            np.arcsinh(x, out=x)
        return x


def dark_pedestal(plane: np.ndarray, block: int = 32, margin: float = 5.0) -> tuple[float, float]:
    """``(pedestal, sigma)`` of the darkest part of a 2-D plane, NaN-safe.

    The plane is cut into ``block``-square blocks with a median and a noise each. Blocks whose median
    lies within ``margin`` block-noises of the darkest ones (the 2nd percentile of the medians) are the
    background; the pedestal is the median of their medians, the noise the median of their noises. A noise
    within a block ignores pedestal drift and glow gradients, and the margin keeps a slowly drifting
    pedestal (a few sigma) in while glow brighter than that stays out. A block's noise is the standard
    deviation of its values within 3 sigma of its median (corrected for the cut), not the MAD: integer ADU
    make the MAD a multiple of 0.5 ADU, which is 40 % off for a 2-ADU read noise. Planes of fewer than 16
    blocks get :func:`~ccdstudio.imaging.noise.robust_pedestal`.
    """
    values = np.asarray(plane)
    rows, cols = values.shape[0] // block, values.shape[1] // block
    if rows * cols < 16:
        return robust_pedestal(values)
    blocks = values[: rows * block, : cols * block].astype(np.float64)
    blocks = blocks.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows * cols, block * block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks (a NaN column) give NaN and drop out
        medians = np.nanmedian(blocks, axis=1)
        deviations = blocks - medians[:, None]
        noises = MAD_TO_SIGMA * np.nanmedian(np.abs(deviations), axis=1)
        for _ in range(2):  # clipped standard deviation, started from the MAD (at least half an ADU step)
            cut = 3.0 * np.maximum(noises, 0.5)[:, None]
            inside = np.abs(deviations) <= cut
            noises = np.sqrt(np.nansum(np.where(inside, deviations**2, 0.0), axis=1) / inside.sum(1)) / CLIPPED_STD
    usable = np.isfinite(medians) & np.isfinite(noises)
    if usable.sum() < 4:
        return robust_pedestal(values)
    medians, noises = medians[usable], noises[usable]
    darkest = medians <= np.percentile(medians, 10)
    floor = np.percentile(medians, 2) + margin * float(np.median(noises[darkest]))
    background = medians <= floor
    return float(np.median(medians[background])), float(np.median(noises[background]))


def _fallback_scale(values: np.ndarray, pedestal: float) -> float:
    """A noise scale for frames whose MAD is 0 (quantised, or mostly one value): the spread of the values
    between their 1st and 99th percentiles (so a few hot pixels do not set it), else 1."""
    finite = values[np.isfinite(values)].astype(np.float64)
    if finite.size == 0:
        return 1.0
    low, high = np.percentile(finite, [1, 99])
    spread = float(np.sqrt(np.mean((np.clip(finite, low, high) - pedestal) ** 2)))
    return spread if spread > 0 else 1.0


def sample_planes(source: ImageSource, planes: Sequence[int], max_pixels: int = 1_000_000) -> np.ndarray:
    """A regular sample of ``planes`` (``(channels, h', w')``), at most ``max_pixels`` per plane, read lazily;
    of the data section alone when the first plane's header names one (DATASEC)."""
    height, width = source.planes[planes[0]].shape
    data = data_window(source.planes[planes[0]].header)  # may name pixels beyond a cropped plane
    rows, cols = (data and clip_window(data, (height, width))) or (slice(0, height), slice(0, width))
    step = max(1, math.ceil(math.sqrt((rows.stop - rows.start) * (cols.stop - cols.start) / max_pixels)))
    window = (slice(rows.start, rows.stop, step), slice(cols.start, cols.stop, step))
    return source.read_stack(list(planes), window)
