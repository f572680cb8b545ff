"""How detectable simulated clusters are, and how many of them a cluster finder found, by signal.

A cluster's *signal* is its noise-free charge summed over the frame, in units of the read noise. Its
*significance* is what an ideal matched filter (one that knows the cluster's exact shape and place) measures:
``sqrt(sum(s_i^2 / sigma_i^2))`` over its pixels, with ``sigma_i`` the read noise, or with
:func:`pixel_noise` also the shot noise of the dark charge and the glow under the cluster. No finder does
better than that filter, and a finder that has to look everywhere pays for each place it looks:
:func:`ideal_recall` is the recall such an ideal observer reaches at a given object precision, an upper bound
for any finder on the same frames. In a single frame that observer cannot tell a deposit whose charge stayed
in one pixel from a hot pixel: :func:`leak_significance` measures how plainly the rest of the charge shows.

Glow is a smooth excess over the pedestal; whether a pixel is ``glowing`` (expected glow at least
``glow_sigma`` read noises) can only be judged from its neighbourhood. :func:`glow_observer` is such a local
judge: it averages the excess over the pedestal in a box and compares it with the threshold, given whatever
pedestal and noise it is told, so the glowing F1 it reaches with the true pedestal (with or without its
drift) shows how much of a glow edge a frame gives away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.special import ndtr

from ccdstudio.simulate.ccd import SimulatedFrame, place_deposits

SIGNAL_BINS: tuple[float, ...] = (3.0, 5.0, 10.0, 20.0, 50.0, 100.0, math.inf)
"""Edges (in sigma of total signal) of the bins :class:`Efficiency` counts in."""
GLOW_WINDOW = 32
"""Side (pixels) of the box :func:`glow_observer` averages over."""


def read_noise(frame: SimulatedFrame) -> np.ndarray:
    """Each pixel's read noise (ADU), that of the amplifier reading it."""
    sigma = np.empty(frame.labels.shape, np.float64)
    for amp in frame.amplifiers:
        sigma[amp.rows, amp.cols] = amp.sigma
    return sigma


def pixel_noise(frame: SimulatedFrame) -> np.ndarray:
    """Each pixel's noise (ADU) without clusters and hot defects: the read noise and the Poisson noise of the
    dark charge and the expected glow."""
    variance = np.empty(frame.labels.shape, np.float64)
    for amp in frame.amplifiers:  # N electrons read at gain g vary by g^2 N ADU^2: g times their ADU
        variance[amp.rows, amp.cols] = (amp.sigma**2 + amp.gain * frame.glow_adu[amp.rows, amp.cols]
                                        + amp.gain**2 * frame.params.dark_current)
    return np.sqrt(variance)


def dark_level(frame: SimulatedFrame) -> np.ndarray:
    """ADU each pixel reads on average without glow, defects or clusters: the baseline (pedestal with its
    drift) plus the mean dark charge."""
    level = frame.baseline.astype(np.float64)
    for amp in frame.amplifiers:
        level[amp.rows, amp.cols] += amp.gain * frame.params.dark_current
    return level


