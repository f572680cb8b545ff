"""Screen-resolution rendering of lazy planes: block reduction that keeps outliers, overviews, viewports."""

import numpy as np
import pytest

from ccdstudio.imaging.render import (
    Outliers,
    block_reduce,
    overview_factor,
    prepare_plane,
    render_view,
    view_factor,
)
from ccdstudio.io.source import ArraySource
from ccdstudio.jobs import run


class CountingSource(ArraySource):
    """An ArraySource that records the windows read, to check what a render touches."""

    def __init__(self, array):
        super().__init__([array])
        self.windows = []

    def read(self, plane=0, window=None):
        self.windows.append(window)
        return super().read(plane, window)


def frame(rng, shape=(300, 400), pedestal=1000.0, sigma=5.0):
    return rng.normal(pedestal, sigma, shape).astype(np.float32)


def test_single_hot_and_cold_pixels_survive_block_reduction(rng):
    image = frame(rng)
    image[123, 77] = 60000.0
    image[10, 390] = 0.0
    reduced = block_reduce(image, 10, Outliers(1000.0, 30.0))
    assert reduced.shape == (30, 40)
    assert reduced[12, 7] == 60000.0
    assert reduced[1, 39] == 0.0
    # quiet blocks show their first pixel, as subsampling would: noise keeps its per-pixel amplitude
    quiet = np.ones(reduced.shape, bool)
    quiet[12, 7] = quiet[1, 39] = False
    np.testing.assert_array_equal(reduced[quiet], image[::10, ::10][quiet])
    # the mean and plain striding lose the hot pixel; this is what the reduction is for
    assert image.reshape(30, 10, 40, 10).mean(axis=(1, 3))[12, 7] < 1700
    assert image[::10, ::10].max() < 1100


def test_block_max_without_outliers_and_partial_edge_blocks():
    image = np.arange(7 * 5).reshape(7, 5)
    reduced = block_reduce(image, 3)
    expected = np.array([[image[r:r + 3, c:c + 3].max() for c in range(0, 5, 3)] for r in range(0, 7, 3)])
    assert reduced.tolist() == expected.tolist()


def test_outliers_in_partial_edge_blocks_are_kept():
    image = np.full((5, 5), 10.0)
    image[4, 4] = 99.0
    image[0, 4] = -50.0
    reduced = block_reduce(image, 4, Outliers(10.0, 1.0))
    assert reduced.tolist() == [[10.0, -50.0], [10.0, 99.0]]


def test_nan_is_ignored_unless_the_whole_block_is_nan():
    image = np.full((4, 4), 5.0)
    image[0, 0] = np.nan
    image[2:, 2:] = np.nan
    reduced = block_reduce(image, 2, Outliers(5.0, 1.0))
    assert reduced[0, 0] == 5.0 and reduced[0, 1] == 5.0
    assert np.isnan(reduced[1, 1])


def test_prepare_plane_samples_only_the_data_section(rng):
    image = frame(rng, (256, 300))
    image[:, 256:] = 5000.0  # a bright overscan strip
    source = ArraySource([image])
    data = (slice(0, 256), slice(0, 256))
    prepared = run(prepare_plane(source, 0, data_window=data, side=64))
    assert prepared.pedestal == pytest.approx(1000.0, abs=0.5)
    assert prepared.noise == pytest.approx(5.0, rel=0.1)
    assert prepared.sample.max() < 1100
    excluded = run(prepare_plane(source, 0, exclude=[(slice(None), slice(256, 300))], side=64))
    assert excluded.sample.max() < 1100
    with_overscan = run(prepare_plane(source, 0, side=64))
    assert with_overscan.sample.max() == 5000.0


def test_overview_is_small_and_keeps_a_hot_pixel(rng):
    image = frame(rng, (1000, 1500))
    image[501, 1333] = 30000.0
    prepared = run(prepare_plane(ArraySource([image]), 0, side=256))
    overview = prepared.overview
    assert overview.factor == overview_factor(image.shape, 256) == 6
    assert overview.image.shape == (167, 250)
    assert overview.image[501 // 6, 1333 // 6] == 30000.0


def test_zoomed_in_view_reads_only_the_visible_window_at_full_resolution(rng):
    image = frame(rng, (1000, 1500))
    source = CountingSource(image)
    prepared = run(prepare_plane(source, 0, side=256))
    source.windows.clear()
    rendered = render_view(source, 0, prepared.overview, (600, 300, 700, 350), (800, 400), prepared.outliers)
    assert rendered.factor == 1
    x0, y0, x1, y1 = rendered.rect
    assert x0 <= 600 and x1 >= 700 and y0 <= 300 and y1 >= 350
    assert (x1 - x0) * (y1 - y0) < 4 * 100 * 50  # the visible window plus a margin, not the plane
    np.testing.assert_array_equal(rendered.image, image[y0:y1, x0:x1])
    assert len(source.windows) == 1


def test_zoomed_out_view_comes_from_the_overview_and_keeps_hits(rng):
    image = frame(rng, (1000, 1500))
    image[10, 20] = 40000.0
    source = CountingSource(image)
    prepared = run(prepare_plane(source, 0, side=256))
    source.windows.clear()
    rendered = render_view(source, 0, prepared.overview, (0, 0, 1500, 1000), (100, 80), prepared.outliers)
    assert source.windows == []  # nothing read: the overview is enough
    assert rendered.factor >= view_factor((0, 0, 1500, 1000), (100, 80)) == 15
    assert rendered.image.shape[1] * rendered.factor >= 1500
    assert rendered.image.shape[1] <= 100
    assert rendered.image.max() == 40000.0


def test_view_factor_rounds_up_so_the_buffer_never_exceeds_the_screen():
    assert view_factor((0, 0, 1000, 1000), (1000, 1000)) == 1
    assert view_factor((0, 0, 1900, 1000), (1000, 1000)) == 2
    assert view_factor((0, 0, 100, 100), (1000, 1000)) == 1
