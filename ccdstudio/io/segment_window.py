"""Which layers of a scroll segment a model reads: the surface estimate and the layer window around it.

Ink lies on the papyrus surface and shows in a few layers around it, so an ink model reads a window of
layers centred on the surface; an off-centre window is the most common cause of bad predictions. The
surface is rarely exactly the middle layer (meshes drift, some segments have other layer counts), so it is
estimated from the data.

The heuristic (:func:`estimate_surface`): in up to 16 patches of 256 x 256 pixels spread over the mask,
take each layer's mean intensity over the pixels inside the mask; papyrus is brighter than air, so this
profile rises where the stack passes from air into the sheet. The surface is the steepest rise (refined to a
fraction of a layer by a parabola through the three largest differences), weighted by a broad prior that
halves a rise's score at the ends of the stack, so that the face of a neighbouring sheet near the first or
last layer does not win over one of equal strength in the middle. Papyrus is taken to lie on the
higher-numbered side of the surface (as ccdstudio's simulator writes it); a segment numbered the other way is
read with ``reverse_layers`` (z-reversal), after which the same rule holds. A flat profile (no contrast, e.g.
empty layers) falls back to the middle layer and says so (``reliable=False``).

Layer positions are 0-based indices in the stack's order: with z-reversal, position 0 is the last file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.source import ImageSource, Window

PATCHES = 16
PATCH = 256
MIN_CONTRAST = 1e-3
"""A profile whose range is below this share of its level counts as flat."""


@dataclass(frozen=True)
class SurfaceEstimate:
    """Where the surface of a segment lies, and the evidence.

    ``layer`` is the surface's position in the stack (0-based), ``position`` the same to a fraction of a
    layer, ``profile`` the mean intensity inside the mask per layer, ``reliable`` False when the profile
    was flat and the middle layer was taken instead.
    """

    layer: int
    position: float
    profile: np.ndarray
    reliable: bool


@dataclass(frozen=True)
class LayerWindow:
    """A range of layers stacked as a model's input channels.

    ``first`` and ``last`` (inclusive) are positions in the stack of ``layers`` layers, read in reverse
    file order when ``reversed``; ``planes`` are the source's plane indices in channel order; ``surface`` is
    the surface position the window was centred on (None for a window given by hand).
    """

    first: int
    last: int
    layers: int
    planes: tuple[int, ...]
    reversed: bool = False
    surface: int | None = None

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def centred(self) -> bool:
        return self.surface is not None

    def describe(self) -> str:
        """``"layers 24-39 (surface 32)"`` for messages."""
        around = f", surface {self.surface}" if self.surface is not None else ""
        order = ", reversed" if self.reversed else ""
        return f"layers {self.first}-{self.last} of {self.layers}{around}{order}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in model files (``training["layer_window"]``)."""
        return {"first": self.first, "last": self.last, "count": self.count, "layers": self.layers,
                "surface": self.surface, "centred_on": "surface" if self.centred else "given",
                "reversed": self.reversed}


