"""Simulated frames on disk: the image as FITS in ADU, its truth label map and its cluster list.

A one-amplifier frame without overscan is a single primary image. Otherwise the file is laid out like raw
data from a multi-amplifier CCD: an empty primary HDU with the simulation cards, then one image extension
per amplifier in readout order (the first pixel read at FITS pixel [1, 1]) holding the data section, the
serial overscan (columns read after each row) and the parallel overscan (empty rows read after the last
one), as many as there are. ``DATASEC``, ``BIASSEC`` (the serial overscan, over all rows) and
``DETSEC``/``CCDSEC`` describe them (reversed ranges mark a mirrored amplifier); the parallel overscan is the
rows beyond ``DATASEC``. Label maps and cluster boxes always use detector coordinates, i.e. the image that
``DETSEC`` assembles.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ccdstudio import __version__
from ccdstudio.errors import CcdstudioError
from ccdstudio.io.atomic import atomic_path
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.simulate.ccd import Amplifier, SimulatedFrame, simulate_ccd
from ccdstudio.simulate.params import CCDParams, header_cards

Card = tuple[str, object, str]

INTEGER_MIN_NOISE = 2.0
"""Frames whose read noise is at least this (ADU) are stored as integers: rounding then adds under 1 %."""


def frame_paths(out_dir: str | os.PathLike[str], index: int) -> tuple[Path, Path, Path]:
    """``frame_0000.fits``, ``frame_0000_labels.fits`` and ``frame_0000_clusters.json`` in ``out_dir``."""
    stem = Path(out_dir) / f"frame_{index:04d}"
    return stem.with_suffix(".fits"), Path(f"{stem}_labels.fits"), Path(f"{stem}_clusters.json")


def fits_section(rows: tuple[int, int], cols: tuple[int, int]) -> str:
    """A FITS section ``[x1:x2,y1:y2]`` (1-based, inclusive, x first) from 0-based ``(first, last)`` pairs.

    A pair with ``first > last`` gives a reversed range, as ``DETSEC`` uses for mirrored amplifiers.
    """
    return f"[{cols[0] + 1}:{cols[1] + 1},{rows[0] + 1}:{rows[1] + 1}]"


def _detector_section(amp: Amplifier) -> str:
    rows = (amp.rows.start, amp.rows.stop - 1)
    cols = (amp.cols.start, amp.cols.stop - 1)
    return fits_section(rows[::-1] if amp.flip_y else rows, cols[::-1] if amp.flip_x else cols)


def _stored(data: np.ndarray, integer: bool) -> np.ndarray:
    """Integers as an ADC writes them (uint16, saved with BZERO = 32768), else float32."""
    if integer:
        return np.clip(np.rint(data), 0, 65535).astype(np.uint16)
    return data.astype(np.float32, copy=False)


def frame_planes(frame: SimulatedFrame, integer: bool | None = None,
                 extra_cards: Iterable[Card] = ()) -> tuple[dict[str, tuple[object, str]], np.ndarray | list]:
    """``(primary cards, planes)`` for :func:`ccdstudio.io.write.write_fits` (layout in the module docstring)."""
    params = frame.params
    if integer is None:
        integer = params.sigma >= INTEGER_MIN_NOISE
    primary = {key: (value, comment) for key, value, comment in [*header_cards(params), *extra_cards]}
    primary["BUNIT"] = ("ADU", "pixel values are ADU, pedestal included")
    primary["NCLUST"] = (len(frame.clusters), "clusters deposited (truth)")
    primary["CREATOR"] = (f"ccdstudio {__version__} simulate", "simulated frame")
    if params.amplifiers == 1 and not params.overscan and not params.overscan_rows:
        return primary, _stored(frame.image, integer)
    planes = []
    for amp in frame.amplifiers:
        height, width = amp.shape
        data = amp.view(frame.image)
        if amp.overscan is not None:
            data = np.concatenate([data, amp.overscan], axis=1)
        if amp.parallel_overscan is not None:
            data = np.concatenate([data, amp.parallel_overscan], axis=0)
        cards = {
            "AMPNAME": (amp.name, "amplifier (L/R: left/right, L/U: lower/upper)"),
            "DATASEC": (fits_section((0, height - 1), (0, width - 1)), "exposed pixels"),
            "DETSEC": (_detector_section(amp), "DATASEC on the assembled detector"),
            "CCDSEC": (_detector_section(amp), "DATASEC on the CCD"),
            "GAIN": (amp.gain, "[ADU/e-] this amplifier's gain"),
            "RDNOISE": (amp.sigma, "[ADU] this amplifier's effective read noise"),
            "PEDESTAL": (amp.pedestal, "[ADU] this amplifier's mean pedestal"),
        }
        if amp.overscan is not None:
            cards["BIASSEC"] = (fits_section((0, data.shape[0] - 1), (width, data.shape[1] - 1)), "serial overscan")
        planes.append((_stored(data, integer), cards, amp.name))
    return primary, planes


def raw_plane(frame: SimulatedFrame, integer: bool | None = None) -> tuple[np.ndarray, dict[str, object]]:
    """The first amplifier's plane as :func:`frame_planes` stores it (data section and overscans) with its
    header cards (``NAXIS1``/``NAXIS2`` included), as an :class:`~ccdstudio.io.source.ArraySource` takes them."""
    _, planes = frame_planes(frame, integer)
    if isinstance(planes, np.ndarray):
        return planes, {"NAXIS1": planes.shape[1], "NAXIS2": planes.shape[0]}
    data, cards, _ = planes[0]
    return data, {key: value for key, (value, _) in cards.items()} | {"NAXIS1": data.shape[1], "NAXIS2": data.shape[0]}


def write_frame(frame: SimulatedFrame, path: str | os.PathLike[str], labels_path: str | os.PathLike[str] | None = None,
                clusters_path: str | os.PathLike[str] | None = None, integer: bool | None = None,
                extra_cards: Iterable[Card] = ()) -> None:
    """Write the frame (FITS), and optionally its labels (any format ``save_labels`` knows) and clusters (JSON).

    ``integer`` None stores integers when the read noise is at least :data:`INTEGER_MIN_NOISE` ADU.
    Every file is written atomically.
    """
    from ccdstudio.io.write import write_fits
    from ccdstudio.labels.io import save_labels

    extra_cards = list(extra_cards)
    primary, planes = frame_planes(frame, integer, extra_cards)
    write_fits(path, planes, primary)
    if labels_path is not None:
        cards = {key: value for key, value, _ in [*header_cards(frame.params), *extra_cards]}
        save_labels(labels_path, frame.labels, frame.classes, header=cards)
    if clusters_path is not None:
        write_clusters(clusters_path, frame)


def write_clusters(path: str | os.PathLike[str], frame: SimulatedFrame) -> None:
    """The cluster truth as JSON: ``{"classes": [...], "bbox": "...", "clusters": [{id, kind, ...}]}``."""
    record = {
        "bbox": "y0, x0, y1, x1: 0-based, half-open, detector coordinates",
        "classes": frame.classes.names,
        "clusters": [c.to_dict() for c in frame.clusters],
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")


def read_clusters(path: str | os.PathLike[str]) -> list[dict]:
    """The cluster list written by :func:`write_clusters`."""
    try:
        return list(json.loads(Path(path).read_text(encoding="utf-8"))["clusters"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CcdstudioError(f"cannot read the cluster list {path}: {error}") from None


def draw_frame(shape: tuple[int, int], seed: int, index: int, noise: tuple[float, float] = (2.0, 30.0),
               amplifiers: int = 1, kinds: bool = False, same_ccd: bool = False, **fixed: int) -> SimulatedFrame:
    """Frame ``index`` of the random series ``seed``, drawn from ``default_rng([seed, index])`` (so the same
    whatever the series' length); ``fixed`` are :meth:`CCDParams.random`'s fixed parameters.

    With ``same_ccd`` every frame is an exposure of frame 0's CCD: its parameters, its amplifiers and its
    hot pixels, rows and columns (drawn from ``default_rng([seed, 0, 1])``); the clusters, glow, dark
    charge and noise are the frame's own.
    """
    rng = np.random.default_rng([seed, index])
    params = CCDParams.random(rng, noise=noise, amplifiers=amplifiers, **fixed)
    if not same_ccd:
        return simulate_ccd(shape, params, rng, kinds=kinds)
    first = CCDParams.random(np.random.default_rng([seed, 0]), noise=noise, amplifiers=amplifiers, **fixed)
    return simulate_ccd(shape, first, rng, kinds=kinds, ccd=np.random.default_rng([seed, 0, 1]))


def simulate_frames(out_dir: str | os.PathLike[str], count: int, shape: tuple[int, int], seed: int = 0,
                    noise: tuple[float, float] = (2.0, 30.0), amplifiers: int = 1, kinds: bool = False,
                    overscan: int | None = None, overscan_rows: int = 0, same_ccd: bool = False,
                    hot_trails: bool = True, cancel: CancelToken | None = None) -> Job[list[Path]]:
    """A job writing ``count`` random frames (image, labels, clusters) into ``out_dir``; returns the images.

    Frame ``i`` is :func:`draw_frame`'s, so it is the same whatever ``count`` is; with ``same_ccd`` the
    frames are exposures of one CCD. ``overscan`` is the number of serial overscan columns per amplifier
    (default: 64 with more than one amplifier, else none), ``overscan_rows`` that of parallel overscan rows;
    without ``hot_trails`` the charge hot defects trail is background (:class:`CCDParams`' ``hot_trail_sigma``).
    """
    if count < 1:
        raise CcdstudioError("the number of frames must be at least 1")
    if seed < 0:
        raise CcdstudioError(f"the seed must not be negative, got {seed}")
    if min(overscan or 0, overscan_rows) < 0:
        raise CcdstudioError(f"the overscan must not be negative, got {overscan} columns and {overscan_rows} rows")
    fixed = ({"overscan_rows": overscan_rows} | ({} if overscan is None else {"overscan": overscan})
             | ({} if hot_trails else {"hot_trail_sigma": 0.0}))
    written = []
    for index in range(count):
        check(cancel)
        frame = draw_frame(shape, seed, index, noise, amplifiers, kinds, same_ccd, **fixed)
        paths = frame_paths(out_dir, index)
        seed_cards = [("SIMSEED", seed, "seed of the frame series"), ("SIMINDEX", index, "frame in the series")]
        write_frame(frame, *paths, extra_cards=seed_cards)
        written.append(paths[0])
        yield Progress((index + 1) / count, f"frame {index + 1}/{count}: {len(frame.clusters)} clusters")
    return written
