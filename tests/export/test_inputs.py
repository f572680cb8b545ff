"""What exports read: layer ranges, a segment's labels and mask, lazy planes."""

import numpy as np
import pytest
from PIL import Image

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.inputs import PlaneArray, layer_planes, source_labels, source_mask
from ccdstudio.io import ArraySource, open_image

from .conftest import coded_layer, ink_labels


def test_segment_layers_exclude_the_ir_image(segment):
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(segment / "ir.png")
    with open_image(segment) as source:
        assert source.planes[-1].name == "ir"
        assert layer_planes(source) == list(range(8))
        assert layer_planes(source, (2, 4)) == [2, 3, 4]
        assert layer_planes(source, (7, 7)) == [7]
        with pytest.raises(CcdstudioError, match=r"layers 0-8 are outside seg0001, which has 8 layers \(0-7\)"):
            layer_planes(source, (0, 8))


def test_image_planes_of_other_sources():
    source = ArraySource([np.zeros((4, 4))] * 3, roles=["image", "mask", "image"])
    assert layer_planes(source) == [0, 2]
    assert layer_planes(source, (1, 1)) == [2]
    with pytest.raises(CcdstudioError, match="no image plane"):
        layer_planes(ArraySource([np.zeros((4, 4))], roles=["labels"]))


def test_segment_labels_become_class_indices(segment):
    with open_image(segment) as source:
        labels, classes = source_labels(source)
        np.testing.assert_array_equal(labels, ink_labels())  # 0/255 on disk, 0/1 here
        assert classes.names == ["background", "ink"]
        mask = source_mask(source)
        assert mask.shape == (60, 80) and mask[0, 0] == 0 and mask[30, 40] != 0


def test_plane_array_reads_windows_and_points():
    source = ArraySource([coded_layer(0), coded_layer(1)])
    plane = PlaneArray(source, 1)
    assert plane.shape == (60, 80) and plane.dtype == np.uint16
    np.testing.assert_array_equal(plane[5:7, 10:13], coded_layer(1)[5:7, 10:13])
    assert plane[5, 10] == coded_layer(1)[5, 10] and plane[-1, -1] == coded_layer(1)[-1, -1]
    np.testing.assert_array_equal(plane[::7, ::9], coded_layer(1)[::7, ::9])
    np.testing.assert_array_equal(plane[3], coded_layer(1)[3])
