"""The U-Net: configurable depth, width, normalisation, activation and dropout, any channels and classes.

Inputs of any size work: :meth:`UNet.forward` pads height and width up to a multiple of ``2**depth`` (with
zeros, which is the background level of every normalisation in :mod:`ccdstudio.ml.normalize`) and crops
the logits back. Tiled inference chooses tiles that are already multiples, so it never pads inside a frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ccdstudio.errors import CcdstudioError

Norm = Literal["batch", "group", "instance", "none"]
Activation = Literal["relu", "elu"]


@dataclass(frozen=True)
class UNetConfig:
    """The architecture of a U-Net; stored in every model file.

    Parameters
    ----------
    in_channels
        Input planes: 1 for a CCD frame, N for N scroll layers stacked as channels.
    n_classes
        Output classes (index 0 is background).
    depth
        Number of 2x down-samplings; the receptive field and the tile multiple grow as ``2**depth``.
    base
        Feature channels at full resolution; level ``i`` has ``base * 2**i``.
    norm
        ``"batch"`` (default; per-channel in evaluation, so tiled and whole-image inference agree),
        ``"group"``, ``"instance"`` (statistics per tile, so tiles can disagree at seams) or ``"none"``.
    activation
        ``"relu"`` or ``"elu"``.
    dropout
        Dropout probability inside each block (0 for none).
    """

    in_channels: int = 1
    n_classes: int = 4
    depth: int = 4
    base: int = 32
    norm: Norm = "batch"
    activation: Activation = "relu"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.n_classes < 2:
            raise CcdstudioError("a U-Net needs at least one input channel and two classes")
        if not 1 <= self.depth <= 8 or self.base < 1:
            raise CcdstudioError(f"U-Net depth must be 1..8 and base width positive (got {self.depth}, {self.base})")
        if self.norm not in ("batch", "group", "instance", "none"):
            raise CcdstudioError(f"unknown normalisation {self.norm!r}; choose batch, group, instance or none")
        if self.activation not in ("relu", "elu"):
            raise CcdstudioError(f"unknown activation {self.activation!r}; choose relu or elu")
        if not 0 <= self.dropout < 1:
            raise CcdstudioError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def multiple(self) -> int:
        """Sizes the network handles without padding."""
        return 2**self.depth

    @property
    def receptive_radius(self) -> int:
        """How far (in pixels) an input pixel can change the output: ``7 * 2**depth - 5`` (a test measures it)."""
        return 7 * 2**self.depth - 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UNetConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CcdstudioError(f"unknown U-Net settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(data))


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class _Block(nn.Sequential):
    """Two 3x3 convolutions, each followed by normalisation and activation."""

    def __init__(self, cin: int, cout: int, config: UNetConfig) -> None:
        act = nn.ReLU if config.activation == "relu" else nn.ELU
        bias = config.norm == "none"
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=bias), _norm(config.norm, cout), act(inplace=True)]
        if config.dropout:
            layers.append(nn.Dropout2d(config.dropout))
        layers += [nn.Conv2d(cout, cout, 3, padding=1, bias=bias), _norm(config.norm, cout), act(inplace=True)]
        super().__init__(*layers)


class UNet(nn.Module):
    """Ronneberger's U-Net with 'same' convolutions: logits ``(N, n_classes, H, W)`` for ``(N, C, H, W)``."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.base * 2**i for i in range(config.depth + 1)]
        self.down = nn.ModuleList()
        cin = config.in_channels
        for width in widths:
            self.down.append(_Block(cin, width, config))
            cin = width
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.upsample.append(nn.ConvTranspose2d(width * 2, width, 2, stride=2))
            self.up.append(_Block(width * 2, width, config))
        self.head = nn.Conv2d(widths[0], config.n_classes, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nonlinearity = "relu" if config.activation == "relu" else "leaky_relu"
                nn.init.kaiming_normal_(module.weight, nonlinearity=nonlinearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        m = self.config.multiple
        pad_h, pad_w = -height % m, -width % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for upsample, block in zip(self.upsample, self.up):
            x = block(torch.cat([skips.pop(), upsample(x)], dim=1))
        return self.head(x)[..., :height, :width]


def build_unet(config: UNetConfig | Mapping[str, Any]) -> UNet:
    """A freshly initialised U-Net for ``config`` (a :class:`UNetConfig` or its dict)."""
    return UNet(config if isinstance(config, UNetConfig) else UNetConfig.from_dict(config))
