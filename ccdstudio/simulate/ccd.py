"""Simulated CCD frames with truth labels made by construction.

The frame is built in electrons, then read out: dark current, amplifier glow and hot defects are drawn as
Poisson counts, particle deposits (:mod:`ccdstudio.simulate.clusters`) are added, charge-transfer
inefficiency smears the charge away from each amplifier, and each amplifier converts it to ADU over its own
drifting pedestal with Gaussian read noise ``read_noise / sqrt(n_samples)``.

Truth labels come from what was put in, never from the noisy image: ``hot_pixel`` wherever a hot pixel, row
or column adds charge (in its readout trail where that is at least ``hot_trail_sigma`` times the read noise);
``cluster`` where the collected cluster charge is at least ``cluster_sigma`` times the read noise; ``glowing``
where the expected glow is at least ``glow_sigma`` times the read noise; the first rule that applies wins, in
that order.

Arrays are in detector coordinates ``[y, x]``; row 0 is the one next to the serial register of the lower
amplifiers (shown at the bottom by FITS viewers). Each amplifier's "readout view" flips its region so that
``[0, 0]`` is the first pixel it reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.classes import ClassSet
from ccdstudio.simulate.clusters import Deposit, random_deposits
from ccdstudio.simulate.params import KINDS, CCDParams

BACKGROUND, GLOWING, HOT_PIXEL, CLUSTER = 0, 1, 2, 3
"""Indices of the ``"ccd"`` preset; with cluster kinds, kind ``KINDS[k]`` gets index ``CLUSTER + k``."""


def kind_classes() -> ClassSet:
    """background, glowing, hot_pixel, then one class per cluster kind (point, muon, electron, alpha, template)."""
    return ClassSet.from_names([*ClassSet.preset("ccd").names[:CLUSTER], *KINDS])


@dataclass
class Amplifier:
    """One readout amplifier: the detector region it reads and its own readout chain.

    ``flip_y``/``flip_x`` say that the amplifier sits at the region's high row/column end, so its readout
    view (``[0, 0]`` read first) is the region mirrored.
    """

    name: str
    rows: slice
    cols: slice
    flip_y: bool
    flip_x: bool
    pedestal: float = 0.0
    gain: float = 1.0
    sigma: float = 1.0
    overscan: np.ndarray | None = None
    """Serial overscan in the readout view, ``(rows, overscan columns)`` in ADU; None without overscan."""
    parallel_overscan: np.ndarray | None = None
    """Parallel overscan, the empty rows read after the last one, ``(overscan rows, columns + overscan
    columns)`` in ADU; None without."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.stop - self.rows.start, self.cols.stop - self.cols.start

    def view(self, array: np.ndarray) -> np.ndarray:
        """``array``'s region in readout order (a view: writing to it writes to ``array``)."""
        region = array[self.rows, self.cols]
        return region[:: -1 if self.flip_y else 1, :: -1 if self.flip_x else 1]


@dataclass(frozen=True)
class ClusterTruth:
    """One deposited cluster, for object-level scoring.

    ``bbox`` is ``(y0, x0, y1, x1)``, 0-based and half-open, around the pixels labelled as this cluster
    (None when none reached the threshold); ``adu`` is its noise-free signal summed over the frame.
    """

    id: int
    kind: str
    electrons: float
    adu: float
    energy_kev: float
    n_pixels: int
    bbox: tuple[int, int, int, int] | None

    @property
    def detectable(self) -> bool:
        return self.n_pixels > 0

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "electrons": self.electrons, "adu": self.adu,
                "energy_kev": None if math.isnan(self.energy_kev) else self.energy_kev,
                "n_pixels": self.n_pixels, "bbox": list(self.bbox) if self.bbox else None}


@dataclass
class SimulatedFrame:
    """A simulated frame and its truth.

    Attributes
    ----------
    image
        float32 ADU, pedestal included, clipped at the saturation level.
    labels
        uint8 class indices into ``classes``.
    cluster_adu
        float32 noise-free cluster signal (after charge-transfer inefficiency).
    cluster_ids
        int32 id of the cluster that put the most charge in each pixel (0 for none); ids index ``clusters``
        as ``clusters[id - 1]``.
    baseline
        float32 ADU each pixel reads with no charge and no noise: its amplifier's pedestal with the row and
        column drift.
    glow_adu
        float32 expected amplifier glow (ADU) in each pixel, before its Poisson noise.
    """

    image: np.ndarray
    labels: np.ndarray
    classes: ClassSet
    clusters: list[ClusterTruth]
    params: CCDParams
    amplifiers: list[Amplifier]
    cluster_adu: np.ndarray
    cluster_ids: np.ndarray
    baseline: np.ndarray
    glow_adu: np.ndarray
    deposits: list[Deposit] = field(default_factory=list, repr=False)


