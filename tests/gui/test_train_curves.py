"""The smoothed step loss: a bias-corrected exponential moving average that tracks the losses from the
first step (as TensorBoard draws it), skipping diverged (non-finite) steps."""

from __future__ import annotations

import numpy as np
import pytest

from ccdstudio.gui.ml.curves import SMOOTHING, SmoothedLoss, TrainingCurves


def smoothed(values, beta=SMOOTHING):
    average = SmoothedLoss(beta)
    return [average.add(v) for v in values]


def test_the_smoothed_loss_is_the_weighted_mean_of_the_losses_so_far():
    # by hand, beta 0.5: weights 1 | 0.5, 1 | 0.25, 0.5, 1 (newest last), each divided by their sum
    assert smoothed([4.0, 2.0, 1.0], beta=0.5) == pytest.approx([4.0, (0.5 * 4 + 2) / 1.5,
                                                                  (0.25 * 4 + 0.5 * 2 + 1) / 1.75])


def test_a_constant_loss_stays_constant_from_the_first_step():
    assert smoothed([0.7] * 50) == pytest.approx([0.7] * 50)


def test_it_tracks_a_falling_loss_where_an_uncorrected_average_lags(rng):
    steps = np.arange(1, 41)
    losses = 2.0 * np.exp(-steps / 8) + rng.normal(0, 0.01, steps.size)
    ours = np.array(smoothed(losses))
    # the weighted mean computed directly: weights beta**(n - i) over the losses seen so far
    direct = [np.average(losses[:n], weights=SMOOTHING ** np.arange(n - 1, -1, -1)) for n in steps]
    assert ours == pytest.approx(direct)
    started_at_first = [losses[0]]
    for loss in losses[1:]:
        started_at_first.append(SMOOTHING * started_at_first[-1] + (1 - SMOOTHING) * loss)
    # an average started at the first loss stays above the corrected one all the way, far above early on
    assert np.all(ours[1:] < np.array(started_at_first[1:]))
    assert started_at_first[9] - ours[9] > 0.2 and ours[9] - losses[9] < 0.6 * (started_at_first[9] - losses[9])


def test_diverged_steps_are_skipped():
    assert smoothed([np.nan, 2.0, np.inf, 4.0], beta=0.5) == pytest.approx([np.nan, 2.0, 2.0, (0.5 * 2 + 4) / 1.5],
                                                                         nan_ok=True)


def test_the_curves_draw_the_corrected_average(qtbot):
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    for loss in (3.0, 1.0, 1.0):
        curves.add_event({"event": "step", "loss": loss})
    curves.redraw()
    _, drawn = curves.smooth_curve.getData()
    assert list(drawn) == pytest.approx(smoothed([3.0, 1.0, 1.0]))
    assert drawn[0] == 3.0 and drawn[1] < 0.9 * 3.0 + 0.1 * 1.0  # below the uncorrected average
    curves.clear()
    curves.add_event({"event": "step", "loss": 5.0})
    assert curves.smoothed == [5.0]  # a new run starts afresh
