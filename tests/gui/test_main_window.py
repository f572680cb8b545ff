"""The main window end to end (offscreen): opening, coordinates, levels, planes, overlays, errors, settings."""

import math

import numpy as np
import pytest
from astropy.io import fits
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ccdstudio.gui import settings
from ccdstudio.gui.document import MOSAIC, Sections
from ccdstudio.gui.main_window import MainWindow
from tests.gui.conftest import wait_opened


def hover(qtbot, win, row, col):
    """Move the mouse over the centre of array pixel [row, col]."""
    viewer = win.viewer
    viewport = viewer.view.viewport()
    pos = QPointF(viewer.scene_pos(col + 0.5, row + 0.5))
    win.position_label.clear()
    # a real move event sent to the viewport (QTest.mouseMove drops moves offscreen once the pointer moved)
    event = QMouseEvent(QEvent.Type.MouseMove, pos, viewport.mapToGlobal(pos), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)
    qtbot.waitUntil(lambda: win.position_label.text() != "", timeout=3000)


def test_fits_opens_origin_bottom_left_with_ds9_coordinates(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    document = wait_opened(qtbot, window)
    assert document.plane_info.name == "SCI"
    assert not window.viewer.box.yInverted()  # FITS: row 0 at the bottom
    hover(qtbot, window, 10, 20)
    assert window.position_label.text().split() == ["x", "21", "y", "11"]  # DS9: 1-based
    assert window.value_label.text() == "12345 ADU"
    hover(qtbot, window, 30, 40)
    assert window.value_label.text() == "NaN ADU"


def test_tiff_uses_zero_based_coordinates_origin_top_left(qtbot, window, tiff_file):
    window.open_paths([str(tiff_file)])
    wait_opened(qtbot, window)
    assert window.viewer.box.yInverted()
    hover(qtbot, window, 7, 9)
    assert window.position_label.text().split() == ["x", "9", "y", "7"]
    assert window.value_label.text() == f"{7 * 60 + 9}"  # a TIFF's values have no unit to name


def test_levels_leave_out_the_overscan_and_cuts_change_them(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    panel = window.display_panel
    low, high = window.viewer.display.levels
    assert 970 < low < 1000 < high < 1030  # zscale around the pedestal; the 5000 ADU overscan is ignored
    panel.cut.setCurrentText("minmax")
    assert window.viewer.display.levels == pytest.approx((np.nanmin(window.document.prepared.sample), 12345.0))
    before = window.viewer._backdrop.image.copy()
    panel.stretch.setCurrentText("asinh")
    assert window.viewer.display.stretch == "asinh"
    assert not np.array_equal(before, window.viewer._backdrop.image)
    panel.histogram.levelsDragged.emit(990.0, 1010.0)
    assert panel.cut.currentText() == "manual"
    assert window.viewer.display.levels == (990.0, 1010.0)
    panel.colormap.setCurrentText("viridis")
    assert window.viewer.display.lut[0, :3].tolist() != [0, 0, 0]


def test_electrons_with_a_gain_use_a_discrete_map(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    document = wait_opened(qtbot, window)
    assert window.ccd_panel.gain.value() == 200.0  # from the GAIN card, read as ADU per electron
    window.ccd_panel.electrons.setChecked(True)
    assert window.display_panel.unit.text() == "e-"
    assert window.display_panel.colormap.currentText() == "discrete"
    assert window.viewer.display.levels[0] == -0.5
    hover(qtbot, window, 10, 20)
    expected = (12345.0 - document.prepared.pedestal) / 200.0
    assert window.value_label.text().startswith(f"{expected:.6g} e-")


def test_a_gain_card_that_names_its_unit_is_read_in_it(qtbot, window, tmp_path):
    """4.25 is below the number that would otherwise be taken for e-/ADU; the comment says ADU/e-."""
    path = tmp_path / "sim.fits"
    image = np.full((40, 50), 1000.0, np.float32)
    image[10, 20] = 1042.5
    fits.PrimaryHDU(image, fits.Header([("GAIN", 4.25, "[ADU/e-] this amplifier's gain")])).writeto(path)
    window.open_paths([str(path)])
    document = wait_opened(qtbot, window)
    assert window.ccd_panel.gain_unit.currentText() == "ADU/e-"
    window.ccd_panel.electrons.setChecked(True)
    hover(qtbot, window, 10, 20)
    expected = (1042.5 - document.prepared.pedestal) / 4.25
    assert window.value_label.text().startswith(f"{expected:.6g} e-")


def test_the_ccd_dock_gives_the_read_noise_of_the_overscan(qtbot, window, tmp_path):
    from ccdstudio.cli import main

    assert main(["simulate", "ccd", "--out", str(tmp_path), "--size", "128", "--overscan", "32", "--seed", "1",
                 "--quiet"]) == 0
    path = tmp_path / "frame_0000.fits"
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    text = window.ccd_panel.noise.text()
    read = float(text.split("read noise ")[1].split()[0])
    assert abs(read - fits.getheader(path)["RDNOISE"]) < 0.1 * read and text.endswith("ADU (overscan)")


def test_hdu_switch_and_header_filter(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    bar = window.plane_bar
    assert [bar.combo.itemText(i).split()[0] for i in range(bar.combo.count())] == ["SCI", "OTHER"]
    bar.combo.activated.emit(1)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "OTHER", timeout=10000)
    assert window.document.prepared.pedestal == 7.0
    window.header_panel.filter.setText("extname")
    assert window.header_panel.visible_keywords() == ["EXTNAME"]


def test_segment_layers_step_with_up_and_down(qtbot, window, segment_folder):
    window.open_paths([str(segment_folder)])
    wait_opened(qtbot, window)
    assert window.plane_bar.slider.isVisibleTo(window)
    assert window.document.plane_info.name == "layer 02"  # the surface the dock estimated, not layer 00
    assert window.plane_bar.slider.value() == 2
    QTest.keyClick(window, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "layer 01", timeout=10000)
    assert window.document.prepared.pedestal == 100.0
    QTest.keyClick(window, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "layer 00", timeout=10000)
    window.plane_bar.slider.setValue(3)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "layer 03", timeout=10000)
    for _ in range(2):  # quicker than the layers load: each press counts
        QTest.keyClick(window, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "layer 01", timeout=10000)
    assert window.plane_bar.slider.value() == 1


def test_the_status_bar_follows_the_layer_under_a_still_mouse(qtbot, window, segment_folder):
    window.resize(1600, 1000)  # room for the image beside the segment docks
    window.open_paths([str(segment_folder)])
    wait_opened(qtbot, window)
    window.viewer.fit()
    hover(qtbot, window, 2, 3)
    first = window.value_label.text()
    QTest.keyClick(window, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane_info.name == "layer 03", timeout=10000)
    value = float(window.document.view_source.read(window.document.view_plane)[2, 3])
    assert window.value_label.text().startswith(f"{value:g}") and window.value_label.text() != first


def test_mosaic_of_two_amplifiers(qtbot, window, tmp_path):
    from astropy.io import fits

    left, right = np.full((20, 30), 1.0, np.float32), np.full((20, 30), 2.0, np.float32)
    hdus = [fits.PrimaryHDU()]
    for name, data, detsec in (("AMP1", left, "[1:30,1:20]"), ("AMP2", right, "[31:60,1:20]")):
        hdus.append(fits.ImageHDU(data, fits.Header({"EXTNAME": name, "DETSEC": detsec, "DATASEC": "[1:30,1:20]"})))
    path = tmp_path / "amps.fits"
    fits.HDUList(hdus).writeto(path)
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    assert window.plane_bar.combo.itemText(0).startswith("Mosaic")
    assert window.document.plane == MOSAIC  # the CCD opens whole
    window.plane_bar.combo.activated.emit(1)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane == 0, timeout=10000)
    window.plane_bar.combo.activated.emit(0)
    qtbot.waitUntil(lambda: window.worker is None and window.document.plane == MOSAIC, timeout=10000)
    assert window.document.plane_info.shape == (20, 60)
    hover(qtbot, window, 5, 45)
    assert window.value_label.text() == "2 ADU"


def test_mask_plane_is_a_toggleable_overlay(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    assert window.viewer.overlay_names() == ["MASK"]
    check = window.overlays_panel.checks["MASK"]
    assert check.isChecked() and window.viewer.overlay("MASK").visible
    with qtbot.waitSignal(window.viewer.rendered, timeout=5000):
        window.viewer.schedule_render(immediately=True)
    item = window.viewer._overlay_items["MASK"]
    assert item.image.max() == 1  # the one masked pixel survives the zoomed-out render
    check.setChecked(False)
    assert not window.viewer.overlay("MASK").visible and not item.isVisible()
    window.overlays_panel.sliders["MASK"].setValue(80)
    assert item.opacity() == pytest.approx(0.8)


def test_pixel_table_shows_the_values_around_the_cursor(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    document = wait_opened(qtbot, window)
    window.pixel_table.size.setCurrentText("3 x 3")
    window.show_pixel(10, 20)
    table = window.pixel_table.table
    data = document.source.read(document.plane)
    assert table.rowCount() == 3 and table.columnCount() == 3
    # FITS is shown origin bottom-left, so the table's top row is the highest row (y = 12, array row 11)
    assert table.verticalHeaderItem(0).text() == "12"
    assert table.horizontalHeaderItem(0).text() == "20"
    assert table.item(1, 1).text() == "12345"
    assert table.item(0, 0).text() == str(int(data[11, 19]))
    window.pixel_table.size.setCurrentText("9 x 9")
    assert table.rowCount() == 9


def test_recent_files_and_window_state_persist(qtbot, fits_file):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.resize(640, 480)  # inside the offscreen screen (800 x 600), or restoring clamps it
    first.open_paths([str(fits_file)])
    wait_opened(qtbot, first)
    assert settings.recent_files() == [str(fits_file.resolve())]
    first._fill_recent_menu()
    assert str(fits_file.resolve()) in [a.text() for a in first.recent_menu.actions()]
    first.docks["header"].hide()
    saved = first.size()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.size() == saved and saved.width() == 640
    assert not second.docks["header"].isVisibleTo(second)


def test_drop_opens_the_files(qtbot, window, fits_file, tiff_file):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tiff_file)), QUrl.fromLocalFile(str(fits_file))])
    assert window.handle_drop(mime)
    wait_opened(qtbot, window)
    assert window.document.path == tiff_file
    assert window.files == [str(tiff_file), str(fits_file)]
    window.step_file(1)
    qtbot.waitUntil(lambda: window.worker is None and window.document.path == fits_file, timeout=10000)


