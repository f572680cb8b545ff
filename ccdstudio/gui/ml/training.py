"""Training from the window (Qt-free): the Train panel's settings, its presets, preparing the data, the
training job, the validation confusion matrix, and the ``torchrun`` command line for several GPUs.

The in-process run (:func:`training_job`) and the subprocess run (:func:`train_command`, JSON lines read
back with :func:`parse_event_line`) produce the same events (:mod:`ccdstudio.ml.train`), so one set of
curves serves both.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.ml.data import DataSpec

SOURCES = ("project", "folder", "simulator")
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"depth": 2, "base": 8},
    "small": {"depth": 4, "base": 8},
    "medium": {"depth": 4, "base": 16},
    "large": {"depth": 4, "base": 32},
}
OOM_ADVICE = "Lower the batch size or the crop size (or train on the CPU), and start again."


@dataclass(frozen=True)
class TrainSettings:
    """Everything the Train panel sets.

    ``classes`` is a preset (``ccd``, ``ink``), comma-separated names, or empty for the labels' own;
    ``remap`` merges classes first (``"muon:cluster,electron:cluster"``); ``layers`` is empty (one plane per
    image), a range ``"24-39"``, or a count ``"16"`` centred on each segment's surface.
    """

    source: str = "simulator"
    folders: tuple[str, ...] = ()
    simulate_count: int = 4
    simulate_size: int = 512
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
    processes: int = 1
    out: str = ""
    work: str = ""
    """Folder for simulated frames and remapped labels (default: beside ``out``)."""
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


PRESETS: dict[str, TrainSettings] = {
    # The bundled model's recipe (ccdstudio.ml.presets "ccd-default"), shortened for a session at the desk.
    "CCD": TrainSettings(classes="ccd", layers="", model_size="small", epochs=10, batch_size=8, crop=128, lr=3e-3,
                         val_split=0.1, loss="ce+dice"),
    # Ink: 16 layers around the papyrus surface as channels, two classes, BCE + Dice.
    "Ink": TrainSettings(source="folder", classes="ink", layers="16", model_size="medium", epochs=30, batch_size=8,
                         crop=256, lr=1e-3, val_split=0.1, loss="bce+dice"),
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
    """The training images of ``settings`` (a job): the project's, a folder's, or freshly simulated ones,
    with ``settings.remap`` applied to copies of their labels."""
    from ccdstudio.ml.data import find_pairs

    if settings.source == "project":
        specs = list(project or [])
        if not specs:
            raise CcdstudioError("the project has no saved labels to train on; label and save an image first, "
                                 "or choose a folder or the simulator")
    elif settings.source == "folder":
        specs = find_pairs(list(settings.folders))
    else:
        specs = yield from _simulated(settings, cancel)
    if settings.remap.strip():
        specs = yield from _remapped(specs, settings.remap, settings.work_dir() / "remapped", cancel)
    return specs


def _simulated(settings: TrainSettings, cancel: CancelToken | None) -> Job[list[DataSpec]]:
    from ccdstudio.ml.data import find_pairs
    from ccdstudio.simulate.ccd_files import frame_paths, simulate_frames

    size, count = settings.simulate_size, settings.simulate_count
    folder = settings.work_dir() / f"simulated-{count}x{size}-seed{settings.seed}"
    if not all(p.is_file() for i in range(count) for p in frame_paths(folder, i)[:2]):
        folder.mkdir(parents=True, exist_ok=True)
        job = simulate_frames(folder, count, (size, size), seed=settings.seed, cancel=cancel)
        while True:
            try:
                event = next(job)
            except StopIteration:
                break
            yield Progress(None, f"simulating training frames: {event.message}")
    return find_pairs([folder])


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


def load_training_data(settings: TrainSettings, specs: list[DataSpec]) -> Any:
    """:class:`ccdstudio.ml.train.TrainingData` for ``specs`` with the panel's classes, layers and split."""
    from ccdstudio.cli.train import parse_classes
    from ccdstudio.ml.segment_train import load_segment_data
    from ccdstudio.ml.train import load_data

    classes = parse_classes(settings.classes.strip()) if not settings.remap.strip() else None
    layers, centred = _layer_choice(settings)
    options = {"classes": classes, "crop": settings.crop, "val_split": settings.val_split, "seed": settings.seed}
    if centred:
        return load_segment_data(specs, layers, **options)
    return load_data(specs, layers=layers, **options)


