"""Starting the application: ``run_app(files)`` is what ``ccdstudio gui FILE...`` calls."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from ccdstudio import __version__
from ccdstudio.gui import wheel_guard
from ccdstudio.gui.gc_timer import UiThreadCollector, collect_in_the_ui_thread
from ccdstudio.gui.main_window import MainWindow
from ccdstudio.gui.settings import APPLICATION, ORGANISATION


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one if any), named so QSettings finds the right store."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    collect_in_the_ui_thread()
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    wheel_guard.install(app)
    return app


def create_window(files: list[str]) -> MainWindow:
    """A shown main window that starts opening ``files`` (the building block tests use instead of exec)."""
    window = MainWindow()
    window.show()
    UiThreadCollector.freeze()  # what starting made lives as long as the window
    window.open_paths(files)
    return window


def run_app(files: list[str]) -> int:
    """Open the window with ``files`` and run until it is closed; returns the exit status."""
    app = create_application()
    window = create_window(list(files))
    status = app.exec()
    del window
    return int(status)
