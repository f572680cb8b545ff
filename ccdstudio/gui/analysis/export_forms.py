"""The four tabs of the Export dialog (tiles, crops, boxes, cut-outs), with the CLI's options.

Every form lists its widgets in ``fields`` under the option's name; :func:`save_fields` and
:func:`restore_fields` remember them in QSettings under ``export/<tab>/<option>``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ccdstudio.errors import CcdstudioError
from ccdstudio.export.boxes import BoxLimits
from ccdstudio.export.crops import CropOptions
from ccdstudio.labels.classes import ClassSet

ANY = "(any class)"


def _spin(low: int, high: int, value: int, special: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    if special:
        spin.setSpecialValueText(special)  # shown at the minimum, which then means "no limit"
    return spin


def _double(low: float, high: float, value: float, step: float = 0.05, special: str = "") -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    if special:
        spin.setSpecialValueText(special)
    return spin


def parse_layers(text: str) -> tuple[int, int] | None:
    """``"15-50"`` or ``"7"`` (0-based, inclusive); empty for all layers."""
    text = text.strip()
    if not text:
        return None
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise CcdstudioError(f"layers: expected a range like 15-50 (or nothing for all), not {text!r}") from None
    if high < low:
        raise CcdstudioError(f"layers: the range {text} ends before it starts")
    return low, high


def parse_size(text: str) -> tuple[int, int]:
    """``"1028"`` or ``"512x1024"`` (height x width), as the CLI takes it."""
    try:
        parts = [int(p) for p in text.lower().replace(" ", "").split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise CcdstudioError(f"size: expected a side like 1028 or HxW like 512x1024, not {text!r}")
    return parts[0], parts[-1]


class ClassCombo(QComboBox):
    """A class chooser over a class set (background left out), optionally with an "any class" entry."""

    def __init__(self, none_text: str = "") -> None:
        super().__init__()
        self._none_text = none_text
        self.set_classes(ClassSet.preset("ccd"))

    def set_classes(self, classes: ClassSet) -> None:
        current = self.currentText()
        self.clear()
        if self._none_text:
            self.addItem(self._none_text, None)
        for index, label_class in enumerate(classes):
            if index:
                self.addItem(f"{label_class.name}", index)
        if self.findText(current) >= 0:
            self.setCurrentText(current)

    def index(self) -> int | None:
        return self.currentData()


class ExportForm(QWidget):
    """A tab: ``fields`` maps option names to widgets; subclasses turn them into request values."""

    kind = ""

    def __init__(self) -> None:
        super().__init__()
        self.form = QFormLayout(self)
        self.fields: dict[str, QWidget] = {}

    def _add(self, name: str, label: str, widget: QWidget, tip: str = "") -> QWidget:
        self.fields[name] = widget
        widget.setToolTip(tip)
        self.form.addRow(label, widget)
        return widget

    def set_classes(self, classes: ClassSet) -> None:
        for widget in self.fields.values():
            if isinstance(widget, ClassCombo):
                widget.set_classes(classes)

    def values(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~ccdstudio.gui.analysis.export_plan.ExportRequest` (raises on bad input)."""
        raise NotImplementedError


class TilesForm(ExportForm):
    kind = "tiles"

    def __init__(self) -> None:
        super().__init__()
        self._add("size", "Tile size", _spin(1, 100000, 256), "Side of the square tiles, in pixels")
        self._add("pad", "", QCheckBox("Pad the last tiles (instead of overlapping them)"))
        self._add("skip", "Only tiles with", ClassCombo("(write every tile)"),
                  "Write only the tiles holding at least one pixel of this class")

    def values(self) -> dict[str, Any]:
        return {"tile_size": self.fields["size"].value(), "pad_tiles": self.fields["pad"].isChecked(),
                "skip_without": self.fields["skip"].index()}


