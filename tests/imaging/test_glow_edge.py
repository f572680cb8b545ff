"""Glow called where its local mean reaches the level: smooth edges where the mean says, sharp edges kept."""

import numpy as np

import pytest

from ccdstudio.imaging.glow_edge import (MIN_DARK, STEP_BLOCK, band_edges, block_means, dark_floor, glow_mask,
                                         glowing_bands)


def test_a_faint_decaying_glow_is_cut_where_its_expected_level_crosses_three_sigma():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:400, :400]
    glow = 12.0 * np.exp(-np.hypot(y, x) / 150.0)  # crosses 3 sigma at r = 208 px, 0.5 sigma per 25 px there
    z = (glow + rng.normal(size=glow.shape)).astype(np.float32)
    truth = glow >= 3.0
    found = glow_mask(z)
    f1 = 2 * (found & truth).sum() / (found.sum() + truth.sum())
    assert f1 > 0.98
    assert not glow_mask(z, glow_sigma=20.0).any()


def test_a_sharp_band_edge_stays_sharp_and_excluded_pixels_do_not_count():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 300)).astype(np.float32)
    z[:, :40] += 10.0  # a glowing band, 10 sigma, ending at column 40
    hot = np.zeros(z.shape, bool)
    hot[100:120, 200:220] = True
    z[hot] = 500.0  # a blob left out of the means
    found = glow_mask(z, exclude=hot)
    assert found[:, :36].all() and not found[:, 44:].any()  # within 4 px of the edge (a square box: 8)
    assert glow_mask(z)[110, 210]  # counted, the blob would pass for glow
    z[:, 150] = np.nan
    assert not glow_mask(z, exclude=hot)[:, 150].any()


def test_dark_charge_is_told_from_glow_by_its_flatness():
    rng = np.random.default_rng(2)
    y, x = np.mgrid[:768, :768]
    noise = rng.normal(size=(768, 768)).astype(np.float32)
    dark = noise + 4.0  # 4 read noises everywhere
    assert abs(dark_floor(block_means(dark)) - 4.0) < 0.05
    glow = noise + 60.0 * np.exp(-np.hypot(y, x) / 250.0)  # 1.6 sigma in the far corner, fading all the way
    assert dark_floor(block_means(glow)) == 0.0
    assert 4.0 < dark_floor(block_means(glow + 4.0)) < 6.0  # over dark charge: that, with the glow's faint tail
    assert dark_floor(block_means(noise + 0.9 * MIN_DARK)) == 0.0  # too little to move the glow's edge


def test_block_means_leave_out_excluded_and_nan_pixels():
    z = np.ones((128, 200), np.float32)
    exclude = np.zeros(z.shape, bool)
    z[:10, :10], exclude[:10, :10] = 1000.0, True
    z[64:, 64:128] = np.nan
    means = block_means(z, exclude)
    assert means.shape == (2, 3) and means[0, 0] == 1.0 and np.isnan(means[1, 1])
    assert np.count_nonzero(np.isfinite(means)) == 5


def test_block_means_of_blocks_of_rows():
    z = np.arange(130 * 3, dtype=np.float32).reshape(130, 3)
    means = block_means(z, block=(64, 1))  # column means over blocks of 64 rows, the last 2 rows dropped
    assert means.shape == (2, 3) and np.allclose(means, z[:128].reshape(2, 64, 3).mean(1))


def band_under_a_spot(rng: np.random.Generator, width: int = 20, level: float = 3.3) -> np.ndarray:
    """Noise of 1 with a flat band of ``level`` over the first ``width`` columns and a bright glow spot at the
    corner, fading over 30 px, on top."""
    y, x = np.mgrid[:640, :500]
    z = rng.normal(size=y.shape) + 40.0 * np.exp(-np.hypot(y, x) / 30.0)
    z[:, :width] += level
    return z.astype(np.float32)


def column_steps(z: np.ndarray) -> list[int]:
    return band_edges(block_means(z, block=(STEP_BLOCK, 1)))


@pytest.mark.parametrize("width", [6, 20, 75])
def test_band_edges_finds_where_a_faint_band_ends_under_a_glow_spot(rng, width):
    z = band_under_a_spot(rng, width)
    assert column_steps(z) == [width]
    assert column_steps(z[:, ::-1]) == [500 - width]  # the amplifier on the right
    assert band_edges(block_means(z, block=(1, STEP_BLOCK)).T) == []  # a band of columns has no row edge
    assert band_edges(block_means(z.T, block=(1, STEP_BLOCK)).T) == [width]  # a band of rows: its edge between rows


def test_band_edges_ignore_smooth_glow_noise_hot_columns_and_nan_columns(rng):
    assert column_steps(band_under_a_spot(rng, level=0.0)) == []  # a spot steepens, but not in every row
    noise = rng.normal(size=(640, 500)).astype(np.float32)
    assert column_steps(noise) == []
    noise[:, 200] += 8.0  # a hot column: a spike, not a step
    noise[:, 300:303] = np.nan
    assert column_steps(noise) == []
    assert column_steps(noise[:128]) == []  # two blocks of rows are too few to tell


def test_a_narrow_faint_band_stays_whole_with_its_edge():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(640, 500)).astype(np.float32)
    z[:, :20] += 3.3
    assert glow_mask(z)[:, :20].mean() < 0.5  # boxes across the edge dilute it below 3 sigma
    found = glow_mask(z, edges=((), [20]))
    assert found[:, :20].mean() > 0.99 and not found[:, 20:].any()
    assert np.array_equal(glow_mask(z.T.copy(), edges=([20], ())), found.T)  # an edge between rows


def test_a_band_just_above_the_level_glows_all_over():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(640, 500)).astype(np.float32)
    z[:, :40] += 3.12  # 0.12 read noises above the level: some 16 x 16 boxes fall below it
    means = block_means(z, block=(STEP_BLOCK, 1))
    edges = band_edges(means)
    assert edges == [40] and glowing_bands(means, edges) == [(0, 40)]
    assert glow_mask(z, edges=((), edges))[:, :40].mean() < 0.999
    assert glowing_bands(means - 0.2, edges) == []  # 0.08 below: not


def test_a_band_glows_all_over_only_where_its_faintest_end_does():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(640, 500)).astype(np.float32)
    z[:, :40] += 2.5 + np.linspace(1.5, 0.0, 40)  # 3 sigma over its mean, not at its far end
    means = block_means(z, block=(STEP_BLOCK, 1))
    assert band_edges(means) == [40] and glowing_bands(means, [40]) == []
    assert glowing_bands(means, []) == []  # no edge, no band
