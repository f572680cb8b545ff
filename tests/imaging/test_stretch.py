"""Display levels and stretches: zscale, percentiles, min–max, NaN handling, display indices, electrons."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.stretch import (
    NONFINITE_INDEX,
    STRETCHES,
    Calibration,
    cut_levels,
    electron_levels,
    minmax_levels,
    percentile_levels,
    to_display,
    zscale_levels,
)


def test_zscale_ramp_with_outliers_by_hand():
    # 97 points on a line of slope 2 plus 3 huge outliers: the fit rejects the outliers, so with contrast 1
    # the levels are median -/+ slope times the distance to the ends: 109 - 49*2 = 11, 109 + 50*2 = 209.
    values = np.arange(100) * 2.0 + 10
    values[-3:] = 1e5
    low, high = zscale_levels(values, contrast=1.0)
    assert low == pytest.approx(11.0)
    assert high == pytest.approx(209.0)


def test_zscale_agrees_with_astropy_on_a_noisy_frame(rng):
    from astropy.visualization import ZScaleInterval

    values = rng.normal(1000, 5, 1000)
    values[rng.integers(0, 1000, 20)] += rng.uniform(50, 5000, 20)
    ours = zscale_levels(values)
    theirs = ZScaleInterval(n_samples=1000).get_limits(values)
    width = theirs[1] - theirs[0]
    assert abs(ours[0] - theirs[0]) < 0.05 * width
    assert abs(ours[1] - theirs[1]) < 0.05 * width
    assert 980 < ours[0] < 1000 < ours[1] < 1040  # about the pedestal, hot pixels left out


def test_percentile_levels_clip_half_the_rest_at_each_end():
    values = np.arange(1001, dtype=float)
    assert percentile_levels(values, 99) == pytest.approx((5.0, 995.0))
    assert cut_levels(values, "95%") == pytest.approx((25.0, 975.0))
    with pytest.raises(CcdstudioError):
        percentile_levels(values, 0)


def test_levels_ignore_nan_and_inf():
    values = np.array([np.nan, 1.0, 2.0, np.inf, 3.0, -np.inf, 4.0])
    assert minmax_levels(values) == (1.0, 4.0)
    assert percentile_levels(values, 100) == (1.0, 4.0)
    low, high = zscale_levels(np.r_[values, np.arange(5.0, 50.0)])
    assert np.isfinite(low) and np.isfinite(high)
    assert minmax_levels(np.full(5, np.nan)) == (0.0, 1.0)


def test_flat_frame_gets_a_nonzero_range():
    assert minmax_levels(np.full(10, 7.0)) == (6.5, 7.5)


def test_to_display_maps_levels_linearly_and_marks_nonfinite():
    values = np.array([[-5.0, 0.0, 5.0, 10.0, 20.0, np.nan, np.inf]])
    shown = to_display(values, (0.0, 10.0), "linear")
    assert shown.dtype == np.uint8
    assert shown.tolist() == [[0, 0, 127, 254, 254, NONFINITE_INDEX, NONFINITE_INDEX]]
    assert np.isnan(values[0, 5])  # the input is not modified


@pytest.mark.parametrize("stretch", STRETCHES)
def test_stretches_are_monotonic_from_0_to_254(stretch):
    ramp = np.linspace(0, 1, 200)[None, :]
    shown = to_display(ramp, (0.0, 1.0), stretch).astype(int)
    assert shown[0, 0] == 0 and shown[0, -1] == 254
    assert np.all(np.diff(shown) >= 0)


def test_log_and_asinh_brighten_faint_values():
    faint = np.array([[0.1]])
    linear = to_display(faint, (0, 1), "linear")[0, 0]
    assert to_display(faint, (0, 1), "log")[0, 0] > linear
    assert to_display(faint, (0, 1), "asinh")[0, 0] > linear
    assert to_display(faint, (0, 1), "sqrt")[0, 0] == round(np.sqrt(0.1) * 254)


def test_unknown_cut_or_stretch_is_a_clear_error():
    with pytest.raises(CcdstudioError, match="unknown cut"):
        cut_levels(np.arange(5.0), "histeq")
    with pytest.raises(CcdstudioError, match="unknown stretch"):
        to_display(np.zeros((2, 2)), (0, 1), "cubic")


def test_calibration_turns_adu_into_electrons():
    calibration = Calibration(pedestal=1000.0, gain=200.0)
    assert calibration.unit == "e-"
    assert calibration.apply(np.array([1000, 1200, 1400], np.uint16)).tolist() == [0.0, 1.0, 2.0]
    assert calibration.apply_scalar(1600.0) == 3.0
    assert Calibration().apply_scalar(1600.0) == 1600.0 and Calibration().unit == "ADU"


def test_electron_levels_give_one_band_per_electron(rng):
    electrons = np.r_[rng.normal(0, 0.15, 5000), rng.normal(1, 0.15, 300), rng.normal(3, 0.15, 100)]
    assert electron_levels(electrons) == (-0.5, 4.5)
    assert electron_levels(np.zeros(100)) == (-0.5, 1.5)
