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
