"""The pedestal measured in a raw frame's overscans: row by row in the serial one, column by column in the
parallel one."""

import numpy as np

from ccdstudio.imaging.overscan import PlanePedestal, column_pedestal, plane_pedestal, row_pedestal
from ccdstudio.io.source import ArraySource
from ccdstudio.simulate.ccd import simulate_ccd
from ccdstudio.simulate.ccd_files import raw_plane
from ccdstudio.simulate.params import CCDParams


def simulated_raw(seed: int, rows: int = 32, **fixed):
    """A simulated one-amplifier raw plane (data, 64 serial overscan columns, ``rows`` parallel rows) as a
    source with its header, and the frame."""
    rng = np.random.default_rng(seed)
    frame = simulate_ccd((400, 300), CCDParams.random(rng, overscan=64, overscan_rows=rows, **fixed), rng)
    raw, header = raw_plane(frame, integer=True)
    return ArraySource(raw, headers=[header]), frame


def test_the_overscans_give_the_pedestal_with_its_drift_along_rows_and_columns():
    # 3 sigma of drift along the columns and 4 along the rows, 2.5 ADU of noise in integer ADU
    source, frame = simulated_raw(1, read_noise=2.5, n_samples=1, gain=1.0, pedestal_row_drift=10.0,
                                  pedestal_col_drift=7.5)
    sigma = frame.amplifiers[0].sigma
    found = plane_pedestal(source, 0)
    assert found.columns is not None and found.rows.shape == (432,) and found.columns.shape == (364,)
    error = found.level((slice(0, 400), slice(0, 300))) - frame.baseline
    assert np.abs(error).max() < 0.35 * sigma and np.std(error) < 0.1 * sigma
    assert abs(found.noise / np.hypot(sigma, 1 / np.sqrt(12)) - 1) < 0.05  # quantisation included


def test_without_a_parallel_overscan_there_are_no_column_levels_and_without_a_serial_one_nothing():
    source, _ = simulated_raw(2, rows=0)
    found = plane_pedestal(source, 0)
    assert found.columns is None and found.level((slice(5, 9), slice(0, 300))).shape == (4, 1)
    assert plane_pedestal(ArraySource(np.zeros((50, 60))), 0) is None


def test_unusable_strips_and_nan_rows():
    strip = np.full((40, 16), 100.0) + np.arange(40)[:, None] * 0.01
    strip[17] = np.nan
    profile, noise = row_pedestal(strip, slice(10, 50), 60)
    assert profile.shape == (60,) and np.isfinite(profile).all() and noise > 0
    assert profile[0] == profile[10] and profile[-1] == profile[49]  # uncovered rows take the nearest
    assert row_pedestal(strip[:, :3], slice(0, 40), 40) is None
    assert column_pedestal(strip[:3], 1.0) is None and column_pedestal(np.full((8, 5), np.nan), 1.0) is None
    assert PlanePedestal(np.zeros(3, np.float32), 1.0).columns is None


def test_a_biassec_over_the_data_rows_only_still_reads_the_corner_beside_the_parallel_overscan():
    source, _ = simulated_raw(3, pedestal_row_drift=30.0)
    full = plane_pedestal(source, 0)
    header = dict(source.planes[0].header, BIASSEC="[301:364,1:400]")
    narrow = plane_pedestal(ArraySource(source.read(0), headers=[header]), 0)
    np.testing.assert_allclose(narrow.rows, full.rows)
    np.testing.assert_allclose(narrow.columns, full.columns)

