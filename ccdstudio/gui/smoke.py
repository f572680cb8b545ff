"""The window part of ``ccdstudio --self-test``: build the main window offscreen and open a file in it.

It leaves the user's settings alone (recent files, window geometry go to a temporary store) and turns an
error dialog into a failure instead of waiting for a click.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings

from ccdstudio.errors import CcdstudioError
from ccdstudio.gui import messages
from ccdstudio.gui.app import create_application, create_window


def open_offscreen(path: Path, timeout_s: float = 60.0) -> str:
    """Open ``path`` in a new main window and wait until it is shown; return what was shown.

    Raises :class:`~ccdstudio.errors.CcdstudioError` when the window reports an error or takes too long.
    The caller chooses the Qt platform (``QT_QPA_PLATFORM=offscreen``) before the first call.
    """
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ccdstudio-selftest-") as store:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, store)
        messages.show_error = lambda parent, title, message: errors.append(f"{title}: {message}")
        app = create_application([])
        window = create_window([str(path)])
        deadline = time.monotonic() + timeout_s
        while window.document is None and not errors and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        shown = window.document
        window.close()
        window.wait_for_jobs()
        app.processEvents()
    if errors:
        raise CcdstudioError(f"window: {errors[0]}")
    if shown is None:
        raise CcdstudioError(f"window: {path.name} was not shown within {timeout_s:.0f} s")
    height, width = shown.plane_info.shape
    return f"window showed {path.name} ({width}x{height})"
