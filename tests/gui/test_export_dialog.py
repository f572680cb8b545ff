"""The Export dialog end to end (offscreen): crops of a small segment equal to the core export with the same
seed, boxes of a labelled frame with the preview drawn on the view, and input refused before any write."""

import json

import numpy as np
import pytest
from scipy import ndimage

from ccdstudio.export.crops import CropOptions, export_crops
from ccdstudio.io import open_image
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from tests.gui.conftest import wait_opened


@pytest.fixture
def segment(tmp_path):
    from ccdstudio.simulate.segment import simulate_segment

    return run(simulate_segment(tmp_path / "20230101", layers=5, height=96, width=128, seed=1))


@pytest.fixture
def labelled_frame(tmp_path, rng):
    """A FITS frame and a label PNG (ccd classes) with three clusters and one hot pixel."""
    from astropy.io import fits

    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.labels.io import save_labels

    image = rng.normal(1000.0, 5.0, (80, 100)).astype(np.float32)
    labels = np.zeros((80, 100), np.uint8)
    labels[10:14, 20:26] = 3  # cluster 6 x 4
    labels[40:45, 60:63] = 3  # cluster 3 x 5
    labels[70, 5:8] = 3  # cluster 3 x 1
    labels[30, 90] = 2  # hot pixel
    image[labels > 0] += 300.0
    path = tmp_path / "frame.fits"
    fits.PrimaryHDU(image).writeto(path)
    save_labels(tmp_path / "frame.labels.png", labels, ClassSet.preset("ccd"))
    return path, tmp_path / "frame.labels.png", labels


def open_dialog(qtbot, window, path):
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    feature = window.features["export"]
    assert feature.action.isEnabled()
    dialog = feature.open_dialog()
    qtbot.addWidget(dialog)
    return feature, dialog


def choose_tab(dialog, kind):
    dialog.tabs.setCurrentIndex([form.kind for form in dialog.forms].index(kind))
    return dialog.current_form().fields


def test_crop_export_of_a_segment_matches_the_core_export(qtbot, window, segment, tmp_path):
    feature, dialog = open_dialog(qtbot, window, segment)
    first, last = window.features["segment"].layer_range()
    assert dialog.layers.text() == f"{first}-{last}"  # the Segment dock's layers, offered
    assert abs(dialog.frameGeometry().right() - window.frameGeometry().right()) <= 2  # beside the image, not on it
    fields = choose_tab(dialog, "crops")
    fields["size"].setText("32")
    fields["count"].setValue(3)
    fields["min_fraction"].setValue(0.05)
    fields["cls"].setCurrentText("ink")
    fields["flip"].setValue(0.5)
    fields["rot90"].setValue(0.5)
    dialog.labels_from.setCurrentText("the image's own labels")
    dialog.layers.setText("1-2")
    dialog.seed.setValue(7)
    out = tmp_path / "crops"
    dialog.out.setText(str(out))

    rects = dialog.preview()
    assert len(rects) == 3 and all(r[2:] == (32, 32) for r in rects)
    assert feature.marks.count == 3

    assert dialog.export()
    qtbot.waitUntil(lambda: window.worker is None and not dialog.progress.isVisible(), timeout=20000)
    assert "3 crops" in dialog.info.text()
    manifest = json.loads((out / "export.json").read_text())
    drawn = [(p["x"], p["y"], p["width"], p["height"]) for s in manifest["samples"] for p in s["pieces"]]
    assert drawn == rects  # the preview showed the very windows written

    reference = tmp_path / "reference"
    with open_image(segment) as source:
        run(export_crops(source, reference, CropOptions(size=(32, 32), count=3, min_fraction=0.05, cls=1,
                                                        layers=(1, 2), flip=0.5, rot90=0.5, seed=7)))
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(reference) for p in reference.rglob("*") if p.is_file())
    for name in written:
        if name.name != "export.json":
            assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert len(list((out / "sample_0000" / "layers").iterdir())) == 2  # layers 1-2, renumbered from 00


