"""Simulated CCD frames: truth rules, seeding, noise, kinds, amplifiers, charge transfer and deposits."""

import math

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.noise import robust_pedestal
from ccdstudio.labels.classes import ClassSet
from ccdstudio.simulate import ccd as ccd_module
from ccdstudio.simulate.ccd import (BACKGROUND, CLUSTER, GLOWING, HOT_PIXEL, kind_classes, simulate_ccd,
                                    transfer_smear)
from ccdstudio.simulate.clusters import Deposit, diffusion_sigma, electron_range_um, muon, point
from ccdstudio.simulate.params import EV_PER_PAIR, CCDParams

QUIET = dict(pedestal_row_drift=0.0, pedestal_col_drift=0.0, amp_variation=0.0, dark_current=0.0,
             glow_peak=0.0, hot_pixel_density=0.0, hot_columns=0, hot_rows=0, point_density=0.0,
             muon_density=0.0, electron_density=0.0, alpha_density=0.0, template_density=0.0)
"""Parameters for a frame with nothing in it but pedestal and read noise."""


def quiet(**changes) -> CCDParams:
    return CCDParams(**{**QUIET, **changes})


def test_cluster_label_is_exactly_the_charge_above_two_sigma(rng):
    params = quiet(read_noise=5.0, gain=2.0)  # 2 sigma = 10 ADU = 5 e-
    patch = np.array([[0.0, 4.0, 4.9], [5.0, 6.0, 100.0], [1.0, 5.0, 0.0]], np.float32)
    deposit = Deposit.from_patch("point", 10, 20, patch, (40, 50))
    frame = simulate_ccd((40, 50), params, rng, deposits=[deposit])
    expected = np.zeros((40, 50), bool)
    expected[10:13, 20:23] = patch >= 5.0
    assert np.array_equal(frame.labels == CLUSTER, expected)
    assert set(np.unique(frame.labels)) == {BACKGROUND, CLUSTER}
    (truth,) = frame.clusters
    assert truth.n_pixels == 4 and truth.bbox == (11, 20, 13, 23)
    assert truth.electrons == pytest.approx(patch.sum())
    assert truth.adu == pytest.approx(2.0 * patch.sum(), rel=1e-6)
    assert np.allclose(frame.cluster_adu[10:13, 20:23], 2.0 * patch)


def test_threshold_is_a_parameter(rng):
    patch = np.array([[3.0, 8.0]], np.float32)
    deposit = Deposit.from_patch("point", 5, 5, patch, (20, 20))
    frame = simulate_ccd((20, 20), quiet(read_noise=2.0, gain=1.0, cluster_sigma=4.0), rng, deposits=[deposit])
    assert frame.labels[5, 5] == BACKGROUND and frame.labels[5, 6] == CLUSTER


def test_hot_pixels_win_over_clusters(rng, monkeypatch):
    hot = np.zeros((30, 30), np.float32)
    hot[12, 12] = 50.0
    hot[:, 20] = 3.0  # a faint hot column still counts: it adds charge
    monkeypatch.setattr(ccd_module, "hot_defects", lambda shape, params, rng: hot.copy())
    patch = np.full((6, 12), 200.0, np.float32)
    deposit = Deposit.from_patch("alpha", 10, 10, patch, (30, 30))
    frame = simulate_ccd((30, 30), quiet(), rng, deposits=[deposit])
    assert frame.labels[12, 12] == HOT_PIXEL and frame.labels[11, 20] == HOT_PIXEL
    assert frame.labels[0, 20] == HOT_PIXEL and frame.labels[11, 11] == CLUSTER
    assert (frame.labels == HOT_PIXEL).sum() == 31
    assert frame.clusters[0].n_pixels == 6 * 12 - 1 - 6


