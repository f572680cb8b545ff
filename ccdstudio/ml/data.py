"""Training data: finding image/label pairs, a seeded validation split, and class-balanced random crops.

What ``--data`` accepts (:func:`find_pairs`):

- an image file whose labels lie beside it as ``<stem>_labels.<ext>`` (``.fits``, ``.tif``, ``.png``,
  ``.npy``; ``frame.fits`` -> ``frame_labels.fits``), or an explicit ``IMAGE:LABELS`` pair;
- a scroll segment folder with its own ``inklabels.png`` (and ``mask.png``);
- a folder of such files, of exported samples (``ccdstudio export crops``: segment-like folders, or
  ``image.tif`` + ``labels.png`` + ``mask.png``), searched recursively;
- a ccdstudio project folder (or its ``ccdstudio-project.json``): its images that have a saved label file,
  read in the project's current classes (:func:`project_pairs`).

The validation split is spatial, so that no validation pixel is ever trained on: every image is cut into
``crop x crop`` cells and a seeded share of all cells (over all images) is held out; training windows are
drawn by :func:`ccdstudio.export.sampling.random_windows` with a mask that excludes those cells (a window
of the same size as a cell overlaps it only if one of its corners lies inside, which the sampler checks).
Pixels outside a segment's mask are labelled ``IGNORE``, and so are a CCD plane's overscan and prescan
when its labels cover only the data section (``DATASEC``).

Each epoch draws fresh windows class-balanced: a class is picked uniformly among those present, then an
image holding it (weighted by area), then a window holding more than 0 pixels of it. Windows, flips,
rot90 and intensity jitter all follow from ``(seed, epoch, index)``, so training is repeatable whatever
the number of loader workers or ranks.
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.source import ImageSource, Window
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.project import MANIFEST
from ccdstudio.ml.losses import IGNORE
from ccdstudio.ml.normalize import Normalization, Stats

IMAGE_SUFFIXES = (".fits.gz", ".fits", ".fit", ".fts", ".fz", ".tiff", ".tif", ".png", ".jpg", ".jpeg", ".npy")
LABEL_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".tif", ".tiff", ".png", ".npy")


@dataclass(frozen=True)
class DataSpec:
    """One training image: a file or folder, its label file (None: the source's own label plane), its mask."""

    image: Path
    labels: Path | None = None
    mask: Path | None = None
    classes: ClassSet | None = None
    """The classes the labels belong to when they come from somewhere that defines them (a project)."""


def _stem(path: Path) -> str | None:
    name = path.name
    lower = name.lower()
    return next((name[: -len(s)] for s in IMAGE_SUFFIXES if lower.endswith(s)), None)


def labels_beside(image: Path) -> Path | None:
    """The label file ``<stem>_labels.<ext>`` next to ``image``, if there is one."""
    stem = _stem(image)
    if stem is None:
        return None
    return next((p for s in LABEL_SUFFIXES if (p := image.with_name(f"{stem}_labels{s}")).is_file()), None)


def _is_auxiliary(path: Path) -> bool:
    """Label maps, masks and sidecars found while scanning a folder, which are not images to train on."""
    stem = (_stem(path) or "").lower()
    return stem.endswith(("_labels", "inklabels", "_mask")) or stem in ("mask", "labels") or path.name.endswith(".json")


def find_pairs(paths: Sequence[str | os.PathLike[str]]) -> list[DataSpec]:
    """The training images named by ``paths`` (see the module docstring); a path yielding none is an error."""
    specs: list[DataSpec] = []
    for entry in paths:
        text = os.fspath(entry)
        image, sep, labels = text.rpartition(":")
        if sep and image and Path(image).exists() and not Path(text).exists():
            if not Path(labels).is_file():
                raise CcdstudioError(f"no label file {labels}")
            specs.append(DataSpec(Path(image), Path(labels)))
            continue
        path = Path(text)
        if path.name == MANIFEST or (path / MANIFEST).is_file():
            specs += project_pairs(path)
        elif path.is_file():
            found = labels_beside(path)
            if found is None:
                raise CcdstudioError(f"no labels for {path}: expected {(_stem(path) or path.stem)}_labels.(fits|tif|png|npy) "
                                     "beside it, or give IMAGE:LABELS")
            specs.append(DataSpec(path, found))
        elif path.is_dir():
            found_here = _scan(path)
            if not found_here:
                raise CcdstudioError(f"no training data in {path}: no segment, exported sample, or image with "
                                     "<stem>_labels.* beside it")
            specs += found_here
        else:
            raise CcdstudioError(f"no such file or folder: {path}")
    return specs


def project_pairs(path: str | os.PathLike[str]) -> list[DataSpec]:
    """The images of the ccdstudio project at ``path`` (its folder or manifest) that have saved labels.

    The project is only read (nothing in its folder is touched, so a GUI session may have it open). Each
    spec carries the project's classes, which :func:`ccdstudio.ml.train.load_data` trains on unless told
    otherwise; :func:`ccdstudio.labels.io.load_labels` brings label files saved before a class remap into
    them.
    """
    from ccdstudio.labels.project import Project

    project = Project.read(path)
    specs = []
    for key in project.images:
        labels = project.labels_path(key)
        if not labels.is_file():
            continue
        image = project.image_path(key)
        if not image.exists():
            raise CcdstudioError(f"the project in {project.folder} lists {image} (image {key!r}), which is missing; "
                                 "relink it in the project or move it back")
        specs.append(DataSpec(image, labels, classes=project.classes))
    if not specs:
        raise CcdstudioError(f"the project in {project.folder} has no labelled images yet (save some labels first)")
    return specs


def specs_classes(specs: Sequence[DataSpec]) -> ClassSet | None:
    """The class set the specs' sources define (a project's), None when none does; two differing sets are an
    error, since training needs one."""
    found = {tuple(s.classes.names): s.classes for s in specs if s.classes is not None}
    if len(found) > 1:
        listed = "; ".join(", ".join(names) for names in found)
        raise CcdstudioError(f"the training data come with different class sets ({listed}); choose one with --classes")
    return next(iter(found.values()), None)


def _scan(folder: Path) -> list[DataSpec]:
    if (folder / "image.tif").is_file() and (folder / "labels.png").is_file():
        mask = folder / "mask.png"
        return [DataSpec(folder / "image.tif", folder / "labels.png", mask if mask.is_file() else None)]
    if any((folder / name).is_dir() for name in ("layers", "surface_volume")):
        return [DataSpec(folder)]
    specs = []
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            specs += _scan(child)
        elif not _is_auxiliary(child) and (labels := labels_beside(child)) is not None:
            specs.append(DataSpec(child, labels))
    return specs


LayerChoice = tuple[int, int] | Callable[[ImageSource], list[int]]
"""Input layers: ``(first, last)`` for every image, or a function picking each image's planes (e.g.
:class:`ccdstudio.ml.segment_train.SegmentWindows`, centred on each segment's surface)."""


def training_planes(source: ImageSource, in_channels: int, layers: LayerChoice | None = None) -> list[int]:
    """Planes used as input channels: ``layers`` (inclusive, 0-based) if given, ``layers(source)`` if it is
    a function, else as :func:`ccdstudio.ml.infer.choose_planes` picks them."""
    if callable(layers):
        return list(layers(source))
    if layers is not None:
        from ccdstudio.export.inputs import layer_planes

        return layer_planes(source, layers)
    from ccdstudio.ml.infer import choose_planes

    return choose_planes(source, in_channels)


@dataclass
class TrainingItem:
    """One image ready for sampling: how to open it, its input planes, labels (uint8) and statistics."""

    name: str
    opener: Callable[[], ImageSource]
    planes: list[int]
    labels: np.ndarray
    stats: Stats
    allowed: np.ndarray | None = None
    """Where training windows may lie (mask minus validation cells); None for everywhere."""
    _source: ImageSource | None = field(default=None, repr=False)
    _pid: int = -1

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def source(self) -> ImageSource:
        """The image, opened once per process (loader workers must not share file handles)."""
        if self._source is None or self._pid != os.getpid():
            self._source, self._pid = self.opener(), os.getpid()
        return self._source

    def read(self, window: Window) -> np.ndarray:
        return self.source().read_stack(self.planes, window)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_source": None, "_pid": -1}


def _remap(labels: np.ndarray, own: ClassSet, classes: ClassSet, name: str) -> np.ndarray:
    """Indices of ``own`` turned into indices of ``classes`` by class name."""
    if own.names == classes.names[: len(own)]:
        return labels
    generic = all(n == "background" or n.startswith("class ") for n in own.names)
    missing = [n for n in own.names if n not in classes.names]
    if missing and generic and len(own) <= len(classes):
        return labels  # unnamed classes: take the indices as they are
    present = np.bincount(labels.ravel(), minlength=256)[: len(own)] > 0
    used = [n for n, p in zip(own.names, present) if p and n in missing]
    if used:  # a class without pixels in this file may be missing from the training classes
        raise CcdstudioError(f"{name} has classes {used} that are not among the training classes {classes.names}")
    lut = np.full(256, IGNORE, np.uint8)
    lut[: len(own)] = [classes.index(n) if n in classes.names else IGNORE for n in own.names]
    return lut[labels]


def _on_plane(labels: np.ndarray, header: Mapping[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """``labels`` of a plane's data section (DATASEC) placed on the whole plane, unlabelled outside it (the
    overscan); other labels as they are."""
    from ccdstudio.io.ccd import data_window_of

    window = data_window_of(header, labels.shape)
    if labels.shape == shape or window is None:
        return labels
    placed = np.full(shape, IGNORE, np.uint8)
    placed[window] = labels
    return placed


def load_items(spec: DataSpec, in_channels: int, normalization: Normalization, classes: ClassSet | None,
               layers: LayerChoice | None = None) -> tuple[list[TrainingItem], ClassSet]:
    """:func:`load_item`, but labels drawn on the whole CCD of a multi-amplifier FITS (its DETSEC mosaic)
    give one item per amplifier, each read as stored, with its overscans, as ``predict`` reads it."""
    from ccdstudio.io import open_image
    from ccdstudio.io.ccd import amplifier_planes, mosaic_shape, split_mosaic

    if in_channels == 1 and layers is None and spec.labels is not None:
        with open_image(spec.image) as source:
            shape = mosaic_shape(source)
            if shape is not None and _label_shape(spec.labels) == shape:
                from ccdstudio.labels.io import load_labels

                labels, own = load_labels(spec.labels)
                parts = split_mosaic(source, labels, IGNORE)
                items = []
                for plane in amplifier_planes(source):
                    item, classes = load_item(spec, 1, normalization, classes, lambda _, p=plane: [p],
                                              (parts[plane], own))
                    items.append(replace(item, name=f"{spec.image} [{source.planes[plane].name}]"))
                return items, classes
    item, classes = load_item(spec, in_channels, normalization, classes, layers)
    return [item], classes


def _label_shape(path: Path) -> tuple[int, int]:
    from ccdstudio.io import open_image

    with open_image(path) as labels:
        return tuple(labels.planes[0].shape[:2])  # type: ignore[return-value]


def load_item(spec: DataSpec, in_channels: int, normalization: Normalization, classes: ClassSet | None,
              layers: LayerChoice | None = None,
              labelled: tuple[np.ndarray, ClassSet] | None = None) -> tuple[TrainingItem, ClassSet]:
    """Open ``spec``, read its labels (remapped to ``classes``; the file's own when None) and mask.

    ``layers`` as :func:`training_planes` takes them; ``labelled`` is ``(labels, their classes)`` read already.
    """
    from ccdstudio.export.inputs import source_labels, source_mask
    from ccdstudio.io import open_image
    from ccdstudio.labels.io import load_labels

    opener = functools.partial(open_image, spec.image)
    source = opener()
    planes = training_planes(source, in_channels, layers)
    if labelled is not None:
        labels, own = labelled
    elif spec.labels is not None:
        labels, own = load_labels(spec.labels)
    else:
        lazy, own = source_labels(source)
        if lazy is None:
            raise CcdstudioError(f"{spec.image} has no labels (no inklabels.png or label plane)")
        labels = np.asarray(lazy[:, :]).astype(np.uint8)
        own = own or ClassSet.default(int(labels.max()) + 1)
    shape = source.planes[planes[0]].shape
    labels = _on_plane(labels, source.planes[planes[0]].header, shape)
    if labels.shape != shape:
        raise CcdstudioError(f"the labels of {spec.image} are {labels.shape[1]}x{labels.shape[0]} "
                             f"but the image is {shape[1]}x{shape[0]}")
    classes = classes or own
    labels = _remap(labels, own, classes, str(spec.labels or spec.image))
    if int(labels[labels != IGNORE].max(initial=0)) >= len(classes):
        raise CcdstudioError(f"{spec.labels or spec.image} uses class {int(labels.max())} beyond {classes.names}")
    mask = None
    if spec.mask is not None:
        mask = open_image(spec.mask).read(0) != 0
    elif (lazy_mask := source_mask(source)) is not None:
        mask = np.asarray(lazy_mask[:, :]) != 0
    if mask is not None:
        labels = np.where(mask, labels, np.uint8(IGNORE))
    stats = normalization.measure(source, planes)
    source.close()
    return TrainingItem(str(spec.image), opener, planes, labels, stats, mask), classes


@dataclass(frozen=True)
class Augmentation:
    """Random changes applied to training crops: flips/rot90 (image and labels alike), then intensity
    scale, offset and Gaussian noise on the normalised image."""

    flip: float = 0.5
    rot90: float = 0.5
    scale: float = 0.1
    offset: float = 0.1
    noise: float = 0.05

    def intensity(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        gain = 1 + rng.uniform(-self.scale, self.scale)
        shift = rng.uniform(-self.offset, self.offset)
        sigma = rng.uniform(0, self.noise)
        return (image * gain + shift + rng.normal(0, 1, image.shape) * sigma).astype(np.float32)


NO_AUGMENTATION = Augmentation(0, 0, 0, 0, 0)


def split_validation(items: list[TrainingItem], crop: int, fraction: float, seed: int) -> list[tuple[int, Window]]:
    """Hold out a seeded ``fraction`` of all ``crop x crop`` cells; mark them off-limits for training.

    Returns the validation windows as ``(item index, window)``. Images smaller than a crop are one cell.
    Cells without any labelled pixel are never chosen. Sets each item's ``allowed`` map.
    """
    cells = []
    for i, item in enumerate(items):
        height, width = item.shape
        ch, cw = min(crop, height), min(crop, width)
        for y in range(0, height - ch + 1, ch):
            for x in range(0, width - cw + 1, cw):
                window = (slice(y, y + ch), slice(x, x + cw))
                if (item.labels[window] != IGNORE).any():
                    cells.append((i, window))
    n_val = round(fraction * len(cells)) if len(cells) > 1 else 0
    n_val = min(max(n_val, 1 if fraction > 0 and len(cells) > 1 else 0), len(cells) - 1)
    chosen = sorted(np.random.default_rng([seed, 7]).choice(len(cells), n_val, replace=False).tolist()) if n_val else []
    validation = [cells[k] for k in chosen]
    for i, item in enumerate(items):
        held = [w for j, w in validation if j == i]
        if held:
            allowed = item.allowed.copy() if item.allowed is not None else np.ones(item.shape, bool)
            for window in held:
                allowed[window] = False
            item.allowed = allowed
    return validation


def class_counts(items: Sequence[TrainingItem], n_classes: int) -> np.ndarray:
    """Labelled pixels per class in the training area of ``items``."""
    total = np.zeros(n_classes, np.int64)
    for item in items:
        labels = item.labels if item.allowed is None else item.labels[item.allowed]
        total += np.bincount(labels.ravel(), minlength=256)[:n_classes]
    return total


def plan_epoch(items: Sequence[TrainingItem], n_classes: int, crop: int, count: int, seed: int,
               epoch: int) -> list[tuple[int, Window]]:
    """``count`` class-balanced training windows for ``epoch`` (see the module docstring)."""
    from ccdstudio.export.sampling import random_windows

    rng = np.random.default_rng([seed, epoch, 1])
    present = [[int(c) for c in np.unique(item.labels if item.allowed is None else item.labels[item.allowed])
                if c < n_classes] for item in items]
    classes = sorted({c for p in present for c in p})
    if not classes:
        raise CcdstudioError("no labelled pixel is left for training")
    areas = np.array([item.labels.size if item.allowed is None else item.allowed.sum() for item in items], float)
    wanted: Counter[tuple[int, int]] = Counter()
    for cls in rng.choice(classes, count):
        holders = [i for i, p in enumerate(present) if cls in p]
        weights = areas[holders] / areas[holders].sum()
        wanted[(int(rng.choice(holders, p=weights)), int(cls))] += 1
    plan: list[tuple[int, Window]] = []
    for (i, cls), k in sorted(wanted.items()):
        item = items[i]
        size = (min(crop, item.shape[0]), min(crop, item.shape[1]))
        try:
            windows = random_windows(item.shape, size, k, rng, mask=item.allowed, labels=item.labels, cls=cls)
        except CcdstudioError:  # the class lies only where no whole window fits: any training window will do
            windows = random_windows(item.shape, size, k, rng, mask=item.allowed)
        plan += [(i, w) for w in windows]
    order = rng.permutation(len(plan))
    return [plan[k] for k in order]


class CropDataset(torch.utils.data.Dataset):
    """Normalised ``(channels, crop, crop)`` float32 crops and ``(crop, crop)`` int64 labels.

    Crops smaller than ``crop`` (small images) are padded with zeros and ``IGNORE`` labels.
    """

    def __init__(self, items: Sequence[TrainingItem], windows: Sequence[tuple[int, Window]], crop: int,
                 normalization: Normalization, augmentation: Augmentation = NO_AUGMENTATION,
                 seed: int = 0, epoch: int = 0):
        self.items, self.windows, self.crop = list(items), list(windows), crop
        self.normalization, self.augmentation = normalization, augmentation
        self.seed, self.epoch = seed, epoch

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from ccdstudio.export.sampling import augment

        i, window = self.windows[index]
        item = self.items[i]
        image = self.normalization.apply(item.read(window), item.stats, window[0])
        labels = item.labels[window]
        if self.augmentation != NO_AUGMENTATION:
            rng = np.random.default_rng([self.seed, self.epoch, index, 2])
            image, labels = augment([image, labels], rng, self.augmentation.flip, self.augmentation.rot90)
            image = self.augmentation.intensity(image, rng)
        x = np.zeros((image.shape[0], self.crop, self.crop), np.float32)
        y = np.full((self.crop, self.crop), IGNORE, np.int64)
        x[:, : image.shape[1], : image.shape[2]] = image
        y[: labels.shape[0], : labels.shape[1]] = labels
        return torch.from_numpy(x), torch.from_numpy(y)


def default_samples_per_epoch(items: Sequence[TrainingItem], crop: int, batch_size: int) -> int:
    """Enough crops to cover the training area about once, in whole batches (at least 4, at most 500)."""
    area = sum(item.labels.size if item.allowed is None else int(item.allowed.sum()) for item in items)
    batches = min(max(math.ceil(area / crop**2 / batch_size), 4), 500)
    return batches * batch_size
