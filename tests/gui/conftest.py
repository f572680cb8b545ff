"""GUI test fixtures: settings in a temporary folder, small FITS/TIFF/segment files, an opened window."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, qapp):
    """Point QSettings at a fresh folder so tests never read or write the user's real settings."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("settings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    yield folder


@pytest.fixture(autouse=True)
def answers(monkeypatch):
    """The label editor's questions answered by script (``tests.gui.label_helpers.Answers``): by default
    unsaved labels are discarded and yes/no questions answered no, so a closing window never waits on a
    dialog."""
    from tests.gui.label_helpers import Answers

    return Answers(monkeypatch)


def ccd_frame(rng, shape=(120, 160), pedestal=1000.0, sigma=5.0) -> np.ndarray:
    return np.round(rng.normal(pedestal, sigma, shape)).astype(np.float32)


@pytest.fixture
def fits_file(tmp_path, rng) -> Path:
    """A CCD-like FITS: SCI (120 x 160, overscan in the last 16 columns), a second HDU, and a MASK."""
    from astropy.io import fits

    sci = ccd_frame(rng)
    sci[:, 144:] = 5000.0  # overscan far from the data, so leaving it out shows in the levels
    sci[10, 20] = 12345.0
    sci[30, 40] = np.nan
    header = fits.Header({"EXTNAME": "SCI", "DATASEC": "[1:144,1:120]", "BIASSEC": "[145:160,1:120]",
                          "GAIN": 200.0})
    other = np.full((120, 160), 7.0, np.float32)
    mask = np.zeros((120, 160), np.uint8)
    mask[10, 20] = 1
    path = tmp_path / "frame.fits"
    fits.HDUList([
        fits.PrimaryHDU(),
        fits.ImageHDU(sci, header),
        fits.ImageHDU(other, fits.Header({"EXTNAME": "OTHER"})),
        fits.ImageHDU(mask, fits.Header({"EXTNAME": "MASK"})),
    ]).writeto(path)
    return path


@pytest.fixture
def tiff_file(tmp_path) -> Path:
    import tifffile

    image = np.arange(50 * 60, dtype=np.uint16).reshape(50, 60)
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, image)
    return path


@pytest.fixture
def segment_folder(tmp_path) -> Path:
    import tifffile

    folder = tmp_path / "20230101000000"
    (folder / "layers").mkdir(parents=True)
    for layer in range(4):
        tifffile.imwrite(folder / "layers" / f"{layer:02d}.tif", np.full((40, 50), 100 * layer, np.uint16))
    return folder


@pytest.fixture
def window(qtbot):
    from ccdstudio.gui.main_window import MainWindow

    win = MainWindow()
    win.resize(1000, 700)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.cancel_job()
    win.wait_for_jobs()


def wait_opened(qtbot, win, timeout=15000):
    """Wait until the window's background job ended and a document is shown (a segment: on the surface
    layer, once its estimate is in)."""
    qtbot.waitUntil(lambda: win.worker is None and win.document is not None, timeout=timeout)
    if win.document.source.format == "segment":
        segment = win.features["segment"]
        qtbot.waitUntil(lambda: segment.default is not None and win.worker is None, timeout=timeout)
    return win.document


@pytest.fixture
def errors(monkeypatch):
    """The error dialogs a test caused, as ``(title, message)`` pairs, instead of modal message boxes."""
    from ccdstudio.gui import messages

    shown = []
    monkeypatch.setattr(messages, "show_error", lambda parent, title, message: shown.append((title, message)))
    return shown


@pytest.fixture
def no_questions(monkeypatch):
    """Closing never waits on a modal question; a job still running at the end of a test is cancelled."""
    from ccdstudio.gui.ml import confirm

    monkeypatch.setattr(confirm, "ask", lambda *args: True)


@pytest.fixture
def data_folder(tmp_path):
    """A folder of three small simulated frames with their labels, to train on."""
    from tests.gui.ml_fixtures import write_frames

    return write_frames(tmp_path / "data", 3, seed=1)[0].parent


@pytest.fixture(autouse=True, scope="session")
def _ml_libraries_loaded():
    """Torch's modules are imported once, here, before any window: the background warm-up of a window then
    has nothing left to import while later tests build their windows."""
    from ccdstudio.gui.ml.devices import warmed_up

    warmed_up()


@pytest.fixture(autouse=True, scope="session")
def _garbage_collected_in_the_ui_thread(qapp, _ml_libraries_loaded):
    """As in the application (:mod:`ccdstudio.gui.gc_timer`): windows of earlier tests must not be
    destroyed by a collection that happens to run in a training or fill worker."""
    from ccdstudio.gui.gc_timer import UiThreadCollector, collect_in_the_ui_thread

    collect_in_the_ui_thread()
    UiThreadCollector.freeze()  # torch and the libraries: not walked by every collection
