"""Faint clusters found by their box sum against the local noise, and nothing else."""

import numpy as np

from ccdstudio.imaging.faint_clusters import faint_clusters


def faint_blobs(rng: np.random.Generator, shape=(600, 600), count=20, total=32.0) -> tuple[np.ndarray, list]:
    """Noise (1 sigma) with ``count`` Gaussian blobs (1.2 px rms) of ``total`` sigma each; their centres."""
    z = rng.normal(size=shape).astype(np.float32)
    y, x = np.mgrid[-3:4, -3:4]
    blob = np.exp(-(y**2 + x**2) / (2 * 1.2**2))
    blob *= total / blob.sum()  # brightest pixel 3.5 sigma
    centres = [(40 + 60 * (i // 9), 40 + 60 * (i % 9)) for i in range(count)]
    for cy, cx in centres:
        z[cy - 3: cy + 4, cx - 3: cx + 4] += blob
    return z, centres


def test_blobs_no_pixel_shows_are_found_and_noise_is_left_alone():
    rng = np.random.default_rng(0)
    z, centres = faint_blobs(rng)
    found = faint_clusters(z, np.ones(z.shape, bool))
    hits = [found[cy - 2: cy + 3, cx - 2: cx + 3].any() for cy, cx in centres]
    assert sum(hits) >= 17
    near = np.zeros(z.shape, bool)
    for cy, cx in centres:
        near[cy - 3: cy + 4, cx - 3: cx + 4] = True
    assert not (found & ~near).any()
    per_pixel = [(z[cy - 2: cy + 3, cx - 2: cx + 3] >= 5).any() for cy, cx in centres]
    assert sum(per_pixel) <= 5  # a 5-sigma threshold per pixel finds few


def test_smooth_structure_louder_noise_and_unusable_pixels_are_not_clusters():
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:400, :400]
    ramp = 0.05 * x + 2.9 * np.exp(-np.hypot(y, x) / 40.0)  # a drift and a glow below 3 sigma
    z = (ramp + rng.normal(size=ramp.shape)).astype(np.float32)
    z += rng.normal(size=z.shape).astype(np.float32) * x / 100  # a glow's shot noise, up to 4 sigma
    assert not faint_clusters(z, np.ones(z.shape, bool)).any()
    blobs, centres = faint_blobs(rng, (400, 400), count=6, total=30.0)
    usable = np.ones(z.shape, bool)
    usable[:, :150] = False
    blobs[100] = np.nan
    found = faint_clusters(blobs, usable)
    assert not found[:, :150].any() and not found[100].any()
    assert all(found[cy - 2: cy + 3, cx - 2: cx + 3].any() for cy, cx in centres if cx > 160 and cy != 100)


def test_single_pixels_and_pairs_a_box_sum_would_dilute_are_found():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(300, 300)).astype(np.float32)
    z[50, 50] += 7.0  # one pixel: 7/3 in a 3 x 3 box sum
    z[100, 100:102] += 5.0  # a row pair: 10/sqrt(2) = 7.1 sigma
    z[200:202, 150] += 5.0  # a column pair
    found = faint_clusters(z, np.ones(z.shape, bool))
    assert found[50, 50] and found[100, 100:102].all() and found[200:202, 150].all()
    assert found.sum() == 5


def test_dark_charge_of_visible_electrons_is_not_searched():
    """A skipper-like frame: each dark electron is 2.6 read noises, 0.45 of them a pixel: an upward tail that
    read noise does not have."""
    rng = np.random.default_rng(3)
    adu = rng.normal(size=(600, 600)) + 2.6 * rng.poisson(0.45, (600, 600))
    z = ((adu - adu.mean()) / adu.std()).astype(np.float32)
    usable = np.ones(z.shape, bool)
    assert not faint_clusters(z, usable).any()
    assert faint_clusters(z, usable, max_skew=np.inf).sum() > 5  # two or three electrons pass for a cluster
