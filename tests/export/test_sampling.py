"""Random windows (mask, label fraction, bounded attempts, lazy maps) and identical augmentation."""

from collections import Counter

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.export import sampling
from ccdstudio.export.sampling import Orientation, augment, random_orientation, random_windows


def _blob_labels(shape=(200, 300)) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[40:120, 50:150] = 1  # an 80x100 block of class 1
    labels[150:190, 200:290] = 2
    return labels


class _Lazy:
    """A lazy 2-D array: numpy slicing only, and a tally of the pixels read."""

    def __init__(self, array: np.ndarray):
        self.array, self.shape, self.read = array, array.shape, 0

    def __getitem__(self, key):
        out = np.asarray(self.array[key])
        self.read += out.size
        return out


def test_windows_lie_inside_the_image_with_the_asked_size(rng):
    windows = random_windows((50, 70), (20, 30), 100, rng)
    assert len(windows) == 100
    for rows, cols in windows:
        assert 0 <= rows.start and rows.stop <= 50 and rows.stop - rows.start == 20
        assert 0 <= cols.start and cols.stop <= 70 and cols.stop - cols.start == 30
    origins = {(r.start, c.start) for r, c in windows}
    assert len(origins) > 50  # random, not one window repeated
    assert max(r.start for r, _ in windows) > 25 and min(r.start for r, _ in windows) < 5  # whole range used


def test_window_as_large_as_the_image_is_the_image(rng):
    assert random_windows((10, 12), (10, 12), 3, rng) == [(slice(0, 10), slice(0, 12))] * 3


def test_same_seed_same_windows():
    labels = _blob_labels()
    kwargs = dict(labels=labels, cls=1, min_fraction=0.3, mask=labels >= 0)
    a = random_windows(labels.shape, 40, 20, np.random.default_rng(5), **kwargs)
    b = random_windows(labels.shape, 40, 20, np.random.default_rng(5), **kwargs)
    c = random_windows(labels.shape, 40, 20, np.random.default_rng(6), **kwargs)
    assert a == b and a != c


def test_windows_keep_centre_and_corners_in_the_mask(rng):
    mask = np.zeros((100, 100), bool)
    mask[10:90, 20:60] = True
    mask[50, 40] = False  # a hole: no window may centre on it
    windows = random_windows(mask.shape, (20, 10), 300, rng, mask=mask)
    for rows, cols in windows:
        y0, y1, x0, x1 = rows.start, rows.stop - 1, cols.start, cols.stop - 1
        for y, x in [(y0, x0), (y0, x1), (y1, x0), (y1, x1), ((y0 + y1 + 1) // 2, (x0 + x1 + 1) // 2)]:
            assert mask[y, x], (rows, cols)
        assert 10 <= y0 and y1 < 90 and 20 <= x0 and x1 < 60
    assert all((r.start + 10, c.start + 5) != (50, 40) for r, c in windows)


@pytest.mark.parametrize("cls, threshold", [(1, 0.5), (2, 0.2), (None, 0.3)])
def test_windows_exceed_the_label_fraction(rng, cls, threshold):
    labels = _blob_labels()
    windows = random_windows(labels.shape, 32, 50, rng, labels=labels, cls=cls, min_fraction=threshold)
    for window in windows:
        hit = labels[window] != 0 if cls is None else labels[window] == cls
        assert hit.mean() > threshold


def test_fraction_is_strictly_greater(rng):
    labels = np.zeros((10, 10), np.uint8)
    labels[:, :5] = 1  # every 10x10 window has exactly 50% of class 1
    with pytest.raises(CcdstudioError, match="found only 0 of 1"):
        random_windows(labels.shape, 10, 1, rng, labels=labels, cls=1, min_fraction=0.5, max_attempts=50)
    assert len(random_windows(labels.shape, 10, 1, rng, labels=labels, cls=1, min_fraction=0.49)) == 1


def test_lazy_maps_are_screened_coarsely_and_checked_exactly(rng, monkeypatch):
    monkeypatch.setattr(sampling, "COARSE_PIXELS", 2000)  # 200x300 labels -> a step of 6
    plain = _blob_labels()
    labels, mask = _Lazy(plain), _Lazy(np.ones_like(plain))
    windows = random_windows(plain.shape, 30, 40, rng, labels=labels, cls=1, min_fraction=0.6, mask=mask)
    assert len(windows) == 40
    for window in windows:
        assert (plain[window] == 1).mean() > 0.6
    # The coarse map (about 1/36 of the pixels) plus a window per accepted candidate, never the whole map
    # hundreds of times over as a naive rejection sampler would.
    assert labels.read < plain.size // 36 + 3 * 40 * 30 * 30
    assert mask.read <= 5 * 40 * 1000  # point reads only


def test_tiny_windows_on_a_coarse_map_are_checked_exactly(rng, monkeypatch):
    monkeypatch.setattr(sampling, "COARSE_PIXELS", 100)  # step 25 on 200x300, bigger than the window
    plain = _blob_labels()
    windows = random_windows(plain.shape, 3, 20, rng, labels=_Lazy(plain), cls=2, min_fraction=0.9)
    assert all((plain[w] == 2).all() for w in windows)


def test_memmap_labels(tmp_path, rng):
    plain = _blob_labels()
    np.save(tmp_path / "labels.npy", plain)
    labels = np.load(tmp_path / "labels.npy", mmap_mode="r")
    windows = random_windows(plain.shape, 16, 10, rng, labels=labels, cls=2, min_fraction=0.8, mask=labels)
    assert all((plain[w] == 2).mean() > 0.8 for w in windows)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda rng: random_windows((50, 40), 41, 1, rng), "larger than the image"),
        (lambda rng: random_windows((50, 40), (51, 10), 1, rng), "larger than the image"),
        (lambda rng: random_windows((50, 40), 0, 1, rng), "positive"),
        (lambda rng: random_windows((50, 40), 5, 1, rng, mask=np.ones((40, 50))), "mask"),
        (lambda rng: random_windows((50, 40), 5, 1, rng, labels=np.ones((50, 40)), cls=3), "no pixel of class 3"),
        (lambda rng: random_windows((50, 40), 5, 1, rng, labels=np.zeros((50, 40))), "no labelled pixel"),
        (lambda rng: random_windows((50, 40), 5, 1, rng, cls=1), "without a label map"),
        (lambda rng: random_windows((50, 40), 5, 1, rng, labels=np.ones((50, 40)), min_fraction=1.0), r"\[0, 1\)"),
        (lambda rng: random_windows((50, 40), 5, -1, rng), "negative"),
        (lambda rng: random_windows((50, 40), 5, 3, rng, mask=np.zeros((50, 40)), max_attempts=100),
         "found only 0 of 3 5x5 windows inside the mask in 100 attempts"),
    ],
)
def test_bad_requests_are_explained(rng, call, message):
    with pytest.raises(CcdstudioError, match=message):
        call(rng)


