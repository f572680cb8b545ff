"""The Predict dock: model picker and card, tiling/device/TTA options, the CCD's hot-pixel mask, Predict and
Cancel with progress and time, and the legend of the shown prediction (shown or not, per-class visibility,
pixel counts, opacity).

Everything that changes during or after a run keeps its size (the progress bar is always there, the
status lines have fixed heights, the legend scrolls): a widget that grows makes the main window lay out
and repaint all its docks, which costs the event loop a tenth of a second.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml.devices import DeviceProbe
from ccdstudio.gui.ml.model_picker import ModelPicker
from ccdstudio.gui.ml.prediction import PredictOptions
from ccdstudio.labels.classes import ClassSet


LEGEND_ROWS = 4
"""Legend rows in sight at once (background, glowing, hot_pixel, cluster)."""


def swatch(colour: tuple[int, int, int], size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


def _legend_check(name: str, colour: tuple[int, int, int]) -> QCheckBox:
    check = QCheckBox(name)
    check.setIcon(swatch(colour))
    check.setProperty("colour", colour)
    return check


def _legend_height(rows: int) -> int:
    """Pixels ``rows`` legend rows take unsqueezed, measured on a grid laid out as the legend is."""
    probe = QWidget()
    grid = QGridLayout(probe)
    grid.setContentsMargins(0, 0, 0, 0)
    for row in range(rows):
        grid.addWidget(_legend_check("background", (0, 0, 0)), row, 0)
        grid.addWidget(QLabel("0 px"), row, 1)
    return probe.sizeHint().height()


class PredictPanel(QWidget):
    """Collects the prediction options and shows a run's progress and the result's legend."""

    predictRequested = Signal()
    cancelRequested = Signal()
    classVisibilityChanged = Signal(int, bool)
    """``(class index, visible)``."""
    opacityChanged = Signal(float)
    shownChanged = Signal(bool)
    """Whether the prediction overlay is drawn at all."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = ModelPicker()
        card_box = QGroupBox("Model card")
        QVBoxLayout(card_box).addWidget(self.picker.card)
        self.picker.card.setMinimumHeight(120)

        self.tile = QSpinBox()
        self.tile.setRange(0, 8192)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("model's")
        self.tile.setSuffix(" px")
        self.tile.setToolTip("Tile side; smaller tiles need less memory (0: the tile stored in the model)")
        self.overlap = QDoubleSpinBox()
        self.overlap.setRange(-0.05, 0.9)
        self.overlap.setSingleStep(0.05)
        self.overlap.setValue(-0.05)
        self.overlap.setSpecialValueText("model's")
        self.overlap.setToolTip("Share of a tile overlapping its neighbours, blended so no seam shows")
        self.device = QComboBox()
        self.device.addItem("auto", "auto")
        self.device.addItem("CPU", "cpu")
        self.tta = QCheckBox("Average the four flips (TTA, 4x slower)")
        self.first_layer = QSpinBox()
        self.first_layer.setRange(-1, 10000)
        self.first_layer.setSpecialValueText("around the surface")
        self.first_layer.setValue(-1)
        self.first_layer.setToolTip("First layer read by a multi-layer (ink) model on a scroll segment")
        self.hot_mask_button = QPushButton("none")
        self.hot_mask_button.setToolTip(
            "The CCD's hot pixels: a mask image (nonzero = hot), e.g. the hot_mask.fits of `ccdstudio predict "
            "--hot-mask auto` over a series of its frames. Masked pixels become hot_pixel and the model's other "
            "hot_pixel calls cluster: one frame cannot tell a one- or two-pixel cluster from a hot pixel.")
        self.hot_mask_button.clicked.connect(self._choose_hot_mask)
        self.hot_mask_clear = QToolButton()
        self.hot_mask_clear.setIcon(icon("close"))
        self.hot_mask_clear.setToolTip("Predict without a hot-pixel mask")
        self.hot_mask_clear.clicked.connect(lambda: self.set_hot_mask(None))
        hot_mask_row = QHBoxLayout()
        hot_mask_row.addWidget(self.hot_mask_button, 1)
        hot_mask_row.addWidget(self.hot_mask_clear)
        self.hot_mask: Path | None = None
        self.set_hot_mask(None)
        model_row = QFormLayout()
        model_row.addRow("Model", self.picker)
        options_box = QGroupBox("Options")
        options = QFormLayout(options_box)
        tiling = QHBoxLayout()
        tiling.addWidget(self.tile, 1)
        tiling.addWidget(QLabel("Overlap"))
        tiling.addWidget(self.overlap, 1)
        options.addRow("Tile", tiling)
        options.addRow("Device", self.device)
        options.addRow("Hot pixels", hot_mask_row)
        options.addRow("Layers from", self.first_layer)
        options.addRow(self.tta)
        self._layer_label = options.labelForField(self.first_layer)
        self.set_layer_choice(False)

        self.predict_button = QPushButton(icon("brain"), "Predict")
        self.predict_button.setToolTip("Segment the shown image with the chosen model (Ctrl+R)")
        self.predict_button.clicked.connect(self.predictRequested)
        self.cancel_button = QPushButton(icon("close-circle-outline"), "Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.time_label = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_button, 1)
        buttons.addWidget(self.cancel_button)

        self.legend_box = QGroupBox("Prediction")
        legend_rows = QWidget()
        self._legend = QGridLayout(legend_rows)
        self._legend.setContentsMargins(0, 0, 0, 0)
        self._no_result = QLabel("No prediction yet.")
        self._legend.addWidget(self._no_result, 0, 0)
        legend_scroll = QScrollArea()
        legend_scroll.setWidget(legend_rows)
        legend_scroll.setWidgetResizable(True)
        legend_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        legend_scroll.setFixedHeight(_legend_height(LEGEND_ROWS))
        self.legend_scroll = legend_scroll
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100))
        self.shown = QCheckBox("Show")
        self.shown.setChecked(True)
        self.shown.setToolTip("Draw the prediction over the image (hidden once it is accepted as labels)")
        self.shown.toggled.connect(self.shownChanged)
        legend_layout = QVBoxLayout(self.legend_box)
        legend_layout.addWidget(legend_scroll)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.shown)
        legend_layout.addLayout(opacity_row)
        self.class_checks: list[QCheckBox] = []
        self.class_counts: list[QLabel] = []

        layout = QVBoxLayout(self)
        # what a run needs and shows first, the options (rarely changed) below: in a short dock the legend is
        # still in sight
        layout.addLayout(model_row)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.time_label)
        layout.addWidget(self.status)
        layout.addWidget(self.legend_box)
        layout.addWidget(options_box)
        layout.addWidget(card_box, 1)
        self.set_running(False)
        self._probe = DeviceProbe(self)
        self._probe.found.connect(self.set_devices)
        self._probe.start()

    # ------------------------------------------------------------------ options
    def options(self, model: Path) -> PredictOptions:
        """The options as set, for ``model``."""
        return PredictOptions(
            model=model,
            tile=self.tile.value() or None,
            overlap=None if self.overlap.value() < 0 else self.overlap.value(),
            device=self.device.currentData() or "auto",
            tta=self.tta.isChecked(),
            first_layer=None if self.first_layer.value() < 0 else self.first_layer.value(),
            hot_mask=self.hot_mask,
        )

    def set_hot_mask(self, path: Path | None) -> None:
        """Predict with the hot-pixel mask image ``path`` (None: without one)."""
        self.hot_mask = path
        self.hot_mask_button.setText(path.name if path else "none (choose a mask…)")
        self.hot_mask_clear.setEnabled(path is not None)

    def _choose_hot_mask(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Hot-pixel mask", str(self.hot_mask or ""),
                                              "Images (*.fits *.fit *.fts *.fits.gz *.tif *.tiff *.png *.npy);;"
                                              "All files (*)")
        if path:
            self.set_hot_mask(Path(path))

    def set_devices(self, choices: list[tuple[str, str]]) -> None:
        current = self.device.currentData()
        self.device.clear()
        for value, label in choices:
            self.device.addItem(label, value)
        index = self.device.findData(current)
        self.device.setCurrentIndex(max(index, 0))

    def set_layer_choice(self, shown: bool) -> None:
        """Show the layer option (a multi-layer model on a scroll segment) or hide it."""
        self.first_layer.setVisible(shown)
        if self._layer_label is not None:
            self._layer_label.setVisible(shown)

    # ------------------------------------------------------------------ running
    def set_running(self, running: bool) -> None:
        self.predict_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.time_label.setText("")  # the time so far, while running; once ended the status line says it
        self.progress.setRange(0, 0 if running else 1000)

    def show_progress(self, fraction: float, message: str, timing: str) -> None:
        if fraction >= 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message[:48] if message else "%p%")
        self.time_label.setText(timing)

    # ------------------------------------------------------------------ legend
    def show_legend(self, classes: ClassSet | None, pixels: dict[str, int] | None = None) -> None:
        """One row per class: check box (visibility) with its colour, and its pixel count and share.

        The rows are rebuilt only when the classes change; a new prediction by the same model updates
        the numbers (rebuilding widgets relayouts the whole dock column, which takes tens of ms).
        """
        self._no_result.setVisible(classes is None)
        for widget in self.class_checks + self.class_counts:
            widget.setVisible(classes is not None)
        if classes is None:
            return
        if [(c.text(), c.property("colour")) for c in self.class_checks] != [(c.name, c.color) for c in classes]:
            self._build_legend(classes)
        pixels = pixels or {}
        total = sum(pixels.values()) or 1
        for index, cls in enumerate(classes):
            count = pixels.get(cls.name, 0)
            self.class_counts[index].setText(f"{count:,} px  ({100 * count / total:.3g} %)")
            self.class_checks[index].setChecked(index != 0)

    def _build_legend(self, classes: ClassSet) -> None:
        for widget in self.class_checks + self.class_counts:
            self._legend.removeWidget(widget)
            widget.deleteLater()
        self.class_checks, self.class_counts = [], []
        for index, cls in enumerate(classes):
            check = _legend_check(cls.name, cls.color)
            check.setEnabled(index != 0)  # background is drawn transparent
            check.toggled.connect(lambda on, i=index: self.classVisibilityChanged.emit(i, on))
            number = QLabel("")
            number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._legend.addWidget(check, index + 1, 0)
            self._legend.addWidget(number, index + 1, 1)
            self.class_checks.append(check)
            self.class_counts.append(number)