@pytest.mark.parametrize("kind", ["truncated", "empty", "corrupt_tiff", "folder", "four_d"])
def test_bad_input_shows_an_error_and_keeps_the_image(qtbot, window, fits_file, tmp_path, errors, kind):
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    if kind == "truncated":
        bad = tmp_path / "cut.fits"
        bad.write_bytes(fits_file.read_bytes()[: 2880 * 3 + 1000])
    elif kind == "empty":
        bad = tmp_path / "empty.fits"
        bad.write_bytes(b"")
    elif kind == "corrupt_tiff":
        bad = tmp_path / "bad.tif"
        bad.write_bytes(b"II*\x00" + b"\xff" * 100)
    elif kind == "folder":
        bad = tmp_path / "not_a_segment"
        bad.mkdir()
        (bad / "notes.txt").write_text("hello")
    else:
        bad = tmp_path / "cube.npy"
        np.save(bad, np.zeros((2, 2, 3, 4), np.float32))
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: window.worker is None and len(errors) == 1, timeout=10000)
    title, message = errors[0]
    assert title == "Cannot open file" and bad.name in message and "Traceback" not in message
    assert window.document.path == fits_file  # the window keeps what it had


def test_hot_pixel_survives_the_zoomed_out_view(qtbot, window, tmp_path, rng):
    from astropy.io import fits

    data = np.round(rng.normal(1000, 5, (3000, 2500))).astype(np.float32)
    data[1234, 2001] = 30000.0
    path = tmp_path / "big.fits"
    fits.PrimaryHDU(data).writeto(path)
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    with qtbot.waitSignal(window.viewer.rendered, timeout=10000):
        window.viewer.fit()
    shown = window.viewer._detail.image
    width, height = window.viewer.screen_size()
    assert shown.shape[0] <= height and shown.shape[1] <= width  # no finer than the screen
    assert shown.max() == 254  # the hot pixel is drawn at full brightness
    raw = window.viewer._detail_raw
    row, col = np.unravel_index(np.argmax(raw.image), raw.image.shape)
    assert raw.image[row, col] == 30000.0  # at its own block
    assert row == (1234 - raw.rect[1]) // raw.factor and col == (2001 - raw.rect[0]) // raw.factor


