"""Model files: one safetensors file with the weights and, in its metadata, everything inference needs.

The header's ``"ccdstudio"`` entry is JSON: format and version, architecture, input channels, classes
(names and colours), normalisation, tile size and overlap, a training summary, seed, metrics and the
ccdstudio version. Loading reads tensors only, never pickles, so a model file from anywhere is safe to open.

Training checkpoints are model files too, with the optimiser state under ``resume/`` tensor names and a
``"ccdstudio_resume"`` metadata entry; :func:`load_model` ignores both.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ccdstudio import __version__
from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.io.atomic import atomic_path
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.postprocess import check_steps
from ccdstudio.ml.unet import UNet, UNetConfig

FORMAT = "ccdstudio-unet"
FORMAT_VERSION = 1
META_KEY = "ccdstudio"
RESUME_KEY = "ccdstudio_resume"
RESUME_PREFIX = "resume/"


@dataclass
class ModelInfo:
    """What a model file says about its model (all JSON-serialisable except the typed fields)."""

    architecture: UNetConfig
    classes: ClassSet
    normalization: Normalization
    tile: int = 512
    overlap: float = 0.5
    training: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    created: str = ""
    postprocess: tuple[str, ...] = ()
    """Steps :func:`~ccdstudio.ml.infer.predict` runs on the class map (:mod:`ccdstudio.ml.postprocess`)."""

    def __post_init__(self) -> None:
        if len(self.classes) != self.architecture.n_classes:
            raise CcdstudioError(
                f"{len(self.classes)} class names for a network with {self.architecture.n_classes} outputs"
            )
        self.postprocess = check_steps(self.postprocess, self.classes.names, self.normalization.method)

    @property
    def in_channels(self) -> int:
        return self.architecture.in_channels

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "architecture": {"name": "unet", **self.architecture.to_dict()},
            "in_channels": self.in_channels,
            "classes": self.classes.to_dict()["classes"],
            "normalization": self.normalization.to_dict(),
            "tile": self.tile,
            "overlap": self.overlap,
            "training": self.training,
            "seed": self.seed,
            "metrics": self.metrics,
            "ccdstudio_version": self.version,
            "created": self.created or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "postprocess": list(self.postprocess),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        if data.get("format") != FORMAT:
            raise FormatError(f"not a ccdstudio model (format {data.get('format')!r})")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise FormatError(
                f"the model file is format version {data['format_version']}, newer than this ccdstudio "
                f"({__version__}) reads; update ccdstudio"
            )
        try:
            architecture = dict(data["architecture"])
            if architecture.pop("name", "unet") != "unet":
                raise FormatError("the model file holds an architecture other than a U-Net")
            return cls(
                architecture=UNetConfig.from_dict(architecture),
                classes=ClassSet.from_dict({"classes": data["classes"]}),
                normalization=Normalization.from_dict(data["normalization"]),
                tile=int(data.get("tile", 512)),
                overlap=float(data.get("overlap", 0.25)),
                training=dict(data.get("training") or {}),
                seed=data.get("seed"),
                metrics=dict(data.get("metrics") or {}),
                version=str(data.get("ccdstudio_version", "")),
                created=str(data.get("created", "")),
                postprocess=tuple(str(step) for step in data.get("postprocess") or ()),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(f"the model description is incomplete: {error!r}") from None


@dataclass
class LoadedModel:
    """A network in evaluation mode on its device, with its :class:`ModelInfo` and file path."""

    net: UNet
    info: ModelInfo
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def with_steps(self, steps: Sequence[str]) -> LoadedModel:
        """The same network with ``steps`` after it instead of its own post-processing (``()``: none)."""
        return LoadedModel(self.net, replace(self.info, postprocess=tuple(steps)), self.path)


def save_model(
    path: str | os.PathLike[str],
    net: torch.nn.Module,
    info: ModelInfo,
    resume: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None,
) -> None:
    """Write ``net``'s weights and ``info`` to ``path`` atomically; ``resume`` adds optimiser state."""
    from safetensors.torch import save_file

    net = getattr(net, "module", net)  # unwrap DistributedDataParallel
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in net.state_dict().items()}
    metadata = {META_KEY: json.dumps(info.to_dict())}
    if resume is not None:
        state, meta = resume
        tensors.update({RESUME_PREFIX + k: t.detach().to("cpu").contiguous() for k, t in state.items()})
        metadata[RESUME_KEY] = json.dumps(meta)
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)


def _open(path: Path):
    from safetensors import safe_open

    if not path.is_file():
        raise CcdstudioError(f"no model file {path}")
    try:
        return safe_open(str(path), framework="pt")
    except Exception as error:  # noqa: BLE001 (safetensors raises its own error types for malformed headers)
        raise FormatError(f"{path} is not a readable safetensors model file ({error}); it may be truncated or "
                          "not a model at all (pickled .pt/.pth files are not accepted)") from None