def amplifier_layout(shape: tuple[int, int], count: int) -> list[Amplifier]:
    """Amplifiers at the corners: 1 lower-left; 2 split the serial register; 4 also split the rows."""
    height, width = shape
    mid_y, mid_x = height // 2, width // 2
    full_y, full_x = slice(0, height), slice(0, width)
    if count == 1:
        return [Amplifier("L", full_y, full_x, False, False)]
    if count == 2:
        return [Amplifier("L", full_y, slice(0, mid_x), False, False),
                Amplifier("R", full_y, slice(mid_x, width), False, True)]
    if count == 4:
        low, high = slice(0, mid_y), slice(mid_y, height)
        left, right = slice(0, mid_x), slice(mid_x, width)
        return [Amplifier("LL", low, left, False, False), Amplifier("LR", low, right, False, True),
                Amplifier("UL", high, left, True, False), Amplifier("UR", high, right, True, True)]
    raise CcdstudioError(f"a CCD has 1, 2 or 4 amplifiers here, not {count}")


def slow_drift(length: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random curve over ``length`` samples whose largest excursion is ``amplitude``."""
    if amplitude == 0 or length == 0:
        return np.zeros(length, np.float32)
    t = np.linspace(0.0, 1.0, length)
    curve = rng.normal() * (t - 0.5)
    for cycles in rng.uniform(0.3, 3.0, size=2):
        curve += rng.normal() * np.sin(2 * np.pi * cycles * t + rng.uniform(0, 2 * np.pi))
    peak = np.abs(curve).max()
    return (amplitude * curve / peak if peak > 0 else curve).astype(np.float32)


def glow(shape: tuple[int, int], params: CCDParams) -> np.ndarray:
    """Expected glow electrons in an amplifier's readout view (the amplifier at ``[0, 0]``).

    Light from the output amplifier decays with distance from it; a flat band covers the first
    ``glow_band_width`` columns, next to the amplifier's edge.
    """
    light = np.zeros(shape, np.float32)
    # exp(-r / L) falls below 1e-4 e- beyond this radius; computing only inside it saves most of the frame.
    reach = params.glow_length * math.log(max(params.glow_peak, 1e-4) / 1e-4)
    rows = np.arange(min(shape[0], math.ceil(reach)), dtype=np.float32)[:, None]
    cols = np.arange(min(shape[1], math.ceil(reach)), dtype=np.float32)[None, :]
    if rows.size and cols.size:
        near = np.float32(params.glow_peak) * np.exp(-np.hypot(rows, cols) / np.float32(params.glow_length))
        light[: rows.shape[0], : cols.shape[1]] = near
    if params.glow_band and params.glow_band_width:
        light[:, : params.glow_band_width] += np.float32(params.glow_band)
    return light


def transfer_smear(charge: np.ndarray, serial: float, parallel: float) -> np.ndarray:
    """Charge-transfer inefficiency to first order, in a readout view.

    A pixel that needs ``n`` transfers leaves ``1 - (1 - eps)^n`` of its charge behind, and that charge is
    read with the next pixel (the one farther from the amplifier). Total charge is kept (except what
    trails off the region's far edge).
    """
    out = charge.astype(np.float32, copy=True)
    for axis, eps in ((0, parallel), (1, serial)):
        if eps <= 0:
            continue
        n = out.shape[axis]
        left = 1 - (1 - eps) ** np.arange(1, n + 1, dtype=np.float64)
        left = left.astype(np.float32).reshape((-1, 1) if axis == 0 else (1, -1))
        deferred = out * left
        out -= deferred
        if axis == 0:
            out[1:] += deferred[:-1]
        else:
            out[:, 1:] += deferred[:, :-1]
    return out


def hot_defects(shape: tuple[int, int], params: CCDParams, rng: np.random.Generator) -> np.ndarray:
    """Expected extra electrons per pixel from hot pixels and hot column and row segments of any length."""
    height, width = shape
    hot = np.zeros(shape, np.float32)
    count = rng.poisson(params.hot_pixel_density * height * width / 1e6)
    ys, xs = rng.integers(0, height, count), rng.integers(0, width, count)
    hot[ys, xs] += params.hot_pixel_charge * rng.lognormal(0.0, 1.0, count).astype(np.float32)
    for lines, columns in ((params.hot_columns, True), (params.hot_rows, False)):
        along, across = (height, width) if columns else (width, height)
        for _ in range(int(lines)):
            length = int(np.exp(rng.uniform(np.log(min(4, along)), np.log(along))))
            start = int(rng.integers(0, along - length + 1))
            where = int(rng.integers(0, across))
            level = np.float32(params.hot_line_charge * rng.lognormal(0.0, 0.5))
            if columns:
                hot[start:start + length, where] += level
            else:
                hot[where, start:start + length] += level
    return hot


def simulate_ccd(shape: tuple[int, int], params: CCDParams, rng: np.random.Generator,
                 deposits: list[Deposit] | None = None, kinds: bool = False,
                 ccd: np.random.Generator | None = None) -> SimulatedFrame:
    """Simulate one frame of ``shape`` (detector pixels, without overscan).

    Parameters
    ----------
    shape
        ``(height, width)``.
    params
        The physics; see :class:`CCDParams` and :meth:`CCDParams.random`.
    rng
        The source of randomness: the same seed gives the same frame.
    deposits
        Particle deposits to place instead of random ones (e.g. a known cluster for a test).
    kinds
        Label clusters by kind (:func:`kind_classes`) instead of one ``cluster`` class.
    ccd
        What belongs to the detector rather than to one exposure, the amplifiers' spread of pedestal, gain
        and noise and the hot defects, is drawn from this generator instead of ``rng``: frames drawn with
        generators seeded alike are exposures of one CCD (:func:`ccdstudio.simulate.ccd_files.draw_frame`).
    """
    ccd = rng if ccd is None else ccd
    height, width = (int(v) for v in shape)
    if height < 4 or width < 4:
        raise CcdstudioError(f"cannot simulate a {height}x{width} frame with {params.amplifiers} amplifiers")
    shape = (height, width)
    amplifiers = amplifier_layout(shape, params.amplifiers)
    for amp in amplifiers:
        spread = ccd.normal(0.0, params.amp_variation, 3)
        amp.pedestal = params.pedestal * (1 + spread[0])
        amp.gain = params.gain * max(1 + spread[1], 0.1)
        amp.sigma = params.sigma * max(1 + spread[2], 0.1)
    if deposits is None:
        deposits = random_deposits(rng, params, shape)
    unknown = sorted({d.kind for d in deposits} - set(KINDS))
    if unknown:
        raise CcdstudioError(f"unknown cluster kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    cluster_e, cluster_ids = place_deposits(deposits, shape)
    hot = hot_defects(shape, params, ccd)
    hot_mask = hot > 0
    expected = hot + np.float32(params.dark_current)

    classes = kind_classes() if kinds else ClassSet.preset("ccd")
    image = np.empty(shape, np.float32)
    labels = np.zeros(shape, np.uint8)
    cluster_adu = np.empty(shape, np.float32)
    baseline = np.empty(shape, np.float32)
    glow_adu = np.empty(shape, np.float32)
    for amp in amplifiers:
        view_shape = amp.shape
        light = glow(view_shape, params)
        charge = rng.poisson(amp.view(expected) + light).astype(np.float32) + amp.view(cluster_e)
        charge = transfer_smear(charge, params.cti_serial, params.cti_parallel)
        signal = transfer_smear(amp.view(cluster_e), params.cti_serial, params.cti_parallel) * np.float32(amp.gain)
        row_drift = slow_drift(view_shape[0] + params.overscan_rows, params.pedestal_row_drift, rng)[:, None]
        col_drift = slow_drift(view_shape[1] + params.overscan, params.pedestal_col_drift, rng)[None, :]
        pedestal = np.float32(amp.pedestal) + row_drift[: view_shape[0]] + col_drift[:, : view_shape[1]]
        noise = rng.standard_normal(view_shape, dtype=np.float32) * np.float32(amp.sigma)
        amp.view(image)[...] = np.minimum(pedestal + np.float32(amp.gain) * charge + noise, params.saturation)
        amp.view(cluster_adu)[...] = signal
        amp.view(baseline)[...] = pedestal
        amp.view(glow_adu)[...] = light * np.float32(amp.gain)
        if params.overscan:
            scan_noise = rng.standard_normal((view_shape[0], params.overscan), dtype=np.float32)
            amp.overscan = np.minimum(np.float32(amp.pedestal) + row_drift[: view_shape[0]]
                                      + col_drift[:, view_shape[1]:] + np.float32(amp.sigma) * scan_noise,
                                      params.saturation)
        if params.overscan_rows:
            scan_noise = rng.standard_normal((params.overscan_rows, col_drift.shape[1]), dtype=np.float32)
            amp.parallel_overscan = np.minimum(np.float32(amp.pedestal) + row_drift[view_shape[0]:] + col_drift
                                               + np.float32(amp.sigma) * scan_noise, params.saturation)
        view = amp.view(labels)
        view[amp.view(glow_adu) >= params.glow_sigma * amp.sigma] = GLOWING
        in_cluster = signal >= params.cluster_sigma * amp.sigma
        if params.cti_serial or params.cti_parallel:
            _adopt_trailing_charge(amp.view(cluster_ids), in_cluster)
            if params.hot_trail_sigma > 0:
                hot_signal = transfer_smear(amp.view(hot), params.cti_serial, params.cti_parallel)
                amp.view(hot_mask)[...] |= hot_signal * np.float32(amp.gain) >= params.hot_trail_sigma * amp.sigma
        view[in_cluster] = CLUSTER
    if kinds:
        kind_index = np.array([0, *(CLUSTER + KINDS.index(d.kind) for d in deposits)], np.uint8)
        is_cluster = labels == CLUSTER
        labels[is_cluster] = kind_index[cluster_ids[is_cluster]]
    labels[hot_mask] = HOT_PIXEL
    clusters = _truth(deposits, labels >= CLUSTER, cluster_ids, cluster_adu)
    return SimulatedFrame(image, labels, classes, clusters, params, amplifiers, cluster_adu, cluster_ids, baseline,
                          glow_adu, deposits)


def place_deposits(deposits: list[Deposit], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sum the deposits into a charge map; each pixel belongs to the deposit that put most charge in it."""
    charge = np.zeros(shape, np.float32)
    owner = np.zeros(shape, np.int32)
    strongest = np.zeros(shape, np.float32)
    for number, deposit in enumerate(deposits, start=1):
        rows, cols, values = deposit.rows, deposit.cols, deposit.charge.astype(np.float32)
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        if not inside.all():
            rows, cols, values = rows[inside], cols[inside], values[inside]
        charge[rows, cols] += values
        wins = values > strongest[rows, cols]
        strongest[rows[wins], cols[wins]] = values[wins]
        owner[rows[wins], cols[wins]] = number
    return charge, owner


def _adopt_trailing_charge(owner: np.ndarray, in_cluster: np.ndarray) -> None:
    """Give labelled pixels that only hold charge deferred by transfer inefficiency their source's id.

    Deferred charge trails one pixel farther from the amplifier, so the source is the pixel before it in
    the readout view (same row first, then same column).
    """
    for axis in (1, 0):
        orphan = in_cluster & (owner == 0)
        if not orphan.any():
            return
        before = np.zeros_like(owner)
        if axis == 1:
            before[:, 1:] = owner[:, :-1]
        else:
            before[1:] = owner[:-1]
        owner[orphan] = before[orphan]


def _truth(deposits: list[Deposit], in_cluster: np.ndarray, owner: np.ndarray,
           cluster_adu: np.ndarray) -> list[ClusterTruth]:
    count = len(deposits)
    adu = np.bincount(owner.ravel(), weights=cluster_adu.ravel(), minlength=count + 1)
    labelled = np.where(in_cluster, owner, 0)
    n_pixels = np.bincount(labelled.ravel(), minlength=count + 1)
    boxes = ndimage.find_objects(labelled, max_label=count)
    truth = []
    for number, (deposit, box) in enumerate(zip(deposits, boxes), start=1):
        bbox = (box[0].start, box[1].start, box[0].stop, box[1].stop) if box is not None else None
        truth.append(ClusterTruth(number, deposit.kind, deposit.electrons, float(adu[number]),
                                  float(deposit.energy_kev), int(n_pixels[number]), bbox))
    return truth
