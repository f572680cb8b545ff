"""Label editing: the label layer, its tools and undo, the class and project docks, label files, autosave.

``window.features["labels"]`` is the :class:`~ccdstudio.gui.labels.editor.LabelEditor`. Other features
hand their results over as editable labels with one call, undone in one step::

    window.features["labels"].accept_labels(labels, classes, "threshold 5 sigma", merge=True)

``labels`` is a uint8 map of the shown image's shape whose indices name ``classes`` (a
:class:`~ccdstudio.labels.classes.ClassSet`); classes are matched by name and missing ones added.
"""

from __future__ import annotations

from typing import Any

from ccdstudio.gui.labels.editor import LabelEditor


def install(window: Any) -> LabelEditor:
    return LabelEditor(window)