def glow_observer(image: np.ndarray, level: np.ndarray | float, sigma: np.ndarray | float, scored: np.ndarray,
                  glow_sigma: float = 3.0, window: int = GLOW_WINDOW) -> np.ndarray:
    """Where a local observer calls glow: the mean of ``image - level`` over the ``scored`` pixels of the
    ``window``-square box around each pixel is at least ``glow_sigma * sigma``.

    ``level`` and ``sigma`` are what the observer takes the pedestal and read noise to be (scalars or
    per-pixel arrays); ``scored`` marks the pixels it may average (e.g. those neither hot nor in a cluster).
    """
    scored = scored & np.isfinite(image)
    excess = ndimage.uniform_filter(np.where(scored, image - level, 0.0), window)
    weight = ndimage.uniform_filter(scored.astype(np.float64), window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return excess / weight >= glow_sigma * np.asarray(sigma)


def cluster_significance(frame: SimulatedFrame, noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(signal, significance)`` of each of ``frame.clusters``: the signal in units of its amplifier's read
    noise, the significance against ``noise`` (ADU per pixel; the read noise when None, or
    :func:`pixel_noise`).

    Pixels belong to the cluster that put most charge in them (``frame.cluster_ids``).
    """
    sigma = read_noise(frame)
    owner, snr = _owned_snr(frame, frame.cluster_adu, sigma if noise is None else noise)
    count = len(frame.clusters) + 1
    signal = np.bincount(owner, weights=(frame.cluster_adu / sigma).ravel(), minlength=count)[1:]
    significance = np.sqrt(np.bincount(owner, weights=snr**2, minlength=count)[1:])
    return signal, significance


def leak_significance(frame: SimulatedFrame, noise: np.ndarray | None = None) -> np.ndarray:
    """The significance (as :func:`cluster_significance`'s) of each cluster's charge outside its brightest
    pixel, as deposited: how plainly a deposit shows beside that pixel. Where it is low, the deposit is, in a
    single frame, a lone bright pixel, as a hot pixel is; the charge the readout moved out of that pixel
    (charge-transfer inefficiency) does not count, as a hot pixel trails as much."""
    owner, snr = _owned_snr(frame, deposited_adu(frame), read_noise(frame) if noise is None else noise)
    count = len(frame.clusters) + 1
    brightest = np.zeros(count)
    np.maximum.at(brightest, owner, snr**2)
    rest = np.bincount(owner, weights=snr**2, minlength=count) - brightest
    return np.sqrt(np.maximum(rest, 0.0))[1:]


def deposited_adu(frame: SimulatedFrame) -> np.ndarray:
    """Each pixel's cluster charge (ADU) as deposited, before the readout's transfer inefficiency moved any."""
    charge = place_deposits(frame.deposits, frame.labels.shape)[0].astype(np.float64)
    for amp in frame.amplifiers:
        charge[amp.rows, amp.cols] *= amp.gain
    return charge


def _owned_snr(frame: SimulatedFrame, charge: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's owning cluster (0 for none) and its cluster ``charge`` over ``noise`` (both ADU per pixel),
    flattened."""
    return frame.cluster_ids.ravel(), (charge / noise).ravel()


def ideal_recall(significance: np.ndarray, trials: int, precision: float = 0.95) -> float:
    """The expected recall of an ideal observer over clusters of matched-filter ``significance``.

    It calls a cluster where its filter exceeds a threshold ``t``; pure noise crosses ``t`` at each of
    ``trials`` independent places (the frame's pixels) with probability ``Q(t)``. ``t`` is the lowest level at
    which those noise detections are at most ``1 - precision`` of all detections.
    """
    significance = np.asarray(significance, np.float64)
    if significance.size == 0:
        return 0.0
    allowed = (1 - precision) / precision

    def excess(t: float) -> float:  # noise detections beyond the allowance; falls as t rises
        return trials * ndtr(-t) - allowed * ndtr(significance - t).sum()

    low, high = 0.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if excess(middle) <= 0 else (middle, high)
    return float(ndtr(significance - high).mean())


@dataclass
class Efficiency:
    """Clusters counted and found, per bin of total signal (:data:`SIGNAL_BINS`)."""

    edges: Sequence[float] = SIGNAL_BINS
    clusters: np.ndarray = field(init=False)
    found: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.clusters = np.zeros(len(self.edges) - 1, np.int64)
        self.found = np.zeros(len(self.edges) - 1, np.int64)

    def add(self, signal: np.ndarray, found: np.ndarray) -> None:
        """Count clusters of ``signal`` (sigma) of which those where ``found`` is True were found."""
        signal, found = np.asarray(signal, np.float64), np.asarray(found, bool)
        self.clusters += np.histogram(signal, self.edges)[0]
        self.found += np.histogram(signal[found], self.edges)[0]

    def labels(self) -> list[str]:
        """``"3-5"``, ..., ``"> 100"``: the bins' names in sigma."""
        return [f"> {low:g}" if math.isinf(high) else f"{low:g}-{high:g}"
                for low, high in zip(self.edges[:-1], self.edges[1:])]

    def recall(self) -> np.ndarray:
        """The share found per bin (NaN for an empty bin)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.found / self.clusters