class CropsForm(ExportForm):
    kind = "crops"

    def __init__(self) -> None:
        super().__init__()
        self._add("size", "Window", QLineEdit("256"), "Side, or HxW such as 512x1024")
        self._add("count", "Count", _spin(1, 1000000, 10), "Samples to write")
        self._add("min_fraction", "Min. fraction", _double(0.0, 0.99, 0.0),
                  "Keep windows with more than this share of the class (0.15 = 15%)")
        self._add("cls", "Class", ClassCombo(ANY))
        self._add("flip", "Flip probability", _double(0.0, 1.0, 0.0))
        self._add("rot90", "Rot90 probability", _double(0.0, 1.0, 0.0))
        self._add("stitch", "", QCheckBox("Stitch windows side by side in pairs"))
        self._add("max_attempts", "Max. attempts", _spin(0, 10**9, 0, "default"),
                  "Candidate windows tried before giving up")

    def values(self) -> dict[str, Any]:
        f = self.fields
        attempts = f["max_attempts"].value()
        options = CropOptions(size=parse_size(f["size"].text()), count=f["count"].value(),
                              min_fraction=f["min_fraction"].value(), cls=f["cls"].index(), flip=f["flip"].value(),
                              rot90=f["rot90"].value(), stitch=f["stitch"].isChecked(),
                              max_attempts=attempts or None)
        return {"crop": options}


class BoxesForm(ExportForm):
    kind = "boxes"

    def __init__(self) -> None:
        super().__init__()
        self._add("cls", "Class", ClassCombo("(every class)"))
        self._add("min_area", "Min. area", _spin(1, 10**9, 1), "Smallest region, in pixels")
        self._add("max_area", "Max. area", _spin(0, 10**9, 0, "none"), "Largest region, in pixels")
        self._add("min_solidity", "Min. solidity", _double(0.0, 1.0, 0.0), "Area over convex hull area (0-1)")
        self._add("max_aspect", "Max. aspect", _double(0.0, 1e6, 0.0, 0.5, "none"), "Long side over short side")
        connectivity = QComboBox()
        connectivity.addItems(["8", "4"])
        self._add("connectivity", "Connectivity", connectivity)
        self._extra()

    def _extra(self) -> None:
        segmentation = QComboBox()
        segmentation.addItems(["polygon", "rle"])
        self._add("segmentation", "COCO segmentation", segmentation)

    def values(self) -> dict[str, Any]:
        f = self.fields
        cls = f["cls"].index()
        limits = BoxLimits(min_area=f["min_area"].value(), max_area=f["max_area"].value() or None,
                           min_solidity=f["min_solidity"].value(), max_aspect=f["max_aspect"].value() or None,
                           connectivity=int(f["connectivity"].currentText()))
        extra = {"pad": f["pad"].value()} if "pad" in f else {"segmentation": f["segmentation"].currentText()}
        return {"box_classes": None if cls is None else [cls], "limits": limits, **extra}


class CutoutsForm(BoxesForm):
    kind = "cutouts"

    def _extra(self) -> None:
        self._add("pad", "Padding", _spin(0, 100000, 0), "Pixels added around each box")


def save_fields(store: QSettings, prefix: str, fields: dict[str, QWidget]) -> None:
    for name, widget in fields.items():
        key = f"{prefix}/{name}"
        if isinstance(widget, QCheckBox):
            store.setValue(key, widget.isChecked())
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            store.setValue(key, widget.value())
        elif isinstance(widget, QComboBox):
            store.setValue(key, widget.currentText())
        elif isinstance(widget, QLineEdit):
            store.setValue(key, widget.text())


def restore_fields(store: QSettings, prefix: str, fields: dict[str, QWidget]) -> None:
    for name, widget in fields.items():
        value = store.value(f"{prefix}/{name}")
        if value is None:
            continue
        if isinstance(widget, QCheckBox):
            widget.setChecked(str(value).lower() in ("true", "1"))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(float(value)))
        elif isinstance(widget, QDoubleSpinBox):
            widget.setValue(float(value))
        elif isinstance(widget, QComboBox):
            if widget.findText(str(value)) >= 0:
                widget.setCurrentText(str(value))
        elif isinstance(widget, QLineEdit):
            widget.setText(str(value))
