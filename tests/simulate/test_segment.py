"""Synthetic scroll segments: folder layout, ink near the surface, determinism, streaming and cancel."""

import numpy as np
import pytest
import tifffile

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, run
from ccdstudio.simulate import segment as segment_module
from ccdstudio.simulate.segment import SmoothNoise, layer_name, simulate_segment


def _png(path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_layout_names_and_types(tmp_path):
    out = run(simulate_segment(tmp_path / "seg", layers=5, height=40, width=56, seed=1))
    assert sorted(p.name for p in (out / "layers").iterdir()) == ["00.tif", "01.tif", "02.tif", "03.tif", "04.tif"]
    for path in (out / "layers").iterdir():
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            assert page.shape == (40, 56) and page.dtype == np.uint16
            assert page.compression == 1 and page.is_contiguous  # plain strips: memory-mappable
    mask, ink = _png(out / "mask.png"), _png(out / "inklabels.png")
    assert mask.shape == ink.shape == (40, 56) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255} and set(np.unique(ink)) <= {0, 255}
    assert not (ink[mask == 0]).any()  # no ink off the papyrus
    assert not list(out.rglob(".*"))  # no temporary files left


def test_layer_names_grow_a_digit_above_a_hundred_layers():
    assert layer_name(7, 65) == "07.tif" and layer_name(64, 65) == "64.tif"
    assert layer_name(100, 100) == "100.tif" and layer_name(7, 100) == "07.tif"
    assert layer_name(7, 150) == "007.tif"


def test_ink_shows_near_the_surface_only(tmp_path):
    out = run(simulate_segment(tmp_path / "seg", layers=21, height=512, width=640, seed=4))
    ink = _png(out / "inklabels.png") > 0
    mask = _png(out / "mask.png") > 0
    assert ink.sum() > 500

    def contrast(z):
        layer = tifffile.imread(out / "layers" / layer_name(z, 21)).astype(float)
        return layer[ink].mean() - layer[mask & ~ink].mean()

    surface = contrast(10)
    assert surface > 2000
    assert contrast(14) < 0.7 * surface  # fading into the sheet
    for far in (0, 2, 20):
        assert abs(contrast(far)) < 0.2 * surface


def test_papyrus_is_brighter_than_air_and_fibres_turn_with_depth(tmp_path):
    out = run(simulate_segment(tmp_path / "seg", layers=21, height=256, width=320, seed=5))
    mask = _png(out / "mask.png") > 0
    upper, lower = (tifffile.imread(out / "layers" / layer_name(z, 21)).astype(float) for z in (11, 15))
    assert upper[mask].mean() > upper[~mask].mean() + 5000
    inner = (slice(80, 176), slice(100, 220))

    def along_rows(layer):  # horizontal fibres: neighbours along a row alike, across rows not
        a = layer[inner]
        return np.abs(np.diff(a, axis=0)).mean() / np.abs(np.diff(a, axis=1)).mean()

    assert along_rows(upper) > along_rows(lower)


def test_same_seed_same_bytes(tmp_path):
    one = run(simulate_segment(tmp_path / "a", layers=2, height=32, width=48, seed=9))
    two = run(simulate_segment(tmp_path / "b", layers=2, height=32, width=48, seed=9))
    other = run(simulate_segment(tmp_path / "c", layers=2, height=32, width=48, seed=10))
    for name in ("layers/00.tif", "layers/01.tif", "mask.png", "inklabels.png"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert (one / "layers/01.tif").read_bytes() != (other / "layers/01.tif").read_bytes()


def test_streams_row_blocks_and_never_holds_a_layer(tmp_path, monkeypatch):
    monkeypatch.setattr(segment_module, "BLOCK_ROWS", 16)
    shapes, writes = [], []
    layer = segment_module._Block.layer
    write_rows = segment_module._LayerFile.write_rows
    monkeypatch.setattr(segment_module._Block, "layer", lambda self, z: shapes.append(out := layer(self, z)) or out)

    def recording_write(self, first, block):
        writes.append((self.path.name, first))
        write_rows(self, first, block)

    monkeypatch.setattr(segment_module._LayerFile, "write_rows", recording_write)
    out = run(simulate_segment(tmp_path / "seg", layers=4, height=40, width=24, seed=2))
    assert {a.shape for a in shapes} == {(16, 24), (8, 24)}  # blocks of rows, never a whole layer or volume
    assert len(writes) == 4 * 3 and {first for _, first in writes} == {0, 16, 32}
    assert tifffile.imread(out / "layers" / "03.tif").shape == (40, 24)


def test_progress_and_cancel_leave_no_layers(tmp_path):
    token = CancelToken()
    events = []

    def on_progress(event):
        events.append(event)
        if len(events) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run(simulate_segment(tmp_path / "seg", layers=3, height=600, width=40, seed=1, cancel=token), on_progress)
    assert not list((tmp_path / "seg" / "layers").glob("*"))


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(CcdstudioError):
        run(simulate_segment(tmp_path / "seg", layers=0, height=40, width=40))


def test_smooth_noise_blocks_join_seamlessly(rng):
    noise = SmoothNoise(rng, (100, 80), (7.0, 13.0))
    whole = noise.block(slice(0, 100), 80)
    parts = np.concatenate([noise.block(slice(0, 37), 80), noise.block(slice(37, 100), 80)])
    assert np.array_equal(whole, parts)
    assert np.abs(np.diff(whole, axis=0)).max() < 1.0  # smooth at this spacing
