"""Losses: inverse-frequency weights, weighted cross-entropy, Dice, ignored pixels, BCE + Dice."""

import math

import numpy as np
import pytest
import torch

from ccdstudio.errors import CcdstudioError
from ccdstudio.ml.losses import IGNORE, SegmentationLoss, class_weights, dice_loss


def test_class_weights_inverse_frequency_normalised_to_class_count():
    weights = class_weights([90, 9, 1])
    inverse = np.array([100 / 90, 100 / 9, 100 / 1])
    np.testing.assert_allclose(weights.numpy(), inverse * 3 / inverse.sum(), rtol=1e-6)
    assert math.isclose(float(weights.sum()), 3.0, rel_tol=1e-6)
    # An absent class gets the largest weight seen instead of infinity.
    assert torch.isfinite(class_weights([10, 0, 5])).all()


def test_weighted_cross_entropy_matches_hand_computation():
    logits = torch.tensor([[[[2.0]], [[0.0]]], [[[0.0]], [[1.0]]]])  # two 1x1 images, two classes
    target = torch.tensor([[[0]], [[1]]])
    weights = torch.tensor([0.5, 1.5])
    loss = SegmentationLoss("ce", weights)(logits, target)
    nll0 = -math.log(math.exp(2) / (math.exp(2) + 1))
    nll1 = -math.log(math.e / (math.e + 1))
    assert math.isclose(float(loss), (0.5 * nll0 + 1.5 * nll1) / 2.0, rel_tol=1e-5)


def test_dice_is_zero_for_a_confident_perfect_prediction_and_ignores_pixels():
    target = torch.tensor([[[0, 1], [1, IGNORE]]])
    logits = torch.nn.functional.one_hot(torch.tensor([[[0, 1], [1, 0]]]), 2).permute(0, 3, 1, 2).float() * 50
    assert float(dice_loss(logits, target)) < 1e-6
    assert float(SegmentationLoss("ce+dice")(logits, target)) < 1e-6
    # The ignored pixel may be predicted as anything.
    logits[0, :, 1, 1] = torch.tensor([-50.0, 50.0])
    assert float(dice_loss(logits, target)) < 1e-6


def test_bce_dice_for_two_classes_only_and_all_ignored_is_finite():
    logits = torch.randn(2, 2, 8, 8, requires_grad=True)
    target = torch.randint(0, 2, (2, 8, 8))
    loss = SegmentationLoss("bce+dice", class_weights([50, 10]))(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None
    ignored = torch.full((2, 8, 8), IGNORE)
    assert torch.isfinite(SegmentationLoss("ce")(logits, ignored))
    with pytest.raises(CcdstudioError):
        SegmentationLoss("bce+dice")(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(CcdstudioError):
        SegmentationLoss("focal")
