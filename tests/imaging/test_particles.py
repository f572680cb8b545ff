"""Particle analysis: every ImageJ column on small shapes worked out by hand from ImageJ's algorithms, and
counts, areas, boxes and perimeters against a literal re-implementation of ImageJ's analyzer loop."""

import math

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.particles import ParticleOptions, analyze_particles
from tests.imaging.imagej_reference import analyze as imagej_analyze

CORNER = 2 - math.sqrt(2)  # what getTracedPerimeter subtracts per counted corner
SQRT_PI = 1.772453851      # EllipseFitter's constant


def _measure(mask, image=None, **options):
    return analyze_particles(np.asarray(mask, dtype=bool), image, ParticleOptions(feret=True, **options))


def _row(result, i=0):
    return result.table.row(i)


def test_single_pixel():
    mask = np.zeros((6, 6), bool)
    mask[2, 3] = True
    image = np.zeros((6, 6))
    image[2, 3] = 10.0
    r = _row(_measure(mask, image))
    # four unit sides, every other vertex counted from xp[0]: 4 - 2 (2 - sqrt 2) = 2 sqrt 2
    assert r["Perim."] == pytest.approx(2 * math.sqrt(2))
    expected = {"Area": 1, "Mean": 10, "StdDev": 0, "Min": 10, "Max": 10, "X": 3.5, "Y": 2.5, "XM": 3.5,
                "YM": 2.5, "BX": 3, "BY": 2, "Width": 1, "Height": 1, "Angle": 0, "Circ.": 1.0,
                "IntDen": 10, "RawIntDen": 10, "AR": 1, "Solidity": 1, "Feret": math.sqrt(2), "FeretAngle": 135,
                "MinFeret": 1, "FeretX": 3, "FeretY": 2, "label": 1, "npix": 1}
    for name, value in expected.items():
        assert r[name] == pytest.approx(value), name
    # one pixel wide: fitted as its bounding rectangle, 2 w / sqrt(pi)
    assert r["Major"] == pytest.approx(2 / SQRT_PI) and r["Minor"] == pytest.approx(2 / SQRT_PI)
    assert r["Round"] == pytest.approx(4 / (math.pi * (2 / SQRT_PI) ** 2))


def test_three_by_three_square_with_an_intensity_ramp():
    mask = np.zeros((6, 6), bool)
    mask[1:4, 1:4] = True
    image = np.zeros((6, 6))
    image[1:4, 1:4] = [[1, 2, 3], [11, 12, 13], [21, 22, 23]]
    r = _row(_measure(mask, image))
    # sum 108; sum(v x) = 33*1 + 36*2 + 39*3 = 222; sum(v y) = 6*1 + 36*2 + 66*3 = 276; squared deviations 606
    expected = {"Area": 9, "Mean": 12, "StdDev": math.sqrt(606 / 8), "Min": 1, "Max": 23, "X": 2.5, "Y": 2.5,
                "XM": 222 / 108 + 0.5, "YM": 276 / 108 + 0.5, "Perim.": 12 - 4 * CORNER, "BX": 1, "BY": 1,
                "Width": 3, "Height": 3, "Major": 2 * math.sqrt(9 / math.pi), "Minor": 2 * math.sqrt(9 / math.pi),
                "Angle": 0, "Circ.": 1.0, "IntDen": 108, "RawIntDen": 108, "AR": 1, "Round": 1, "Solidity": 1,
                "Feret": 3 * math.sqrt(2), "FeretAngle": 135, "MinFeret": 3, "FeretX": 1, "FeretY": 1}
    for name, value in expected.items():
        assert r[name] == pytest.approx(value, rel=1e-7), name


