"""Particle analysis with Fiji's "Analyze Particles" rules and ImageJ's measurement definitions.

What ImageJ 1.53 does, and what is done here to give the same particles and numbers:

- Particles are traced 8-connected (ImageJ's default, legacy wand mode) and numbered in raster order of
  their first pixel (top row first, then leftmost). ``connectivity=4`` follows ImageJ's "4-connected"
  option, which also turns "include holes" on.
- Without "include holes" a particle is its connected pixels; interior holes are left out of every
  measurement, and particles inside holes are particles of their own. With "include holes" a particle is
  the whole inside of its outline: holes count, and particles inside them are swallowed.
- "Exclude on edges" drops particles whose bounding box touches the image border; sizes are pixel counts
  (converted from calibrated areas with ``pixel_size``); the circularity filter uses the uncalibrated
  perimeter. Size and circularity ranges are inclusive.
- Columns (ImageJ's names): Area, Mean, StdDev, Min, Max; X, Y (centroid, a pixel's centre at +0.5); XM, YM
  (intensity-weighted); Perim. (traced perimeter, :mod:`ccdstudio.imaging.perimeter`); BX, BY, Width, Height
  (bounding box, pixel corners); Major, Minor, Angle (``EllipseFitter``); Circ. (4 pi area / perim^2, at
  most 1); Feret, FeretX, FeretY, FeretAngle, MinFeret (on request); IntDen (Area x Mean), RawIntDen (sum);
  AR (Major / Minor), Round (4 area / (pi Major^2)), Solidity (pixels / convex hull area). Then ``label``
  (the particle's value in the count mask), ``npix``, and with a pedestal the CCD columns ``energy_adu``,
  ``energy_e``, ``energy_kev`` (sum above the pedestal; electrons need a gain in ADU per electron, keV use
  3.75 eV per electron in silicon) and ``sigma_x``, ``sigma_y`` (charge-weighted RMS widths in pixels).
- Without an intensity image the mask is measured as ImageJ measures an 8-bit binary image (255 inside).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.particles_measure import Measured, measure_components
from ccdstudio.imaging.table import Table
from ccdstudio.jobs import CancelToken, Job, Progress, check, run

SILICON_EV_PER_ELECTRON = 3.75


@dataclass(frozen=True)
class ParticleOptions:
    """The options of Fiji's Analyze Particles dialog, plus calibration and the CCD energy settings.

    ``min_size``/``max_size`` are areas in calibrated units (pixels when ``pixel_size`` is 1).
    """

    min_size: float = 0.0
    max_size: float = math.inf
    min_circularity: float = 0.0
    max_circularity: float = 1.0
    connectivity: int = 8
    exclude_edges: bool = False
    include_holes: bool = False
    pixel_size: float = 1.0
    feret: bool = False
    pedestal: Any = None
    """Scalar or array broadcasting to the image (ADU); enables the energy columns."""
    gain: float | None = None
    """ADU per electron."""
    ev_per_electron: float = SILICON_EV_PER_ELECTRON

    def validate(self) -> None:
        if self.connectivity not in (4, 8):
            raise CcdstudioError(f"connectivity must be 4 or 8, not {self.connectivity}")
        if not 0.0 <= self.min_circularity <= self.max_circularity <= 1.0:
            raise CcdstudioError(f"circularity range {self.min_circularity:g}-{self.max_circularity:g} must lie "
                                 "in 0-1 and not end before it starts")
        if self.min_size < 0 or self.max_size < self.min_size:
            raise CcdstudioError(f"size range {self.min_size:g}-{self.max_size:g} is not a valid range")
        if not self.pixel_size > 0:
            raise CcdstudioError(f"the pixel size must be positive, not {self.pixel_size:g}")
        if self.gain is not None and not self.gain > 0:
            raise CcdstudioError(f"the gain must be positive, not {self.gain:g}")


@dataclass(frozen=True)
class Summary:
    """Fiji's Summary table row: count, total and average area, area fraction, mean of the Mean column."""

    count: int
    total_area: float
    average_size: float
    percent_area: float
    mean: float


