"""The label layer: its pyramid stays exact under edits, and an edit repaints only its dirty rectangle."""

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from ccdstudio.gui.labels.layer import LabelPyramid, argb_table, boundary
from ccdstudio.labels import paint
from ccdstudio.labels.classes import ClassSet
from tests.gui.label_helpers import MOVE, NONE, drag, send


def block_max(labels, factor):
    """Independent reference: the maximum over each factor x factor block (partial blocks at the edges)."""
    rows, cols = -(-labels.shape[0] // factor), -(-labels.shape[1] // factor)
    out = np.zeros((rows, cols), labels.dtype)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = labels[r * factor:(r + 1) * factor, c * factor:(c + 1) * factor].max()
    return out


def test_pyramid_levels_are_block_maxima_and_patches_keep_them_exact(rng):
    labels = np.zeros((1100, 700), np.uint8)
    pyramid = LabelPyramid(labels)
    assert pyramid.max_level == 2  # 1100 / 4 = 275 >= 256 > 1100 / 8
    for k in (1, 2):
        pyramid.level(k)
    for _ in range(20):
        y, x = rng.integers(0, 1100), rng.integers(0, 700)
        edit = paint.stroke_segment(labels, (y, x), (y + rng.integers(-30, 30), x + 40), int(rng.integers(0, 4)),
                                    size=int(rng.integers(1, 9)))
        if edit is not None:
            edit.apply(labels)
            pyramid.patch(edit.box)
    for k in (1, 2):
        assert np.array_equal(pyramid.level(k), block_max(labels, 2 ** k))


def test_colour_table_and_boundary():
    classes = ClassSet.preset("ccd")
    table = argb_table(classes, hidden={2})
    assert table[0] == 0 and table[2] == 0 and table[3] == 0xFF28C8FF  # cluster (40, 200, 255), opaque
    assert argb_table(classes, only=1)[3] == 0 and argb_table(classes, only=1)[1] != 0
    labels = np.zeros((5, 5), np.uint8)
    labels[1:4, 1:4] = 3
    edges = boundary(np.pad(labels, 1, mode="edge"))
    assert edges[1, 1] and not edges[2, 2] and edges[0, 1]  # a background pixel next to the square counts too


@pytest.fixture
def big_editor(qtbot, window, tmp_path):
    import tifffile

    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((2000, 3000), np.uint16))
    return open_for_labelling_zoomed_out(qtbot, window, path)


def open_for_labelling_zoomed_out(qtbot, window, path):
    for dock in window.docks.values():
        dock.hide()
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.worker is None and window.features["labels"].session is not None, timeout=15000)
    QApplication.processEvents()
    window.viewer.fit()
    return window.features["labels"]


def settle(qtbot, viewer, layer) -> None:
    """Wait until the viewer's render of the current view has landed and Qt has repainted the layer under it.

    A landing render replaces the image under the whole view, so Qt repaints the label layer there as well
    (by design, and later than the render's ``rendered`` signal): measuring what an edit repaints must start
    after that repaint. Every landing resets ``painted_pixels``, so a paint counted here came after the last.
    """
    def landed():
        layer.painted_pixels = 0

    viewer.rendered.connect(landed)
    try:
        qtbot.waitUntil(lambda: not viewer.render_pending() and layer.painted_pixels > 0, timeout=10000)
    finally:
        viewer.rendered.disconnect(landed)


def test_a_stroke_repaints_only_its_rectangle(big_editor, window, qtbot):
    editor, viewer = big_editor, window.viewer
    viewer.centre_on(1500, 1000, pixels_across=200)  # zoomed in: a few screen pixels per label pixel
    QApplication.processEvents()
    viewer.view.viewport().repaint()
    full = editor.layer.painted_pixels
    x0, y0, x1, y1 = viewer.visible_rect()
    assert full >= 0.9 * (x1 - x0) * min(y1 - y0, 2000)  # a full repaint colours the whole view
    editor.tools.set_tool("paint")
    editor.tools.set_size(5)
    send(viewer, MOVE, 1000, 1450, button=NONE, buttons=NONE)  # the brush outline appears
    settle(qtbot, viewer, editor.layer)
    editor.layer.painted_pixels = 0
    drag(viewer, [(1000, 1450), (1000, 1460)])
    qtbot.waitUntil(lambda: editor.layer.painted_pixels > 0)  # Qt repaints the region the layer marked changed
    assert editor.layer.painted_pixels <= 20 * 20  # the stroke's box plus a pixel of margin, not the view
    assert editor.session.labels[1000, 1455] == 1