def test_l_shape():
    mask = np.zeros((5, 5), bool)
    mask[1:4, 1] = True
    mask[3, 2:4] = True
    r = _row(_measure(mask))
    # outline (1,1) (2,1) (2,3) (4,3) (4,4) (1,4): 12 edges; from xp[0] = (2,3) the counted corners are the
    # four vertices after sides of length 2, 2, 3, 3 -> 12 - 4 (2 - sqrt 2)
    assert r["Perim."] == pytest.approx(12 - 4 * CORNER)
    assert (r["Area"], r["X"], r["Y"], r["BX"], r["BY"], r["Width"], r["Height"]) == pytest.approx(
        (5, 2.1, 2.9, 1, 1, 3, 3))
    # covariance (1/12 added for the pixel extent): u20 = u02 = 0.72333, u11 = 0.36 -> eigenvalues 1.08333 and
    # 0.36333; axes scaled to the particle's area: major * minor = 4 * 5 / pi
    ratio = math.sqrt(1.0833333 / 0.3633333)
    minor = math.sqrt(20 / math.pi / ratio)
    assert r["Major"] == pytest.approx(minor * ratio, rel=1e-6) and r["Minor"] == pytest.approx(minor, rel=1e-6)
    assert r["Angle"] == pytest.approx(135)  # the long axis runs from top left to bottom right on screen
    assert r["AR"] == pytest.approx(ratio, rel=1e-6)
    assert r["Round"] == pytest.approx(4 * 5 / (math.pi * (minor * ratio) ** 2), rel=1e-6)
    assert r["Circ."] == pytest.approx(4 * math.pi * 5 / (12 - 4 * CORNER) ** 2)
    # convex hull (1,1) (2,1) (4,3) (4,4) (1,4): area 7
    assert r["Solidity"] == pytest.approx(5 / 7)
    assert r["Feret"] == pytest.approx(math.sqrt(18)) and r["FeretAngle"] == pytest.approx(135)
    assert r["MinFeret"] == pytest.approx(2 * math.sqrt(2))  # across the hull's diagonal side


def test_diagonal_line():
    mask = np.pad(np.eye(3, dtype=bool), 1)  # (1,1) (2,2) (3,3)
    r = _row(_measure(mask))
    # 12 unit sides and 12 vertices (the touching corners are passed twice): 12 - 6 (2 - sqrt 2) = 6 sqrt 2
    assert r["Perim."] == pytest.approx(6 * math.sqrt(2))
    assert (r["Area"], r["X"], r["Y"], r["Width"], r["Height"]) == pytest.approx((3, 2.5, 2.5, 3, 3))
    # covariance eigenvalues 0.75 +- 2/3: ratio sqrt(17) (to 1e-6: ImageJ adds 0.08333333, not 1/12)
    minor = math.sqrt(12 / math.pi / math.sqrt(17))
    assert r["Minor"] == pytest.approx(minor, rel=1e-5) and r["AR"] == pytest.approx(math.sqrt(17), rel=1e-5)
    assert r["Angle"] == pytest.approx(135, abs=1e-4)
    assert r["Solidity"] == pytest.approx(3 / 5)  # hull (1,1) (2,1) (4,3) (4,4) (3,4) (1,2)
    assert r["MinFeret"] == pytest.approx(math.sqrt(2))


def test_dominoes_show_imagej_start_point_dependence():
    # getTracedPerimeter counts corners from xp[0]; for a horizontal domino xp[0] follows a unit side
    horizontal = np.zeros((4, 5), bool)
    horizontal[1, 1:3] = True
    vertical = horizontal.T.copy()
    assert _row(_measure(horizontal))["Perim."] == pytest.approx(6 - 3 * CORNER)
    assert _row(_measure(vertical))["Perim."] == pytest.approx(6 - 2 * CORNER)
    h, v = _row(_measure(horizontal)), _row(_measure(vertical))
    assert (h["Major"], h["Minor"], h["Angle"]) == pytest.approx((4 / SQRT_PI, 2 / SQRT_PI, 0))
    assert (v["Major"], v["Minor"], v["Angle"]) == pytest.approx((4 / SQRT_PI, 2 / SQRT_PI, 90))


def test_ring_with_a_hole_and_a_particle_inside():
    mask = np.zeros((7, 7), bool)
    mask[1:6, 1:6] = True
    mask[2:5, 2:5] = False
    mask[3, 3] = True  # a particle inside the hole
    image = np.arange(49, dtype=float).reshape(7, 7)
    without = _measure(mask, image)
    assert len(without.table) == 2  # the ring, then the inner pixel, as ImageJ scans
    ring = _row(without)
    assert ring["Area"] == 16 and ring["Perim."] == pytest.approx(20 - 4 * CORNER)  # outer outline only
    assert ring["Solidity"] == pytest.approx(16 / 25)
    assert ring["Mean"] == pytest.approx((image[1:6, 1:6].sum() - image[2:5, 2:5].sum()) / 16)
    assert _row(without, 1)["Area"] == 1
    with_holes = _measure(mask, image, include_holes=True)
    assert len(with_holes.table) == 1  # the hole and the particle in it belong to the ring
    filled = _row(with_holes)
    assert filled["Area"] == 25 and filled["Solidity"] == pytest.approx(1)
    assert filled["Mean"] == pytest.approx(image[1:6, 1:6].mean())
    assert filled["Perim."] == pytest.approx(ring["Perim."])
    assert (with_holes.count_mask[1:6, 1:6] == 1).all()


