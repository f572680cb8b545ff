"""Driving the label editor like a user: mouse events at image pixels, a small image to label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import wait_opened

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
PRESS, MOVE, RELEASE = QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease
DOUBLE = QEvent.Type.MouseButtonDblClick


def image(shape=(40, 50)) -> np.ndarray:
    """A dark image with a bright 10 x 20 block at rows 10-19, columns 10-29 (for the similar-value fill)."""
    data = np.full(shape, 100, np.uint16)
    data[10:20, 10:30] = 1000
    data[12, 12] = 1003
    return data


def send(viewer, kind, row: float, col: float, button=LEFT, buttons=LEFT) -> None:
    """A mouse event at the centre of array pixel ``[row, col]`` on the viewer's viewport."""
    viewport = viewer.view.viewport()
    pos = QPointF(viewer.scene_pos(col + 0.5, row + 0.5))
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(viewer, points: list[tuple[float, float]]) -> None:
    """Press at the first pixel, move through the others, release at the last (left button)."""
    send(viewer, PRESS, *points[0])
    for point in points[1:]:
        send(viewer, MOVE, *point, button=NONE, buttons=LEFT)
    send(viewer, RELEASE, *points[-1], button=LEFT, buttons=NONE)


def click(viewer, row: float, col: float) -> None:
    drag(viewer, [(row, col)])


def open_for_labelling(qtbot, window, path: Path):
    """Open ``path`` with the other docks hidden (so pixels are big on screen); return the label editor."""
    for dock in window.docks.values():
        dock.hide()
    window.open_paths([str(path)])
    wait_opened(qtbot, window)
    editor = window.features["labels"]
    qtbot.waitUntil(lambda: editor.session is not None, timeout=5000)
    QApplication.processEvents()
    window.viewer.fit()
    QApplication.processEvents()
    x0, _, x1, _ = window.viewer.visible_rect()
    assert window.viewer.view.viewport().width() / (x1 - x0) > 4  # pixels several screen pixels wide
    return editor


class Answers:
    """Scripted answers to the label editor's questions (:mod:`ccdstudio.gui.labels.prompts`).

    Set ``answers.save = "save"`` etc.; every question asked is recorded in ``asked`` as (function, title).
    By default unsaved labels are discarded and yes/no questions answered no, so no test waits on a dialog.
    """

    def __init__(self, monkeypatch) -> None:
        from ccdstudio.gui.labels import prompts

        self.asked: list[tuple[str, str]] = []
        self.save, self.yes, self.text, self.choice, self.colour = "discard", False, None, None, None
        self.path: str | None = None
        self.paths: list[str] = []
        self.folder: str | None = None
        replies = {
            "ask_save": lambda: self.save, "ask_yes_no": lambda: self.yes, "ask_text": lambda: self.text,
            "ask_choice": lambda: self.choice, "ask_colour": lambda: self.colour,
            "ask_open_path": lambda: self.path, "ask_save_path": lambda: self.path,
            "ask_open_paths": lambda: self.paths, "ask_folder": lambda: self.folder,
        }
        for name, reply in replies.items():
            monkeypatch.setattr(prompts, name, self._recorder(name, reply))

    def _recorder(self, name, reply):
        def ask(parent, title, *args, **kwargs):
            self.asked.append((name, title))
            return reply()
        return ask

    def titles(self, name: str) -> list[str]:
        return [title for asked, title in self.asked if asked == name]

