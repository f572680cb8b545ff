"""The viewer on its own: overlays API, NaN colour, pixel placement of renders."""

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui.colormaps import colormap_lut, discrete_lut
from ccdstudio.gui.viewer import Display, ImageViewer, class_lut
from ccdstudio.imaging.render import prepare_plane
from ccdstudio.imaging.stretch import NONFINITE_INDEX
from ccdstudio.io.source import ArraySource
from ccdstudio.jobs import run


@pytest.fixture
def viewer(qtbot, rng):
    image = rng.normal(100, 2, (400, 600)).astype(np.float32)
    image[5, 7] = np.nan
    source = ArraySource([image])
    prepared = run(prepare_plane(source, 0, side=128))
    view = ImageViewer()
    view.resize(500, 400)
    qtbot.addWidget(view)
    view.show()
    view.set_display(Display((90.0, 110.0), "linear", colormap_lut("grey")))
    with qtbot.waitSignal(view.rendered, timeout=5000):
        view.set_plane(source, 0, prepared.overview, prepared.outliers, origin_bottom=False)
    return view


def test_overlays_are_named_rendered_and_removable(qtbot, viewer):
    labels = np.zeros((400, 600), np.uint8)
    labels[200, 300] = 3
    lut = class_lut([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)])
    with qtbot.waitSignal(viewer.rendered, timeout=5000):
        viewer.set_overlay("labels", labels, lut=lut, opacity=0.7)
    item = viewer._overlay_items["labels"]
    assert item.image.max() == 3  # a one-pixel label survives the zoomed-out render
    assert item.opacity() == pytest.approx(0.7)
    assert viewer.overlay_names() == ["labels"]
    viewer.set_overlay_visible("labels", False)
    assert not item.isVisible()
    viewer.remove_overlay("labels")
    assert viewer.overlay_names() == []
    with pytest.raises(CcdstudioError, match="overlay"):
        viewer.set_overlay("wrong", np.zeros((10, 10), np.uint8), colour=(255, 0, 0))


def test_nan_pixels_get_the_nonfinite_index(qtbot, viewer):
    with qtbot.waitSignal(viewer.rendered, timeout=5000):
        viewer.centre_on(7.5, 5.5, 40)
    x0, y0 = viewer._detail_raw.rect[:2]
    assert viewer._detail_raw.factor == 1
    assert viewer._detail.image[5 - y0, 7 - x0] == NONFINITE_INDEX
    assert colormap_lut("grey")[NONFINITE_INDEX, :3].tolist() == [255, 0, 255]


def test_discrete_table_gives_each_electron_its_own_colour():
    from ccdstudio.imaging.stretch import to_display

    indices = to_display(np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 0.2, 0.8]]), (-0.5, 4.5), "linear")
    colours = [tuple(c) for c in discrete_lut(5)[indices[0], :3]]
    assert len(set(colours[:5])) == 5  # 0..4 electrons all distinct
    assert colours[5] == colours[0] and colours[6] == colours[1]  # 0.2 e- looks like 0, 0.8 e- like 1
