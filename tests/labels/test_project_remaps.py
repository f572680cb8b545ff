"""A project's recorded remaps (its class history) applied to label files saved before them: when the
project reads them, when any loader reads them (export, training), and with undo taking a remap back."""

import json

import numpy as np
import pytest
import tifffile

from ccdstudio.cli import main
from ccdstudio.errors import CcdstudioError
from ccdstudio.io.write import write_fits
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels, save_labels
from ccdstudio.labels.project import Project
from ccdstudio.labels.remap import Remap

SIX = ClassSet.from_names(["background", "glowing", "hot_pixel", "cluster", "muon", "electron"])


def _labels():
    labels = np.zeros((20, 30), np.uint8)
    labels[0:2, 0:3] = 4  # muon
    labels[5:7, 5:9] = 5  # electron
    labels[10, 10] = 3  # cluster
    labels[15:17, 20:22] = 2  # hot pixel
    return labels


@pytest.fixture
def merged(tmp_path):
    """A project whose image ``a`` was saved in SIX, then muon and electron were merged into cluster."""
    project = Project.create(tmp_path / "p", SIX)
    key = project.add_image(tmp_path / "a.fits")
    project.save_labels(key, _labels())
    project.add_remap(Remap.merge(SIX, {"muon": "cluster", "electron": "cluster"}))
    project.save()
    return project


def test_labels_saved_before_a_merge_are_read_in_the_current_classes(merged):
    expected = _labels()
    expected[expected >= 4] = 3  # fixed by hand: muon and electron pixels are clusters now
    assert merged.classes == ClassSet.preset("ccd")
    np.testing.assert_array_equal(merged.load_labels("a"), expected)
    reopened = Project.open(merged.folder)
    np.testing.assert_array_equal(reopened.load_labels("a"), expected)
    # Every other reader (the CLI, export, training) goes through load_labels, which applies the remaps...
    labels, classes = load_labels(merged.labels_path("a"))
    np.testing.assert_array_equal(labels, expected)
    assert classes == ClassSet.preset("ccd") and labels.flags.writeable
    # ...while the file itself is unchanged and still says what it holds.
    saved, saved_classes = load_labels(merged.labels_path("a"), as_saved=True)
    np.testing.assert_array_equal(saved, _labels())
    assert saved_classes == SIX


def test_labels_saved_after_the_merge_are_not_remapped_again(merged):
    now = np.zeros((20, 30), np.uint8)
    now[3, 3] = 3
    merged.save_labels("a", now)
    assert merged.images["a"].classes_version == 1
    np.testing.assert_array_equal(merged.load_labels("a"), now)
    np.testing.assert_array_equal(load_labels(merged.labels_path("a"))[0], now)


def test_undo_takes_the_last_remap_back(merged):
    remap = merged.remaps[-1]
    reorder = Remap(merged.classes, ClassSet([merged.classes[i] for i in (0, 2, 1, 3)]), (0, 2, 1, 3))
    merged.add_remap(reorder)
    assert not merged.undo_remap(remap)  # not the last: nothing changes
    assert merged.remaps[-1] == reorder
    assert merged.undo_remap(reorder) and merged.undo_remap(remap)
    assert merged.remaps == [] and merged.classes == SIX
    np.testing.assert_array_equal(merged.load_labels("a"), _labels())
    with pytest.raises(CcdstudioError, match="follow"):
        merged.add_remap(reorder)


def test_a_file_saved_after_an_undone_remap_is_read_by_its_classes(merged):
    merged.save_labels("a", np.full((20, 30), 3, np.uint8))  # saved in the merged classes (version 1)
    merged.undo_remap(merged.remaps[-1])
    assert merged.images["a"].classes_version is None
    _, classes = merged.read_labels("a")
    assert classes == ClassSet.preset("ccd")  # no longer in the history: as saved
    np.testing.assert_array_equal(merged.load_labels("a"), np.full((20, 30), 3))  # "cluster" is index 3 in SIX too


