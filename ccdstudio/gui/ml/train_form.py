"""The Train panel's settings form: preset, training data, classes and remap, model size and the training
settings, device and processes per node, and where the model is saved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ccdstudio.gui import settings as stored
from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml.devices import DeviceProbe
from ccdstudio.gui.ml.model_picker import MODEL_FILTER
from ccdstudio.gui.ml.training import MODEL_SIZES, PRESETS, TrainSettings

MODEL_NAME = "model"
"""Stem of the suggested model file name (``model.safetensors``, ``model-2.safetensors``, ...)."""

SOURCE_LABELS = {"project": "Labelled images of the project", "folder": "Folder of images, tiles or crops",
                 "simulator": "Simulated CCD frames"}


def _spin(low: int, high: int, step: int = 1, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    return spin


def _double(low: float, high: float, step: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    return spin


def unused_model_path(folder: Path) -> Path:
    """``folder/model.safetensors``, or the first ``model-N.safetensors`` not there yet (models trained
    one after another in a project keep each other)."""
    path, number = folder / f"{MODEL_NAME}.safetensors", 1
    while path.exists():
        number += 1
        path = folder / f"{MODEL_NAME}-{number}.safetensors"
    return path


def _with_button(field: QWidget, button: QToolButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    layout.addWidget(button)
    return row


class TrainForm(QWidget):
    """Edits a :class:`~ccdstudio.gui.ml.training.TrainSettings`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip("Sensible defaults for CCD frames or scroll ink")
        self.preset.activated.connect(lambda *_: self.apply_preset(self.preset.currentText()))
        self.source = QComboBox()
        for key, label in SOURCE_LABELS.items():
            self.source.addItem(label, key)
        self.source.currentIndexChanged.connect(lambda *_: self._source_changed())
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("exported tiles/crops, or images with <stem>_labels.* beside them")
        browse = QToolButton()
        browse.setIcon(icon("folder-open-outline"))
        browse.clicked.connect(self._browse_folder)
        self.folder_row = _with_button(self.folder, browse)
        self.sim_count = _spin(1, 1000, suffix=" frames")
        self.sim_size = _spin(64, 8192, 64, " px")
        self.sim_row = QWidget()
        sim_layout = QHBoxLayout(self.sim_row)
        sim_layout.setContentsMargins(0, 0, 0, 0)
        sim_layout.addWidget(self.sim_count)
        sim_layout.addWidget(self.sim_size)
        self.classes = QComboBox()
        self.classes.setEditable(True)
        self.classes.addItems(["ccd", "ink", ""])
        self.classes.setToolTip("A preset (ccd, ink), names in index order (a,b,c), or empty for the labels' own")
        self.remap = QLineEdit()
        self.remap.setPlaceholderText("e.g. muon:cluster, electron:cluster")
        self.remap.setToolTip("Merge classes before training (FROM:TO pairs by name or index)")
        self.layers = QLineEdit()
        self.layers.setPlaceholderText("one plane; 24-39; or 16 around the surface")
        self.model_size = QComboBox()
        for name, arch in MODEL_SIZES.items():
            self.model_size.addItem(f"{name} (depth {arch['depth']}, width {arch['base']})", name)
        self.epochs = _spin(1, 10000)
        self.batch = _spin(1, 1024)
        self.crop = _spin(16, 4096, 16, " px")
        self.lr = _double(1e-6, 1.0, 1e-4, 5)
        self.val_split = _double(0.0, 0.9, 0.05, 2)
        self.device = QComboBox()
        self.device.addItem("auto", "auto")
        self.device.addItem("CPU", "cpu")
        self.seed = _spin(0, 2**31 - 1)
        self.processes = _spin(1, 1)
        self.processes.setToolTip("Processes per node for multi-GPU training (torchrun); needs 2 or more CUDA GPUs")
        self.processes.setEnabled(False)
        self.out = QLineEdit()
        self.out.setPlaceholderText("where the best model is saved")
        save_as = QToolButton()
        save_as.setIcon(icon("content-save-outline"))
        save_as.setToolTip("Choose the model file…")
        save_as.clicked.connect(self.choose_output)

        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Training data", self.source)
        form.addRow("Folder", self.folder_row)
        form.addRow("Simulate", self.sim_row)
        form.addRow("Classes", self.classes)
        form.addRow("Remap", self.remap)
        form.addRow("Layers", self.layers)
        form.addRow("Model size", self.model_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch", self.batch)
        form.addRow("Crop", self.crop)
        form.addRow("Learning rate", self.lr)
        form.addRow("Validation", self.val_split)
        form.addRow("Device", self.device)
        form.addRow("Processes/node", self.processes)
        form.addRow("Seed", self.seed)
        form.addRow("Save model as", _with_button(self.out, save_as))
        self._form = form
        self._output_folder: Path | None = None
        self.apply(PRESETS["CCD"])
        self._probe = DeviceProbe(self)
        self._probe.found.connect(self.set_devices)
        self._probe.start()

    # ------------------------------------------------------------------ settings
    def settings(self) -> TrainSettings:
        folder = self.folder.text().strip()
        return TrainSettings(
            source=self.source.currentData(), folders=(folder,) if folder else (),
            simulate_count=self.sim_count.value(), simulate_size=self.sim_size.value(),
            classes=self.classes.currentText().strip(), remap=self.remap.text().strip(), layers=self.layers.text().strip(),
            model_size=self.model_size.currentData(), epochs=self.epochs.value(), batch_size=self.batch.value(),
            crop=self.crop.value(), lr=self.lr.value(), val_split=self.val_split.value(),
            loss=self._loss, device=self.device.currentData() or "auto", seed=self.seed.value(),
            processes=self.processes.value(), out=self.out.text().strip(),
        )

    def apply(self, settings: TrainSettings) -> None:
        """Show ``settings`` in the form."""
        self.source.setCurrentIndex(max(self.source.findData(settings.source), 0))
        if settings.folders:
            self.folder.setText(settings.folders[0])
        self.sim_count.setValue(settings.simulate_count)
        self.sim_size.setValue(settings.simulate_size)
        self.classes.setCurrentText(settings.classes)
        self.remap.setText(settings.remap)
        self.layers.setText(settings.layers)
        self.model_size.setCurrentIndex(max(self.model_size.findData(settings.model_size), 0))
        self.epochs.setValue(settings.epochs)
        self.batch.setValue(settings.batch_size)
        self.crop.setValue(settings.crop)
        self.lr.setValue(settings.lr)
        self.val_split.setValue(settings.val_split)
        self.seed.setValue(settings.seed)
        self._loss = settings.loss
        if settings.out:
            self.out.setText(settings.out)
        self._source_changed()

    def apply_preset(self, name: str) -> None:
        """The preset's settings, keeping the data folder and output the user chose."""
        keep = self.settings()
        self.apply(replace(PRESETS[name], folders=keep.folders, out=keep.out,
                           source=keep.source if keep.source != "simulator" or name == "CCD" else PRESETS[name].source))
        self.preset.setCurrentText(name)

    def set_project_available(self, available: bool) -> None:
        """Offer (or not) the project's labelled images as training data."""
        item = self.source.model().item(self.source.findData("project"))
        item.setEnabled(available)
        if available and self.source.currentData() == "simulator":
            self.source.setCurrentIndex(self.source.findData("project"))

    def set_devices(self, choices: list[tuple[str, str]]) -> None:
        current = self.device.currentData()
        self.device.clear()
        for value, label in choices:
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(self.device.findData(current), 0))
        gpus = sum(value.startswith("cuda:") for value, _ in choices)
        self.processes.setMaximum(max(gpus, 1))
        self.processes.setEnabled(gpus > 1)

    def set_output_folder(self, folder: Path | None) -> None:
        """Where "Save the trained model as" starts while no file is chosen: the open project's ``models``
        folder (made when the dialog opens) or the open image's; None: the last folder used."""
        self._output_folder = Path(folder) if folder is not None else None

    def output_start(self) -> Path:
        """The file the save dialog suggests: the chosen one, else a new name in the output folder, else in
        the last folder a model was saved to, else in the home folder."""
        if self.out.text().strip():
            return Path(self.out.text().strip())
        folder = self._output_folder
        if folder is not None and not folder.is_dir():
            try:  # a project's models folder is made when first used: the dialog opens existing folders only
                folder.mkdir()
            except OSError:
                folder = None
        if folder is None or not folder.is_dir():
            last = Path(stored.settings().value("ml/model_folder", "") or Path.home())
            folder = last if last.is_dir() else Path.home()
        return unused_model_path(folder)

    def choose_output(self) -> bool:
        """Ask where the model goes; False if the user cancelled."""
        path, _ = QFileDialog.getSaveFileName(self, "Save the trained model as", str(self.output_start()),
                                              MODEL_FILTER)
        if not path:
            return False
        if not path.endswith(".safetensors"):
            path += ".safetensors"
        self.out.setText(path)
        stored.settings().setValue("ml/model_folder", str(Path(path).parent))
        return True

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training data folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _source_changed(self) -> None:
        source = self.source.currentData()
        for row, shown in ((self.folder_row, source == "folder"), (self.sim_row, source == "simulator")):
            row.setVisible(shown)
            label = self._form.labelForField(row)
            if label is not None:
                label.setVisible(shown)
        self.changed.emit()
