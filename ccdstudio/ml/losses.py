"""Segmentation losses: class-weighted cross-entropy, Dice, their sum, and BCE + Dice for two classes.

Labels are ``(N, H, W)`` int64 class indices; ``IGNORE`` (255, "not labelled", e.g. outside a segment's
mask) contributes to no loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ccdstudio.errors import CcdstudioError

IGNORE = 255
"""Label value that is excluded from losses and metrics."""

LOSSES = ("ce", "dice", "ce+dice", "bce+dice")


def class_weights(counts: Sequence[int] | np.ndarray) -> torch.Tensor:
    """Inverse-frequency class weights normalised so that they sum to the number of classes.

    A class that never occurs gets the largest weight seen (it cannot affect the loss until it appears,
    and an infinite weight would poison the average).
    """
    counts = np.asarray(counts, dtype=np.float64)
    inverse = np.zeros_like(counts)
    present = counts > 0
    if not present.any():
        return torch.ones(len(counts))
    inverse[present] = counts[present].sum() / counts[present]
    inverse[~present] = inverse[present].max()
    return torch.tensor(inverse * len(counts) / inverse.sum(), dtype=torch.float32)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over classes (batch-wide sums, so a class absent from a batch is neutral)."""
    n_classes = logits.shape[1]
    valid = (target != IGNORE).unsqueeze(1)
    probs = torch.softmax(logits.float(), dim=1) * valid
    onehot = F.one_hot(torch.where(valid[:, 0], target, 0), n_classes).permute(0, 3, 1, 2) * valid
    dims = (0, 2, 3)
    intersection = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * intersection + eps) / (total + eps)).mean()


def binary_dice_loss(logit: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice of the foreground for a ``(N, H, W)`` logit and 0/1 targets."""
    valid = target != IGNORE
    prob = torch.sigmoid(logit.float()) * valid
    truth = (target == 1) * valid
    return 1 - (2 * (prob * truth).sum() + eps) / (prob.sum() + truth.sum() + eps)


class SegmentationLoss(nn.Module):
    """One of :data:`LOSSES` with optional class weights for the cross-entropy term.

    ``"bce+dice"`` is for two-class models (background/ink): the foreground logit is the difference of
    the two output channels, so softmax at inference means exactly the sigmoid trained here.
    """

    def __init__(self, kind: str = "ce", weights: torch.Tensor | None = None) -> None:
        super().__init__()
        if kind not in LOSSES:
            raise CcdstudioError(f"unknown loss {kind!r}; choose from {', '.join(LOSSES)}")
        self.kind = kind
        self.register_buffer("weights", weights if weights is not None else torch.empty(0), persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weights = self.weights if self.weights.numel() else None
        if self.kind == "bce+dice":
            if logits.shape[1] != 2:
                raise CcdstudioError("the bce+dice loss is for two-class models")
            logit = (logits[:, 1] - logits[:, 0]).float()
            valid = target != IGNORE
            pos_weight = weights[1] / weights[0] if weights is not None else None
            bce = F.binary_cross_entropy_with_logits(
                logit[valid], (target[valid] == 1).float(), pos_weight=pos_weight
            ) if valid.any() else logit.sum() * 0
            return bce + binary_dice_loss(logit, target)
        loss = logits.float().sum() * 0  # keeps the graph (and DDP's gradient hooks) when every pixel is ignored
        if "ce" in self.kind.split("+") and (target != IGNORE).any():
            loss = loss + F.cross_entropy(logits.float(), target, weight=weights, ignore_index=IGNORE)
        if "dice" in self.kind:
            loss = loss + dice_loss(logits, target)
        return loss