def test_the_class_version_tells_apart_one_class_set_at_two_points_of_the_history(tmp_path):
    start = ClassSet.from_names(["background", "a", "b"])
    project = Project.create(tmp_path / "p", start)
    old, new = project.add_image(tmp_path / "old.tif"), project.add_image(tmp_path / "new.tif")
    labels = np.array([[0, 1, 2]], np.uint8)
    project.save_labels(old, labels)
    project.add_remap(Remap.merge(start, {"a": "b"}))  # background, b
    project.set_classes(project.classes.added("a", start[1].color))  # background, b, a
    project.add_remap(Remap(project.classes, start, (0, 2, 1)))  # background, a, b: the start again
    assert project.classes == start and len(project.remaps) == 3
    project.save_labels(new, labels)
    project.save()
    project = Project.open(tmp_path / "p")
    np.testing.assert_array_equal(project.load_labels(old), [[0, 2, 2]])  # its a was merged into b
    np.testing.assert_array_equal(project.load_labels(new), [[0, 1, 2]])  # its a is the new a


def test_rename_and_add_are_history_too(tmp_path):
    project = Project.create(tmp_path / "p", SIX)
    key = project.add_image(tmp_path / "a.tif")
    project.save_labels(key, _labels())
    renamed = SIX.renamed("muon", "mu").added("pion")
    project.add_remap(Remap(SIX, renamed, tuple(range(6))))
    project.save()  # other readers go by the manifest on disk
    labels, classes = load_labels(project.labels_path(key))
    np.testing.assert_array_equal(labels, _labels())
    assert classes == renamed
    with pytest.raises(CcdstudioError, match="mu"):
        project.set_classes(ClassSet.preset("ccd"))  # drops names: not a remap by name


def test_cli_export_and_training_data_use_the_current_classes(merged, tmp_path):
    image = np.random.default_rng(0).normal(100, 3, (20, 30)).astype(np.float32)
    write_fits(tmp_path / "a.fits", image)
    out = tmp_path / "tiles"
    assert main(["export", "tiles", str(tmp_path / "a.fits"), "--labels", str(merged.labels_path("a")),
                 "--size", "10", "--out", str(out), "--quiet"]) == 0
    tiles = sorted((out / "labels").glob("*"))
    first, classes = load_labels(tiles[0])
    assert classes == ClassSet.preset("ccd")
    expected = np.zeros((10, 10), np.uint8)
    expected[0:2, 0:3] = expected[5:7, 5:9] = 3  # the muon and electron blocks, as clusters
    np.testing.assert_array_equal(first, expected)

    from ccdstudio.ml.data import DataSpec, load_item
    from ccdstudio.ml.normalize import Normalization

    item, item_classes = load_item(DataSpec(tmp_path / "a.fits", merged.labels_path("a")), 1, Normalization(),
                                   ClassSet.preset("ccd"))
    assert item_classes == ClassSet.preset("ccd")
    assert set(np.unique(item.labels)) == {0, 2, 3} and (item.labels[5:7, 5:9] == 3).all()


def test_a_label_file_beside_a_project_but_not_its_own_is_read_as_saved(merged):
    stray = merged.folder / "labels" / "stray.png"
    save_labels(stray, _labels(), SIX)
    labels, classes = load_labels(stray)
    assert classes == SIX
    np.testing.assert_array_equal(labels, _labels())
    manifest = json.loads(merged.manifest_path.read_text())
    assert manifest["images"][0]["classes_version"] == 0 and len(manifest["remaps"]) == 1


def test_png_labels_load_writable(tmp_path):
    save_labels(tmp_path / "x.png", _labels(), SIX)
    labels, _ = load_labels(tmp_path / "x.png")
    labels[0, 0] = 1  # Pillow's arrays are read-only; the loader's are not
    tifffile.imwrite(tmp_path / "grey.tif", _labels())
    assert load_labels(tmp_path / "grey.tif")[0].flags.writeable


def test_cli_labels_info_reads_the_current_classes_or_as_saved(merged, capsys):
    path = str(merged.labels_path("a"))
    assert main(["labels", "info", path, "--json"]) == 0
    now = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in now["classes"]] == ClassSet.preset("ccd").names
    assert now["classes"][3]["pixels"] == 6 + 8 + 1  # muon, electron and cluster pixels
    assert main(["labels", "info", path, "--json", "--as-saved"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)["classes"]] == SIX.names
