"""Glow called where its local mean reaches the level: smooth edges where the mean says, sharp edges kept."""

import numpy as np

from ccdstudio.imaging.glow_edge import MIN_DARK, block_means, dark_floor, glow_mask


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
