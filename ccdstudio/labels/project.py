"""A labelling project on disk: a folder with a manifest, the label files, and autosaves.

::

    my-project/
      ccdstudio-project.json     version, class set, images (path + label file + settings + statistics +
                                 class version), remaps (the class history), models, settings
      labels/<key>.png|.fits     the saved label map of each image (FITS for FITS images, header kept)
      .autosave/                 <key>.autosave.npz written by :meth:`Project.autosave`, session locks

Every change of the project's classes is recorded as a :class:`~ccdstudio.labels.remap.Remap` (merges and
reorders move pixels; adding, renaming and recolouring map each class onto itself), so the recorded remaps are
the history of the class set. Each image notes how many of them its saved label file already reflects (its
class version). A label file saved before a remap is read through the remaps recorded after it
(:meth:`Project.current`): opened in the editor, exported or trained on, it is in the project's current
classes. :func:`ccdstudio.labels.io.load_labels` does this for any project label file (``labels/<key>.*``).

Image paths are stored relative to the project folder where possible (so a project and its data can move
together) with ``/`` separators. Every write is atomic; a failed write (read-only folder, full disk) raises
:class:`~ccdstudio.errors.CcdstudioError` and leaves both the files and the caller's labels as they were.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.labels import autosave as autosaves
from ccdstudio.io.atomic import write_error, write_text
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import label_format, load_labels, save_labels, sidecar_path
from ccdstudio.labels.remap import Remap
from ccdstudio.labels.stats import stats_dict

MANIFEST = "ccdstudio-project.json"
VERSION = 1
AUTOSAVE_DIR = ".autosave"
LABELS_DIR = "labels"
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz")


@dataclass
class ProjectImage:
    """One image of a project: where it is, where its labels are saved, its settings and label statistics.

    ``path`` is as stored in the manifest (relative to the project folder, or absolute); ``labels`` is
    relative to the project folder; ``classes_version`` is the number of recorded remaps the saved label
    file already reflects (None: unknown, the file's class set is looked up in the history).
    """

    key: str
    path: str
    labels: str
    settings: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    classes_version: int | None = None

    def to_dict(self) -> dict:
        return {"key": self.key, "path": self.path, "labels": self.labels, "settings": self.settings,
                "stats": self.stats, "classes_version": self.classes_version}

    @classmethod
    def from_dict(cls, data: dict) -> ProjectImage:
        version = data.get("classes_version")
        return cls(str(data["key"]), str(data["path"]), str(data["labels"]), dict(data.get("settings", {})),
                   dict(data.get("stats", {})), None if version is None else int(version))


@dataclass(frozen=True)
class Recoverable:
    """Labels autosaved by a session that ended without saving them (a crash or a kill)."""

    key: str
    time: float
    pid: int
    path: Path


def left_by_a_crash(folder: str | os.PathLike[str]) -> int:
    """How many autosaves in the project at ``folder`` were left by sessions that ended without saving (read
    without opening the project: at start, to offer the last project's recovery)."""
    return sum(not item.owner.alive() for item in autosaves.scan(Path(folder) / AUTOSAVE_DIR))


class Project:
    """A project folder: its manifest in memory, with saving, autosave and recovery.

    Use :meth:`create` or :meth:`open`, not the constructor. ``dirty`` says whether anything (the manifest
    or any image's labels, as reported by :meth:`mark_changed`) is unsaved.
    """

    def __init__(self, folder: Path, classes: ClassSet) -> None:
        self.folder = folder
        self.classes = classes
        self.images: dict[str, ProjectImage] = {}
        self.remaps: list[Remap] = []
        self.models: list[dict[str, Any]] = []
        self.settings: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}  # manifest keys of newer versions, written back untouched
        self._manifest_dirty = False
        self._changed: set[str] = set()
        self._locked = False

    # ------------------------------------------------------------------------------------ life cycle

    @classmethod
    def create(cls, folder: str | os.PathLike[str], classes: ClassSet | None = None) -> Project:
        """Make a new project in ``folder`` (which must not hold one already) and save its manifest."""
        folder = Path(folder).absolute()
        if (folder / MANIFEST).exists():
            raise CcdstudioError(f"{folder} already holds a project; open it instead")
        project = cls(folder, classes or ClassSet.preset("ccd"))
        project.save()
        return project

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Project:
        """Open the project in folder ``path`` (or whose manifest is ``path``) to work in it."""
        project = cls.read(path)
        for folder in (project.folder / AUTOSAVE_DIR, project.folder / LABELS_DIR):
            autosaves.remove_stray_temporaries(folder)
        return project

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Project:
        """Read the manifest only, touching nothing in the folder (another session may be writing there)."""
        path = Path(path).absolute()
        manifest = path if path.name == MANIFEST else path / MANIFEST
        if not manifest.is_file():
            raise CcdstudioError(f"no ccdstudio project in {path} (missing {MANIFEST})")
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise FormatError(f"the project file {manifest} is unreadable: {error}") from None
        return cls._from_manifest(manifest.parent, data, manifest)

    @classmethod
    def _from_manifest(cls, folder: Path, data: Any, manifest: Path) -> Project:
        if not isinstance(data, dict) or data.get("format") != "ccdstudio-project":
            raise FormatError(f"{manifest} is not a ccdstudio project file")
        if int(data.get("version", 0)) > VERSION:
            raise CcdstudioError(f"{manifest} was written by a newer ccdstudio (project version "
                                 f"{data['version']}); update ccdstudio to open it")
        try:
            project = cls(folder, ClassSet.from_dict(data["classes"]))
            for item in data.get("images", []):
                image = ProjectImage.from_dict(item)
                project.images[image.key] = image
            project.remaps = [Remap.from_dict(r) for r in data.get("remaps", [])]
            project.models = list(data.get("models", []))
            project.settings = dict(data.get("settings", {}))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise FormatError(f"the project file {manifest} is damaged: {error}") from None
        known = {"format", "version", "classes", "images", "remaps", "models", "settings"}
        project._extra = {k: v for k, v in data.items() if k not in known}
        return project

    def to_dict(self) -> dict:
        """The manifest as JSON-ready data."""
        return {"format": "ccdstudio-project", "version": VERSION, **self._extra,
                "classes": self.classes.to_dict(), "images": [i.to_dict() for i in self.images.values()],
                "remaps": [r.to_dict() for r in self.remaps], "models": self.models, "settings": self.settings}

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    def save(self) -> None:
        """Write the manifest (atomically). Label maps are saved with :meth:`save_labels`."""
        write_text(self.manifest_path, json.dumps(self.to_dict(), indent=1) + "\n", "the project")
        self._manifest_dirty = False

    def save_as(self, folder: str | os.PathLike[str]) -> None:
        """Copy the project to a new folder (label files included) and continue there.

        Relative image paths are rewritten so they still point at the same images.
        """
        target = Path(folder).absolute()
        if (target / MANIFEST).exists():
            raise CcdstudioError(f"{target} already holds a project")
        moved = copy.deepcopy(self)
        moved.folder = target
        for image in moved.images.values():
            image.path = _stored_path(self.image_path(image.key), target)
        try:
            for image in self.images.values():
                for source in (self.folder / image.labels, sidecar_path(self.folder / image.labels)):
                    if source.is_file():
                        (target / image.labels).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target / source.relative_to(self.folder))
        except OSError as error:
            raise write_error(target, "the project", error) from error
        moved.save()
        self.close()
        self.__dict__.update(moved.__dict__)
        self._locked = False

    def close(self, keep_autosaves: bool = False) -> None:
        """End this session: drop its autosaves (unless kept) and its lock."""
        folder = self.folder / AUTOSAVE_DIR
        if not keep_autosaves:
            me = autosaves.Owner.me()
            for found in autosaves.scan(folder):
                if found.owner == me:
                    autosaves.remove(folder, found.key)
        autosaves.unlock(folder)
        self._locked = False

    # ---------------------------------------------------------------------------------------- images

    def add_image(self, path: str | os.PathLike[str], key: str | None = None,
                  settings: dict[str, Any] | None = None) -> str:
        """Add an image (not copied) and return its key, unique in the project (default: the file name)."""
        absolute = Path(path).absolute()
        key = _unique_key(key or _stem(absolute), self.images)
        suffix = ".fits" if absolute.name.lower().endswith(_FITS_SUFFIXES) else ".png"
        suffix = self.settings.get("label_suffix", suffix)
        label_format(f"x{suffix}")  # reject a bad setting now, not at the first save
        self.images[key] = ProjectImage(key, _stored_path(absolute, self.folder), f"{LABELS_DIR}/{key}{suffix}",
                                        dict(settings or {}))
        self._manifest_dirty = True
        return key

    def remove_image(self, key: str, delete_labels: bool = False) -> None:
        """Take an image out of the project; its label file is deleted only when asked."""
        image = self._image(key)
        if delete_labels:
            for path in (self.folder / image.labels, sidecar_path(self.folder / image.labels)):
                path.unlink(missing_ok=True)
        autosaves.remove(self.folder / AUTOSAVE_DIR, key)
        del self.images[key]
        self._changed.discard(key)
        self._manifest_dirty = True

    def image_path(self, key: str) -> Path:
        """The image's absolute path."""
        stored = Path(self._image(key).path)
        return stored if stored.is_absolute() else Path(os.path.normpath(self.folder / stored))

    def labels_path(self, key: str) -> Path:
        return self.folder / self._image(key).labels

    def set_settings(self, key: str, **settings: Any) -> None:
        """Update an image's settings (stretch, plane, ...), which must be JSON-ready."""
        json.dumps(settings)
        self._image(key).settings.update(settings)
        self._manifest_dirty = True

    def _image(self, key: str) -> ProjectImage:
        try:
            return self.images[key]
        except KeyError:
            raise CcdstudioError(f"no image {key!r} in the project") from None

    # ---------------------------------------------------------------------------------------- labels

    def read_labels(self, key: str) -> tuple[np.ndarray, ClassSet]:
        """The saved labels of ``key`` and their classes, brought through the remaps recorded since they were
        saved; their own classes when those are not in the history (a file written elsewhere)."""
        path = self.labels_path(key)
        if not path.is_file():
            raise CcdstudioError(f"no labels saved for {key!r} yet")
        labels, classes = load_labels(path, as_saved=True)
        return self.current(labels, classes, self._image(key).classes_version)

    def load_labels(self, key: str, shape: tuple[int, int] | None = None) -> np.ndarray:
        """The saved labels of ``key`` in the project's current classes; all background of ``shape`` if none
        are saved yet.

        Classes of a label file written elsewhere are matched by name; a class with pixels that the project
        lacks is a :class:`FormatError`.
        """
        if shape is not None and not self.labels_path(key).is_file():
            return np.zeros(shape, np.uint8)
        labels, classes = self.read_labels(key)
        if classes == self.classes:
            return labels
        lut = np.zeros(256, np.uint8)
        missing = []
        for i, name in enumerate(classes.names):
            if name in self.classes.names:
                lut[i] = self.classes.index(name)
            else:
                missing.append(i)
        if missing and np.isin(labels, missing).any():
            names = [classes[i].name for i in missing]
            raise FormatError(f"{self.labels_path(key)} uses classes {names}, which the project's classes "
                              f"{self.classes.names} lack")
        return np.take(lut, labels)

    def save_labels(self, key: str, labels: np.ndarray, header: Any = None, classes: ClassSet | None = None) -> None:
        """Save an image's labels (atomically) with their classes (the project's by default); update its
        statistics and class version.

        ``header`` (the image's FITS header) is kept in FITS label files. This image's autosave is dropped.
        ``classes`` may be an earlier class set of the project (labels edited before a remap made on another
        image): the file keeps them and is remapped when read.
        """
        image = self._image(key)
        classes = classes or self.classes
        stats = stats_dict(labels, classes)
        save_labels(self.folder / image.labels, labels, classes, header=header)
        image.stats = stats
        image.classes_version = self.version_of(classes)
        self._changed.discard(key)
        self._manifest_dirty = True
        autosaves.remove(self.folder / AUTOSAVE_DIR, key)

    def stats(self, key: str) -> dict[str, dict[str, float]]:
        """Pixels and fraction per class of an image's saved labels (as of its last save)."""
        return self._image(key).stats

    # ---------------------------------------------------------------------- the class history (remaps)

    def set_classes(self, classes: ClassSet) -> None:
        """Switch to ``classes``, which keep every current class name (classes added, recoloured or reordered
        by name); recorded like any remap. Renames and merges go through :meth:`add_remap`."""
        if classes != self.classes:
            self.add_remap(Remap.by_name(self.classes, classes))

    def add_remap(self, remap: Remap) -> None:
        """Change the project's classes by ``remap`` (whose source must be the current classes) and record it,
        so label files saved before it are remapped when read, at export and training time too."""
        if remap.source != self.classes:
            raise CcdstudioError(f"this remap is for classes {remap.source.names}, but it would follow "
                                 f"{self.classes.names}")
        self.remaps.append(remap)
        self.classes = remap.target
        self._manifest_dirty = True

    def undo_remap(self, remap: Remap) -> bool:
        """Take back ``remap`` if it is the last one recorded (undo); False, changing nothing, otherwise.

        Label files saved after it lose their class version and are matched by their class set instead.
        """
        if not self.remaps or self.remaps[-1] != remap:
            return False
        self.remaps.pop()
        self.classes = remap.source
        for image in self.images.values():
            if image.classes_version is not None and image.classes_version > len(self.remaps):
                image.classes_version = None
        self._manifest_dirty = True
        return True

    def classes_at(self, version: int) -> ClassSet:
        """The project's classes after the first ``version`` recorded remaps."""
        return self.remaps[version].source if 0 <= version < len(self.remaps) else self.classes

    def version_of(self, classes: ClassSet) -> int | None:
        """The latest point of the history at which the project's classes were ``classes`` (None: never)."""
        if classes == self.classes:
            return len(self.remaps)
        return next((i for i in reversed(range(len(self.remaps))) if self.remaps[i].source == classes), None)

    def remap_from(self, classes: ClassSet, version: int | None = None) -> Remap | None:
        """The remap from labels saved in ``classes`` (at history point ``version``, when known) to the
        current classes; None when ``classes`` are current or not in the history."""
        if version is None or not 0 <= version <= len(self.remaps) or self.classes_at(version) != classes:
            version = self.version_of(classes)
        if version is None or version == len(self.remaps):
            return None
        return _chain(self.remaps[version:])

    def current(self, labels: np.ndarray, classes: ClassSet,
                version: int | None = None) -> tuple[np.ndarray, ClassSet]:
        """``labels`` saved in ``classes`` (at history point ``version``) in the current classes; unchanged
        when their classes are not in the history."""
        remap = self.remap_from(classes, version)
        return (labels, classes) if remap is None else (remap.apply(labels), remap.target)

    # -------------------------------------------------------------------------------- export, models

    def export_remap(self) -> Remap | None:
        """All recorded remaps as one (None when there are none)."""
        return _chain(self.remaps) if self.remaps else None

    def add_model(self, path: str | os.PathLike[str], **info: Any) -> None:
        """Record a model file (path stored relative where possible) with JSON-ready ``info``."""
        json.dumps(info)
        self.models.append({"path": _stored_path(Path(path).absolute(), self.folder), **info})
        self._manifest_dirty = True

    # --------------------------------------------------------------------------------- unsaved state

    def mark_changed(self, key: str, changed: bool = True) -> None:
        """Note that an image's labels in memory differ (or no longer differ) from the saved ones."""
        self._image(key)
        (self._changed.add if changed else self._changed.discard)(key)

    @property
    def unsaved_images(self) -> list[str]:
        """Keys of the images whose labels have unsaved changes."""
        return [key for key in self.images if key in self._changed]

    @property
    def dirty(self) -> bool:
        """Whether anything is unsaved: the manifest or any image's labels."""
        return self._manifest_dirty or bool(self._changed)

    # ------------------------------------------------------------------------------ autosave, recovery

    def autosave(self, key: str, labels: np.ndarray, classes: ClassSet | None = None) -> Path:
        """Write ``labels`` of ``key`` (in ``classes``, the project's by default) to the project's autosave
        folder (atomically); return the file.

        Meant for a GUI timer: a plain call, quick (an uncompressed write), no threads.
        """
        self._image(key)
        folder = self.folder / AUTOSAVE_DIR
        if not self._locked:
            autosaves.lock(folder)
            self._locked = True
        return autosaves.write(folder, key, labels, classes or self.classes)

    def recoverable(self) -> list[Recoverable]:
        """Autosaves left by sessions that ended without saving (their process is gone) and that are newer
        than the labels saved for the same image."""
        found = []
        for item in autosaves.scan(self.folder / AUTOSAVE_DIR):
            if item.key not in self.images or item.owner.alive():
                continue
            saved = self.labels_path(item.key)
            if saved.is_file() and saved.stat().st_mtime >= item.time:
                continue
            found.append(Recoverable(item.key, item.time, item.owner.pid, item.path))
        return found

    def recover(self, key: str) -> np.ndarray:
        """The labels of ``key``'s recoverable autosave; they count as unsaved changes until saved."""
        match = next((r for r in self.recoverable() if r.key == key), None)
        if match is None:
            raise CcdstudioError(f"nothing to recover for {key!r}")
        labels, classes, _ = autosaves.read(match.path)
        labels, classes = self.current(labels, classes)
        if classes != self.classes:
            raise CcdstudioError(f"the autosave of {key!r} uses classes {classes.names}, not the project's "
                                 f"{self.classes.names}")
        self._changed.add(key)
        return labels

    def discard_recovery(self, key: str | None = None) -> None:
        """Delete the recoverable autosave of ``key`` (of every image when None)."""
        for item in self.recoverable():
            if key is None or item.key == key:
                item.path.unlink(missing_ok=True)

    def open_elsewhere(self) -> list[int]:
        """Pids of other live sessions autosaving this project (to warn before editing it twice)."""
        return [owner.pid for owner in autosaves.live_sessions(self.folder / AUTOSAVE_DIR)]