def is_segment(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a scroll segment or fragment folder (or its layer folder)."""
    from ccdstudio.io.segment import find_segment

    return Path(path).is_dir() and find_segment(path) is not None


def layer_order(source: ImageSource, reverse: bool = False) -> list[int]:
    """Plane indices of the source's layers in stack order (reversed once more when ``reverse``)."""
    from ccdstudio.export.inputs import layer_planes

    order = layer_planes(source)
    return order[::-1] if reverse else order


def is_reversed(source: ImageSource, reverse: bool = False) -> bool:
    """Whether the stack runs from the last file to the first (the source's own switch, flipped by ``reverse``)."""
    return bool(source.metadata.get("reversed", False)) != reverse


def _sample_windows(source: ImageSource, patches: int, patch: int) -> list[tuple[Window, np.ndarray | None]]:
    """Up to ``patches`` windows spread over the mask, each with its mask (None: no mask plane)."""
    from ccdstudio.export.inputs import source_mask

    height, width = source.planes[layer_order(source)[0]].shape
    mask = source_mask(source)
    side_y, side_x = min(patch, height), min(patch, width)
    starts_y = sorted({*range(0, height - side_y + 1, side_y), height - side_y})
    starts_x = sorted({*range(0, width - side_x + 1, side_x), width - side_x})
    cells = [(slice(y, y + side_y), slice(x, x + side_x)) for y in starts_y for x in starts_x]
    if mask is None:
        chosen = cells
    else:
        # Judge cells on a coarse view of the mask (at most ~512 pixels a side), then read the chosen ones.
        step = max(1, math.ceil(max(height, width) / 512))
        coarse = np.asarray(mask[::step, ::step]) != 0
        fractions = np.array([coarse[_coarse(rows, step), _coarse(cols, step)].mean() for rows, cols in cells])
        chosen = [w for w, f in zip(cells, fractions) if f >= 0.5] or [w for w, f in zip(cells, fractions) if f > 0]
        chosen = chosen or cells
    if len(chosen) > patches:  # evenly spaced in reading order, so the sample spreads over the segment
        chosen = [chosen[round(i)] for i in np.linspace(0, len(chosen) - 1, patches)]
    return [(w, None if mask is None else np.asarray(mask[w]) != 0) for w in chosen]


def _coarse(span: slice, step: int) -> slice:
    """The rows (or columns) of a ``[::step]`` view that ``span`` touches."""
    return slice(span.start // step, -(-span.stop // step))


def intensity_profile(source: ImageSource, order: Sequence[int] | None = None, patches: int = PATCHES,
                      patch: int = PATCH) -> np.ndarray:
    """Mean intensity inside the mask of each layer in ``order`` (default: the stack), over sampled patches."""
    order = list(order) if order is not None else layer_order(source)
    windows = _sample_windows(source, patches, patch)
    profile = np.empty(len(order))
    for k, plane in enumerate(order):
        total, count = 0.0, 0
        for window, inside in windows:
            values = source.read(plane, window)
            values = values[inside] if inside is not None and inside.any() else values.ravel()
            total += float(values.sum(dtype=np.float64))
            count += values.size
        profile[k] = total / max(count, 1)
    return profile


def surface_from_profile(profile: np.ndarray) -> SurfaceEstimate:
    """The surface of a mean-intensity profile (see the module docstring)."""
    profile = np.asarray(profile, np.float64)
    n = profile.size
    middle = (n - 1) // 2
    level = max(float(np.abs(profile).max(initial=0.0)), 1.0)
    if n < 3 or float(np.ptp(profile)) <= MIN_CONTRAST * level:
        return SurfaceEstimate(middle, float(middle), profile, False)
    rise = np.diff(profile)
    centres = np.arange(n - 1) + 0.5
    half = (n - 1) / 2
    score = rise * (1 - 0.5 * ((centres - half) / half) ** 2)
    i = int(np.argmax(score))
    if score[i] <= 0:
        return SurfaceEstimate(middle, float(middle), profile, False)
    position = centres[i]
    if 0 < i < n - 2:  # vertex of the parabola through the score's peak and its neighbours
        left, peak, right = score[i - 1], score[i], score[i + 1]
        curvature = left - 2 * peak + right
        if curvature < 0:
            position += 0.5 * (left - right) / curvature
    position = float(np.clip(position, 0, n - 1))
    return SurfaceEstimate(int(np.clip(math.floor(position + 0.5), 0, n - 1)), position, profile, True)


def estimate_surface(source: ImageSource, reverse: bool = False, patches: int = PATCHES,
                     patch: int = PATCH) -> SurfaceEstimate:
    """The surface layer of a segment (see the module docstring); reads ``patches`` windows per layer.

    ``reverse`` reads the stack in the opposite order to the source's.
    """
    order = layer_order(source, reverse)
    return surface_from_profile(intensity_profile(source, order, patches, patch))


def centred_window(surface: int, count: int, layers: int) -> tuple[int, int]:
    """``(first, last)`` of ``count`` layers with the surface at position ``count // 2``, kept inside the stack."""
    if count < 1:
        raise CcdstudioError(f"a layer window needs at least one layer, not {count}")
    if count > layers:
        raise CcdstudioError(f"a window of {count} layers does not fit in a segment of {layers} layers")
    first = min(max(surface - count // 2, 0), layers - count)
    return first, first + count - 1


def default_window(source: ImageSource, count: int, reverse: bool = False) -> tuple[int, int]:
    """``(first, last)``: ``count`` layers centred on the estimated surface (positions in stack order)."""
    order = layer_order(source, reverse)
    if count > len(order):
        raise CcdstudioError(f"a window of {count} layers does not fit in {_name(source)}, which has {len(order)}")
    return centred_window(estimate_surface(source, reverse).layer, count, len(order))


def choose_window(source: ImageSource, count: int | None = None, layers: tuple[int, int] | None = None,
                  surface: int | None = None, reverse: bool = False) -> LayerWindow:
    """The layer window to read: ``layers`` (first, last) as given, or ``count`` layers centred on the surface.

    ``surface`` overrides the estimate. Positions are in stack order (reversed when the source or
    ``reverse`` says so).
    """
    order = layer_order(source, reverse)
    n = len(order)
    if layers is not None:
        first, last = layers
        if not 0 <= first <= last < n:
            raise CcdstudioError(f"layers {first}-{last} are outside {_name(source)}, which has {n} layers (0-{n - 1})")
        if count is not None and last - first + 1 != count:
            raise CcdstudioError(f"layers {first}-{last} are {last - first + 1} layers, not {count}")
        centre = None
    else:
        if count is None:
            raise CcdstudioError("give a layer range or a number of layers")
        if count > n:
            raise CcdstudioError(f"a window of {count} layers does not fit in {_name(source)}, which has {n}")
        if surface is None:
            surface = estimate_surface(source, reverse).layer
        elif not 0 <= surface < n:
            raise CcdstudioError(f"surface layer {surface} is outside the stack (0-{n - 1})")
        centre = surface
        first, last = centred_window(surface, count, n)
    return LayerWindow(first, last, n, tuple(order[first: last + 1]), is_reversed(source, reverse), centre)


def check_window(trained: Mapping[str, Any] | None, window: LayerWindow, in_channels: int,
                 name: str = "the segment") -> list[str]:
    """Compare the window chosen for inference with the one a model was trained on.

    Raises :class:`CcdstudioError` when the window cannot feed the model (another number of layers);
    returns warnings for the user when it can but may mislead it: layers in the other z order, or a window
    placed differently relative to the surface (or, for a model trained on a window given by hand, at other
    layers) than in training.
    """
    if window.count != in_channels:
        if window.layers < in_channels:
            raise CcdstudioError(f"the model reads {in_channels} layers but {name} has only {window.layers}")
        raise CcdstudioError(f"the model reads {in_channels} layers, not the {window.count} of {window.describe()}")
    if not trained:
        return []
    warnings = []
    if bool(trained.get("reversed", False)) != window.reversed:
        warnings.append(f"the model was trained on layers in {'reverse' if trained.get('reversed') else 'file'} "
                        f"order but {name} is read in {'reverse' if window.reversed else 'file'} order "
                        "(z-reversal); check --reverse-layers")
    first, last, surface = trained.get("first"), trained.get("last"), trained.get("surface")
    training = f"the model's training window (layers {first}-{last}" + (f", surface {surface})" if surface is not None else ")")
    if surface is not None and window.surface is not None:
        shift = (window.first - window.surface) - (int(first) - int(surface))
        if abs(shift) > 1:
            side = "deeper" if shift > 0 else "shallower"
            warnings.append(f"{window.describe()} of {name} starts {abs(shift)} layers {side} relative to its surface "
                            f"than {training}")
    elif (first, last) != (window.first, window.last):
        warnings.append(f"{window.describe()} of {name} differ from {training}")
    return warnings


def _name(source: ImageSource) -> str:
    return Path(source.path).name if source.path is not None else "the segment"