@dataclass(frozen=True)
class ParticleResult:
    """The Results table, the count mask (particle ``i`` has value ``i``, row ``i - 1``), and a summary."""

    table: Table
    count_mask: np.ndarray
    summary: Summary
    note: str = ""
    """Why the result is empty, when it is."""

    @property
    def masks(self) -> np.ndarray:
        """Fiji's "Masks" output: True on the measured particles."""
        return self.count_mask > 0

    @property
    def outlines(self) -> np.ndarray:
        """True on the particles' boundary pixels (a pixel whose 4-neighbour is another particle or none)."""
        labels = np.pad(self.count_mask, 1)
        inner = labels[1:-1, 1:-1]
        edge = np.zeros(inner.shape, dtype=bool)
        for shifted in (labels[:-2, 1:-1], labels[2:, 1:-1], labels[1:-1, :-2], labels[1:-1, 2:]):
            edge |= shifted != inner
        return edge & (inner > 0)


def analyze_particles(mask: np.ndarray, image: np.ndarray | None = None,
                      options: ParticleOptions | None = None) -> ParticleResult:
    """Measure the particles of a boolean ``mask`` (and the pixel values of ``image``) as Fiji does.

    An empty mask gives an empty table and a ``note``; a mask or image of the wrong shape raises
    :class:`CcdstudioError`.
    """
    return run(analyze_particles_job(mask, image, options))


def analyze_particles_job(mask: np.ndarray, image: np.ndarray | None = None,
                          options: ParticleOptions | None = None,
                          cancel: CancelToken | None = None) -> Job[ParticleResult]:
    """:func:`analyze_particles` as a job (see :mod:`ccdstudio.jobs`)."""
    options = options or ParticleOptions()
    options.validate()
    mask = np.asarray(mask)
    if mask.ndim != 2 or 0 in mask.shape:
        raise CcdstudioError(f"the mask must be a non-empty 2-D image, not shape {mask.shape}")
    if image is not None and np.shape(image) != mask.shape:
        raise CcdstudioError(f"the image {np.shape(image)} and the mask {mask.shape} differ in shape")
    yield Progress(0.0, "labelling particles")
    measured = measure_components(np.ascontiguousarray(mask if mask.dtype == bool else mask != 0), image, options)
    check(cancel)
    yield Progress(0.8, f"filtering {measured.count} particles")
    result = _select(measured, options, mask.shape)
    yield Progress(1.0, f"{len(result.table)} particles")
    return result


def _select(measured: Measured, options: ParticleOptions, shape: tuple[int, int]) -> ParticleResult:
    """Apply the size, circularity and edge filters; number the survivors; build the count mask."""
    table, px = measured.table, options.pixel_size
    keep = ~measured.swallowed
    pixels = table["npix"]
    keep &= (pixels >= options.min_size / px ** 2) & (pixels <= options.max_size / px ** 2)
    if options.min_circularity > 0.0 or options.max_circularity < 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            circ = np.where(measured.perimeter_px > 0, 4.0 * math.pi * pixels / measured.perimeter_px ** 2, 0.0)
        circ = np.minimum(circ, 1.0)
        keep &= (circ >= options.min_circularity) & (circ <= options.max_circularity)
    if options.exclude_edges:
        keep &= ~measured.touches_edge
    table = table.take(keep)
    new_id = np.zeros(keep.size + 1, dtype=np.int32)
    new_id[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    table["label"] = new_id[1:][keep]
    count_mask = measured.label_image  # zero off the particles already: relabel in place
    count_mask.reshape(-1)[measured.pixel_index] = new_id[measured.pixel_label]
    note = ""
    if len(table) == 0:
        note = ("no particles in the mask" if measured.count == 0
                else f"none of the {measured.count} particles passed the size, circularity and edge filters")
    area = table["Area"]
    total = float(area.sum())
    summary = Summary(len(table), total, total / len(table) if len(table) else math.nan,
                      100.0 * total / (shape[0] * shape[1] * px ** 2),
                      float(table["Mean"].mean()) if len(table) else math.nan)
    return ParticleResult(table, count_mask, summary, note)
