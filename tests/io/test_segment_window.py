"""Surface estimate and layer windows of scroll segments, on profiles made by hand and generated segments."""

import shutil

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.io import open_image
from ccdstudio.io.segment_window import (
    LayerWindow,
    centred_window,
    check_window,
    choose_window,
    default_window,
    estimate_surface,
    is_segment,
    surface_from_profile,
)
from ccdstudio.jobs import run
from ccdstudio.simulate.segment import simulate_segment


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    """A generated 24-layer segment (surface at 11.5 by construction) and a 16-layer cut of it starting at
    layer 8, whose surface lies at 3.5, far from its middle (7.5)."""
    root = tmp_path_factory.mktemp("segments")
    full = run(simulate_segment(root / "full", layers=24, height=128, width=160, seed=5))
    cut = root / "cut"
    (cut / "layers").mkdir(parents=True)
    for i, z in enumerate(range(8, 24)):
        shutil.copy(full / "layers" / f"{z:02d}.tif", cut / "layers" / f"{i:02d}.tif")
    shutil.copy(full / "mask.png", cut / "mask.png")
    return full, cut


def test_step_profile_surface_is_the_first_papyrus_layer():
    estimate = surface_from_profile(np.array([10.0] * 5 + [30.0] * 7))
    assert estimate.reliable and estimate.layer == 5 and estimate.position == pytest.approx(4.5)


def test_ramp_is_refined_between_layers():
    # Differences 2, 6, 4 around the peak: the parabola's vertex lies 1/6 layer before the largest one.
    profile = np.cumsum([10, 0, 0, 2, 6, 4, 0, 0, 0.0])
    centre = 3.5 + 0.5 * (2 - 4) / (2 - 2 * 6 + 4)
    assert surface_from_profile(profile).position == pytest.approx(centre, abs=0.05)


def test_flat_or_falling_profile_falls_back_to_the_middle():
    for profile in (np.zeros(9), np.full(9, 1000.0), np.linspace(100, 10, 9)):
        estimate = surface_from_profile(profile)
        assert not estimate.reliable and estimate.layer == 4


def test_prior_prefers_the_middle_among_equal_rises():
    profile = np.array([0, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20.0])
    assert surface_from_profile(profile).layer == 6  # the rise at 0->1 is as large but at the edge


def test_generated_segment_surface_is_found(segments):
    full, cut = segments
    with open_image(full) as source:
        estimate = estimate_surface(source)
        assert estimate.reliable and abs(estimate.position - 11.5) <= 0.6
        assert estimate.profile.shape == (24,)
        assert default_window(source, 8) == centred_window(estimate.layer, 8, 24)
    with open_image(cut) as source:
        estimate = estimate_surface(source)
        assert abs(estimate.position - 3.5) <= 0.6  # not the middle layer
        assert default_window(source, 6) == (estimate.layer - 3, estimate.layer + 2)


def test_reversed_stack_counts_from_the_last_file(segments):
    _, cut = segments
    with open_image(cut) as source:
        window = choose_window(source, count=4, surface=9, reverse=True)
    assert (window.first, window.last, window.reversed) == (7, 10, True)
    assert window.planes == (8, 7, 6, 5)  # stack position p is file 15 - p
    with open_image(cut, reverse_layers=True) as source:
        same = choose_window(source, count=4, surface=9)
    assert same.planes == (7, 8, 9, 10) and same.reversed  # the source reverses: its planes are in stack order
    assert [source.planes[p].name for p in same.planes] == ["layer 08", "layer 07", "layer 06", "layer 05"]


def test_estimate_reads_only_sampled_patches(segments):
    full, _ = segments
    with open_image(full) as source:
        reads = []
        original = source.read

        def spy(plane=0, window=None):
            out = original(plane, window)
            if plane < 24:
                reads.append(out.size)
            return out

        source.read = spy
        estimate_surface(source, patches=2, patch=64)
    assert len(reads) == 2 * 24 and max(reads) == 64 * 64


def test_centred_window_stays_inside_the_stack():
    assert centred_window(32, 16, 65) == (24, 39)
    assert centred_window(32, 15, 65) == (25, 39)
    assert centred_window(2, 10, 65) == (0, 9)
    assert centred_window(63, 10, 65) == (55, 64)
    with pytest.raises(CcdstudioError, match="does not fit"):
        centred_window(5, 12, 10)


def test_choose_window_by_range_and_errors(segments):
    full, _ = segments
    with open_image(full) as source:
        window = choose_window(source, layers=(3, 9))
        assert (window.count, window.planes, window.surface, window.centred) == (7, tuple(range(3, 10)), None, False)
        with pytest.raises(CcdstudioError, match="outside"):
            choose_window(source, layers=(20, 30))
        with pytest.raises(CcdstudioError, match="does not fit"):
            choose_window(source, count=30)
        with pytest.raises(CcdstudioError, match="not 5"):
            choose_window(source, count=5, layers=(0, 3))
    assert is_segment(full) and not is_segment(full / "mask.png")


def _window(first, last, surface, reversed_=False, layers=24):
    return LayerWindow(first, last, layers, tuple(range(first, last + 1)), reversed_, surface)


def test_check_window_errors_and_warnings():
    trained = _window(8, 15, 12).to_dict()
    assert trained["centred_on"] == "surface" and trained["count"] == 8
    assert check_window(trained, _window(8, 15, 12), 8) == []
    assert check_window(trained, _window(4, 11, 8), 8) == []  # same place relative to its own surface
    shifted = check_window(trained, _window(4, 11, 12), 8)
    assert len(shifted) == 1 and "4 layers shallower" in shifted[0]
    reversed_ = check_window(trained, _window(8, 15, 12, reversed_=True), 8)
    assert len(reversed_) == 1 and "reverse" in reversed_[0]
    given = _window(8, 15, None).to_dict()
    assert check_window(given, _window(8, 15, None), 8) == []
    assert "differ" in check_window(given, _window(9, 16, None), 8)[0]
    assert check_window(None, _window(0, 3, None), 4) == []
    with pytest.raises(CcdstudioError, match="only 6"):
        check_window(trained, _window(0, 5, None, layers=6), 8)
    with pytest.raises(CcdstudioError, match="reads 8 layers"):
        check_window(trained, _window(0, 5, None), 8)
