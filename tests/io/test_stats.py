"""Plane statistics: exact extremes and counts, bias excluded, sampling on big planes."""

import numpy as np
import pytest

from ccdstudio.imaging.noise import MAD_TO_SIGMA
from ccdstudio.io import ArraySource, Plane
from ccdstudio.io import stats as stats_module
from ccdstudio.io.stats import plane_stats


def _with_header(array, header):
    source = ArraySource([array])
    source.planes = [Plane("ccd", array.shape, array.dtype, header)]
    return source


def test_values_and_counts(rng):
    data = rng.normal(1000, 5, (64, 50))
    data[3, 3], data[4, 4], data[5, 5] = np.nan, np.inf, -np.inf
    stats = plane_stats(ArraySource([data]))
    finite = data[np.isfinite(data)]
    assert stats["min"] == finite.min() and stats["max"] == finite.max()
    assert stats["mean"] == pytest.approx(finite.mean())
    assert stats["median"] == pytest.approx(np.median(finite))
    assert stats["sigma"] == pytest.approx(MAD_TO_SIGMA * np.median(np.abs(finite - np.median(finite))))
    assert (stats["finite"], stats["nan"], stats["inf"], stats["pixels"]) == (64 * 50 - 3, 1, 2, 64 * 50)
    assert stats["section"] == "[1:50,1:64]" and not stats["sampled"]


def test_overscan_excluded(rng):
    data = rng.normal(0, 1, (20, 30)).astype(np.float32) + 500
    data[:, 25:] = 10000  # overscan with another level
    source = _with_header(data, {"NAXIS1": 30, "NAXIS2": 20, "DATASEC": "[1:25,1:20]"})
    stats = plane_stats(source)
    assert stats["max"] < 600 and stats["section"] == "[1:25,1:20]" and stats["pixels"] == 500
    assert plane_stats(source, exclude_bias=False)["max"] == 10000


def test_exact_extremes_with_sampling_over_many_blocks(rng, monkeypatch):
    monkeypatch.setattr(stats_module, "BLOCK_BYTES", 4096)  # many row blocks on a small plane
    data = rng.integers(100, 200, (301, 77)).astype(np.uint16)
    data[299, 76], data[150, 1] = 65000, 3  # off the sampling grid
    stats = plane_stats(ArraySource([data]), max_samples=500)
    assert stats["sampled"] and stats["min"] == 3 and stats["max"] == 65000
    assert stats["mean"] == pytest.approx(data.mean())
    assert abs(stats["median"] - np.median(data)) <= 3


def test_all_nan_plane():
    stats = plane_stats(ArraySource([np.full((4, 4), np.nan, np.float32)]))
    assert np.isnan(stats["min"]) and np.isnan(stats["median"]) and stats["nan"] == 16 and stats["finite"] == 0