def test_zooming_in_renders_full_resolution(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    document = wait_opened(qtbot, window)
    with qtbot.waitSignal(window.viewer.rendered, timeout=5000):
        window.viewer.centre_on(20.5, 10.5, 30)
    rendered = window.viewer._detail_raw
    assert rendered.factor == 1
    x0, y0, x1, y1 = rendered.rect
    np.testing.assert_array_equal(rendered.image, document.source.read(document.plane)[y0:y1, x0:x1])
    assert math.isclose(window.viewer.visible_rect()[2] - window.viewer.visible_rect()[0], 30, rel_tol=0.2)


def test_sections_set_by_hand_change_the_level_sample(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    wait_opened(qtbot, window)
    assert not np.any(window.document.prepared.sample == 5000.0)  # no overscan pixel in the sample
    window.apply_sections(Sections(None, (), from_header=False))  # the whole plane, overscan included
    qtbot.waitUntil(lambda: window.worker is None and not window.document.sections.from_header, timeout=10000)
    assert np.any(window.document.prepared.sample == 5000.0)
    assert "set by hand" in window.ccd_panel.data.text()



def test_predict_reads_sections_set_by_hand(qtbot, window, fits_file):
    window.open_paths([str(fits_file)])
    document = wait_opened(qtbot, window)
    assert document.predict_source is document.view_source  # the header's own sections
    window.apply_sections(Sections((slice(0, 100), slice(0, 144)), ((slice(0, 120), slice(150, 160)),),
                                   from_header=False))
    qtbot.waitUntil(lambda: window.worker is None and not window.document.sections.from_header, timeout=10000)
    header = window.document.predict_source.planes[window.document.view_plane].header
    assert header["DATASEC"] == "[1:144,1:100]" and header["BIASSEC"] == "[151:160,1:120]"
    assert header["EXTNAME"] == "SCI"


def test_a_long_progress_message_is_cut_to_the_bar_with_an_ellipsis(qtbot, window):
    message = "tile 763/972 (237 without mask skipped) on the way to the end of a long segment"
    window.show_progress(0.5, message)
    shown = window.progress.format()
    assert shown.endswith("…") and len(shown) < len(message) and window.progress.toolTip() == message
    assert window.progress.fontMetrics().horizontalAdvance(shown) <= window.progress.maximumWidth()
    window.show_progress(0.5, "%p%")
    assert window.progress.format() == "%p%"
