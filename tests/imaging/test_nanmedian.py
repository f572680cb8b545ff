"""The sorting NaN median agrees with numpy's."""

import warnings

import numpy as np
import pytest

from ccdstudio.imaging.noise import nanmedian


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axis"), [((5, 7, 33), 2), ((5, 7, 32), -1), ((40, 6), 0), ((3, 4, 10), 1)])
def test_it_matches_numpy_with_odd_and_even_counts_and_all_nan_lines(rng, dtype, shape, axis):
    values = rng.normal(size=shape).astype(dtype)
    values[rng.random(shape) < 0.4] = np.nan
    np.moveaxis(values, axis, -1)[0, ...] = np.nan  # a few lines with no finite value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN lines
        for keepdims in (False, True):
            expected = np.nanmedian(values, axis=axis, keepdims=keepdims)
            result = nanmedian(values, axis=axis, keepdims=keepdims)
            assert result.dtype == expected.dtype
            np.testing.assert_array_equal(result, expected)


def test_all_nan_gives_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(nanmedian(np.full((2, 3), np.nan))).all()