def test_a_hot_defects_trail_is_hot_where_it_reaches_hot_trail_sigma(rng, monkeypatch):
    hot = np.zeros((20, 30), np.float32)
    hot[5, 10] = 400.0  # 11 serial transfers of 1e-3: 4.4 e- (2.2 sigma) left in the next column
    hot[:, 20] = 30.0  # 21 transfers: 0.62 e- (0.31 sigma) a pixel in the next column
    monkeypatch.setattr(ccd_module, "hot_defects", lambda shape, params, rng: hot.copy())
    params = quiet(read_noise=2.0, gain=1.0, cti_serial=1e-3)
    trails = simulate_ccd((20, 30), params, rng).labels == HOT_PIXEL
    assert trails[5, 11] and not trails[:, 21].any() and trails.sum() == 1 + 1 + 20
    fainter = simulate_ccd((20, 30), params.replace(hot_trail_sigma=0.25), rng).labels == HOT_PIXEL
    assert fainter[5, 11] and fainter[:, 21].all() and fainter.sum() == 2 + 2 * 20
    for off in (params.replace(hot_trail_sigma=0.0), params.replace(cti_serial=0.0)):
        assert np.array_equal(simulate_ccd((20, 30), off, rng).labels == HOT_PIXEL, hot > 0)


def test_glow_label_is_three_sigma_of_the_expected_glow(rng):
    params = quiet(read_noise=4.0, gain=1.5, glow_peak=80.0, glow_length=10.0, glow_band=9.0, glow_band_width=3)
    frame = simulate_ccd((60, 50), params, rng)
    y, x = np.mgrid[:60, :50]
    glow_adu = 1.5 * (80.0 * np.exp(-np.hypot(y, x) / 10.0) + 9.0 * (x < 3))
    threshold = 3 * 4.0
    clear = np.abs(glow_adu - threshold) > 1e-3
    assert np.array_equal((frame.labels == GLOWING)[clear], (glow_adu >= threshold)[clear])
    assert frame.labels[59, 0] == GLOWING  # the flat band reaches the far end: 13.5 ADU >= 12
    # The glow is in the image too: the first pixels read sit far above the pedestal.
    assert frame.image[:3, :3].mean() > 1000 + 50


def test_glow_sits_at_each_amplifier_corner(rng):
    params = quiet(amplifiers=4, glow_peak=100.0, glow_length=5.0)
    frame = simulate_ccd((40, 60), params, rng)
    glowing = frame.labels == GLOWING
    for y, x in ((0, 0), (0, 59), (39, 0), (39, 59)):
        assert glowing[y, x]
    assert not glowing[20, 30] and not glowing[19, 29]


def test_same_seed_same_frame_and_other_seed_differs():
    params = CCDParams()
    one = simulate_ccd((128, 96), params, np.random.default_rng(7))
    two = simulate_ccd((128, 96), params, np.random.default_rng(7))
    other = simulate_ccd((128, 96), params, np.random.default_rng(8))
    assert np.array_equal(one.image, two.image) and np.array_equal(one.labels, two.labels)
    assert [c.to_dict() for c in one.clusters] == [c.to_dict() for c in two.clusters]
    assert not np.array_equal(one.image, other.image)


@pytest.mark.parametrize("read_noise, samples", [(12.0, 1), (8.0, 16), (20.0, 4)])
def test_measured_noise_matches_the_parameter(rng, read_noise, samples):
    frame = simulate_ccd((300, 300), quiet(read_noise=read_noise, n_samples=samples, pedestal=5000.0), rng)
    pedestal, sigma = robust_pedestal(frame.image)
    assert pedestal == pytest.approx(5000.0, abs=0.2)
    assert sigma == pytest.approx(read_noise / math.sqrt(samples), rel=0.03)
    assert frame.params.sigma == read_noise / math.sqrt(samples)


def test_dark_current_adds_poisson_charge(rng):
    frame = simulate_ccd((300, 300), quiet(read_noise=0.5, gain=4.0, dark_current=2.0), rng)
    excess = frame.image - 1000.0
    assert excess.mean() == pytest.approx(4.0 * 2.0, rel=0.02)
    assert excess.var() == pytest.approx(16.0 * 2.0 + 0.25, rel=0.05)


def test_baseline_is_the_pedestal_with_its_drift(rng):
    params = quiet(read_noise=2.0, pedestal=3000.0, pedestal_row_drift=6.0, pedestal_col_drift=2.0)
    frame = simulate_ccd((400, 300), params, rng)
    assert frame.baseline.shape == frame.image.shape
    assert np.ptp(frame.baseline.mean(axis=1)) == pytest.approx(2 * 6.0, rel=0.5)  # it drifts along rows
    residual = frame.image - frame.baseline
    assert abs(residual.mean()) < 0.05 and residual.std() == pytest.approx(2.0, rel=0.02)