def test_box_export_previews_the_boxes_and_writes_coco(qtbot, window, labelled_frame, tmp_path):
    path, labels_path, labels = labelled_frame
    feature, dialog = open_dialog(qtbot, window, path)
    dialog.labels_from.setCurrentText("a label file")
    dialog.labels_path.setText(str(labels_path))
    fields = choose_tab(dialog, "boxes")
    rects = dialog.preview()  # fills the class list from the label file
    assert len(rects) == 4
    fields["cls"].setCurrentText("cluster")
    fields["min_area"].setValue(4)
    rects = dialog.preview()
    regions, _ = ndimage.label(labels == 3, np.ones((3, 3)))
    expected = [(s[1].start, s[0].start, s[1].stop - s[1].start, s[0].stop - s[0].start)
                for s in ndimage.find_objects(regions)]
    assert rects == expected[:2]  # the 3-pixel cluster is under the minimum area
    path_rect = feature.marks.item.path().boundingRect()
    assert (path_rect.left(), path_rect.top(), path_rect.right(), path_rect.bottom()) == (20, 10, 63, 45)

    dialog.out.setText(str(tmp_path / "boxes"))
    assert dialog.export()
    qtbot.waitUntil(lambda: window.worker is None and not dialog.progress.isVisible(), timeout=20000)
    coco = json.loads((tmp_path / "boxes" / "coco.json").read_text())
    assert [a["bbox"] for a in coco["annotations"]] == [list(r) for r in expected[:2]]
    assert (tmp_path / "boxes" / "frame.reg").is_file() and (tmp_path / "boxes" / "preview.png").is_file()


def test_bad_input_is_refused_before_anything_is_written(qtbot, window, segment, tmp_path):
    _, dialog = open_dialog(qtbot, window, segment)
    fields = choose_tab(dialog, "crops")
    dialog.labels_from.setCurrentText("the image's own labels")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    dialog.out.setText(str(busy))
    fields["size"].setText("32")
    assert not dialog.export()
    assert "not empty" in dialog.info.text()
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"] and window.worker is None

    dialog.out.setText(str(tmp_path / "new"))
    fields["size"].setText("200")
    assert not dialog.export() and "larger than the image" in dialog.info.text()
    fields["size"].setText("32")
    dialog.layers.setText("3-9")
    assert not dialog.export() and "outside" in dialog.info.text()
    dialog.layers.setText("")
    fields["size"].setText("3x")
    assert not dialog.export() and "size" in dialog.info.text()
    assert not (tmp_path / "new").exists()

    fields = choose_tab(dialog, "boxes")
    fields["cls"].set_classes(ClassSet.from_names(["background", "ink", "papyrus"]))
    fields["cls"].setCurrentText("papyrus")
    assert not dialog.export() and "no pixel of class 2" in dialog.info.text()
    assert dialog.preview() == [] and "no pixel of class 2" in dialog.info.text()
    assert not (tmp_path / "new").exists()


def test_fields_are_remembered(qtbot, window, segment, tmp_path):
    _, dialog = open_dialog(qtbot, window, segment)
    fields = choose_tab(dialog, "tiles")
    fields["size"].setValue(48)
    fields["pad"].setChecked(True)
    dialog.labels_from.setCurrentText("the image's own labels")
    dialog.out.setText(str(tmp_path / "tiles"))
    assert dialog.export()
    qtbot.waitUntil(lambda: window.worker is None and not dialog.progress.isVisible(), timeout=20000)
    manifest = json.loads((tmp_path / "tiles" / "export.json").read_text())
    assert len(manifest["tiles"]) == 2 * 3  # 96 x 128 in 48-pixel tiles, the last column padded
    dialog.close()

    from ccdstudio.gui.analysis.export_dialog import ExportDialog

    again = ExportDialog(lambda shape: (None, None))
    qtbot.addWidget(again)
    assert again.current_form().kind == "tiles"
    assert again.current_form().fields["size"].value() == 48 and again.current_form().fields["pad"].isChecked()
    assert again.out.text() == str(tmp_path / "tiles")
