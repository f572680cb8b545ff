"""The plane chooser: a combo of HDUs/planes (plus the assembled mosaic) and, for segments, a layer slider."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from ccdstudio.gui.document import MOSAIC, Document


class PlaneBar(QWidget):
    """Chooses the shown plane; ``planeChosen(index)`` carries a source plane index or ``MOSAIC``."""

    planeChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(26)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Plane (FITS HDU, TIFF page, segment layer); Up/Down step through them")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(220)
        self.slider.setToolTip("Layer (Up/Down)")
        self.layer = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Plane"))
        layout.addWidget(self.combo)
        layout.addWidget(self.slider)
        layout.addWidget(self.layer)
        self._planes: list[int] = []
        self.combo.activated.connect(lambda i: self.planeChosen.emit(self._planes[i]))
        self.slider.valueChanged.connect(self._slid)
        self.set_document(None)

    def set_document(self, document: Document | None) -> None:
        """List the document's image planes (and the mosaic when DETSEC allows) and select the shown one."""
        self._planes = []
        self.combo.blockSignals(True)
        self.combo.clear()
        if document is not None:
            if document.has_mosaic:
                self._planes.append(MOSAIC)
                self.combo.addItem("Mosaic (by DETSEC)")
            for index in document.image_planes():
                plane = document.source.planes[index]
                self._planes.append(index)
                self.combo.addItem(f"{plane.name}  {plane.shape[1]}x{plane.shape[0]} {plane.dtype}")
            self.combo.setCurrentIndex(self._planes.index(document.plane))
        self.combo.blockSignals(False)
        layers = document is not None and document.source.format == "segment" and len(self._planes) > 1
        self.slider.setVisible(layers)
        self.layer.setVisible(layers)
        if layers:
            self.slider.blockSignals(True)
            self.slider.setRange(0, len(self._planes) - 1)
            self.slider.setValue(self.combo.currentIndex())
            self.slider.blockSignals(False)
            self.layer.setText(document.plane_info.name)
        self.setEnabled(document is not None)

    def step(self, delta: int) -> int | None:
        """Choose the plane ``delta`` positions away (Up/Down keys); returns it, or None at either end."""
        position = self.combo.currentIndex() + delta
        if not self._planes or not 0 <= position < len(self._planes):
            return None
        # Show the choice at once: a key held down steps from the requested plane, not from the one still
        # loading (the window cancels that load and shows the last plane asked for).
        for widget in (self.combo, self.slider):
            widget.blockSignals(True)
        self.combo.setCurrentIndex(position)
        self.slider.setValue(position)
        for widget in (self.combo, self.slider):
            widget.blockSignals(False)
        self.planeChosen.emit(self._planes[position])
        return self._planes[position]

    def _slid(self, position: int) -> None:
        if 0 <= position < len(self._planes):
            self.planeChosen.emit(self._planes[position])