def test_kinds_label_each_cluster_by_its_kind(rng):
    params = quiet(read_noise=3.0)
    shape = (80, 80)
    deposits = [muon(rng, params, shape, 40.0, 40.0),
                Deposit.from_patch("alpha", 5, 5, np.full((5, 5), 500.0), shape),
                Deposit.from_patch("template", 70, 70, np.full((3, 3), 500.0), shape)]
    frame = simulate_ccd(shape, params, rng, deposits=deposits, kinds=True)
    assert frame.classes == kind_classes()
    assert frame.classes.names == ["background", "glowing", "hot_pixel", "point", "muon", "electron", "alpha",
                                   "template"]
    assert (frame.labels[5:10, 5:10] == frame.classes.index("alpha")).all()
    assert (frame.labels[70:73, 70:73] == frame.classes.index("template")).all()
    muon_pixels = frame.cluster_ids == 1
    assert (frame.labels[muon_pixels & (frame.cluster_adu >= 6.0)] == frame.classes.index("muon")).all()
    assert [c.kind for c in frame.clusters] == ["muon", "alpha", "template"]
    plain = simulate_ccd(shape, params, np.random.default_rng(3), deposits=deposits)
    assert plain.classes == ClassSet.preset("ccd") and plain.labels.max() == CLUSTER


def test_overlapping_clusters_belong_to_the_stronger(rng):
    shape = (20, 20)
    weak = Deposit.from_patch("point", 5, 5, np.full((4, 4), 10.0), shape)
    strong = Deposit.from_patch("alpha", 7, 7, np.full((4, 4), 90.0), shape)
    frame = simulate_ccd(shape, quiet(), rng, deposits=[weak, strong], kinds=True)
    assert frame.cluster_ids[8, 8] == 2 and frame.cluster_ids[5, 5] == 1
    assert frame.labels[8, 8] == frame.classes.index("alpha") and frame.labels[5, 5] == frame.classes.index("point")
    assert frame.clusters[0].n_pixels == 12 and frame.clusters[1].n_pixels == 16


def test_transfer_smear_moves_charge_away_from_the_amplifier():
    charge = np.zeros((5, 12), np.float32)
    charge[2, 9] = 1000.0
    eps = 1e-2
    out = transfer_smear(charge, serial=eps, parallel=0.0)
    left_behind = 1 - (1 - eps) ** 10  # column 9 needs 10 serial transfers
    assert out[2, 10] == pytest.approx(1000.0 * left_behind, rel=1e-5)
    assert out[2, 9] == pytest.approx(1000.0 * (1 - left_behind), rel=1e-5)
    assert out.sum() == pytest.approx(1000.0)
    both = transfer_smear(charge, serial=eps, parallel=eps)
    assert both[3, 9] > 0 and both[1, 9] == 0 and both.sum() == pytest.approx(1000.0)


def test_amplifier_spread_and_layout(rng):
    frame = simulate_ccd((64, 80), quiet(amplifiers=2, overscan=16, amp_variation=0.05, pedestal=3000.0), rng)
    left, right = frame.amplifiers
    assert (left.cols, right.cols, right.flip_x, left.flip_x) == (slice(0, 40), slice(40, 80), True, False)
    assert left.pedestal != right.pedestal
    for amp in frame.amplifiers:
        region = frame.image[amp.rows, amp.cols]
        assert np.median(region) == pytest.approx(amp.pedestal, abs=2 * amp.sigma)
        assert amp.overscan.shape == (64, 16)
        assert np.median(amp.overscan) == pytest.approx(amp.pedestal, abs=2 * amp.sigma)


def test_the_parallel_overscan_reads_the_pedestal_with_the_drift_along_the_row(rng):
    frame = simulate_ccd((64, 80), quiet(overscan=16, overscan_rows=8, pedestal_col_drift=20.0,
                                         pedestal_row_drift=0.0, read_noise=1.0), rng)
    amp = frame.amplifiers[0]
    assert amp.parallel_overscan.shape == (8, 96) and amp.overscan.shape == (64, 16)
    columns = amp.parallel_overscan[:, :80].mean(0)
    np.testing.assert_allclose(columns, frame.baseline[0], atol=1.5)  # the data rows' column pedestal
    assert np.ptp(columns) > 10


def test_saturation_clips_the_image(rng):
    deposit = Deposit.from_patch("alpha", 3, 3, np.full((2, 2), 1e6), (10, 10))
    frame = simulate_ccd((10, 10), quiet(saturation=40000.0), rng, deposits=[deposit])
    assert frame.image.max() == 40000.0 and (frame.labels[3:5, 3:5] == CLUSTER).all()


