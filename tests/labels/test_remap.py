"""Remapping and merging classes; pixel statistics."""

import json

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.edits import History
from ccdstudio.labels.remap import Remap, parse_mapping
from ccdstudio.labels.stats import class_stats, pixel_counts, stats_dict

SIX = ClassSet.from_names(["background", "glowing", "hot_pixel", "cluster", "muon", "electron"])


def test_fold_muon_and_electron_into_cluster():
    labels = np.array([[0, 1, 2, 3, 4, 5]], np.uint8)
    remap = Remap.merge(SIX, parse_mapping("4:3,5:3"))
    np.testing.assert_array_equal(remap.apply(labels, SIX), [[0, 1, 2, 3, 3, 3]])
    assert remap.target == ClassSet.preset("ccd")
    assert remap.describe() == ["muon -> cluster", "electron -> cluster"]


def test_dropped_classes_close_ranks_and_names_work():
    labels = np.array([[0, 1, 2, 3, 4, 5]], np.uint8)
    remap = Remap.merge(SIX, parse_mapping("glowing:background,hot_pixel:muon"))
    assert remap.target.names == ["background", "cluster", "muon", "electron"]
    np.testing.assert_array_equal(remap.apply(labels), [[0, 0, 2, 1, 2, 3]])
    assert remap.target[2].color == SIX[4].color


def test_new_target_name_and_renaming():
    remap = Remap.merge(SIX, {"muon": "track", "electron": "track"}, names=["bg", "glow", "hot", "clu", "trk"])
    assert remap.target.names == ["bg", "glow", "hot", "clu", "trk"]
    np.testing.assert_array_equal(remap.apply(np.array([[4, 5, 3]], np.uint8)), [[4, 4, 3]])
    with pytest.raises(CcdstudioError, match="names"):
        Remap.merge(SIX, {4: 3}, names=["a", "b"])


def test_remap_round_trips_json_and_chains():
    first = Remap.merge(SIX, {4: 3, 5: 3})
    again = Remap.from_dict(json.loads(json.dumps(first.to_dict())))
    assert again == first
    second = Remap.merge(first.target, {"hot_pixel": "background"})
    both = first.then(second)
    labels = np.arange(6, dtype=np.uint8)[None]
    np.testing.assert_array_equal(both.apply(labels), second.apply(first.apply(labels)))
    with pytest.raises(CcdstudioError):
        second.then(first)


def test_remap_checks_its_source():
    remap = Remap.merge(SIX, {4: 3})
    with pytest.raises(CcdstudioError, match="for classes"):
        remap.apply(np.zeros((2, 2), np.uint8), ClassSet.preset("ink"))
    with pytest.raises(CcdstudioError, match="class 7"):
        remap.apply(np.full((2, 2), 7, np.uint8))
    with pytest.raises(CcdstudioError, match="no class 9"):
        Remap.merge(SIX, {9: 1})
    with pytest.raises(CcdstudioError):
        Remap.merge(SIX, {"photon": 1})


@pytest.mark.parametrize("text", ["", "4", "4:", ":3", "4-3"])
def test_parse_mapping_rejects_bad_text(text):
    with pytest.raises(CcdstudioError):
        parse_mapping(text)


def test_remap_edit_undoes_and_stores_only_changed_bands(rng):
    labels = np.zeros((1500, 40), np.uint8)
    labels[1200:1210, 5:9] = 4
    labels[10, 10] = 5
    before = labels.copy()
    remap = Remap.merge(SIX, {4: 3, 5: 3})
    history = History()
    step = history.do(remap.edit(labels), labels)
    np.testing.assert_array_equal(labels, remap.apply(before))
    assert step.nbytes == 2 * (1 + 10 * 4)  # two bands changed, each cropped to its change
    history.undo(labels)
    np.testing.assert_array_equal(labels, before)
    assert remap.edit(np.zeros((3, 3), np.uint8)) is None


def test_pixel_counts_and_fractions():
    labels = np.array([[0, 0, 1], [3, 3, 3]], np.uint8)
    np.testing.assert_array_equal(pixel_counts(labels), [2, 1, 0, 3])
    assert pixel_counts(labels, minlength=6).tolist() == [2, 1, 0, 3, 0, 0]
    stats = class_stats(labels, ClassSet.preset("ccd"))
    assert [(s.name, s.pixels) for s in stats] == [("background", 2), ("glowing", 1), ("hot_pixel", 0), ("cluster", 3)]
    assert stats[3].fraction == pytest.approx(0.5)
    assert stats_dict(labels, ClassSet.preset("ink"))["(unnamed 3)"]["pixels"] == 3


def test_pixel_counts_over_many_bands(rng):
    labels = rng.integers(0, 7, (2500, 13)).astype(np.uint8)
    np.testing.assert_array_equal(pixel_counts(labels), np.bincount(labels.ravel()))
