"""Binary morphology, size and shape rules, and the prediction clean-up recipe, on hand-drawn masks."""

import numpy as np
import pytest
from scipy import ndimage

from ccdstudio.errors import CcdstudioError
from ccdstudio.imaging.morphology import (
    CleanParams,
    classify_defects,
    clean_prediction,
    closing,
    dilate,
    erode,
    fill_holes,
    filter_size,
    invert,
    line_objects,
    opening,
    remove_large,
    remove_small,
    structuring_element,
)


def _dot(shape=(7, 7), at=(3, 3)):
    mask = np.zeros(shape, bool)
    mask[at] = True
    return mask


def test_structuring_elements():
    assert structuring_element(1, "disk").sum() == 5  # radius 1: the 4-neighbourhood
    assert structuring_element(1, "square").sum() == 9
    assert structuring_element(2, "cross").sum() == 13
    assert structuring_element(2, "disk").sum() == 13
    column = structuring_element(2, "column")
    assert column.sum() == 5 and column[:, 2].all() and np.array_equal(structuring_element(2, "row"), column.T)
    with pytest.raises(CcdstudioError):
        structuring_element(1, "star")


def test_dilate_and_erode_match_scipy(rng):
    mask = rng.random((40, 50)) < 0.3
    for shape in ("disk", "square", "cross", "column", "row"):
        kernel = structuring_element(2, shape).astype(bool)
        assert (dilate(mask, 2, shape) == ndimage.binary_dilation(mask, kernel)).all()
        assert (erode(mask, 2, shape) == ndimage.binary_erosion(mask, kernel, border_value=0)).all()
    assert dilate(_dot(), 1).sum() == 5 and dilate(_dot(), 1, "square").sum() == 9
    assert (dilate(_dot(), 0) == _dot()).all()


def test_opening_removes_specks_and_closing_bridges_gaps():
    mask = np.zeros((9, 12), bool)
    mask[2:7, 2:7] = True
    mask[0, 10] = True                  # a speck
    assert (opening(mask, 1, "square") == (mask & ~_dot((9, 12), (0, 10)))).all()
    gap = np.zeros((5, 9), bool)
    gap[2, 1:4] = gap[2, 5:8] = True
    assert closing(gap, 1, "square")[2, 4] and closing(gap, 1, "square").sum() == 7


def test_fill_holes_and_invert():
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False
    assert fill_holes(ring).sum() == 25
    open_ring = ring.copy()
    open_ring[1, 3] = False  # the hole now reaches the outside through a 4-connected path
    open_ring[2, 3] = False
    assert fill_holes(open_ring).sum() == open_ring.sum()
    # a hole touching the outside only diagonally is still a hole of an 8-connected object
    diagonal = np.zeros((5, 5), bool)
    diagonal[1:4, 1:4] = True
    diagonal[2, 2] = False
    diagonal[1, 1] = False
    assert fill_holes(diagonal, 8)[2, 2] and not fill_holes(diagonal, 4)[2, 2]
    assert (invert(ring) == ~ring).all()


def test_size_filters_count_pixels_per_object():
    mask = np.zeros((6, 10), bool)
    mask[1, 1] = True                 # 1 px
    mask[3:5, 3:5] = True             # 4 px
    mask[1, 6:9] = True               # 3 px
    mask[2, 9] = True                 # diagonal: joins the 3 px run with 8-connectivity
    assert filter_size(mask, 2, 4).sum() == 8
    assert filter_size(mask, 2, 3, connectivity=4).sum() == 3
    assert remove_small(mask, 2).sum() == 8 and remove_large(mask, 1).sum() == 1


def test_line_objects_and_defect_classes():
    mask = np.zeros((10, 10), bool)
    mask[0:8, 2] = True        # hot column
    mask[5, 5:9] = True        # hot row
    mask[8, 8] = True          # hot pixel
    mask[1:3, 6:8] = True      # 2 x 2 cluster
    assert line_objects(mask).sum() == 8 + 4 + 1
    assert line_objects(mask, orientation="columns", min_length=2).sum() == 8
    assert line_objects(mask, orientation="rows", min_length=2).sum() == 4
    labels = classify_defects(mask)
    assert labels[0, 2] == 2 and labels[8, 8] == 2 and labels[1, 6] == 3  # ccd preset: hot_pixel 2, cluster 3
    assert classify_defects(mask, max_cluster_size=3)[1, 6] == 0
    assert classify_defects(mask, min_line_length=2)[8, 8] == 3  # too short for a line: a cluster


def test_clean_prediction_recipe():
    prob = np.zeros((12, 12))
    prob[2:5, 2:5] = 0.9
    prob[9, 9] = 0.8              # a lone pixel
    prob[7, 2] = 0.4              # below the threshold
    params = CleanParams(threshold=0.5, dilate=1, min_size=6, invert=False)
    mask = clean_prediction(prob, params)
    expected = remove_small(dilate(prob >= 0.5, 1), 6)
    assert (mask == expected).all() and mask[1, 3] and not mask[9, 9]
    inverted = clean_prediction(prob, CleanParams(threshold=0.5, invert=True))
    assert (inverted == (prob < 0.5)).all()
    with pytest.raises(CcdstudioError):
        clean_prediction(np.zeros(5))