def test_random_params_cover_the_asked_noise_and_stay_valid():
    rng = np.random.default_rng(0)
    drawn = [CCDParams.random(rng, noise=(3.0, 9.0)) for _ in range(200)]
    noises = np.array([p.read_noise for p in drawn])
    assert noises.min() >= 3.0 and noises.max() <= 9.0 and noises.max() - noises.min() > 4.0
    assert any(p.n_samples > 1 for p in drawn) and any(p.n_samples == 1 for p in drawn)
    assert len({p.pedestal for p in drawn}) == 200
    assert CCDParams.random(rng, amplifiers=4).overscan > 0


@pytest.mark.parametrize("bad", [dict(amplifiers=3), dict(read_noise=0.0), dict(gain=-1.0), dict(n_samples=0),
                                 dict(cti_serial=1.5), dict(dark_current=float("nan"))])
def test_bad_params_are_refused(bad):
    with pytest.raises(CcdstudioError):
        CCDParams(**bad)


def test_tiny_frames_are_refused(rng):
    with pytest.raises(CcdstudioError):
        simulate_ccd((2, 100), CCDParams(), rng)


def test_diffusion_grows_with_depth_to_about_a_pixel():
    params = CCDParams()
    sigma = diffusion_sigma(np.array([0.0, 100.0, 400.0, 675.0]), params)
    assert sigma[0] == 0 and np.all(np.diff(sigma) > 0)
    # DAMIC: sigma^2 = -A ln(1 - b z) with A = 216 um^2, b = 886e-6 / um, 15 um pixels.
    assert sigma[-1] == pytest.approx(math.sqrt(-216 * math.log(1 - 886e-6 * 675)) / 15, rel=1e-3)


def test_point_deposit_holds_its_energy_in_electrons(rng):
    params = CCDParams(point_kev_min=5.9, point_kev_max=5.9)
    deposit = point(rng, params, (50, 50), 25.0, 25.0)
    assert deposit.electrons == pytest.approx(5900 / EV_PER_PAIR, rel=0.1)
    assert deposit.energy_kev == pytest.approx(5.9)
    assert abs(np.average(deposit.rows, weights=deposit.charge) - 25.0) < 0.5


def test_muon_track_is_straight_and_widens_with_depth(rng):
    params = CCDParams()
    tracks = [muon(rng, params, (400, 400), 200.0, 200.0) for _ in range(30)]
    long = max(tracks, key=lambda d: np.ptp(d.rows) + np.ptp(d.cols))
    coords = np.stack([long.rows, long.cols], axis=1).astype(float)
    centred = coords - np.average(coords, axis=0, weights=long.charge)
    spread = np.linalg.svd(centred * np.sqrt(long.charge)[:, None], compute_uv=False)
    assert spread[0] > 5 * spread[1]  # a line, not a blob
    # Ionisation: ~80 e- per micron of path through 675 um of silicon, at least.
    assert all(d.electrons > 0.8 * 80 * 675 for d in tracks)


def test_electron_range_matches_tabulated_values():
    # ESTAR CSDA ranges in silicon: 100 keV -> 0.0165 g/cm2 (~71 um), 1 MeV -> 0.5 g/cm2 (~2.1 mm); the
    # Katz-Penfold fit is within 20 %.
    assert electron_range_um(100.0) == pytest.approx(71.0, rel=0.2)
    assert electron_range_um(1000.0) == pytest.approx(2100.0, rel=0.2)


def test_every_kind_appears_in_a_busy_frame():
    params = CCDParams(point_density=200, muon_density=50, electron_density=50, alpha_density=30,
                       template_density=50)
    frame = simulate_ccd((256, 256), params, np.random.default_rng(2), kinds=True)
    kinds = {c.kind for c in frame.clusters}
    assert kinds == {"point", "muon", "electron", "alpha", "template"}
    detectable = [c for c in frame.clusters if c.detectable]
    for c in detectable:
        y0, x0, y1, x1 = c.bbox
        assert 0 <= y0 < y1 <= 256 and 0 <= x0 < x1 <= 256
    assert sum(c.n_pixels for c in frame.clusters) == (frame.labels >= CLUSTER).sum()
