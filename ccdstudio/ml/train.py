"""The trainer: a job that trains a U-Net and yields events the CLI prints and the GUI plots.

Every event is a :class:`~ccdstudio.jobs.Progress` whose ``data["event"]`` is one of

- ``"step"``: ``epoch``, ``step``, ``loss``, ``lr``;
- ``"epoch"``: ``epoch``, ``loss`` (training mean), ``val_loss``, ``accuracy``, ``f1_macro``, ``iou_mean``,
  ``f1`` and ``iou`` per class, ``report`` (the validation classification report,
  :func:`~ccdstudio.ml.metrics.classification_report`), ``confusion`` (the validation confusion matrix as
  nested lists, rows true class, columns predicted, over all ranks), ``mpix_per_s``, ``seconds``; without
  validation windows only the losses (the training loss twice), throughput and time;
- ``"checkpoint"``: ``kind`` (``"best"`` or ``"last"``) and ``path``;
- ``"finished"``: ``stopped`` (``"completed"``, ``"early_stop"`` or ``"cancelled"``), ``best_epoch``,
  ``best_val_loss``, ``report`` and ``confusion`` (of the best epoch);
- ``"error"``: ``message``, just before the error is raised.

The best model (lowest validation loss) is written to ``out`` whenever it improves, so cancelling keeps it
(with ``keep="last"`` every epoch's model is, for schedules that anneal the learning rate to zero, where the
last epoch is the settled one and a small validation set's loss only adds noise to the choice);
the last state, with the optimiser, goes to ``<out stem>.last.safetensors`` after every epoch, which
``resume=True`` continues from (in the checkpoint's architecture and normalisation). Under ``torchrun``
every rank runs this job, and only rank 0 writes files and yields events.

Fine-tuning (``init=MODEL``) starts from a model file's weights instead of random ones, which is what the
label-predict-retrain loop needs: correct a few objects of a prediction, then continue training the model
that made it. The init model fixes the architecture (an ``architecture`` that differs is an error), the input
channels (the data's must match) and the normalisation (used as stored, not re-estimated, so predictions of
the two models stay comparable; data loaded for another method is an error). Classes are matched by name:
the classifier rows of classes the model knows are copied (permuted to the data's order), those of new
classes keep their fresh initialisation, and classes missing from the data are dropped. The written model's
training record notes the init model (``training["init"]``: name, path, SHA-256, size, classes), and it keeps
the init model's post-processing steps (those its classes still allow) unless others are configured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, Job, Progress
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml import ddp
from ccdstudio.ml.data import (
    Augmentation,
    CropDataset,
    DataSpec,
    LayerChoice,
    TrainingItem,
    class_counts,
    default_samples_per_epoch,
    load_items,
    plan_epoch,
    specs_classes,
    split_validation,
)
from ccdstudio.ml.device import autocast, choose_device
from ccdstudio.ml.losses import IGNORE, SegmentationLoss, class_weights
from ccdstudio.ml.metrics import classification_report
from ccdstudio.ml.modelfile import (
    ModelInfo,
    load_model,
    read_checkpoint,
    resolve_model,
    save_model,
)
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.postprocess import usable_steps
from ccdstudio.ml.unet import UNet, UNetConfig

OPTIMIZERS = ("adam", "adamw", "adadelta", "sgd")
SCHEDULES = ("cosine", "plateau", "none")
HEAD = "head."
"""State-dict prefix of the U-Net's classifier (:attr:`UNet.head`, a 1x1 convolution): output row k is class k."""
INIT_AND_RESUME = ("resume continues an interrupted training from its own last state and init starts a new "
                   "one from a model's weights; give only one of them")
_KINDS = {"ccd": "CCD frames", "percentile": "scroll segments and other images", "none": "raw values"}


