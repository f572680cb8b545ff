"""Ink models from scroll segments: a window of layers as input channels, chosen per segment and recorded.

The training loop is the ML core's (:mod:`ccdstudio.ml.train`, :mod:`ccdstudio.ml.data`): crops are read
on the fly from the lazy layers, only where the mask is, drawn class-balanced (half the crops hold ink),
and the ``bce+dice`` loss is the two-class one. What this module adds is the choice of layers: each
segment's window is centred on its own estimated surface (or given by hand), and the windows used go into
the model file as ``training["layer_window"]``, which inference checks
(:func:`ccdstudio.io.segment_window.check_window`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.segment_window import LayerWindow, choose_window
from ccdstudio.io.source import ImageSource
from ccdstudio.ml.data import DataSpec
from ccdstudio.ml.train import TrainingData, load_data

DEFAULT_WINDOW = 16
"""Layers an ink model reads unless told otherwise (the community's models read about 15 to 30)."""



class SegmentWindows:
    """The input planes of each training image: a callable for :func:`ccdstudio.ml.train.load_data`'s ``layers``.

    Give ``count`` for that many layers centred on each segment's estimated surface (default
    :data:`DEFAULT_WINDOW`), or ``layers`` for the same range everywhere; ``reverse`` reads the stacks in
    reverse z order. Each choice is kept (by image path) for :meth:`summary`.
    """

    def __init__(self, count: int | None = None, layers: tuple[int, int] | None = None, reverse: bool = False):
        if count is not None and layers is not None:
            raise CcdstudioError("give either a number of layers to centre on the surface or a layer range, not both")
        if count is None and layers is None:
            count = DEFAULT_WINDOW
        self.count, self.layers, self.reverse = count, layers, reverse
        self.chosen: dict[str, LayerWindow] = {}

    def __call__(self, source: ImageSource) -> list[int]:
        window = choose_window(source, count=self.count, layers=self.layers, reverse=self.reverse)
        self.chosen[str(source.path)] = window
        return list(window.planes)

    def summary(self) -> dict[str, Any]:
        """The first image's window (what inference compares with) plus every image's ``[first, last, surface]``."""
        if not self.chosen:
            raise CcdstudioError("no layer window was chosen yet")
        first = next(iter(self.chosen.values()))
        return {**first.to_dict(),
                "images": {name: [w.first, w.last, w.surface] for name, w in self.chosen.items()}}


def load_segment_data(specs: Sequence[DataSpec], windows: SegmentWindows, **options: Any) -> TrainingData:
    """:func:`ccdstudio.ml.train.load_data` with ``windows`` choosing the layers, its summary kept in the data.

    ``options`` are ``load_data``'s (classes, normalization, crop, val_split, seed).
    """
    data = load_data(list(specs), layers=windows, **options)
    data.layer_window = windows.summary()
    return data

