"""Training from the window (Qt-free): the Train panel's settings, its presets, preparing the data, the
training job, and the ``torchrun`` command line for several GPUs.

The in-process run (:func:`training_job`) and the subprocess run (:func:`train_command`, JSON lines read
back with :func:`parse_event_line`) produce the same events (:mod:`ccdstudio.ml.train`), so one set of
curves serves both, and both end with the ``finished`` event whose validation report and confusion matrix
(of the best epoch) become the :class:`TrainOutcome`.

The presets are the desk-sized versions of the recipes in :mod:`ccdstudio.ml.presets`, their settings taken
from them (:func:`from_recipe`). Simulated training data is made by those recipes' simulators into the shared cache
(:func:`ccdstudio.paths.cache_dir`), so the window and ``ccdstudio train --preset ccd-default|ink-default``
reuse each other's frames and segments.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.ml.data import DataSpec

if TYPE_CHECKING:
    from ccdstudio.ml.train import TrainingData

SIMULATORS = {"simulator": "ccd-default", "segment-simulator": "ink-default"}
"""Simulated training data: source -> the :mod:`ccdstudio.ml.presets` recipe whose simulator makes it."""
SOURCES = ("project", "folder", "open-segment", *SIMULATORS)
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"depth": 2, "base": 8},
    "compact": {"depth": 3, "base": 8},  # the ink-default recipe's
    "small": {"depth": 4, "base": 8},  # the ccd-default recipe's (the bundled CCD model)
    "medium": {"depth": 4, "base": 16},
    "large": {"depth": 4, "base": 32},
}
OOM_ADVICE = "Lower the batch size or the crop size (or train on the CPU), and start again."


@dataclass(frozen=True)
class TrainSettings:
    """Everything the Train panel sets.

    ``source`` is one of :data:`SOURCES`: the project's saved labels, ``folders``, the ``segment`` open in the
    window (its ink labels), or simulated CCD frames or segments (``simulate_count`` of ``simulate_size``
    pixels square, drawn with the recipe's own seed so that the cache is shared with the command line).
    ``classes`` is a preset (``ccd``, ``ink``), comma-separated names, or empty for the labels' own;
    ``remap`` merges classes first (``"muon:cluster,electron:cluster"``); ``layers`` is empty (one plane per
    image), a range ``"24-39"``, or a count ``"16"`` centred on each segment's surface. ``init`` is a model
    file to fine-tune (its architecture replaces ``model_size``), or empty for a new network.
    """

    source: str = "simulator"
    folders: tuple[str, ...] = ()
    segment: str = ""
    simulate_count: int = 4
    # ccd-default simulates 1024 px frames: smaller ones are often glowing from edge to edge
    simulate_size: int = 1024
    classes: str = "ccd"
    remap: str = ""
    layers: str = ""
    model_size: str = "small"
    epochs: int = 10
    batch_size: int = 8
    crop: int = 128
    lr: float = 3e-3
    val_split: float = 0.1
    loss: str = "ce+dice"
    device: str = "auto"
    seed: int = 0
    init: str = ""
    processes: int = 1
    out: str = ""
    work: str = ""
    """Folder for remapped labels (default: beside ``out``)."""
    samples_per_epoch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def work_dir(self) -> Path:
        if self.work:
            return Path(self.work)
        if not self.out:
            raise CcdstudioError("choose where the model is saved first")
        out = Path(self.out)
        return out.with_name(out.name.removesuffix(".safetensors") + "-data")

    def check(self) -> None:
        if self.source not in SOURCES:
            raise CcdstudioError(f"unknown training data {self.source!r}; choose from {', '.join(SOURCES)}")
        if self.model_size not in MODEL_SIZES:
            raise CcdstudioError(f"unknown model size {self.model_size!r}; choose from {', '.join(MODEL_SIZES)}")
        if not self.out:
            raise CcdstudioError("choose where the model is saved (Save model as)")
        if self.source == "folder" and not self.folders:
            raise CcdstudioError("choose a folder of labelled images, tiles or crops")
        if self.source == "open-segment" and not self.segment:
            raise CcdstudioError("open a scroll segment with ink labels first, or choose other training data")
        if self.init and not Path(self.init).is_file():
            raise CcdstudioError(f"the model to start from is gone: {self.init}")


def from_recipe(name: str, **desk: Any) -> TrainSettings:
    """Settings with the model, classes, layer window, crop, batch, learning rate and loss of the
    :mod:`ccdstudio.ml.presets` recipe ``name``; ``desk`` sets the rest (data, epochs, validation share)."""
    from ccdstudio.ml.presets import get_preset

    recipe = get_preset(name)
    wanted = {key: recipe.architecture[key] for key in ("depth", "base")}
    size = next((size for size, arch in MODEL_SIZES.items() if arch == wanted), None)
    if size is None:
        raise CcdstudioError(f"the {name} recipe's network {wanted} is none of the panel's model sizes")
    config = recipe.config
    steps = {"postprocess": config.postprocess} if config.postprocess else {}
    return TrainSettings(classes=recipe.classes, layers=str(recipe.window or ""), model_size=size,
                         batch_size=config.batch_size, crop=config.crop, lr=config.lr, loss=config.loss,
                         extra=steps, **desk)


PRESETS: dict[str, TrainSettings] = {
    # ccd-default (the bundled model's recipe), shortened for a session at the desk: 4 frames and 10 epochs.
    "CCD": from_recipe("ccd-default", source="simulator", epochs=10, val_split=0.1),
    # ink-default as it is (a few CPU-minutes): 16 layers around the papyrus surface as channels, two
    # classes, BCE + Dice, on the recipe's three simulated segments unless the user's own are chosen.
    "Ink": from_recipe("ink-default", source="segment-simulator", simulate_count=3, simulate_size=768, epochs=10,
                       val_split=0.1),
}


def preset(name: str, **changes: Any) -> TrainSettings:
    """The preset ``name`` with ``changes`` applied."""
    if name not in PRESETS:
        raise CcdstudioError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **changes)


@dataclass
class TrainOutcome:
    """What a training run left: the best model (None if no epoch finished), why it stopped, the
    validation report and confusion matrix of the best model, and the epoch history."""

    model: Path | None
    stopped: str
    best_epoch: int
    best_val_loss: float
    classes: list[str]
    report: dict[str, Any]
    confusion: np.ndarray | None
    history: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- data


def prepare_data(settings: TrainSettings, project: list[DataSpec] | None = None,
                 cancel: CancelToken | None = None) -> Job[list[DataSpec]]:
    """The training images of ``settings`` (a job): the project's, the folders', the open segment, or
    simulated ones, with ``settings.remap`` applied to copies of their labels."""
    from ccdstudio.ml.data import find_pairs

    if settings.source == "project":
        specs = list(project or [])
        if not specs:
            raise CcdstudioError("the project has no saved labels to train on; label and save an image first, "
                                 "or choose a folder or the simulator")
    elif settings.source == "folder":
        specs = find_pairs(list(settings.folders))
    elif settings.source == "open-segment":
        specs = find_pairs([settings.segment])
    else:
        specs = yield from _simulated(settings, cancel)
    if settings.remap.strip():
        specs = yield from _remapped(specs, settings.remap, settings.work_dir() / "remapped", cancel)
    return specs


def simulation_recipe(settings: TrainSettings) -> Any:
    """The :class:`ccdstudio.ml.presets.Preset` whose simulator makes ``settings``' data: its recipe with the
    panel's count and size (the recipe's seed and noise are kept, so equal sets share one cache folder)."""
    from ccdstudio.ml.presets import get_preset

    recipe = get_preset(SIMULATORS[settings.source])
    size = settings.simulate_size
    return replace(recipe, data=tuple(replace(part, count=settings.simulate_count, shape=(size, size))
                                      for part in recipe.data))


def _simulated(settings: TrainSettings, cancel: CancelToken | None) -> Job[list[DataSpec]]:
    from ccdstudio.ml.data import find_pairs
    from ccdstudio.ml.presets import prepare_data as simulate

    paths = yield from simulate(simulation_recipe(settings), cancel=cancel)
    return find_pairs(paths)


def _remapped(specs: list[DataSpec], text: str, folder: Path, cancel: CancelToken | None) -> Job[list[DataSpec]]:
    from ccdstudio.labels.io import load_labels, save_labels
    from ccdstudio.labels.remap import Remap, parse_mapping

    mapping = parse_mapping(text)
    folder.mkdir(parents=True, exist_ok=True)
    result = []
    for i, spec in enumerate(specs):
        check(cancel)
        if spec.labels is None:
            raise CcdstudioError(f"{spec.image} keeps its labels inside; a remap needs separate label files")
        labels, own = load_labels(spec.labels)
        remap = Remap.merge(own, mapping)
        path = folder / f"{i:03d}_{spec.image.name.split('.')[0]}_labels.npy"
        save_labels(path, remap.apply(labels, own), remap.target)
        result.append(DataSpec(spec.image, path, spec.mask))
        yield Progress((i + 1) / len(specs), f"remapping labels {i + 1}/{len(specs)}")
    return result


def _layer_choice(settings: TrainSettings) -> tuple[Any, bool]:
    """``(layers for load_data, whether they are a surface-centred segment window)``."""
    text = settings.layers.strip()
    if not text:
        return None, False
    if re.fullmatch(r"\d+\s*-\s*\d+", text):
        first, last = (int(v) for v in text.split("-"))
        return (first, last), False
    if text.isdigit():
        from ccdstudio.ml.segment_train import SegmentWindows

        return SegmentWindows(count=int(text)), True
    raise CcdstudioError(f"layers: expected a range like 24-39 or a count like 16, got {text!r}")


def data_channels(settings: TrainSettings) -> int:
    """The input channels ``settings`` give a network: one plane, or the layers of the range or window."""
    layers, centred = _layer_choice(settings)
    if layers is None:
        return 1
    return layers.count if centred else layers[1] - layers[0] + 1


def data_classes(settings: TrainSettings) -> list[str] | None:
    """The class names ``settings`` train, or None where the labels decide (no classes given, or a remap)."""
    from ccdstudio.cli.train import parse_classes

    if settings.remap.strip() or not settings.classes.strip():
        return None
    return parse_classes(settings.classes.strip()).names


def init_fits(model: str | os.PathLike[str], settings: TrainSettings) -> bool:
    """Whether training with ``settings`` can start from ``model``: its input channels are the data's and
    its classes those trained (when ``settings`` name them). An unreadable model does not fit."""
    from ccdstudio.ml.modelfile import read_info

    try:
        info = read_info(model)
        classes = data_classes(settings)
        return info.in_channels == data_channels(settings) and (classes is None or info.classes.names == classes)
    except (CcdstudioError, OSError):
        return False


def load_training_data(settings: TrainSettings, specs: list[DataSpec]) -> Any:
    """:class:`ccdstudio.ml.train.TrainingData` for ``specs`` with the panel's classes, layers and split;
    scaled as the ``init`` model scales its input when fine-tuning."""
    from ccdstudio.cli.train import parse_classes
    from ccdstudio.ml.segment_train import load_segment_data
    from ccdstudio.ml.train import choose_normalization, load_data

    classes = parse_classes(settings.classes.strip()) if not settings.remap.strip() else None
    layers, centred = _layer_choice(settings)
    normalization: Any = "auto"
    if settings.init:
        from ccdstudio.ml.modelfile import read_info

        normalization = choose_normalization(specs, "auto", read_info(settings.init).normalization,
                                             f"the model {Path(settings.init).name}")
    options = {"classes": classes, "normalization": normalization, "crop": settings.crop,
               "val_split": settings.val_split, "seed": settings.seed}
    if centred:
        return load_segment_data(specs, layers, **options)
    return load_data(specs, layers=layers, **options)


def train_config(settings: TrainSettings, data: TrainingData | None = None) -> Any:
    """The :class:`ccdstudio.ml.train.TrainConfig` of ``settings``; the recipe's post-processing steps only
    where ``data``'s classes and normalisation allow them (the user may have chosen other data)."""
    from ccdstudio.ml.postprocess import usable_steps
    from ccdstudio.ml.train import TrainConfig

    extra = dict(settings.extra)
    if "postprocess" in extra:
        extra["postprocess"] = () if data is None else usable_steps(extra["postprocess"], data.classes.names,
                                                                    data.normalization.method)
    return TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, crop=settings.crop,
                       samples_per_epoch=settings.samples_per_epoch, val_split=settings.val_split, lr=settings.lr,
                       loss=settings.loss, seed=settings.seed, device=settings.device, **extra)