def train_config(settings: TrainSettings) -> Any:
    """The :class:`ccdstudio.ml.train.TrainConfig` of ``settings``."""
    from ccdstudio.ml.train import TrainConfig

    return TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, crop=settings.crop,
                       samples_per_epoch=settings.samples_per_epoch, val_split=settings.val_split, lr=settings.lr,
                       loss=settings.loss, seed=settings.seed, device=settings.device, **settings.extra)


# ---------------------------------------------------------------------------------------------- jobs


def training_job(settings: TrainSettings, specs: list[DataSpec], stop: CancelToken,
                 cancel: CancelToken | None = None) -> Job[TrainOutcome]:
    """Train in this process (a job). ``stop`` ends the training and keeps the best model, whose validation
    report is still computed; ``cancel`` aborts everything (closing the window)."""
    from ccdstudio.gui.ml.job_events import leave_a_core_for_the_window
    from ccdstudio.ml.train import train

    settings.check()
    leave_a_core_for_the_window()
    yield Progress(None, f"reading {len(specs)} training image(s)")
    data = load_training_data(settings, specs)
    check(cancel)
    finished: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    job = train(data, settings.out, train_config(settings), MODEL_SIZES[settings.model_size], cancel=stop)
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
    outcome = yield from evaluate(settings.out, data, {**finished, "history": history}, settings.device, cancel)
    return outcome


def evaluation_job(settings: TrainSettings, specs: list[DataSpec], finished: dict[str, Any],
                   cancel: CancelToken | None = None) -> Job[TrainOutcome]:
    """The outcome of a training run in another process: read the data again and evaluate its best model."""
    yield Progress(None, "reading the validation data")
    data = load_training_data(settings, specs)
    outcome = yield from evaluate(settings.out, data, finished, settings.device, cancel)
    return outcome


def evaluate(model_path: str | os.PathLike[str], data: Any, finished: dict[str, Any], device: str,
             cancel: CancelToken | None = None) -> Job[TrainOutcome]:
    """The :class:`TrainOutcome` of a run whose best model is ``model_path`` (if it was written)."""
    from ccdstudio.ml.metrics import classification_report

    path = Path(model_path)
    names = data.classes.names
    stopped = str(finished.get("stopped", "stopped"))
    history = [dict(e) for e in finished.get("history", [])]
    if not path.is_file():
        return TrainOutcome(None, stopped, 0, float("nan"), names, {}, None, history)
    confusion = yield from validation_confusion(path, data, device, cancel)
    report = classification_report(confusion, names) if confusion is not None else dict(finished.get("report", {}))
    return TrainOutcome(path, stopped, int(finished.get("best_epoch", 0)),
                        float(finished.get("best_val_loss", float("nan"))), names, report, confusion, history)


def validation_confusion(model_path: Path, data: Any, device: str = "auto",
                         cancel: CancelToken | None = None) -> Job[np.ndarray | None]:
    """The best model's confusion matrix (rows true, columns predicted) over the validation windows."""
    import torch

    from ccdstudio.ml.data import CropDataset
    from ccdstudio.ml.device import choose_device
    from ccdstudio.ml.losses import IGNORE
    from ccdstudio.ml.modelfile import load_model

    if not data.validation:
        return None
    model = load_model(model_path, choose_device(device))
    n = len(data.classes)
    crop = max(max(w[0].stop - w[0].start, w[1].stop - w[1].start) for _, w in data.validation)
    dataset = CropDataset(data.items, data.validation, crop, data.normalization)
    confusion = np.zeros(n * n, np.int64)
    with torch.inference_mode():
        for k in range(len(dataset)):
            check(cancel)
            x, y = dataset[k]
            predicted = model.net(x[None].to(model.device)).argmax(1)[0].cpu()
            valid = y != IGNORE
            confusion += np.bincount((y[valid] * n + predicted[valid]).numpy(), minlength=n * n)
            yield Progress((k + 1) / len(dataset), f"validating the best model {k + 1}/{len(dataset)}")
    return confusion.reshape(n, n)


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
    arch = ",".join(f"{k}={v}" for k, v in MODEL_SIZES[settings.model_size].items())
    command += ["--model-config", arch, "--epochs", str(settings.epochs), "--batch-size", str(settings.batch_size),
                "--crop", str(settings.crop), "--lr", repr(settings.lr), "--val-split", repr(settings.val_split),
                "--loss", settings.loss, "--device", settings.device, "--seed", str(settings.seed)]
    if settings.samples_per_epoch:
        command += ["--samples-per-epoch", str(settings.samples_per_epoch)]
    return command


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
