"""Labelled objects boxed for measuring one at a time, and picked objects back as pixels."""

import numpy as np

from ccdstudio.imaging.objects import boxed_objects, object_mask, object_sizes


def test_objects_are_boxed_by_index_and_absent_ones_left_out():
    objects = np.zeros((6, 8), np.int32)
    objects[1:3, 2] = 1
    objects[4, 5:8] = 3  # no object 2
    assert boxed_objects(objects) == [(1, (slice(1, 3), slice(2, 3))), (3, (slice(4, 5), slice(5, 8)))]
    assert boxed_objects(objects, np.array([3, 2, 7])) == [(3, (slice(4, 5), slice(5, 8)))]
    assert boxed_objects(np.zeros((4, 4), np.int32)) == []


def test_picked_objects_become_their_pixels():
    objects = np.array([[0, 1, 1], [2, 0, 3]], np.int32)
    assert object_mask(objects, np.array([1, 3])).tolist() == [[False, True, True], [False, False, True]]
    assert not object_mask(objects, np.zeros(0, np.int64)).any()


def test_object_sizes_count_each_objects_pixels():
    objects = np.array([[0, 1, 1], [2, 0, 1]], np.int32)
    assert object_sizes(objects, 3).tolist() == [0, 3, 1, 0]