def _metadata(handle: Any, path: Path) -> dict[str, str]:
    metadata = handle.metadata() or {}
    if META_KEY not in metadata:
        raise FormatError(f"{path} is a safetensors file without a ccdstudio model description")
    return metadata


def read_info(path: str | os.PathLike[str]) -> ModelInfo:
    """The :class:`ModelInfo` of a model file, reading only its header."""
    path = Path(path)
    with _open(path) as handle:
        text = _metadata(handle, path)[META_KEY]
    try:
        return ModelInfo.from_dict(json.loads(text))
    except json.JSONDecodeError:
        raise FormatError(f"{path}: the model description is not valid JSON") from None


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[ModelInfo, dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """``(info, weights, resume tensors, resume metadata)`` of a model file or training checkpoint."""
    path = Path(path)
    info = read_info(path)
    weights, resume = {}, {}
    try:
        with _open(path) as handle:
            resume_meta = json.loads(_metadata(handle, path).get(RESUME_KEY, "{}"))
            for key in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                if key.startswith(RESUME_PREFIX):
                    resume[key[len(RESUME_PREFIX):]] = handle.get_tensor(key)
                else:
                    weights[key] = handle.get_tensor(key)
    except CcdstudioError:
        raise
    except Exception as error:  # noqa: BLE001 (likewise for malformed tensor data)
        raise FormatError(f"{path}: the weights cannot be read ({error}); the file may be truncated") from None
    return info, weights, resume, resume_meta


def load_model(
    path: str | os.PathLike[str],
    device: torch.device | str = "cpu",
    classes: ClassSet | list[str] | None = None,
    in_channels: int | None = None,
) -> LoadedModel:
    """Load a model file for inference; check it against the expected ``classes`` and ``in_channels``.

    Raises
    ------
    FormatError
        The file is missing, corrupt, truncated, not safetensors (e.g. a pickle) or not a ccdstudio model.
    CcdstudioError
        The model predicts other classes or takes another number of input channels than asked for.
    """
    path = Path(path)
    info, weights, _, _ = read_checkpoint(path)
    check_compatible(info, classes, in_channels, str(path))
    net = UNet(info.architecture)
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise FormatError(f"{path}: the weights do not fit the described architecture ({first})") from None
    net.to(device).eval()
    return LoadedModel(net, info, path)


def check_compatible(
    info: ModelInfo, classes: ClassSet | list[str] | None, in_channels: int | None, name: str = "the model"
) -> None:
    """Raise a clear :class:`CcdstudioError` unless ``info`` predicts ``classes`` from ``in_channels``."""
    if classes is not None:
        wanted = list(classes.names if isinstance(classes, ClassSet) else classes)
        if wanted != info.classes.names:
            raise CcdstudioError(f"{name} predicts classes {info.classes.names}, not {wanted}")
    if in_channels is not None and in_channels != info.in_channels:
        raise CcdstudioError(
            f"{name} takes {info.in_channels} input channel(s) but the data has {in_channels}"
        )


DEFAULT_MODEL = "ccd-unet-v1"
"""The bundled model ``predict`` uses without ``--model``: ``models/ccd-unet-v1.safetensors``, the CCD
segmentation model of ``ccdstudio train --preset ccd-default`` (model card ``models/ccd-unet-v1.md``)."""


def bundled_models() -> list[Path]:
    """The model files shipped in ``models/`` (each may have a model card ``<name>.md`` beside it)."""
    from ccdstudio.paths import models_dir

    folder = models_dir()
    return sorted(folder.glob("*.safetensors")) if folder.is_dir() else []


def resolve_model(name: str | os.PathLike[str] | None = None, option: str = "--model") -> Path:
    """The model file for a path or a bundled model's name (the default model when None).

    ``option`` is the command-line option the error message tells the user to pass a path with.
    """
    from ccdstudio.paths import models_dir

    if name is not None and Path(name).is_file():
        return Path(name)
    wanted = os.fspath(name) if name is not None else DEFAULT_MODEL
    candidate = models_dir() / (wanted if wanted.endswith(".safetensors") else f"{wanted}.safetensors")
    if candidate.is_file():
        return candidate
    names = ", ".join(p.stem for p in bundled_models()) or "none"
    if name is None:
        raise CcdstudioError(f"no bundled default model ({DEFAULT_MODEL}) is installed yet; train one with "
                             f"`ccdstudio train ... --out MODEL.safetensors` and pass --model MODEL.safetensors")
    raise CcdstudioError(f"no model file or bundled model {wanted!r} (bundled: {names}); pass {option} PATH")


def model_card(path: Path) -> Path | None:
    """The model card ``<name>.md`` beside a model file, if there is one."""
    card = path.with_name(path.name.removesuffix(".safetensors") + ".md")
    return card if card.is_file() else None