def _chain(remaps: list[Remap]) -> Remap:
    combined = remaps[0]
    for remap in remaps[1:]:
        combined = combined.then(remap)
    return combined


def in_project_classes(path: str | os.PathLike[str], labels: np.ndarray,
                       classes: ClassSet) -> tuple[np.ndarray, ClassSet]:
    """``labels`` read from ``path`` in the current classes of the project they belong to, if any.

    ``path`` belongs to a project when it is the label file of one of its images (``<project>/labels/...``);
    the remaps recorded since the file was saved are applied (:meth:`Project.current`). Any other file is
    returned as it is.
    """
    path = Path(path).absolute()
    folder = path.parent.parent
    if path.parent.name != LABELS_DIR or not (folder / MANIFEST).is_file():
        return labels, classes
    project = Project.read(folder)
    target = path.resolve()
    for image in project.images.values():
        if (folder / image.labels).resolve() == target:
            return project.current(labels, classes, image.classes_version)
    return labels, classes


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(_FITS_SUFFIXES + (".tiff", ".tif", ".png", ".npy", ".jpg"), key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def _unique_key(wanted: str, taken: dict[str, Any]) -> str:
    # Keys name files in labels/ and .autosave/, so only portable file-name characters are kept.
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", wanted).strip("._") or "image"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _stored_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` with ``/`` separators, or absolute when that is impossible."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()
