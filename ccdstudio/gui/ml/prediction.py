"""Predicting the shown image from the window: the model run, then what the result panel needs (Qt-free).

:func:`predict_image` is a job: it loads the model on the chosen device, runs the tiled inference of
:mod:`ccdstudio.ml.infer` over the shown plane (or the layer window of a scroll segment for a multi-channel
ink model, :mod:`ccdstudio.ml.segment_infer`), counts pixels per class, finds the objects of every class
(8-connected, for "next / previous object" navigation) and measures the predicted clusters with the
particle table of :mod:`ccdstudio.imaging.particles`.

Coordinates: object centres are in the viewer's array coordinates, where pixel ``[row, col]`` covers
``x in [col, col + 1)``; the centre of a bounding box ``rows a..b-1`` is ``(a + b) / 2``. The particle
table's ``X``/``Y`` follow ImageJ (a pixel's centre at +0.5), which is the same frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.particles import ParticleOptions, ParticleResult, analyze_particles_job
from ccdstudio.io.ccd import MosaicSource
from ccdstudio.io.source import ImageSource
from ccdstudio.jobs import CancelToken, Job, Progress, check, scaled
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.stats import pixel_counts

CLUSTER_CLASS = "cluster"
"""The class whose predicted pixels are measured as particles."""

OOM_ADVICE = "Choose smaller tiles (Tile) or the CPU as device, and predict again."


@dataclass(frozen=True)
class PredictOptions:
    """What the Predict panel asks for; ``None`` means the model file's own setting."""

    model: Path
    tile: int | None = None
    overlap: float | None = None
    device: str = "auto"
    tta: bool = False
    first_layer: int | None = None
    """First layer of a scroll segment read by a multi-channel model (None: centred on the surface)."""
    hot_mask: Path | None = None
    """The CCD's hot-pixel mask (an image, nonzero = hot; :func:`~ccdstudio.ml.hot_mask.apply_hot_mask`)."""


@dataclass
class PredictionResult:
    """A finished prediction of one plane and everything derived from it."""

    labels: np.ndarray
    classes: ClassSet
    model: Path
    planes: list[int]
    seconds: float
    device: str
    pixels: dict[str, int]
    objects: dict[str, np.ndarray] = field(default_factory=dict)
    """Per class name: ``(n, 2)`` float array of object centres ``(x, y)`` in array coordinates, raster order."""
    clusters: ParticleResult | None = None
    note: str = ""


def predict_image(options: PredictOptions, source: ImageSource, plane: int, *, pedestal: float | None = None,
                  gain: float | None = None, cancel: CancelToken | None = None) -> Job[PredictionResult]:
    """Predict ``plane`` of ``source`` with ``options.model`` (a job; see the module docstring).

    ``pedestal`` (ADU) and ``gain`` (ADU per electron) give the cluster table its energy columns.
    """
    from ccdstudio.gui.ml.job_events import leave_a_core_for_the_window
    from ccdstudio.ml.device import choose_device
    from ccdstudio.ml.modelfile import load_model

    yield Progress(None, f"loading {options.model.name}")
    device = choose_device(options.device)
    leave_a_core_for_the_window()
    model = load_model(options.model, device)
    info = model.info
    classes = info.classes
    note = ""
    if info.in_channels > 1 and source.format == "segment":
        labels, planes, seconds, note = yield from _predict_segment(model, source, options, cancel)
    else:
        from ccdstudio.ml.infer import choose_planes, predict, predict_mosaic

        planes = [plane] if info.in_channels == 1 else choose_planes(source, info.in_channels,
                                                                      trained=info.training.get("planes"))
        tiling = dict(tile=options.tile, overlap=options.overlap, tta=options.tta, cancel=cancel)
        if info.in_channels == 1 and isinstance(source, MosaicSource):  # each amplifier with its own overscans
            job = predict_mosaic(model, source.wrapped, **tiling)
        else:
            job = predict(model, source, planes=planes, **tiling)
        result = yield from scaled(job, 0.0, 0.85)
        labels, seconds = result.labels, result.seconds
        if options.hot_mask is not None:
            from ccdstudio.ml.hot_mask import apply_hot_mask, read_hot_mask

            apply_hot_mask(labels, read_hot_mask(options.hot_mask), classes.names)
    check(cancel)
    yield Progress(0.88, "finding objects")
    counts = pixel_counts(labels, len(classes))
    pixels = {name: int(counts[i]) for i, name in enumerate(classes.names)}
    objects = {name: object_centres(labels, i) for i, name in enumerate(classes.names) if i and counts[i]}
    clusters = None
    if CLUSTER_CLASS in classes.names and pixels[CLUSTER_CLASS] and len(planes) == 1:
        check(cancel)
        image = source.read(planes[0]).astype(np.float32, copy=False)
        level: Any = pedestal
        if isinstance(source, MosaicSource):  # energies over each amplifier's own pedestal, as particles has them
            from ccdstudio.imaging.threshold import amplifier_background

            level = amplifier_background(source.wrapped)[0]
        options_ = ParticleOptions(pedestal=level, gain=gain)
        clusters = yield from scaled(analyze_particles_job(labels == classes.index(CLUSTER_CLASS), image, options_,
                                                            cancel=cancel), 0.9, 0.1)
    yield Progress(1.0, f"predicted in {seconds:.1f} s")
    return PredictionResult(labels, classes, Path(options.model), list(planes), seconds, str(device), pixels,
                            objects, clusters, note)


def _predict_segment(model: Any, source: ImageSource, options: PredictOptions,
                     cancel: CancelToken | None) -> Job[tuple[np.ndarray, list[int], float, str]]:
    from ccdstudio.io.segment_window import choose_window
    from ccdstudio.ml.segment_infer import predict_segment

    count = model.info.in_channels
    layers = None if options.first_layer is None else (options.first_layer, options.first_layer + count - 1)
    yield Progress(None, "choosing the layer window")
    window = choose_window(source, count, layers=layers)
    result = yield from scaled(predict_segment(model, source, window, tile=options.tile, overlap=options.overlap,
                                                tta=options.tta, cancel=cancel), 0.0, 0.85)
    note = window.describe() + ("; " + "; ".join(result.warnings) if result.warnings else "")
    return result.labels(), list(window.planes), result.seconds, note


def object_centres(labels: np.ndarray, index: int) -> np.ndarray:
    """Centres ``(x, y)`` of the 8-connected objects of class ``index``, in raster order of their first pixel."""
    from scipy import ndimage

    components, count = ndimage.label(labels == index, structure=np.ones((3, 3), bool))
    boxes = ndimage.find_objects(components)
    centres = np.array([((b[1].start + b[1].stop) / 2, (b[0].start + b[0].stop) / 2) for b in boxes if b is not None],
                       dtype=np.float64).reshape(-1, 2)
    return centres


def save_prediction(path: str | os.PathLike[str], result: PredictionResult, header: Any = None) -> None:
    """Write the class map (with its classes) as a label file; FITS keeps ``header``."""
    from ccdstudio.labels.io import save_labels

    if not result.labels.size:
        raise CcdstudioError("the prediction is empty")
    save_labels(path, result.labels, result.classes, header=header)