# ---------------------------------------------------------------------------------------------- jobs


def training_job(settings: TrainSettings, specs: list[DataSpec], stop: CancelToken,
                 cancel: CancelToken | None = None) -> Job[TrainOutcome]:
    """Train in this process (a job). ``stop`` ends the training and keeps the best model, whose validation
    report is kept; ``cancel`` aborts everything (closing the window)."""
    from ccdstudio.gui.ml.job_events import leave_a_core_for_the_window
    from ccdstudio.ml.train import train

    settings.check()
    leave_a_core_for_the_window()
    yield Progress(None, f"reading {len(specs)} training image(s)")
    data = load_training_data(settings, specs)
    check(cancel)
    finished: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    architecture = None if settings.init else MODEL_SIZES[settings.model_size]  # fine-tuning keeps the model's
    job = train(data, settings.out, train_config(settings, data), architecture, init=settings.init or None,
                cancel=stop)
    try:
        while True:
            check(cancel)
            try:
                event = next(job)
            except StopIteration:
                break
            if event.data.get("event") == "epoch":
                history.append(dict(event.data))
            elif event.data.get("event") == "finished":
                finished = dict(event.data)
            yield event
    except Cancelled:
        check(cancel)  # the window is closing: no report
    return outcome(settings.out, {**finished, "history": history}, data.classes.names)


