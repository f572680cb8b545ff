"""Undoable edits: bounding-box diffs, groups (one undo step per stroke), bounded history, saved state."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.edits import (
    Edit,
    EditGroup,
    History,
    RegionEdit,
    compact,
    merge_edits,
)


def _set(labels, y0, x0, block, label="edit"):
    """The edit writing ``block`` at (y0, x0), as a paint tool would return it (cropped to the change)."""
    h, w = block.shape
    return Edit.between(y0, x0, labels[y0:y0 + h, x0:x0 + w].copy(), block, label)


def test_between_crops_to_changed_pixels():
    old = np.zeros((6, 8), np.uint8)
    new = old.copy()
    new[2, 3], new[4, 5] = 1, 2
    edit = Edit.between(10, 20, old, new)
    assert edit.box == (12, 23, 15, 26)
    np.testing.assert_array_equal(edit.new, [[1, 0, 0], [0, 0, 0], [0, 0, 2]])
    assert Edit.between(0, 0, old, old.copy()) is None


def test_edit_rejects_mismatched_arrays():
    with pytest.raises(CcdstudioError):
        Edit(0, 0, np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))


def test_apply_revert_touch_only_the_box(rng):
    labels = rng.integers(0, 4, (20, 30)).astype(np.uint8)
    original = labels.copy()
    edit = _set(labels, 5, 7, np.full((3, 4), 9, np.uint8))
    edit.apply(labels)
    expected = original.copy()
    expected[5:8, 7:11] = 9
    np.testing.assert_array_equal(labels, expected)
    edit.revert(labels)
    np.testing.assert_array_equal(labels, original)


def test_undo_redo_sequence(rng):
    labels = np.zeros((10, 10), np.uint8)
    history = History()
    states = [labels.copy()]
    for i in range(1, 4):
        history.do(_set(labels, i, i, np.full((2, 2), i, np.uint8)), labels)
        states.append(labels.copy())
    assert len(history) == 3 and history.undo_label == "edit"
    for expected in reversed(states[:-1]):
        assert history.undo(labels) is not None
        np.testing.assert_array_equal(labels, expected)
    assert history.undo(labels) is None and not history.can_undo
    history.redo(labels)
    np.testing.assert_array_equal(labels, states[1])
    history.do(_set(labels, 8, 8, np.ones((2, 2), np.uint8)), labels)
    assert not history.can_redo  # a new edit forgets the redo branch


def test_stroke_is_one_undo_step_with_overlapping_segments():
    labels = np.zeros((12, 12), np.uint8)
    labels[5, 5] = 2
    before = labels.copy()
    history = History()
    history.begin("brush")
    for x in range(3, 8):  # overlapping 3x3 dabs
        edit = _set(labels, 4, x - 1, np.ones((3, 3), np.uint8), "brush")
        edit.apply(labels)
        history.push(edit)
    assert history.grouping and history.dirty
    after = labels.copy()
    step = history.end(labels)
    assert len(history) == 1 and history.undo_label == "brush" and not history.grouping
    assert isinstance(step, Edit)  # compacted: one union box is smaller than five overlapping boxes
    history.undo(labels)
    np.testing.assert_array_equal(labels, before)
    history.redo(labels)
    np.testing.assert_array_equal(labels, after)


def test_merge_and_compact_equal_sequential_application(rng):
    labels = rng.integers(0, 3, (30, 30)).astype(np.uint8)
    before = labels.copy()
    edits = []
    for y, x in [(2, 2), (3, 4), (20, 25)]:
        edit = _set(labels, y, x, rng.integers(0, 3, (4, 4)).astype(np.uint8))
        edit.apply(labels)
        edits.append(edit)
    merged = merge_edits(edits, labels)
    assert merged.box == (2, 2, 24, 29)
    np.testing.assert_array_equal(merged.old, before[2:24, 2:29])
    group = EditGroup(tuple(edits), "stroke")
    assert compact(group, labels) is group  # two far apart dabs: the union box would cost more
    after = labels.copy()
    group.revert(labels)
    np.testing.assert_array_equal(labels, before)
    group.apply(labels)
    np.testing.assert_array_equal(labels, after)


def test_history_bounded_by_count_and_bytes():
    labels = np.zeros((100, 100), np.uint8)
    history = History(max_steps=3)
    for i in range(5):
        history.do(_set(labels, 0, i, np.full((1, 1), 1, np.uint8)), labels)
    assert len(history) == 3
    big = History(max_bytes=1000)
    for i in range(4):
        big.do(_set(labels, 0, 0, np.full((10, 20), i + 2, np.uint8)), labels)  # 400 bytes each
    assert len(big) == 2 and big.nbytes <= 1000
    huge = _set(labels, 0, 0, np.full((50, 50), 9, np.uint8))
    big.do(huge, labels)
    assert len(big) == 1 and big.nbytes == huge.nbytes  # the newest step is kept whatever its size


def test_dirty_follows_saved_state():
    labels = np.zeros((5, 5), np.uint8)
    history = History(max_steps=2)
    assert not history.dirty
    history.do(_set(labels, 0, 0, np.ones((1, 1), np.uint8)), labels)
    assert history.dirty
    history.mark_saved()
    assert not history.dirty
    history.do(_set(labels, 1, 1, np.ones((1, 1), np.uint8)), labels)
    assert history.dirty
    history.undo(labels)
    assert not history.dirty  # back at the saved labels
    history.undo(labels)
    assert history.dirty
    history.redo(labels)
    assert not history.dirty
    for i in range(3):  # the saved step falls off the bounded stack
        history.do(_set(labels, 2, i, np.full((1, 1), 3, np.uint8)), labels)
    while history.undo(labels):
        assert history.dirty
    assert history.dirty


def test_group_errors_and_empty_group():
    history = History()
    with pytest.raises(CcdstudioError):
        history.end()
    history.begin("brush")
    with pytest.raises(CcdstudioError):
        history.begin("brush")
    assert history.end() is None and len(history) == 0
    history.push(None)
    assert history.do(None, np.zeros((2, 2), np.uint8)) is None and len(history) == 0


def test_undo_closes_an_open_stroke():
    labels = np.zeros((4, 4), np.uint8)
    history = History()
    history.begin("brush")
    edit = _set(labels, 0, 0, np.ones((2, 2), np.uint8))
    edit.apply(labels)
    history.push(edit)
    history.undo(labels)
    assert not labels.any() and history.can_redo and not history.grouping


def test_region_edit_stores_a_bitmap_and_one_old_class():
    labels = np.zeros((6, 9), np.uint8)
    labels[1:4, 2:7] = 5
    region = labels[1:4, 2:7] == 5
    region[1, 3] = False
    edit = RegionEdit.of(labels, 1, 2, region, 2, "fill")
    assert edit.old.ndim == 0 and int(edit.old) == 5 and edit.bits.nbytes == 2 and edit.box == (1, 2, 4, 7)
    before = labels.copy()
    edit.apply(labels)
    expected = before.copy()
    expected[1:4, 2:7][region] = 2
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(edit.count_change(), np.bincount(expected.ravel(), minlength=256)
                                  - np.bincount(before.ravel(), minlength=256))
    edit.revert(labels)
    np.testing.assert_array_equal(labels, before)


def test_region_edit_keeps_mixed_old_values():
    labels = np.array([[0, 1, 2], [3, 0, 4]], np.uint8)
    region = np.array([[True, True, False], [True, False, True]])
    edit = RegionEdit.of(labels, 0, 0, region, 7)
    np.testing.assert_array_equal(edit.old, [0, 1, 3, 4])
    before = labels.copy()
    edit.apply(labels)
    np.testing.assert_array_equal(labels, [[7, 7, 2], [7, 0, 7]])
    assert edit.count_change()[7] == 4 and edit.count_change()[[0, 1, 3, 4]].tolist() == [-1, -1, -1, -1]
    edit.revert(labels)
    np.testing.assert_array_equal(labels, before)


def test_pixel_counts_count_exactly_across_chunks(monkeypatch, rng):
    from ccdstudio.labels import stats

    values = rng.integers(0, 256, (37, 41), dtype=np.uint8)
    monkeypatch.setattr(stats, "_EXACT_COUNT", 100)  # many chunks, the last one partial
    np.testing.assert_array_equal(stats.pixel_counts(values, 256), np.bincount(values.ravel(), minlength=256))
    np.testing.assert_array_equal(stats.pixel_counts(values[:, ::3], 256),
                                  np.bincount(values[:, ::3].ravel(), minlength=256))
    monkeypatch.setattr(stats, "_EXACT_COUNT", 30)  # rows longer than a chunk, and a flat array
    np.testing.assert_array_equal(stats.pixel_counts(values, 256), np.bincount(values.ravel(), minlength=256))
    np.testing.assert_array_equal(stats.pixel_counts(values.ravel(), 256),
                                  np.bincount(values.ravel(), minlength=256))
