"""JPEG segment layers decoded once into the on-disk cache and read back by memory map."""

import os

import cv2
import numpy as np
import pytest

from ccdstudio.io import raster, segment_cache
from ccdstudio.io.segment import SegmentSource
from ccdstudio.io.segment_cache import DecodedLayer, cached_file


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("CCDSTUDIO_CACHE", str(root))
    monkeypatch.delenv("CCDSTUDIO_LAYER_CACHE_GB", raising=False)
    return root / segment_cache.FOLDER


def jpeg_segment(folder, rng, layers=3, shape=(40, 56)):
    """A segment of smooth random JPEG layers; returns what OpenCV decodes from each."""
    (folder / "layers").mkdir(parents=True)
    decoded = []
    for z in range(layers):
        image = cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (5, 5), 2)
        path = folder / "layers" / f"{z:02d}.jpg"
        cv2.imwrite(str(path), image)
        decoded.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    return decoded


def count_decodes(monkeypatch):
    calls = []
    original = raster.decode

    def counting(path):
        calls.append(os.path.basename(path))
        return original(path)

    monkeypatch.setattr(segment_cache, "decode", counting)
    return calls


def test_a_layer_is_decoded_once_then_memory_mapped(tmp_path, rng, cache, monkeypatch):
    decoded = jpeg_segment(tmp_path / "seg", rng)
    calls = count_decodes(monkeypatch)
    window = (slice(5, 30, 2), slice(10, 50))
    with SegmentSource(tmp_path / "seg") as source:
        np.testing.assert_array_equal(source.read(1, window), decoded[1][window])
        np.testing.assert_array_equal(source.read(1), decoded[1])
        assert source.read(1).dtype == np.uint8
    assert calls == ["01.jpg"]
    files = list(cache.glob("*/*.npy"))
    assert [f.name.split("-")[0] for f in files] == ["01"]
    assert (files[0].parent / "source.txt").read_text().strip() == str((tmp_path / "seg" / "layers").resolve())
    with SegmentSource(tmp_path / "seg") as source:  # a new session maps the file: no decode
        np.testing.assert_array_equal(source.read(1, window), decoded[1][window])
        assert source._layer(1).cached
    assert calls == ["01.jpg"]


def test_an_edited_layer_is_decoded_again(tmp_path, rng, cache):
    jpeg_segment(tmp_path / "seg", rng)
    path = tmp_path / "seg" / "layers" / "00.jpg"
    DecodedLayer(path).read()
    first = cached_file(path)
    cv2.imwrite(str(path), np.full((40, 56), 200, np.uint8))
    os.utime(path, ns=(first.stat().st_mtime_ns + 10**9,) * 2)  # a later modification time, whatever the clock
    assert abs(int(DecodedLayer(path).read()[10, 10]) - 200) <= 1
    assert [f.name for f in first.parent.glob("*.npy")] == [cached_file(path).name] != [first.name]


def test_the_cache_stays_within_its_limit(tmp_path, rng, cache, monkeypatch):
    decoded = jpeg_segment(tmp_path / "seg", rng, layers=4)
    size = 40 * 56 + 128  # one decoded layer and its .npy header
    monkeypatch.setenv("CCDSTUDIO_LAYER_CACHE_GB", str(2.5 * size / 2**30))
    with SegmentSource(tmp_path / "seg") as source:
        for z in range(4):
            np.testing.assert_array_equal(source.read(z), decoded[z])
            os.utime(cached_file(tmp_path / "seg" / "layers" / f"{z:02d}.jpg"), ns=(z * 10**9, z * 10**9))
    kept = sorted(f.name.split("-")[0] for f in cache.glob("*/*.npy"))
    assert kept == ["02", "03"]  # the two most recently used


@pytest.mark.parametrize("how", ["off", "unwritable"])
def test_without_a_cache_layers_are_decoded_into_memory(tmp_path, rng, cache, monkeypatch, how):
    decoded = jpeg_segment(tmp_path / "seg", rng)
    if how == "off":
        monkeypatch.setenv("CCDSTUDIO_LAYER_CACHE_GB", "0")
    else:
        (tmp_path / "blocked").write_text("a file where the cache folder would be")
        monkeypatch.setenv("CCDSTUDIO_CACHE", str(tmp_path / "blocked"))
    with SegmentSource(tmp_path / "seg") as source:
        np.testing.assert_array_equal(source.read(2, (slice(3, 9), slice(None))), decoded[2][3:9])
        assert not source._layer(2).cached
    assert not cache.exists()


def test_a_damaged_cache_file_is_redone(tmp_path, rng, cache):
    decoded = jpeg_segment(tmp_path / "seg", rng)
    path = tmp_path / "seg" / "layers" / "00.jpg"
    DecodedLayer(path).read()
    target = cached_file(path)
    target.write_bytes(target.read_bytes()[:500])  # cut short, as by a crash
    layer = DecodedLayer(path)
    np.testing.assert_array_equal(layer.read(), decoded[0])
    assert layer.cached and target.stat().st_size > 500
