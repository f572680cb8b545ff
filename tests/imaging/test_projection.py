"""Layer projections: values against numpy, block-wise reading, windows, cancel, errors and output files."""

import numpy as np
import pytest

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.imaging.projection import project, save_projection
from ccdstudio.io import open_image
from ccdstudio.io.source import ArraySource
from ccdstudio.jobs import CancelToken, run


class CountingSource(ArraySource):
    """An in-memory stack that records the size of every read."""

    def __init__(self, stack):
        super().__init__(list(stack))
        self.reads = []

    def read(self, plane=0, window=None):
        out = super().read(plane, window)
        self.reads.append(out.size)
        return out


@pytest.fixture
def stack(rng):
    return rng.integers(0, 65535, (7, 50, 37), dtype=np.uint16)


@pytest.mark.parametrize("mode", ["max", "mean", "std"])
def test_projection_matches_numpy_over_many_blocks(stack, mode):
    source = CountingSource(stack)
    planes = [1, 2, 3, 4, 5]
    result = run(project(source, planes, mode, block_pixels=37 * 6))  # 6 rows a block: 9 blocks
    chosen = stack[planes].astype(np.float64)
    expected = {"max": stack[planes].max(0), "mean": chosen.mean(0), "std": chosen.std(0, ddof=1)}[mode]
    assert result.dtype == (np.uint16 if mode == "max" else np.float32)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-3)
    # One layer of one block per read, never a stack of layers.
    assert max(source.reads) <= 37 * 6 and len(source.reads) == 9 * len(planes)


def test_strided_window_projects_a_preview(stack):
    window = (slice(3, 48, 4), slice(1, 37, 5))
    result = run(project(ArraySource(list(stack)), range(7), "mean", window=window, block_pixels=10))
    np.testing.assert_allclose(result, stack[:, 3:48:4, 1:37:5].mean(0), rtol=1e-6)


def test_single_layer_std_is_zero(stack):
    assert not run(project(ArraySource(list(stack)), [2], "std")).any()


def test_progress_reaches_one_and_cancel_stops(stack):
    events = []
    run(project(ArraySource(list(stack)), range(3), "max", block_pixels=37 * 25), events.append)
    assert [e.fraction for e in events] == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0])
    token = CancelToken()
    job = project(ArraySource(list(stack)), range(3), "max", block_pixels=37, cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        run(job)


def test_bad_requests_are_clear_errors(stack):
    source = ArraySource([stack[0], stack[1, :10]])
    with pytest.raises(CcdstudioError, match="unknown projection"):
        run(project(source, [0], "median"))
    with pytest.raises(CcdstudioError, match="at least one layer"):
        run(project(source, [], "max"))
    with pytest.raises(CcdstudioError, match="differ in size"):
        run(project(source, [0, 1], "max"))
    with pytest.raises(CcdstudioError, match="empty"):
        run(project(source, [0], "max", window=(slice(5, 5), slice(None))))


@pytest.fixture
def segment_stack(tmp_path, rng):
    import tifffile

    layers = rng.integers(0, 60000, (8, 30, 20), dtype=np.uint16)
    (tmp_path / "seg" / "layers").mkdir(parents=True)
    for i, layer in enumerate(layers):
        tifffile.imwrite(tmp_path / "seg" / "layers" / f"{i:02d}.tif", layer)
    return tmp_path / "seg", layers


def test_projection_of_a_segment_folder(segment_stack):
    folder, layers = segment_stack
    with open_image(folder) as source:
        result = run(project(source, range(2, 6), "max", block_pixels=100))
    np.testing.assert_array_equal(result, layers[2:6].max(0))


@pytest.mark.parametrize("suffix", [".tif", ".fits", ".png", ".npy"])
def test_save_projection_round_trips(tmp_path, rng, suffix):
    image = rng.uniform(0, 1000, (12, 9)).astype(np.float32)
    path = save_projection(tmp_path / f"p{suffix}", image, {"projection": "mean", "layers": "2-5"})
    with open_image(path) as source:
        back = source.read(0)
    if suffix == ".png":  # 16-bit integers only
        np.testing.assert_array_equal(back, np.rint(image).astype(np.uint16))
    else:
        np.testing.assert_allclose(back, image, rtol=1e-6)
    if suffix == ".tif":
        assert "projection=mean" in str(source.metadata["imagej"].get("Info"))


def test_save_projection_rejects_unknown_suffix(tmp_path):
    with pytest.raises(CcdstudioError, match="format"):
        save_projection(tmp_path / "p.bmp", np.zeros((2, 2), np.uint16))