@dataclass(frozen=True)
class TrainConfig:
    """How to train (stored in the model file's training summary)."""

    epochs: int = 50
    batch_size: int = 8
    crop: int = 256
    samples_per_epoch: int | None = None
    val_split: float = 0.2
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    loss: str = "ce+dice"
    class_weighting: bool = True
    class_weights: tuple[float, ...] | None = None
    """Cross-entropy weights per class in class order, used instead of ``class_weighting`` when given."""
    patience: int = 10
    keep: str = "best"
    """Which epoch's model ``out`` holds: ``"best"`` (lowest validation loss) or ``"last"``."""
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int | None = None
    tile: int = 512
    overlap: float = 0.5
    postprocess: tuple[str, ...] = ()
    """Steps stored in the model for inference to run on its class map (:mod:`ccdstudio.ml.postprocess`)."""
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise CcdstudioError(f"unknown optimiser {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise CcdstudioError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.epochs < 1 or self.batch_size < 1 or self.crop < 8:
            raise CcdstudioError("epochs and batch size must be positive and the crop at least 8 pixels")
        if self.keep not in ("best", "last"):
            raise CcdstudioError(f"keep the best or the last epoch's model, not {self.keep!r}")
        if not 0 <= self.val_split < 1:
            raise CcdstudioError(f"the validation split must be in [0, 1), got {self.val_split}")


@dataclass
class TrainingData:
    """Loaded training images, their validation windows, classes and normalisation."""

    items: list[TrainingItem]
    validation: list[tuple[int, Any]]
    classes: ClassSet
    normalization: Normalization
    in_channels: int
    layer_window: dict[str, Any] | None = None
    """The segments' layer windows (:meth:`ccdstudio.ml.segment_train.SegmentWindows.summary`), if chosen so."""

    def summary(self) -> dict[str, Any]:
        counts = class_counts(self.items, len(self.classes))
        return {
            "images": [item.name for item in self.items],
            "planes": self.items[0].planes,
            "pixels": {name: int(c) for name, c in zip(self.classes.names, counts)},
            "validation_windows": len(self.validation),
            **({"layer_window": self.layer_window} if self.layer_window else {}),
        }


def load_data(specs: list[DataSpec], *, classes: ClassSet | None = None, normalization: Normalization | str = "auto",
              in_channels: int = 1, layers: LayerChoice | None = None, crop: int = 256, val_split: float = 0.2,
              seed: int = 0) -> TrainingData:
    """Read the training images and labels and hold out the seeded validation cells.

    ``normalization`` is as in :func:`choose_normalization`. ``classes`` default to those of the specs'
    project (:func:`~ccdstudio.ml.data.specs_classes`), else to the first label file's.
    """
    if not specs:
        raise CcdstudioError("no training data given")
    classes = classes or specs_classes(specs)
    normalization = choose_normalization(specs, normalization)
    items = []
    for spec in specs:
        loaded, classes = load_items(spec, in_channels, normalization, classes, layers)
        items += loaded
    channels = {len(item.planes) for item in items}
    if len(channels) != 1:
        raise CcdstudioError(f"the images give different numbers of input planes: {sorted(channels)}")
    validation = split_validation(items, crop, val_split, seed)
    return TrainingData(items, validation, classes, normalization, channels.pop())


def choose_normalization(specs: Sequence[DataSpec], requested: Normalization | str = "auto",
                         model: Normalization | None = None, name: str = "the init model") -> Normalization:
    """The normalisation to load ``specs`` with.

    ``requested`` is a normalisation or its method; ``"auto"`` is ``"ccd"`` when every image is FITS, else
    ``"percentile"``. With the ``model`` (``name``) of a fine-tuning, its own normalisation is returned, after
    checking that the requested method is the model's (a clear error when the data is of another kind).
    """
    method = requested.method if isinstance(requested, Normalization) else requested
    if method == "auto":
        fits = all(s.image.suffix.lower() in (".fits", ".fit", ".fts", ".fz", ".gz") for s in specs)
        method = "ccd" if fits else "percentile"
    if model is not None:
        _check_kind(method, model, name)
        return model
    return requested if isinstance(requested, Normalization) else Normalization(method)


def _check_kind(method: str, model: Normalization, name: str) -> None:
    if method != model.method:
        raise CcdstudioError(
            f"{name} was trained on {_KINDS[model.method]} ({model.method} normalisation) but the data is loaded "
            f"as {_KINDS.get(method, method)} ({method} normalisation); fine-tune it on data of its kind, or choose "
            f"{model.method} normalisation if this data is of its kind after all")


@dataclass(frozen=True)
class InitModel:
    """The model a fine-tuning starts from: its description, its weights and what the new model records of it."""

    info: ModelInfo
    weights: dict[str, torch.Tensor]
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return f"the init model {self.record['name']}"


def read_init(init: str | os.PathLike[str]) -> InitModel:
    """The model file or bundled model name ``init``, its weights checked against its architecture.

    Only tensors are read (safetensors), never pickles.
    """
    path = resolve_model(init, option="--init")
    model = load_model(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    record = {"name": path.name.removesuffix(".safetensors"), "path": str(path), "sha256": digest.hexdigest(),
              "bytes": path.stat().st_size, "classes": model.info.classes.names}
    return InitModel(model.info, model.net.state_dict(), record)


def _adopt_normalization(data: TrainingData, normalization: Normalization, name: str) -> TrainingData:
    """``data`` scaled as the model ``name`` scales its input; each image's statistics are measured again
    when the parameters differ from those it was loaded with."""
    _check_kind(data.normalization.method, normalization, name)
    if data.normalization == normalization:
        return data
    items = []
    for item in data.items:
        source = item.opener()
        try:
            stats = normalization.measure(source, item.planes)
        finally:
            source.close()
        items.append(dataclasses.replace(item, stats=stats, _source=None, _pid=-1))
    return dataclasses.replace(data, items=items, normalization=normalization)


def _architecture(requested: dict[str, Any], data: TrainingData, start: UNetConfig | None,
                  name: str) -> UNetConfig:
    """The network for ``data``: the ``requested`` settings, or when continuing from a model (``start``, named
    ``name``) its architecture, which ``requested`` may only repeat."""
    own = {"in_channels": data.in_channels, "n_classes": len(data.classes)}
    if start is None:
        return UNetConfig.from_dict({**requested, **own})
    if start.in_channels != data.in_channels:
        raise CcdstudioError(f"{name} takes {start.in_channels} input channel(s) but the data has "
                             f"{data.in_channels}; choose as many planes or layers as it was trained on")
    arch = UNetConfig.from_dict({**start.to_dict(), "n_classes": len(data.classes)})
    wanted = UNetConfig.from_dict({**arch.to_dict(), **requested, **own})
    conflicts = [f"{key}={getattr(wanted, key)} (it has {getattr(arch, key)})"
                 for key in requested if key not in own and getattr(wanted, key) != getattr(arch, key)]
    if conflicts:
        raise CcdstudioError(f"the architecture comes from {name}; drop the conflicting settings "
                             f"{', '.join(conflicts)}")
    return arch


def _postprocess(config: TrainConfig, base: ModelInfo | None, classes: ClassSet) -> tuple[str, ...]:
    """The configured post-processing steps, else those of the model continued from that the classes allow."""
    if config.postprocess or base is None:
        return config.postprocess
    return usable_steps(base.postprocess, classes.names, base.normalization.method)


def _transfer(net: UNet, init: InitModel, classes: ClassSet) -> dict[str, list[str]]:
    """Load ``init``'s weights into ``net``, the classifier's rows following the class names; returns the
    classes that keep their fresh rows (new) and the init model's classes left out (dropped)."""
    source = init.info.classes.names
    state = net.state_dict()
    for key, value in init.weights.items():
        if key.startswith(HEAD):
            for row, name in enumerate(classes.names):
                if name in source:
                    state[key][row] = value[source.index(name)]
        else:
            state[key] = value
    net.load_state_dict(state)
    return {"new_classes": [n for n in classes.names if n not in source],
            "dropped_classes": [n for n in source if n not in classes.names]}


@dataclass
class TrainResult:
    """What a finished training produced."""

    model: Path
    best_epoch: int
    best_val_loss: float
    report: dict[str, Any]
    stopped: str
    history: list[dict[str, Any]]
    confusion: list[list[int]] | None = None
    """The best epoch's validation confusion matrix (rows true class, columns predicted)."""


def last_checkpoint(out: str | os.PathLike[str]) -> Path:
    """Where the resumable last state of a training writing ``out`` goes."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".safetensors") + ".last.safetensors")


def _optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> Any:
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.lr / 100)
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=max(config.patience // 3, 1))
    return None


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimiser state dict as tensors (for safetensors) and JSON (the rest)."""
    tensors, plain = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer/{index}/{key}"] = value
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"state": plain, "param_groups": state["param_groups"]}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for index, entry in meta["state"].items():
        state.setdefault(int(index), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def _loader(dataset: CropDataset, batch_size: int, workers: int, device: torch.device) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                                       pin_memory=device.type == "cuda", drop_last=False)


def _default_workers(device: torch.device, layout: ddp.Distributed) -> int:
    # On a CPU the loader's work (a window read, a normalisation, a flip) is small beside the network's,
    # and extra processes would only take cores from it; a GPU needs them to stay busy.
    if device.type == "cpu":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, min(8, (cores - 1) // layout.world_size))


def _validate(net: torch.nn.Module, loader: Any, rounds: int, loss_fn: SegmentationLoss, device: torch.device,
              n_classes: int, layout: ddp.Distributed, cancel: CancelToken | None) -> tuple[float, np.ndarray]:
    """Mean validation loss (per batch, over all ranks) and the summed confusion matrix.

    ``rounds`` is the largest number of batches any rank has: every rank checks for cancelling that often
    (a collective), running out of batches first or not.
    """
    net.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    confusion = torch.zeros(n_classes * n_classes, dtype=torch.int64, device=device)
    batches = iter(loader)
    with torch.inference_mode():
        for _ in range(rounds):
            layout.check(cancel)
            batch = next(batches, None)
            if batch is None:
                continue
            x, y = batch
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True)
            with autocast(device):
                logits = net(x)
            totals += torch.stack([loss_fn(logits, y).double(), torch.ones((), dtype=torch.float64, device=device)])
            valid = y != IGNORE
            confusion += torch.bincount(y[valid] * n_classes + logits.argmax(1)[valid], minlength=n_classes**2)
    layout.sum(totals)
    layout.sum(confusion)
    loss = float(totals[0] / totals[1]) if totals[1] else float("nan")
    return loss, confusion.cpu().numpy().reshape(n_classes, n_classes)


def train(data: TrainingData, out: str | os.PathLike[str], config: TrainConfig = TrainConfig(),
          architecture: dict[str, Any] | None = None, *, resume: bool = False,
          init: str | os.PathLike[str] | None = None, cancel: CancelToken | None = None) -> Job[TrainResult]:
    """Train a U-Net on ``data`` and write the best model to ``out`` (see the module docstring).

    ``architecture`` holds :class:`~ccdstudio.ml.unet.UNetConfig` fields other than the channels and
    classes, which follow from the data; when resuming or fine-tuning it defaults to (and may only repeat)
    the checkpoint's or init model's. ``init`` is a model file or bundled model name to fine-tune.
    """
    out = Path(out)
    device = choose_device(config.device)
    layout = ddp.setup(device)
    device = ddp.local_device(device, layout)
    finished = False
    try:
        result = yield from _train(data, out, config, dict(architecture or {}), resume, init, cancel, device,
                                   layout)
        finished = True
    except CcdstudioError as error:
        if layout.is_main and not isinstance(error, Cancelled):
            yield Progress(None, str(error), {"event": "error", "message": str(error)})
        raise
    finally:
        ddp.teardown(layout, finished)
    return result


def _train(data: TrainingData, out: Path, config: TrainConfig, architecture: dict[str, Any], resume: bool,
           init: str | os.PathLike[str] | None, cancel: CancelToken | None, device: torch.device,
           layout: ddp.Distributed) -> Job[TrainResult]:
    if resume and init is not None:
        raise CcdstudioError(INIT_AND_RESUME)
    n_classes = len(data.classes)
    start = read_init(init) if init is not None else None
    checkpoint = _read_last(out) if resume else None
    # The model continued from fixes the architecture and normalisation.
    base, name = None, ""
    if start is not None:
        base, name = start.info, start.name
    elif checkpoint is not None:
        base, name = checkpoint[0], f"the checkpoint {last_checkpoint(out)}"
    if base is not None:
        data = _adopt_normalization(data, base.normalization, name)
    arch = _architecture(architecture, data, base.architecture if base else None, name)
    torch.manual_seed(config.seed)  # new classes' classifier rows are seeded like a new network
    net = UNet(arch)
    if start is not None:
        init_record = {**start.record, **_transfer(net, start, data.classes)}
    else:  # a resumed fine-tuning keeps its init record
        init_record = checkpoint[0].training.get("init") if checkpoint else None
    net = net.to(device).to(memory_format=torch.channels_last)
    if layout.enabled and device.type == "cuda":
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    if config.class_weights is not None:
        if len(config.class_weights) != n_classes:
            raise CcdstudioError(f"{len(config.class_weights)} class weights for {n_classes} classes")
        weights = torch.tensor(config.class_weights, dtype=torch.float32)
    else:
        weights = class_weights(class_counts(data.items, n_classes)) if config.class_weighting else None
    loss_fn = SegmentationLoss(config.loss, weights).to(device)
    optimizer = _optimizer(config, net.parameters())
    scheduler = _scheduler(config, optimizer)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
    progress = {"epoch": 0, "best_val_loss": math.inf, "best_epoch": 0, "bad_epochs": 0, "history": [],
                "best_report": {}, "best_confusion": None}
    if checkpoint:
        _restore(checkpoint, net, optimizer, scheduler, scaler, progress, data.classes)
    model = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None) \
        if layout.enabled else net

    summary = data.summary()
    info = ModelInfo(arch, data.classes, data.normalization, config.tile, config.overlap,
                     training={**summary, "config": asdict(config), "world_size": layout.world_size,
                               **({"init": init_record} if init_record else {})},
                     seed=config.seed, postprocess=_postprocess(config, base, data.classes))
    workers = config.workers if config.workers is not None else _default_workers(device, layout)
    val_windows = [data.validation[k] for k in layout.shard(len(data.validation))]
    val_rounds = math.ceil(len(layout.shard_of(0, len(data.validation))) / config.batch_size)  # rank 0 has the most
    val_loader = _loader(CropDataset(data.items, val_windows, config.crop, data.normalization), config.batch_size,
                         workers, device)
    per_round = config.batch_size * layout.world_size  # equal batch counts on every rank, or DDP would hang
    samples = config.samples_per_epoch or default_samples_per_epoch(data.items, config.crop, per_round)
    samples = math.ceil(samples / per_round) * per_round
    steps_per_epoch = math.ceil(samples / per_round)
    stopped = "completed"
    first_epoch = progress["epoch"] + 1
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            started = time.perf_counter()
            plan = plan_epoch(data.items, n_classes, config.crop, samples, config.seed, epoch)
            mine = [plan[k] for k in layout.shard(len(plan))]
            dataset = CropDataset(data.items, mine, config.crop, data.normalization, config.augmentation,
                                  config.seed, epoch)
            model.train()
            losses = []
            for step, (x, y) in enumerate(_loader(dataset, config.batch_size, workers, device), start=1):
                layout.check(cancel)
                x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                y = y.to(device, non_blocking=True)
                with autocast(device, config.amp):
                    loss = loss_fn(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                losses.append(float(loss.detach()))
                if layout.is_main:
                    done = (epoch - first_epoch + step / steps_per_epoch) / (config.epochs - first_epoch + 1)
                    yield Progress(done, f"epoch {epoch}/{config.epochs} step {step}/{steps_per_epoch} loss {losses[-1]:.4f}",
                                   {"event": "step", "epoch": epoch, "step": step, "loss": losses[-1],
                                    "lr": optimizer.param_groups[0]["lr"]})
            train_loss = float(layout.sum(torch.tensor([np.mean(losses)], dtype=torch.float64, device=device))[0]) / layout.world_size
            val_loss, confusion = (_validate(net, val_loader, val_rounds, loss_fn, device, n_classes, layout, cancel)
                                   if data.validation else (train_loss, None))
            seconds = time.perf_counter() - started
            report = classification_report(confusion, data.classes.names) if confusion is not None else {}
            record = _epoch_record(epoch, train_loss, val_loss, report, confusion, data.classes.names,
                                   samples * config.crop**2 / seconds / 1e6, seconds)
            progress["history"].append(record)
            if scheduler is not None:
                scheduler.step(val_loss) if config.schedule == "plateau" else scheduler.step()
            better = val_loss < progress["best_val_loss"]
            progress["bad_epochs"] = 0 if better else progress["bad_epochs"] + 1
            improved = better or config.keep == "last"
            if improved:
                progress.update(best_val_loss=val_loss, best_epoch=epoch, best_report=report,
                                best_confusion=record.get("confusion"))
            progress["epoch"] = epoch
            if layout.is_main:
                yield Progress((epoch - first_epoch + 1) / (config.epochs - first_epoch + 1),
                               f"epoch {epoch}: loss {train_loss:.4f}, validation loss {val_loss:.4f}", record)
                if improved:
                    info.metrics = {"epoch": epoch, "val_loss": val_loss, "report": report,
                                    "confusion": record.get("confusion")}
                    save_model(out, net, info)
                    yield Progress(None, f"saved the best model to {out}", {"event": "checkpoint", "kind": "best", "path": str(out)})
                _save_last(out, net, info, optimizer, scheduler, scaler, progress)
                yield Progress(None, "saved the last state", {"event": "checkpoint", "kind": "last",
                                                              "path": str(last_checkpoint(out))})
            if config.patience and progress["bad_epochs"] >= config.patience:
                stopped = "early_stop"
                break
    except Cancelled:
        stopped = "cancelled"
    result = TrainResult(out, progress["best_epoch"], progress["best_val_loss"], progress["best_report"], stopped,
                         progress["history"], progress.get("best_confusion"))
    if layout.is_main:
        yield Progress(1.0, f"finished ({stopped}); best epoch {result.best_epoch}",
                       {"event": "finished", "stopped": stopped, "best_epoch": result.best_epoch,
                        "best_val_loss": result.best_val_loss, "report": result.report,
                        "confusion": result.confusion, "model": str(out)})
    if stopped == "cancelled":
        raise Cancelled()
    return result


def _epoch_record(epoch: int, loss: float, val_loss: float, report: dict, confusion: np.ndarray | None,
                  names: list[str], mpix: float, seconds: float) -> dict[str, Any]:
    record: dict[str, Any] = {"event": "epoch", "epoch": epoch, "loss": loss, "val_loss": val_loss,
                              "mpix_per_s": mpix, "seconds": seconds}
    if report:
        record |= {"accuracy": report["accuracy"], "f1_macro": report["macro avg"]["f1-score"],
                   "iou_mean": report["macro avg"]["iou"], "f1": {n: report[n]["f1-score"] for n in names},
                   "iou": {n: report[n]["iou"] for n in names}, "report": report,
                   "confusion": confusion.tolist() if confusion is not None else None}
    return record


def _save_last(out: Path, net: torch.nn.Module, info: ModelInfo, optimizer: torch.optim.Optimizer,
               scheduler: Any, scaler: Any, progress: dict) -> None:
    tensors, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
    tensors["torch_rng"] = torch.get_rng_state()
    meta = {"optimizer": optimizer_meta, "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict(), "progress": progress}
    save_model(last_checkpoint(out), net, info, resume=(tensors, meta))


def _read_last(out: Path) -> tuple[ModelInfo, dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    path = last_checkpoint(out)
    if not path.is_file():
        raise CcdstudioError(f"nothing to resume: no {path} (a training writes it after its first epoch)")
    return read_checkpoint(path)


def _restore(checkpoint: tuple[ModelInfo, dict[str, torch.Tensor], dict[str, torch.Tensor], dict],
             net: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any, progress: dict,
             classes: ClassSet) -> None:
    info, weights, tensors, meta = checkpoint
    if info.classes.names != classes.names:
        raise CcdstudioError(f"the checkpoint was trained for classes {info.classes.names}, not {classes.names}; "
                             "start a new training")
    net.load_state_dict(weights)
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    if scheduler is not None and meta.get("scheduler"):
        scheduler.load_state_dict(meta["scheduler"])
    if meta.get("scaler"):
        scaler.load_state_dict(meta["scaler"])
    torch.set_rng_state(tensors["torch_rng"])
    progress.update(meta["progress"])
