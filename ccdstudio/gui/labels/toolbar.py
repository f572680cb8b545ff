"""The label toolbar: one action per tool with the keys napari users know, and the tools' options.

P paint, E erase, F fill, L pick, R rectangle, G polygon, H lasso (freehand), Z pan/zoom; ``[`` and ``]``
change the brush size. The keys act anywhere in the window except while typing in a text field.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QSpinBox,
    QToolBar,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.labels.tools import MAX_BRUSH, ToolController

TOOL_ACTIONS = (
    # tool, text, key, icon
    ("pan", "Pan and zoom", "Z", "cursor-move"),
    ("paint", "Paint brush", "P", "brush"),
    ("erase", "Eraser", "E", "eraser"),
    ("fill", "Fill", "F", "format-color-fill"),
    ("pick", "Pick class", "L", "eyedropper"),
    ("rectangle", "Rectangle", "R", "rectangle-outline"),
    ("polygon", "Polygon (double-click or Return closes)", "G", "vector-polygon"),
    ("lasso", "Lasso (freehand)", "H", "lasso"),
)
MODES = (("all", "Paint over everything"), ("background", "Paint only over background"),
         ("preserve", "Preserve other classes"))


class LabelToolBar(QToolBar):
    """Tool buttons and options bound to a :class:`ToolController`."""

    def __init__(self, controller: ToolController, parent: QWidget | None = None) -> None:
        super().__init__("Labels", parent)
        self.setObjectName("toolbar-labels")
        self.controller = controller
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for tool, text, key, icon_name in TOOL_ACTIONS:
            action = QAction(icon(icon_name), text, self)
            action.setToolTip(f"{text} ({key})")
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(True)
            action.triggered.connect(lambda *_, t=tool: controller.set_tool(t))
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["pan"].setChecked(True)
        controller.toolChanged.connect(lambda tool: self.tool_actions[tool].setChecked(True))

        self.addSeparator()
        self.smaller = self._key_action("Smaller brush", "[", "minus-circle-outline", lambda: controller.grow(-1))
        self.size = QSpinBox()
        self.size.setRange(1, MAX_BRUSH)
        self.size.setValue(controller.options.size)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush size ([ and ])")
        self.size.valueChanged.connect(controller.set_size)
        controller.sizeChanged.connect(self.size.setValue)
        self.addWidget(self.size)
        self.bigger = self._key_action("Bigger brush", "]", "plus-circle-outline", lambda: controller.grow(1))
        self.shape = self._combo((("round", "Round"), ("square", "Square")), "Brush shape",
                                 lambda value: setattr(controller.options, "shape", value))
        self.mode = self._combo(MODES, "Which pixels the tools may change",
                                lambda value: setattr(controller.options, "mode", value))
        self.addSeparator()
        self.fill_source = self._combo((("labels", "Fill same label"), ("image", "Fill similar image values")),
                                       "What the fill follows",
                                       lambda value: setattr(controller.options, "fill_on_image", value == "image"))
        self.connectivity = self._combo(((4, "4-connected"), (8, "8-connected")), "Fill connectivity",
                                        lambda value: setattr(controller.options, "connectivity", value))
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0, 1e9)
        self.tolerance.setDecimals(2)
        self.tolerance.setValue(controller.options.tolerance)
        self.tolerance.setToolTip("Fill similar: image values within this distance of the clicked pixel")
        self.tolerance.valueChanged.connect(lambda value: setattr(controller.options, "tolerance", value))
        self.addWidget(QLabel(" ±"))
        self.addWidget(self.tolerance)

    def _key_action(self, text: str, key: str, icon_name: str, slot) -> QAction:
        action = QAction(icon(icon_name), text, self)
        action.setToolTip(f"{text} ({key})")
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda *_: slot())
        self.addAction(action)
        return action

    def _combo(self, items, tooltip: str, apply) -> QComboBox:
        combo = QComboBox()
        for value, text in items:
            combo.addItem(text, value)
        combo.setToolTip(tooltip)
        combo.currentIndexChanged.connect(lambda index: apply(combo.itemData(index)))
        self.addWidget(combo)
        return combo
