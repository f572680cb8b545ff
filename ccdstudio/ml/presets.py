"""Training presets: a named recipe (training data, classes, architecture, settings) behind one command.

``ccdstudio train --preset ccd-default --out models/ccd-unet-v1.safetensors`` simulates its training frames
with :mod:`ccdstudio.simulate` (seeded, so the same frames every time) into a cache folder, reuses them on
later runs, and trains with the settings below. The bundled CCD model is made exactly so; its model card
(``models/ccd-unet-v1.md``) records the command and the test results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccdstudio.errors import CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.ml.data import Augmentation
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.train import TrainConfig


@dataclass(frozen=True)
class SimulatedSet:
    """``count`` random CCD frames of ``shape`` from :func:`ccdstudio.simulate.ccd_files.simulate_frames`."""

    count: int
    shape: tuple[int, int]
    seed: int
    noise: tuple[float, float] = (2.0, 30.0)

    @property
    def name(self) -> str:
        """The cache sub-folder: every parameter that changes the frames is in it."""
        (height, width), (low, high) = self.shape, self.noise
        return f"ccd-{self.count}x{height}x{width}-seed{self.seed}-noise{low:g}-{high:g}"

    def complete(self, folder: Path) -> bool:
        from ccdstudio.simulate.ccd_files import frame_paths

        return all(p.is_file() for i in range(self.count) for p in frame_paths(folder, i))


@dataclass(frozen=True)
class Preset:
    """A training recipe: simulated data, class preset, normalisation, U-Net settings and :class:`TrainConfig`."""

    name: str
    summary: str
    data: tuple[SimulatedSet, ...]
    classes: str
    normalization: Normalization
    architecture: dict[str, Any]
    config: TrainConfig


PRESETS: dict[str, Preset] = {
    "ccd-default": Preset(
        name="ccd-default",
        summary="the bundled CCD model: background, glowing, hot_pixel, cluster; about 11 min on a 2-core CPU",
        # 40 full-size one-amplifier frames; every frame draws its own pedestal, gain, read noise 2-30 ADU
        # (one in four a skipper readout), drift, glow shape, defects and cluster densities
        # (CCDParams.random). Small frames would often be glowing from edge to edge, with nothing left to
        # tell glow from background: labels no network can learn, and frames real detectors do not make.
        data=(SimulatedSet(40, (1024, 1024), seed=1000),),
        classes="ccd",
        # Glow can cover most of a frame and inflate a whole-frame noise estimate several times over;
        # the darkest blocks give the read noise the truth is defined in.
        normalization=Normalization("ccd", pedestal="dark"),
        architecture={"depth": 4, "base": 8, "norm": "batch", "activation": "relu", "dropout": 0.0},
        config=TrainConfig(
            epochs=48, batch_size=8, crop=128, samples_per_epoch=512, val_split=0.015, lr=3e-3,
            optimizer="adamw", weight_decay=1e-4, schedule="cosine", loss="ce+dice",
            # Class-balanced crops already show the rare classes often; inverse-frequency weights on top
            # (about 1:5:1200:370 here) would trade precision for recall, the published model's weak
            # cluster F1. Only hot pixels get a boost: without it the network never leaves the easy
            # minimum of calling the thin hot lines background or cluster.
            class_weighting=False, class_weights=(1.0, 1.0, 4.0, 1.0), patience=0, seed=0, tile=512,
            overlap=0.25,
            # Flips and quarter turns only: the truth is defined in units of the noise, so rescaling or
            # offsetting the normalised image would make the labels wrong.
            augmentation=Augmentation(flip=0.5, rot90=0.5, scale=0.0, offset=0.0, noise=0.0),
        ),
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise CcdstudioError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def cache_dir() -> Path:
    """Where simulated training data is kept: ``$CCDSTUDIO_CACHE`` or ``$XDG_CACHE_HOME/ccdstudio``."""
    if os.environ.get("CCDSTUDIO_CACHE"):
        return Path(os.environ["CCDSTUDIO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ccdstudio"


def prepare_data(preset: Preset, cache: str | os.PathLike[str] | None = None,
                 cancel: CancelToken | None = None) -> Job[list[Path]]:
    """A job simulating the preset's frames into ``cache`` (default :func:`cache_dir`), skipping complete
    sets; returns the folders to train on."""
    from ccdstudio.simulate.ccd_files import simulate_frames

    root = Path(cache) if cache is not None else cache_dir()
    folders = []
    for k, part in enumerate(preset.data):
        check(cancel)
        folder = root / part.name
        if not part.complete(folder):
            folder.mkdir(parents=True, exist_ok=True)
            job = simulate_frames(folder, part.count, part.shape, seed=part.seed, noise=part.noise, cancel=cancel)
            for event in job:
                yield Progress((k + (event.fraction or 0.0)) / len(preset.data),
                               f"simulating {part.name}: {event.message}")
        folders.append(folder)
    yield Progress(1.0, f"{len(folders)} simulated set(s) ready in {root}")
    return folders