def outcome(model_path: str | os.PathLike[str], finished: dict[str, Any], names: list[str]) -> TrainOutcome:
    """The :class:`TrainOutcome` of a run whose best model is ``model_path`` (if this run wrote one: an epoch
    finished), from its ``finished`` event (a dict, or JSON read back from a subprocess) with the run's
    ``history`` added."""
    path = Path(model_path)
    stopped = str(finished.get("stopped", "stopped"))
    history = [dict(e) for e in finished.get("history", [])]
    if not path.is_file() or int(finished.get("best_epoch", 0)) < 1:  # a file there is an earlier run's
        return TrainOutcome(None, stopped, 0, float("nan"), names, {}, None, history)
    confusion = finished.get("confusion")
    return TrainOutcome(path, stopped, int(finished.get("best_epoch", 0)),
                        float(finished.get("best_val_loss", float("nan"))), names, dict(finished.get("report") or {}),
                        np.asarray(confusion, np.int64) if confusion is not None else None, history)


def process_outcome(model_path: str | os.PathLike[str], finished: dict[str, Any]) -> TrainOutcome:
    """:func:`outcome` of a run in another process, the class names read from the model it wrote."""
    from ccdstudio.ml.modelfile import read_info

    path = Path(model_path)
    names = read_info(path).classes.names if path.is_file() else []
    return outcome(path, finished, names)


