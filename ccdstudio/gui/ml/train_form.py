"""The Train panel's settings form: preset, training data, classes and remap, the network to start from
(new, or a model to fine-tune), model size and the training settings, device and processes per node, and
where the model is saved.

Until the user changes something, the form follows the open document (:meth:`TrainForm.follow_document`):
the Ink preset for a scroll segment (training on it when it has ink labels), CCD otherwise; and it starts
from the Predict model whenever that model's classes and input channels fit the data (the label, predict,
correct, retrain loop), from a new network otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
from ccdstudio.gui.ml.training import MODEL_SIZES, PRESETS, TrainSettings, init_fits

MODEL_NAME = "model"
"""Stem of the suggested model file name (``model.safetensors``, ``model-2.safetensors``, ...)."""

SOURCE_LABELS = {"project": "Labelled images of the project", "folder": "Folders of images, segments, tiles or crops",
                 "open-segment": "The open segment", "simulator": "Simulated CCD frames",
                 "segment-simulator": "Simulated segments"}
NEW_NETWORK, PREDICT_MODEL, BROWSE = "", "predict", "browse"
"""Item data of the "Start from" choices other than a browsed model file (whose data is its path)."""
FOLDER_SEPARATOR = ";"


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
        self.touched = False
        """Whether the user changed a setting; until then the form follows the open document."""
        self._quiet = 0
        self._open_segment: Path | None = None
        self._predict_model: Path | None = None
        self._browsed_model: Path | None = None
        self._init_chosen = False
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip("Sensible defaults for CCD frames or scroll ink")
        self.preset.activated.connect(lambda *_: self.apply_preset(self.preset.currentText()))
        self.source = QComboBox()
        for key, label in SOURCE_LABELS.items():
            self.source.addItem(label, key)
        self.source.model().item(self.source.findData("open-segment")).setEnabled(False)
        self.source.currentIndexChanged.connect(lambda *_: self._source_changed())
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("segments, exported tiles/crops, or images with <stem>_labels.* beside them")
        self.folder.setToolTip(f"Several folders: separate them with {FOLDER_SEPARATOR!r}; Browse adds one")
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
        self.init = QComboBox()
        self.init.setToolTip("Train a new network, or fine-tune a model (its architecture and normalisation "
                             "are kept): typically the one whose prediction you corrected")
        self.init.activated.connect(self._init_activated)
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
        form.addRow("Start from", self.init)
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
        self._rebuild_init()
        with self._quietly():
            self.apply(PRESETS["CCD"])
        self._watch_user_changes()
        self._probe = DeviceProbe(self)
        self._probe.found.connect(self.set_devices)
        self._probe.start()

    # ------------------------------------------------------------------ settings
    def settings(self) -> TrainSettings:
        folders = tuple(part.strip() for part in self.folder.text().split(FOLDER_SEPARATOR) if part.strip())
        return TrainSettings(
            source=self.source.currentData(), folders=folders,
            segment=str(self._open_segment) if self._open_segment is not None else "", init=self.init_path(),
            simulate_count=self.sim_count.value(), simulate_size=self.sim_size.value(),
            classes=self.classes.currentText().strip(), remap=self.remap.text().strip(), layers=self.layers.text().strip(),
            model_size=self.model_size.currentData(), epochs=self.epochs.value(), batch_size=self.batch.value(),
            crop=self.crop.value(), lr=self.lr.value(), val_split=self.val_split.value(),
            loss=self._loss, device=self.device.currentData() or "auto", seed=self.seed.value(),
            processes=self.processes.value(), out=self.out.text().strip(), extra=dict(self._extra),
        )

    def apply(self, settings: TrainSettings) -> None:
        """Show ``settings`` in the form (its ``segment`` is the open document's, not a setting)."""
        self.source.setCurrentIndex(max(self.source.findData(settings.source), 0))
        if settings.folders:
            self.folder.setText(f"{FOLDER_SEPARATOR} ".join(settings.folders))
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
        self._extra = dict(settings.extra)  # what the form has no field for (the recipe's post-processing)
        if settings.out:
            self.out.setText(settings.out)
        if settings.init:
            self._select_init(Path(settings.init))
        else:
            self.init.setCurrentIndex(self.init.findData(NEW_NETWORK))
        self._source_changed()

    def apply_preset(self, name: str) -> None:
        """The preset's settings, keeping the data folders and output the user chose, and training on the
        user's own data (the open segment for ink, the project's labels or folders) when there is some."""
        keep = self.settings()
        with self._quietly():
            self.apply(replace(PRESETS[name], folders=keep.folders, out=keep.out, init=keep.init,
                               source=self._preset_source(name, keep.source)))
            self.preset.setCurrentText(name)
            self._suggest_init()

    def _preset_source(self, name: str, current: str) -> str:
        if name == "Ink" and self._offered("open-segment"):
            return "open-segment"
        if current in ("folder", "project") and self._offered(current):
            return current
        if name == "CCD" and self._offered("project"):
            return "project"
        return PRESETS[name].source

    def _offered(self, source: str) -> bool:
        return self.source.model().item(self.source.findData(source)).isEnabled()

    def follow_document(self, preset: str | None, segment: Path | None) -> None:
        """The open document's defaults while the user changed nothing: ``preset`` (None: none opened), and
        ``segment``, the open scroll segment with ink labels (or None), offered as training data."""
        self._open_segment = Path(segment) if segment is not None else None
        index = self.source.findData("open-segment")
        self.source.model().item(index).setEnabled(segment is not None)
        self.source.setItemText(index, SOURCE_LABELS["open-segment"] + (f" ({self._open_segment.name})"
                                                                         if segment is not None else ""))
        if not self.touched and preset is not None:
            self.apply_preset(preset)
        elif segment is None and self.source.currentData() == "open-segment":
            with self._quietly():
                self.source.setCurrentIndex(self.source.findData(PRESETS[self.preset.currentText()].source))

    def set_project_available(self, available: bool) -> None:
        """Offer (or not) the project's labelled images as training data."""
        item = self.source.model().item(self.source.findData("project"))
        item.setEnabled(available)
        if available and self.source.currentData() == "simulator":
            with self._quietly():
                self.source.setCurrentIndex(self.source.findData("project"))

    # ------------------------------------------------------------------ start from
    def init_path(self) -> str:
        """The model file training starts from, or "" for a new network."""
        data = self.init.currentData()
        if data == PREDICT_MODEL:
            return str(self._predict_model) if self._predict_model is not None else ""
        return "" if data in (NEW_NETWORK, BROWSE, None) else str(data)

    def set_predict_model(self, path: Path | None) -> None:
        """The model the Predict panel uses (offered to start from, and chosen when it fits the data)."""
        self._predict_model = Path(path) if path is not None else None
        current = self.init.currentData()
        self._rebuild_init()
        self.init.setCurrentIndex(max(self.init.findData(current), 0))
        self._suggest_init()

    def _rebuild_init(self) -> None:
        self.init.blockSignals(True)
        self.init.clear()
        self.init.addItem(icon("creation-outline"), "New network", NEW_NETWORK)
        if self._predict_model is not None:
            self.init.addItem(icon("school-outline"), f"The Predict model ({self._predict_model.stem})", PREDICT_MODEL)
            self.init.setItemData(self.init.count() - 1, str(self._predict_model), 3)  # tooltip: the full path
        if self._browsed_model is not None and self._browsed_model != self._predict_model:
            self.init.addItem(icon("file-outline"), self._browsed_model.name, str(self._browsed_model))
            self.init.setItemData(self.init.count() - 1, str(self._browsed_model), 3)
        self.init.addItem(icon("folder-open-outline"), "Browse…", BROWSE)
        self.init.blockSignals(False)

    def _select_init(self, path: Path) -> None:
        """Choose ``path`` to start from (the Predict model's entry when it is that model)."""
        if path != self._predict_model:
            self._browsed_model = path
        self._rebuild_init()
        self.init.setCurrentIndex(self.init.findData(PREDICT_MODEL if path == self._predict_model else str(path)))
        self._init_changed()

    def _suggest_init(self) -> None:
        """Unless the user chose: start from the Predict model when it fits the data, else a new network."""
        if not self._init_chosen:
            fits = self._predict_model is not None and init_fits(self._predict_model, replace(self.settings(), init=""))
            self.init.setCurrentIndex(self.init.findData(PREDICT_MODEL if fits else NEW_NETWORK))
        self._init_changed()

    def _init_activated(self, index: int) -> None:
        if self.init.itemData(index) == BROWSE:
            start = str(self._predict_model.parent) if self._predict_model is not None else ""
            chosen, _ = QFileDialog.getOpenFileName(self, "Start training from the model", start, MODEL_FILTER)
            if not chosen:
                self.init.setCurrentIndex(self.init.findData(NEW_NETWORK))
                self._init_changed()
                return
            self._select_init(Path(chosen))
        self._init_chosen = True
        self._init_changed()

    def _init_changed(self) -> None:
        """A model to start from brings its architecture: the size is not chosen then."""
        fine_tuning = bool(self.init_path())
        self.model_size.setEnabled(not fine_tuning)
        self.model_size.setToolTip("The architecture comes from the model training starts from" if fine_tuning
                                   else "Depth and width of a new U-Net")
        self.changed.emit()

    # ------------------------------------------------------------------ user changes
    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Changes made by the program, not the user (they leave :attr:`touched` as it is)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _touch(self) -> None:
        if not self._quiet:
            self.touched = True

    def _watch_user_changes(self) -> None:
        for combo in (self.preset, self.source, self.model_size, self.device, self.init):
            combo.activated.connect(self._touch)
        self.classes.currentTextChanged.connect(self._touch)
        for line in (self.folder, self.remap, self.layers, self.out):
            line.textEdited.connect(self._touch)
        for spin in (self.sim_count, self.sim_size, self.epochs, self.batch, self.crop, self.lr, self.val_split,
                     self.seed, self.processes):
            spin.valueChanged.connect(self._touch)
        # what the data is decides whether the Predict model fits it
        self.classes.currentTextChanged.connect(lambda *_: self._suggest_init())
        self.layers.textChanged.connect(lambda *_: self._suggest_init())
        self.remap.textChanged.connect(lambda *_: self._suggest_init())

    def set_devices(self, choices: list[tuple[str, str]]) -> None:
        with self._quietly():
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
        """Add a folder to the training data folders."""
        folders = list(self.settings().folders)
        folder = QFileDialog.getExistingDirectory(self, "Add a training data folder", folders[-1] if folders else "")
        if folder and folder not in folders:
            self.folder.setText(f"{FOLDER_SEPARATOR} ".join([*folders, folder]))
            self._touch()

    def _source_changed(self) -> None:
        source = self.source.currentData()
        simulated = source in ("simulator", "segment-simulator")
        self.sim_count.setSuffix(" segments" if source == "segment-simulator" else " frames")
        for row, shown in ((self.folder_row, source == "folder"), (self.sim_row, simulated)):
            row.setVisible(shown)
            label = self._form.labelForField(row)
            if label is not None:
                label.setVisible(shown)
        self._suggest_init()
