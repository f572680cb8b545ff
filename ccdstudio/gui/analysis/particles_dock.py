"""The "Particles" dock: the threshold, mask, particle and recipe panels in tabs, each scrollable."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ccdstudio.gui.analysis.mask_panel import MaskPanel
from ccdstudio.gui.analysis.particles_panel import ParticleOptionsBox
from ccdstudio.gui.analysis.recipes_panel import RecipesPanel
from ccdstudio.gui.analysis.threshold_panel import ThresholdPanel


def _scrolled(*widgets: QWidget) -> QScrollArea:
    inner = QWidget()
    layout = QVBoxLayout(inner)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(inner)
    return area


class ParticlesDock(QTabWidget):
    """Holds the panels; the feature wires them to the window."""

    def __init__(self, stack: QUndoStack, gain: Callable[[], float | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.threshold = ThresholdPanel(gain)
        self.mask = MaskPanel(stack)
        self.particles = ParticleOptionsBox()
        self.recipes = RecipesPanel()
        self.addTab(_scrolled(self.threshold, self.particles), "Threshold")
        self.addTab(_scrolled(self.mask), "Mask")
        self.addTab(_scrolled(self.recipes), "Recipes")