def test_edges_sizes_and_circularity_filters():
    mask = np.zeros((8, 8), bool)
    mask[0:2, 0:2] = True            # touches the corner
    mask[4:7, 3:6] = True            # 3 x 3 inside
    mask[2, 6] = True                # single pixel
    result = _measure(mask)
    assert len(result.table) == 3 and result.table["Perim."][0] == pytest.approx(8 - 4 * CORNER)
    assert len(_measure(mask, exclude_edges=True).table) == 2
    sized = _measure(mask, min_size=2, max_size=4)
    assert sized.table["Area"].tolist() == [4] and sized.count_mask.max() == 1
    calibrated = _measure(mask, min_size=2 * 0.25, pixel_size=0.5)  # 2 pixels of 0.25 units^2
    assert calibrated.table["Area"].tolist() == [1.0, 2.25]
    assert calibrated.table["X"][0] == pytest.approx(0.5) and calibrated.table["Perim."][0] == pytest.approx(
        (8 - 4 * CORNER) * 0.5)
    # a 1 x 5 line: xp[0] follows its right side, corners counted there, after the bottom and after the
    # top: perimeter 12 - 3 (2 - sqrt 2), circularity 4 pi 5 / 10.243^2 = 0.599
    line = np.zeros((3, 7), bool)
    line[1, 1:6] = True
    assert _row(_measure(line))["Circ."] == pytest.approx(4 * math.pi * 5 / (12 - 3 * CORNER) ** 2)
    assert len(_measure(line, min_circularity=0.59).table) == 1
    assert len(_measure(line, min_circularity=0.6).table) == 0
    assert _measure(line, min_circularity=0.6).note.startswith("none of the 1 particles")


def test_ccd_energy_columns():
    image = np.full((5, 5), 100.0)
    image[1, 1:3] = [130.0, 110.0]
    mask = image > 105
    result = analyze_particles(mask, image, ParticleOptions(pedestal=100.0, gain=2.0))
    r = _row(result)
    assert r["energy_adu"] == pytest.approx(40) and r["energy_e"] == pytest.approx(20)
    assert r["energy_kev"] == pytest.approx(20 * 3.75 / 1000)
    # weights 30 and 10 at x = 0 and 1: mean 0.25, variance 0.25 - 0.0625
    assert r["sigma_x"] == pytest.approx(math.sqrt(0.1875)) and r["sigma_y"] == 0


def test_empty_and_bad_input():
    result = analyze_particles(np.zeros((4, 4), bool))
    assert len(result.table) == 0 and "no particles" in result.note and "Area" in result.table
    assert math.isnan(result.summary.mean)
    with pytest.raises(CcdstudioError):
        analyze_particles(np.zeros((4, 4), bool), np.zeros((3, 3)))
    with pytest.raises(CcdstudioError):
        analyze_particles(np.zeros(4, bool))
    with pytest.raises(CcdstudioError):
        analyze_particles(np.ones((2, 2), bool), options=ParticleOptions(min_circularity=0.8, max_circularity=0.2))


def test_outputs_and_summary():
    mask = np.zeros((6, 6), bool)
    mask[1:3, 1:3] = True
    mask[4, 4] = True
    result = analyze_particles(mask)
    assert result.summary.count == 2 and result.summary.total_area == 5
    assert result.summary.percent_area == pytest.approx(500 / 36) and result.summary.mean == 255
    assert (result.masks == mask).all()
    assert result.outlines.sum() == 5  # every pixel of these small particles is on their outline
    assert result.table.to_csv_text().splitlines()[0].startswith(" ,Area,Mean,StdDev,Min,Max,X,Y,XM,YM,Perim.")


@pytest.mark.parametrize("include_holes, four", [(False, False), (True, False), (False, True)])
def test_matches_imagej_analyzer_loop_on_random_masks(rng, include_holes, four):
    for _ in range(12):
        height, width = rng.integers(4, 18, 2)
        mask = rng.random((height, width)) < rng.uniform(0.25, 0.65)
        expected = imagej_analyze(mask, include_holes, four)
        table = analyze_particles(mask, options=ParticleOptions(include_holes=include_holes,
                                                               connectivity=4 if four else 8)).table
        assert len(table) == len(expected)
        for i, particle in enumerate(expected):
            got = (table["Area"][i], table["BX"][i], table["BY"][i], table["Width"][i], table["Height"][i])
            assert got == (particle["area"], particle["bx"], particle["by"], particle["width"],
                           particle["height"])
            assert table["Perim."][i] == pytest.approx(particle["perimeter"], abs=1e-9)
            assert (table["X"][i], table["Y"][i]) == pytest.approx((particle["x"], particle["y"]))
