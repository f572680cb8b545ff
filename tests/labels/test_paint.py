"""Painting tools on small maps, each checked against a mask written out by hand."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.paint import (
    erase_segment,
    fill,
    fill_similar,
    pick,
    polygon,
    rectangle,
    stroke_segment,
)


def _apply(labels, edit):
    out = labels.copy()
    if edit is not None:
        edit.apply(out)
    return out


def _grid(text):
    return np.array([[int(c) for c in row.split()] for row in text.strip().splitlines()], np.uint8)


def test_round_dab_of_size_5_is_a_21_pixel_disc():
    out = _apply(np.zeros((7, 7), np.uint8), stroke_segment(np.zeros((7, 7), np.uint8), (3, 3), (3, 3), 2, size=5))
    expected = _grid("""
        0 0 0 0 0 0 0
        0 0 2 2 2 0 0
        0 2 2 2 2 2 0
        0 2 2 2 2 2 0
        0 2 2 2 2 2 0
        0 0 2 2 2 0 0
        0 0 0 0 0 0 0""")
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_square_dab_covers_size_by_size(size):
    labels = np.zeros((9, 9), np.uint8)
    out = _apply(labels, stroke_segment(labels, (4, 4), (4, 4), 1, size=size, shape="square"))
    rows, cols = np.nonzero(out)
    assert out.sum() == size * size
    assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size


def test_horizontal_segment_of_width_3():
    labels = np.zeros((5, 9), np.uint8)
    out = _apply(labels, stroke_segment(labels, (2, 1), (2, 6), 1, size=3, shape="square"))
    expected = np.zeros((5, 9), np.uint8)
    expected[1:4, 0:8] = 1
    np.testing.assert_array_equal(out, expected)


def test_thin_diagonal_line_is_8_connected():
    labels = np.zeros((5, 5), np.uint8)
    out = _apply(labels, stroke_segment(labels, (0, 0), (4, 4), 1, size=1))
    np.testing.assert_array_equal(out, np.eye(5, dtype=np.uint8))


def test_segment_is_clipped_at_the_border():
    labels = np.zeros((4, 4), np.uint8)
    edit = stroke_segment(labels, (-3, -3), (0, 0), 1, size=3, shape="square")
    assert edit.box == (0, 0, 2, 2)
    assert stroke_segment(labels, (-10, -10), (-9, -9), 1, size=3) is None


def test_modes_background_and_preserve():
    labels = _grid("""
        0 2 3
        1 0 2
        3 1 0""")
    all_ = _apply(labels, rectangle(labels, (0, 0), (2, 2), 2))
    np.testing.assert_array_equal(all_, np.full((3, 3), 2))
    background = _apply(labels, rectangle(labels, (0, 0), (2, 2), 2, mode="background"))
    np.testing.assert_array_equal(background, _grid("2 2 3\n1 2 2\n3 1 2"))
    # preserve with class 3 selected: background and class 3 become 2, classes 1 and 2 stay.
    preserve = _apply(labels, rectangle(labels, (2, 2), (0, 0), 2, mode="preserve", selected=3))
    np.testing.assert_array_equal(preserve, _grid("2 2 2\n1 2 2\n2 1 2"))
    with pytest.raises(CcdstudioError, match="mode"):
        rectangle(labels, (0, 0), (1, 1), 1, mode="over")


def test_eraser_all_and_only_selected_class():
    labels = _grid("""
        1 2 1 2
        1 2 1 2""")
    # A 1-pixel square swept from (0, 0) to (1, 2) crosses (0, 1) for t in (0.25, 0.5), (1, 1) in (0.5, 0.75).
    np.testing.assert_array_equal(_apply(labels, erase_segment(labels, (0, 0), (1, 2), size=1, shape="square")),
                                  _grid("0 0 1 2\n1 0 0 2"))
    np.testing.assert_array_equal(_apply(labels, erase_segment(labels, (0, 0), (1, 3), size=3, only_class=2)),
                                  _grid("1 0 1 0\n1 0 1 0"))


def test_unchanged_pixels_give_no_edit():
    labels = np.ones((4, 4), np.uint8)
    assert stroke_segment(labels, (1, 1), (2, 2), 1, size=3) is None
    assert rectangle(labels, (0, 0), (3, 3), 2, mode="background") is None


def test_fill_4_and_8_connected():
    labels = _grid("""
        0 0 1 0
        0 1 0 0
        1 0 0 0
        0 0 0 0""")
    np.testing.assert_array_equal(_apply(labels, fill(labels, (0, 0), 2, connectivity=4)),
                                  _grid("2 2 1 0\n2 1 0 0\n1 0 0 0\n0 0 0 0"))
    np.testing.assert_array_equal(_apply(labels, fill(labels, (0, 2), 3, connectivity=8)),
                                  _grid("0 0 3 0\n0 3 0 0\n3 0 0 0\n0 0 0 0"))
    np.testing.assert_array_equal(_apply(labels, fill(labels, (0, 0), 2, connectivity=8)),
                                  _grid("2 2 1 2\n2 1 2 2\n1 2 2 2\n2 2 2 2"))
    assert fill(labels, (0, 0), 2, mode="preserve", selected=0).box == (0, 0, 2, 2)
    assert fill(labels, (0, 2), 2, mode="background") is None  # seed on class 1: nothing to paint
    with pytest.raises(CcdstudioError, match="connectivity"):
        fill(labels, (0, 0), 2, connectivity=6)
    with pytest.raises(CcdstudioError, match="outside"):
        fill(labels, (4, 0), 2)


def test_fill_similar_uses_image_tolerance():
    image = np.array([
        [10.0, 11.0, 30.0],
        [12.0, 29.0, 31.0],
        [50.0, 13.0, 32.0]])
    labels = np.zeros((3, 3), np.uint8)
    out = _apply(labels, fill_similar(labels, image, (0, 0), 1, tolerance=2.5))
    np.testing.assert_array_equal(out, _grid("1 1 0\n1 0 0\n0 0 0"))  # 13 is in range but not connected
    out = _apply(labels, fill_similar(labels, image, (1, 1), 3, tolerance=3, connectivity=8))
    np.testing.assert_array_equal(out, _grid("0 0 3\n0 3 3\n0 0 3"))
    image[0, 0] = np.nan
    with pytest.raises(CcdstudioError, match="NaN"):
        fill_similar(labels, image, (0, 0), 1, tolerance=1)


def test_polygon_and_lasso():
    labels = np.zeros((6, 6), np.uint8)
    triangle = polygon(labels, [(0, 0), (0, 4), (4, 0)], 1)
    expected = _grid("""
        1 1 1 1 1 0
        1 1 1 1 0 0
        1 1 1 0 0 0
        1 1 0 0 0 0
        1 0 0 0 0 0
        0 0 0 0 0 0""")
    np.testing.assert_array_equal(_apply(labels, triangle), expected)
    square = polygon(labels, [(1, 1), (1, 3), (3, 3), (3, 1)], 2, label="lasso")
    assert square.label == "lasso" and _apply(labels, square).sum() == 2 * 9
    with pytest.raises(CcdstudioError, match="3 points"):
        polygon(labels, [(0, 0), (1, 1)], 1)


def test_polygon_includes_its_outline_on_every_side():
    labels = np.zeros((7, 8), np.uint8)
    # A concave arrow whose notch vertex (3, 3) and slanted edges lie on pixel centres: every centre on the
    # outline is painted, top and bottom, left and right alike.
    arrow = polygon(labels, [(1, 1), (1, 5), (5, 5), (5, 1), (3, 3)], 1)
    np.testing.assert_array_equal(_apply(labels, arrow), _grid("""
        0 0 0 0 0 0 0 0
        0 1 1 1 1 1 0 0
        0 0 1 1 1 1 0 0
        0 0 0 1 1 1 0 0
        0 0 1 1 1 1 0 0
        0 1 1 1 1 1 0 0
        0 0 0 0 0 0 0 0"""))
    # A polygon that doubles back on itself (zero area) is its outline: skimage.draw.polygon paints only
    # (4, 7) of this one.
    spike = polygon(labels, [(0, 7), (6, 7), (4, 7)], 2)
    assert spike.box == (0, 7, 7, 8) and (_apply(labels, spike)[:, 7] == 2).all()
    # Half-pixel vertices (pixel corners): the centres strictly inside, 4 rows x 3 columns.
    corners = polygon(labels, [(0.5, 0.5), (0.5, 3.5), (4.5, 3.5), (4.5, 0.5)], 3)
    assert corners.box == (1, 1, 5, 4) and (corners.new == 3).all()


def _inside_or_on(vertices, shape):
    """The reference rule by brute force in exact arithmetic: centre on an edge, or an odd crossing count."""
    from fractions import Fraction

    out = np.zeros(shape, bool)
    for r in range(shape[0]):
        for c in range(shape[1]):
            on, inside = False, False
            for (ya, xa), (yb, xb) in zip(vertices, vertices[1:] + vertices[:1]):
                if ((yb - ya) * (c - xa) == (xb - xa) * (r - ya) and min(ya, yb) <= r <= max(ya, yb)
                        and min(xa, xb) <= c <= max(xa, xb)):
                    on = True
                if (ya <= r) != (yb <= r) and Fraction(xa) + Fraction(r - ya) * Fraction(xb - xa, yb - ya) > c:
                    inside = not inside
            out[r, c] = on or inside
    return out


def test_polygon_matches_the_reference_rule_on_random_polygons(rng):
    for _ in range(60):
        vertices = [tuple(int(v) for v in rng.integers(0, 9, 2)) for _ in range(int(rng.integers(3, 8)))]
        labels = np.zeros((10, 10), np.uint8)
        painted = _apply(labels, polygon(labels, vertices, 1)) == 1
        np.testing.assert_array_equal(painted, _inside_or_on(vertices, (10, 10)), err_msg=str(vertices))


def test_rectangle_includes_both_corners_and_picker():
    labels = np.zeros((5, 5), np.uint8)
    out = _apply(labels, rectangle(labels, (3, 1), (1, 3), 4))
    expected = np.zeros((5, 5), np.uint8)
    expected[1:4, 1:4] = 4
    np.testing.assert_array_equal(out, expected)
    assert pick(out, (2, 2)) == 4 and pick(out, (0, 0)) == 0


def test_edit_on_a_large_map_holds_only_its_rectangle():
    labels = np.zeros((4000, 3000), np.uint8)
    edit = stroke_segment(labels, (1000, 1000), (1010, 1040), 3, size=9)
    assert edit.old.size < 60 * 60 and edit.box == (996, 996, 1015, 1045)