# ---------------------------------------------------------------------------------------------- torchrun


def train_command(settings: TrainSettings, specs: list[DataSpec], processes: int | None = None) -> list[str]:
    """The command line training ``settings`` in a subprocess that prints JSON events.

    More than one process runs ``torchrun --nproc_per_node=N -m ccdstudio train ...`` (as ``python -m
    torch.distributed.run``, which needs no ``torchrun`` on the PATH); one runs ``python -m ccdstudio train``.
    """
    settings.check()
    processes = settings.processes if processes is None else processes
    command = [sys.executable]
    if processes > 1:
        command += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "ccdstudio", "train", "--json-events", "--out", settings.out, "--data"]
    command += [f"{s.image}:{s.labels}" if s.labels is not None else str(s.image) for s in specs]
    if settings.classes.strip() and not settings.remap.strip():
        command += ["--classes", settings.classes.strip()]
    layers, centred = _layer_choice(settings)
    if centred:
        command += ["--window", str(layers.count)]
    elif layers is not None:
        command += ["--layers", f"{layers[0]}-{layers[1]}"]
    if settings.init:  # the architecture is the init model's
        command += ["--init", settings.init]
    else:
        command += ["--model-config", ",".join(f"{k}={v}" for k, v in MODEL_SIZES[settings.model_size].items())]
    command += ["--epochs", str(settings.epochs), "--batch-size", str(settings.batch_size),
                "--crop", str(settings.crop), "--lr", repr(settings.lr), "--val-split", repr(settings.val_split),
                "--loss", settings.loss, "--device", settings.device, "--seed", str(settings.seed)]
    if settings.samples_per_epoch:
        command += ["--samples-per-epoch", str(settings.samples_per_epoch)]
    for step in _command_steps(settings, specs):
        command += ["--postprocess", step]
    return command


def _command_steps(settings: TrainSettings, specs: list[DataSpec]) -> tuple[str, ...]:
    """The recipe's post-processing steps the command can ask for: those the named classes and the data's
    normalisation allow (a fine-tuning keeps its model's own; the labels' own classes are unknown here)."""
    from ccdstudio.labels.classes import PRESETS as CLASS_PRESETS
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.postprocess import usable_steps
    from ccdstudio.ml.train import choose_normalization

    steps, classes = settings.extra.get("postprocess", ()), settings.classes.strip()
    if not steps or settings.init or settings.remap.strip() or not classes:
        return ()
    names = ClassSet.preset(classes).names if classes in CLASS_PRESETS else [n.strip() for n in classes.split(",")]
    return usable_steps(steps, names, choose_normalization(specs).method)


def parse_event_line(line: str) -> dict[str, Any] | None:
    """One line of ``ccdstudio train --json-events`` output as an event dict; None for any other text."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def prepare_and_train(settings: TrainSettings, project: list[DataSpec] | None, stop: CancelToken,
                      cancel: CancelToken | None = None) -> Job[TrainOutcome]:
    """:func:`prepare_data` then :func:`training_job`, as one job."""
    settings.check()
    specs = yield from prepare_data(settings, project, cancel)
    outcome = yield from training_job(settings, specs, stop, cancel)
    return outcome