def test_empty_class_found_on_a_lazy_map_with_a_coarse_step(rng, monkeypatch):
    monkeypatch.setattr(sampling, "COARSE_PIXELS", 100)
    labels = np.zeros((100, 100), np.uint8)
    labels[3, 3] = 1  # missed by the coarse grid (step 10), found by the full scan
    assert random_windows(labels.shape, 10, 1, rng, labels=_Lazy(labels), cls=1, min_fraction=0.0)
    with pytest.raises(CcdstudioError, match="no pixel of class 2"):
        random_windows(labels.shape, 10, 1, rng, labels=_Lazy(labels), cls=2)


def _coded(shape=(6, 9)) -> np.ndarray:
    """Each pixel holds its own source coordinate: value = 100 * y + x."""
    y, x = np.indices(shape)
    return 100 * y + x


def test_augment_keeps_layers_mask_and_labels_aligned(rng):
    image = _coded()
    layers = np.stack([image + 10_000 * k for k in range(4)])  # (layers, h, w)
    mask = (image % 3 == 0).astype(np.uint8)
    labels = (image % 5).astype(np.uint8)
    seen = set()
    for _ in range(64):
        out_image, out_layers, out_mask, out_labels = augment([image, layers, mask, labels], rng)
        seen.add(out_image.shape)
        assert out_layers.shape == (4, *out_image.shape)
        for k in range(4):
            np.testing.assert_array_equal(out_layers[k], out_image + 10_000 * k)
        np.testing.assert_array_equal(out_mask, out_image % 3 == 0)
        np.testing.assert_array_equal(out_labels, out_image % 5)
        assert sorted(out_image.ravel()) == sorted(image.ravel())  # a permutation of the pixels
    assert seen == {(6, 9), (9, 6)}


def test_orientation_matches_hand_made_transforms():
    a = _coded((3, 4))
    assert np.array_equal(Orientation().apply(a), a)
    assert np.array_equal(Orientation(flip_lr=True).apply(a), a[:, ::-1])
    assert np.array_equal(Orientation(flip_ud=True).apply(a), a[::-1, :])
    # Counter-clockwise quarter turn: the top-right pixel (0, 3) moves to the top-left.
    turned = Orientation(rot90=True).apply(a)
    assert turned.shape == (4, 3) and turned[0, 0] == 3 and turned[3, 0] == 0 and turned[0, 2] == 203
    both = Orientation(True, True, True).apply(a)
    assert np.array_equal(both, np.rot90(a[::-1, ::-1]))
    assert Orientation(rot90=True).shape((3, 4)) == (4, 3)


def test_all_eight_orientations_are_equally_likely(rng):
    a = _coded((3, 4))
    counts = Counter()
    for _ in range(1600):
        out = augment([a], rng)[0]
        counts[(out.shape, out.tobytes())] += 1
    assert len(counts) == 8
    assert all(150 < n < 250 for n in counts.values()), counts  # 200 expected, sd about 13


def test_probabilities_zero_and_one(rng):
    a = _coded()
    assert all(np.array_equal(augment([a], rng, flip=0, rot90=0)[0], a) for _ in range(10))
    assert random_orientation(rng, 1.0, 1.0) == Orientation(True, True, True)
    with pytest.raises(CcdstudioError, match="flip probability"):
        augment([a], rng, flip=1.5)
    with pytest.raises(CcdstudioError, match="rot90 probability"):
        random_orientation(rng, rot90=-0.1)
