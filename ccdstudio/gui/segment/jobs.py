"""What the Segment dock computes, Qt-free: the default layer range, projections ready to show, reopening
with z-reversal, ink prediction over the range, and cleaning a prediction into labels.

Layer positions are 0-based indices in stack order (:func:`ccdstudio.io.segment_window.layer_order`); a
segment opened with ``reverse_layers`` already lists its layers last file first, so positions follow it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.gui.document import Document, show_plane
from ccdstudio.imaging.morphology import CleanParams, clean_prediction
from ccdstudio.imaging.projection import Mode, project
from ccdstudio.imaging.render import PreparedPlane, prepare_plane
from ccdstudio.io import open_image
from ccdstudio.io.segment_window import centred_window, choose_window, estimate_surface, layer_order
from ccdstudio.io.source import ArraySource, ImageSource
from ccdstudio.jobs import CancelToken, Job, Progress, check, scaled
from ccdstudio.labels.classes import ClassSet

DEFAULT_LAYERS = 16
"""The default range spans half the stack, at most this many layers, centred on the surface."""

PREDICTION_SUFFIX = "_prediction.png"


@dataclass(frozen=True)
class LayerRange:
    """The default range: ``first..last`` (inclusive positions) around ``surface`` (None: not estimated)."""

    first: int
    last: int
    layers: int
    surface: int | None = None
    reliable: bool = False


@dataclass(frozen=True)
class ProjectionView:
    """A projection wrapped as a one-plane source, prepared for the viewer like any plane."""

    source: ArraySource
    prepared: PreparedPlane
    mode: Mode
    first: int
    last: int

    @property
    def image(self) -> np.ndarray:
        return self.source.read(0)

    def describe(self) -> str:
        return f"{self.mode} projection of layers {self.first}-{self.last}"


@dataclass
class InkPrediction:
    """A whole-segment prediction: the 0-255 probability, where it was written and the model's warnings."""

    probability: np.ndarray
    path: Path
    first: int
    last: int
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def default_count(layers: int) -> int:
    """Layers in the default range: half the stack (at least one), at most :data:`DEFAULT_LAYERS`."""
    return max(1, min(DEFAULT_LAYERS, layers // 2))


def default_range(source: ImageSource, cancel: CancelToken | None = None) -> Job[LayerRange]:
    """The default layer range of a segment (a job): :func:`default_count` layers centred on its surface."""
    n = len(layer_order(source))
    yield Progress(None, "estimating the surface layer")
    check(cancel)
    estimate = estimate_surface(source)
    first, last = centred_window(estimate.layer, default_count(n), n)
    return LayerRange(first, last, n, estimate.layer, estimate.reliable)


def projection_view(source: ImageSource, first: int, last: int, mode: Mode,
                    cancel: CancelToken | None = None) -> Job[ProjectionView]:
    """Project layers ``first..last`` (stack positions) and prepare the result for display (a job)."""
    planes = layer_order(source)[first: last + 1]
    image = yield from scaled(project(source, planes, mode, cancel=cancel), 0.0, 0.9)
    view = ArraySource([image], names=[f"{mode} of layers {first}-{last}"], path=source.path)
    prepared = yield from scaled(prepare_plane(view, 0, cancel=cancel), 0.9, 0.1)
    return ProjectionView(view, prepared, mode, first, last)


def reopen_segment(path: str | os.PathLike[str], reverse: bool, cancel: CancelToken | None = None) -> Job[Document]:
    """Open the segment at ``path`` again, its layers in reverse file order when ``reverse`` (a job)."""
    path = Path(path)
    yield Progress(None, f"opening {path.name}" + (" reversed" if reverse else ""))
    source = open_image(path, reverse_layers=reverse)
    try:
        check(cancel)
        document = yield from show_plane(None, layer_order(source)[0], cancel=cancel, source=source, path=path)
    except BaseException:
        source.close()
        raise
    return document


def segment_stem(source: ImageSource) -> str:
    return str(source.metadata.get("segment_id") or Path(source.path).name)


def find_prediction(source: ImageSource, *folders: Path) -> Path | None:
    """A ``<segment>_prediction.png`` in one of ``folders``, inside the segment folder or beside it, or None."""
    if source.path is None:
        return None
    name = f"{segment_stem(source)}{PREDICTION_SUFFIX}"
    for candidate in (*(Path(f) / name for f in folders), Path(source.path) / name, Path(source.path).parent / name):
        if candidate.is_file():
            return candidate
    return None


def load_prediction(path: Path, shape: tuple[int, int], cancel: CancelToken | None = None) -> Job[np.ndarray]:
    """Read a 0-255 prediction image of the layers' ``shape`` (a job)."""
    yield Progress(None, f"reading {path.name}")
    with open_image(path) as source:
        found = tuple(source.planes[0].shape)
        if found != tuple(shape):
            raise FormatError(f"{path.name} is {found[1]}x{found[0]} but the segment is {shape[1]}x{shape[0]}")
        image = source.read(0)
    check(cancel)
    if image.dtype != np.uint8:  # a 16-bit or float probability: scale its range onto 0-255
        top = float(np.nanmax(image)) if image.size else 0.0
        image = np.clip(np.nan_to_num(image.astype(np.float64)) * (255.0 / top if top > 1 else 255.0), 0, 255)
        image = np.rint(image).astype(np.uint8)
    return image


def predict_ink(model_path: Path, source: ImageSource, first: int, last: int, folder: Path, device: str = "auto",
                cancel: CancelToken | None = None) -> Job[InkPrediction]:
    """Predict ink over the whole segment from layers ``first..last`` and write ``folder/<segment>_prediction.png``.

    A model reading another number of layers gets as many centred on the middle of the chosen range, which
    the warnings say. Also writes ``<segment>_predicted_inklabels.png`` (0/255 at p >= 0.5).
    """
    from ccdstudio.gui.ml.devices import warmed_up

    warmed_up()
    from ccdstudio.ml.device import choose_device
    from ccdstudio.ml.modelfile import load_model
    from ccdstudio.ml.segment_infer import predict_segment, save_segment_prediction

    yield Progress(None, f"loading {Path(model_path).name}")
    model = load_model(model_path, choose_device(device))
    count, n = model.info.in_channels, len(layer_order(source))
    notes = []
    if count != last - first + 1:
        if count > n:
            raise CcdstudioError(f"the model reads {count} layers but the segment has only {n}")
        first, last = centred_window((first + last) // 2, count, n)
        notes.append(f"the model reads {count} layers: using layers {first}-{last}")
    window = choose_window(source, layers=(first, last))
    result = yield from scaled(predict_segment(model, source, window, cancel=cancel), 0.0, 0.95)
    check(cancel)
    yield Progress(0.97, "writing the prediction")
    path, _ = save_segment_prediction(result, Path(folder), segment_stem(source))
    return InkPrediction(result.probability, path, first, last, notes + result.warnings, result.seconds)


def clean_into_labels(probability: np.ndarray, params: CleanParams,
                      cancel: CancelToken | None = None) -> Job[tuple[np.ndarray, ClassSet]]:
    """The clean-prediction recipe as ink labels (a job): uint8 (1 ink, 0 background) and the ``ink`` classes."""
    yield Progress(None, "threshold, dilate, remove small particles")
    mask = clean_prediction(probability, params)
    check(cancel)
    if not mask.any():
        raise CcdstudioError("no pixel passes the threshold: lower it, or check the prediction")
    return mask.astype(np.uint8), ClassSet.preset("ink")


