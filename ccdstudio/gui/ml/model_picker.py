"""Choosing a model: bundled models, recently used files and Browse…, with the chosen model's card.

Recent models and the last one used live in QSettings (``ml/recent_models``, ``ml/last_model``); the
default for a document is the bundled CCD model for FITS frames and the last-used model otherwise
(:func:`default_model`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QTextBrowser, QToolButton, QWidget

from ccdstudio.gui import settings
from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml.model_card import describe_model

MAX_RECENT = 8
MODEL_FILTER = "Model files (*.safetensors);;All files (*)"


def recent_models() -> list[Path]:
    """Model files used recently, most recent first (missing ones dropped)."""
    value = settings.settings().value("ml/recent_models", [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [Path(p) for p in paths if Path(p).is_file()]


def remember_model(path: Path) -> None:
    """Make ``path`` the last-used model and put it first in the recent list."""
    path = Path(path).resolve()
    paths = [str(path)] + [str(p) for p in recent_models() if p.resolve() != path]
    store = settings.settings()
    store.setValue("ml/recent_models", paths[:MAX_RECENT])
    store.setValue("ml/last_model", str(path))


def last_model() -> Path | None:
    value = settings.settings().value("ml/last_model", "")
    return Path(value) if value and Path(value).is_file() else None


def bundled() -> list[Path]:
    from ccdstudio.ml.modelfile import bundled_models

    return bundled_models()


def default_model(is_fits: bool) -> Path | None:
    """For FITS frames the last-used model if it is one for CCD frames (a model trained or fine-tuned here),
    else the bundled CCD model (when installed); for other images the last-used model; else any bundled one."""
    from ccdstudio.ml.modelfile import DEFAULT_MODEL

    models = bundled()
    # the named default, else the newest bundled CCD model (names sort by version: ccd-unet-v1, -v2, ...)
    ccd = next((p for p in models if p.stem == DEFAULT_MODEL), None) or next(
        (p for p in reversed(models) if p.stem.startswith("ccd")), None)
    last = last_model()
    if is_fits and ccd is not None and not (last is not None and _for_ccd_frames(last)):
        return ccd
    return last or ccd or (models[0] if models else None)


def _for_ccd_frames(path: Path) -> bool:
    """Whether the model at ``path`` normalises its input as CCD frames (False if it cannot be read)."""
    from ccdstudio.errors import CcdstudioError
    from ccdstudio.ml.modelfile import read_info

    try:
        return read_info(path).normalization.method == "ccd"
    except (CcdstudioError, OSError, ValueError):
        return False


class ModelPicker(QWidget):
    """A model combo box (bundled, recent, Browse…); :attr:`card` shows the chosen model's card wherever
    the owner puts it."""

    modelChanged = Signal(object)
    """The chosen model file (a Path), or None."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.browse_button = QToolButton()
        self.browse_button.setIcon(icon("folder-open-outline"))
        self.browse_button.setToolTip("Choose a model file…")
        self.browse_button.clicked.connect(self.browse)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.card.setMinimumHeight(90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.browse_button)
        self._path: Path | None = None
        self.chosen_by_user = False
        """Whether a model was picked (or trained) in this session; then opening files keeps it."""
        self.combo.activated.connect(self._activated)
        self.refresh()

    def path(self) -> Path | None:
        return self._path

    def refresh(self) -> None:
        """Rebuild the list: bundled models, recent files, Browse…; keep the current choice."""
        self.combo.blockSignals(True)
        self.combo.clear()
        seen: set[Path] = set()
        for path in bundled():
            self.combo.addItem(icon("package-variant-closed"), f"{path.stem} (bundled)", str(path))
            seen.add(path.resolve())
        for path in recent_models():
            if path.resolve() not in seen:
                self.combo.addItem(icon("history"), path.name, str(path))
                self.combo.setItemData(self.combo.count() - 1, str(path), 3)  # tooltip: the full path
                seen.add(path.resolve())
        if self._path is not None and self._path.resolve() not in seen:
            self.combo.addItem(icon("file-outline"), self._path.name, str(self._path))
        self.combo.addItem(icon("folder-open-outline"), "Browse…", "")
        self._select(self._path)
        self.combo.blockSignals(False)

    def set_path(self, path: Path | None, by_user: bool = True) -> None:
        """Choose ``path`` (remembered as the last-used model when ``by_user``)."""
        path = Path(path) if path is not None else None
        if by_user and path is not None:
            remember_model(path)
            self.chosen_by_user = True
        self._path = path
        self.refresh()
        self.card.setMarkdown(describe_model(path) if path is not None else
                              "No model yet: train one in the Train panel, or choose a model file (Browse…).")
        self.modelChanged.emit(path)

    def suggest(self, path: Path | None) -> None:
        """Choose ``path`` unless the user picked a model in this session."""
        if not self.chosen_by_user and path != self._path:
            self.set_path(path, by_user=False)

    def browse(self) -> None:
        start = str(self._path.parent) if self._path is not None else ""
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a model", start, MODEL_FILTER)
        if chosen:
            self.set_path(Path(chosen))
        else:
            self._select(self._path)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data:
            self.set_path(Path(data))
        else:
            self.browse()

    def _select(self, path: Path | None) -> None:
        for i in range(self.combo.count()):
            data = self.combo.itemData(i)
            if data and path is not None and Path(data).resolve() == path.resolve():
                self.combo.setCurrentIndex(i)
                return
        self.combo.setCurrentIndex(-1)
