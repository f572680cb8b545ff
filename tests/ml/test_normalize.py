"""Normalisation: CCD frames independent of pedestal and gain, NaNs to 0, percentiles, round trip."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.source import ArraySource
from ccdstudio.ml.normalize import Normalization, sample_planes


def test_ccd_normalisation_does_not_depend_on_pedestal_or_gain(rng):
    electrons = rng.normal(0, 2.0, (64, 64))
    electrons[10:14, 10:14] += 40
    norm = Normalization("ccd")
    outputs = []
    for pedestal, gain in ((1000.0, 1.0), (25000.0, 3.7)):
        adu = pedestal + gain * electrons
        outputs.append(norm.apply(adu, norm.fit(adu)))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-4)
    assert outputs[0].shape == (1, 64, 64) and outputs[0].dtype == np.float32


def test_ccd_units_are_noise_sigmas_with_asinh_softening(rng):
    image = rng.normal(500.0, 4.0, (200, 200))
    norm = Normalization("ccd", softening=0.0)
    stats = norm.fit(image)
    assert abs(stats.offset[0] - 500) < 0.5 and abs(stats.scale[0] - 4) < 0.2
    value = np.array([[stats.offset[0] + 8 * stats.scale[0]]])
    assert np.isclose(norm.apply(value, stats)[0, 0, 0], 8.0, atol=1e-4)
    soft = Normalization("ccd", softening=3.0)
    assert np.isclose(soft.apply(value, stats)[0, 0, 0], np.arcsinh(8 / 3), atol=1e-4)


def test_nan_becomes_zero_and_extremes_are_clipped(rng):
    image = rng.normal(100.0, 2.0, (32, 32))
    image[0, 0], image[0, 1], image[0, 2] = np.nan, 1e12, -np.inf
    norm = Normalization("ccd", clip=(-5.0, 50.0), softening=0.0)
    out = norm.apply(image, norm.fit(image))
    assert out[0, 0, 0] == 0.0 and out[0, 0, 1] == 50.0 and out[0, 0, 2] == -5.0 and np.isfinite(out).all()


def test_percentile_normalisation_shares_one_scale_across_channels():
    stack = np.stack([np.linspace(0, 100, 1000).reshape(10, 100), np.linspace(100, 200, 1000).reshape(10, 100)])
    norm = Normalization("percentile", percentiles=(0, 100))
    stats = norm.fit(stack)
    out = norm.apply(stack, stats)
    assert stats.offset == (0.0, 0.0) and stats.scale == (200.0, 200.0)
    assert np.isclose(out[0].min(), 0) and np.isclose(out[1].max(), 1)


def test_quantised_frame_with_zero_mad_gets_a_robust_scale():
    image = np.full((64, 64), 100.0)
    image[::4] += 1.0  # a quarter of the pixels one ADU up: the MAD is 0
    image[5, 5] = 1e9
    stats = Normalization("ccd").fit(image)
    assert 0.1 < stats.scale[0] < 1.0


def test_round_trip_and_errors():
    for norm in (Normalization("ccd", clip=(-3, 300), softening=2), Normalization("percentile"), Normalization("none")):
        assert Normalization.from_dict(norm.to_dict()) == norm
    with pytest.raises(CcdstudioError):
        Normalization("zscore")
    with pytest.raises(CcdstudioError, match="no finite"):
        Normalization("ccd").fit(np.full((4, 4), np.nan))


def test_sample_planes_strides_large_planes():
    source = ArraySource(np.arange(100 * 100, dtype=np.float32).reshape(100, 100))
    assert sample_planes(source, [0], max_pixels=2500).shape == (1, 50, 50)


def test_the_darkest_blocks_of_a_raw_plane_are_those_of_its_data_section(rng):
    # Dark charge of 4 read noises in the data, none in the overscan: the overscan must not set the level.
    image = rng.normal(1000.0, 3.0, (256, 320)).astype(np.float32)
    image[:, :256] += rng.poisson(2.0, (256, 256)) * 6.0  # 2 e- a pixel at 6 ADU/e-
    header = {"NAXIS1": 320, "NAXIS2": 256, "DATASEC": "[1:256,1:256]", "BIASSEC": "[257:320,1:256]"}
    stats = Normalization("ccd", pedestal="dark").measure(ArraySource(image, headers=[header]), [0])
    assert abs(stats.offset[0] - 1012.0) < 3.0 and stats.scale[0] > 2 * 3.0
    assert sample_planes(ArraySource(image, headers=[header]), [0]).shape == (1, 256, 256)
    cropped = {**header, "DATASEC": "[300:400,1:256]"}  # a DATASEC beyond the plane: the whole plane
    assert sample_planes(ArraySource(image[:, :256], headers=[cropped]), [0]).shape == (1, 256, 256)


def _raw_frame(seed: int, **fixed):
    """A simulated one-amplifier raw frame: (data + 64 overscan columns, its header, the frame)."""
    from ccdstudio.simulate.ccd import simulate_ccd
    from ccdstudio.simulate.ccd_files import raw_plane
    from ccdstudio.simulate.params import CCDParams

    rng = np.random.default_rng(seed)
    params = CCDParams.random(rng, overscan=64, **fixed)
    frame = simulate_ccd((512, 512), params, rng)
    raw, header = raw_plane(frame, integer=True)
    return raw, header, frame


def test_overscan_gives_the_pedestal_row_by_row_and_the_bare_read_noise_under_glow():
    # Glow over the whole frame and a 3-sigma row drift: the darkest blocks are neither the pedestal nor
    # the read noise, the overscan is both (integer ADU, 2.5 ADU of noise, quantisation included).
    raw, header, frame = _raw_frame(3, read_noise=2.5, n_samples=1, gain=1.0, pedestal_row_drift=7.5,
                                    pedestal_col_drift=0.0, glow_peak=20.0, glow_length=2000.0, glow_band=0.0)
    source = ArraySource(raw, headers=[header])
    sigma = frame.amplifiers[0].sigma
    stats = Normalization("ccd", pedestal="overscan").measure(source, [0])
    assert stats.offset == (0.0,) and stats.row_pedestal.shape == (1, 512)
    row_error = stats.row_pedestal[0] - frame.baseline[:, 0]
    assert np.abs(row_error).max() < 0.25 * sigma and np.std(row_error) < 0.1 * sigma
    assert abs(stats.scale[0] / np.hypot(sigma, 1 / np.sqrt(12)) - 1) < 0.05
    dark = Normalization("ccd", pedestal="dark").measure(ArraySource(raw[:, :512]), [0])  # the trimmed frame
    assert dark.row_pedestal is None and dark.offset[0] - frame.baseline.mean() > 4 * sigma  # glow taken for pedestal


def test_row_pedestal_applies_to_any_window_as_to_the_whole_plane():
    raw, header, _ = _raw_frame(4)
    norm = Normalization("ccd", pedestal="overscan")
    stats = norm.measure(ArraySource(raw, headers=[header]), [0])
    whole = norm.apply(raw, stats)
    rows = slice(100, 230)
    np.testing.assert_array_equal(norm.apply(raw[rows, 7:300], stats, rows), whole[:, rows, 7:300])


def test_without_an_overscan_the_pedestal_comes_from_the_darkest_blocks(rng):
    image = rng.normal(1000.0, 3.0, (256, 256))
    overscan, dark = Normalization("ccd", pedestal="overscan"), Normalization("ccd", pedestal="dark")
    source = ArraySource(image)
    assert overscan.measure(source, [0]) == dark.measure(source, [0])
    header = {"NAXIS1": 256, "NAXIS2": 256, "DATASEC": "[1:256,1:256]", "BIASSEC": "[255:256,1:256]"}
    assert overscan.measure(ArraySource(image, headers=[header]), [0]).row_pedestal is None  # 2 columns: unusable


def test_overscan_pedestal_of_a_nan_row_takes_its_neighbours():
    from ccdstudio.imaging.overscan import row_pedestal as overscan_pedestal

    strip = np.full((40, 16), 100.0) + np.arange(40)[:, None] * 0.01
    strip[17] = np.nan
    profile, noise = overscan_pedestal(strip, slice(10, 50), 60)
    assert profile.shape == (60,) and np.isfinite(profile).all()
    assert profile[0] == profile[10] and profile[-1] == profile[49]
    assert noise > 0
    assert overscan_pedestal(strip[:, :3], slice(0, 40), 40) is None


def test_summaries_say_where_the_pedestal_comes_from():
    assert "overscan" in Normalization("ccd", pedestal="overscan").summary
    assert "darkest" in Normalization("ccd", pedestal="dark").summary
    assert Normalization("percentile").summary == "percentile (0.5-99.5 %)" and Normalization("none").summary == "none"
