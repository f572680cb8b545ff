"""The class dock: the class set of the labels being edited, pixels per class, and how the layer is drawn.

Add, rename, recolour, reorder and merge are undo steps of the session (a reorder or merge remaps the
pixels, and undo switches the class set back with them); in a project each is recorded as a remap of the
project's classes (see :mod:`ccdstudio.labels.project`). Per-class visibility, "only the selected class",
contours and opacity change only the drawing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.labels import prompts
from ccdstudio.gui.labels.session import LabelSession
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.remap import Remap

_VISIBLE, _NAME, _PIXELS, _SHARE = range(4)


def reorder_remap(classes: ClassSet, index: int, delta: int) -> Remap | None:
    """The remap that moves class ``index`` by ``delta`` places (background stays first); None if it can't."""
    target = index + delta
    if index < 1 or not 1 <= target < len(classes):
        return None
    order = list(range(len(classes)))
    order.insert(target, order.pop(index))
    table = [order.index(i) for i in range(len(classes))]
    return Remap(classes, ClassSet(classes[i] for i in order), tuple(table))


def _swatch(colour: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


class ClassDock(QWidget):
    """Lists the classes of :attr:`session`; the selected row is the class the tools paint."""

    selectedChanged = Signal(int)
    drawingChanged = Signal()
    """Visibility, "only selected", contour or opacity changed (read :meth:`hidden`, ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: LabelSession | None = None
        self._hidden: set[str] = set()  # by name, so hiding survives reorders and undo
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", "Class", "Pixels", "%"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(_NAME, QHeaderView.ResizeMode.Stretch)
        for column in (_VISIBLE, _PIXELS, _SHARE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(lambda row, column: self.rename(row) if column == _NAME else None)

        # one row of icon buttons (their names as tooltips) and drawing options: the class table, which shares
        # a short stack with the pixel table, keeps the height for its rows
        buttons = QHBoxLayout()
        self.buttons = {}
        for key, text, icon_name, slot in (
            ("add", "Add a class", "plus", self.add),
            ("rename", "Rename the class (or double-click its name)", "rename-box",
             lambda: self.rename(self.selected())),
            ("colour", "Colour…", "palette-outline", lambda: self.recolour(self.selected())),
            ("up", "Move up", "arrow-up", lambda: self.move(self.selected(), -1)),
            ("down", "Move down", "arrow-down", lambda: self.move(self.selected(), 1)),
            ("merge", "Merge into another class…", "call-merge", lambda: self.merge(self.selected())),
        ):
            button = QToolButton()
            button.setIcon(icon(icon_name))
            button.setToolTip(text)
            button.setAutoRaise(True)
            button.clicked.connect(lambda *_, s=slot: s())
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addSpacing(8)

        self.only_selected = QCheckBox("Only the selected class")
        self.contour = QCheckBox("Contours")
        self.contour.setToolTip("Draw only the outlines of the labelled regions")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        for widget in (self.only_selected, self.contour):
            widget.toggled.connect(lambda *_: self.drawingChanged.emit())
        self.opacity.valueChanged.connect(lambda *_: self.drawingChanged.emit())
        self.only_selected.setText("Only selected")
        self.only_selected.setToolTip("Draw only the selected class")
        for widget in (self.only_selected, self.contour, QLabel("Opacity")):
            buttons.addWidget(widget)
        buttons.addWidget(self.opacity, 1)
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 4 * rows + 4)  # 4 classes

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self._counts_timer = QTimer(self, singleShot=True, interval=250)  # not once per mouse move
        self._counts_timer.timeout.connect(self._show_counts)
        self._enable()

    # ------------------------------------------------------------------ session
    def set_session(self, session: LabelSession | None) -> None:
        if self.session is not None:
            self.session.classesChanged.disconnect(self._classes_changed)
            self.session.pixelsChanged.disconnect(self._pixels_changed)
        self.session = session
        if session is not None:
            session.classesChanged.connect(self._classes_changed)
            session.pixelsChanged.connect(self._pixels_changed)
        self._fill(1 if session is not None and len(session.classes) > 1 else 0)

    def _classes_changed(self) -> None:
        self._fill(self.selected())

    def _pixels_changed(self, _box) -> None:
        self._counts_timer.start()

    def _fill(self, select: int) -> None:
        self.table.blockSignals(True)
        classes = self.session.classes if self.session is not None else []
        self.table.setRowCount(len(classes))
        for row, label_class in enumerate(classes):
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            check.setCheckState(Qt.CheckState.Unchecked if label_class.name in self._hidden else Qt.CheckState.Checked)
            check.setToolTip("Show this class")
            self.table.setItem(row, _VISIBLE, check)
            name = QTableWidgetItem(_swatch(label_class.color), f"{row}  {label_class.name}")
            self.table.setItem(row, _NAME, name)
            for column in (_PIXELS, _SHARE):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)
        if len(classes):
            self.select(min(max(select, 0), len(classes) - 1))
        self._show_counts()
        self._enable()
        self.drawingChanged.emit()

    def _show_counts(self) -> None:
        if self.session is None:
            return
        counts = self.session.class_counts()
        total = max(sum(counts), 1)
        self.table.blockSignals(True)
        for row, count in enumerate(counts[: self.table.rowCount()]):
            self.table.item(row, _PIXELS).setText(f"{count:,}")
            self.table.item(row, _SHARE).setText(f"{100 * count / total:.3g}")
        self.table.blockSignals(False)

    def counts_shown(self) -> list[int]:
        """The pixel counts the table shows (tests)."""
        self._show_counts()
        return [int(self.table.item(r, _PIXELS).text().replace(",", "")) for r in range(self.table.rowCount())]

    # ------------------------------------------------------------------ selection and drawing
    def selected(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else 0

    def select(self, index: int) -> None:
        if 0 <= index < self.table.rowCount():
            self.table.selectRow(index)

    def _selection_changed(self) -> None:
        self._enable()
        self.selectedChanged.emit(self.selected())
        if self.only_selected.isChecked():
            self.drawingChanged.emit()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != _VISIBLE or self.session is None:
            return
        name = self.session.classes[item.row()].name
        if item.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(name)
        else:
            self._hidden.add(name)
        self.drawingChanged.emit()

    def set_class_visible(self, index: int, visible: bool) -> None:
        self.table.item(index, _VISIBLE).setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def hidden(self) -> set[int]:
        """Indices of the classes not drawn."""
        if self.session is None:
            return set()
        return {i for i, name in enumerate(self.session.classes.names) if name in self._hidden}

    def _enable(self) -> None:
        has = self.session is not None
        index = self.selected()
        count = len(self.session.classes) if has else 0
        self.buttons["add"].setEnabled(has and count < 256)
        for key in ("rename", "colour"):
            self.buttons[key].setEnabled(has)
        self.buttons["up"].setEnabled(has and index > 1)
        self.buttons["down"].setEnabled(has and 0 < index < count - 1)
        self.buttons["merge"].setEnabled(has and index > 0)

    # ------------------------------------------------------------------ editing the class set
    def add(self) -> None:
        session = self.session
        if session is None:
            return
        name = prompts.ask_text(self, "Add class", "Name of the new class:", f"class {len(session.classes)}")
        if name is None or name in session.classes.names:
            return
        session.relabel(session.classes.added(name), f"add class {name}")
        self.select(len(session.classes) - 1)

    def rename(self, index: int) -> None:
        session = self.session
        if session is None:
            return
        old = session.classes[index].name
        name = prompts.ask_text(self, "Rename class", f"New name for {old!r}:", old)
        if name is None or name == old or name in session.classes.names:
            return
        if old in self._hidden:
            self._hidden.discard(old)
            self._hidden.add(name)
        session.relabel(session.classes.renamed(index, name), f"rename {old} to {name}")

    def recolour(self, index: int) -> None:
        session = self.session
        if session is None:
            return
        label_class = session.classes[index]
        colour = prompts.ask_colour(self, f"Colour of {label_class.name}", label_class.color)
        if colour is not None and tuple(colour) != label_class.color:
            session.relabel(session.classes.recolored(index, colour), f"recolour {label_class.name}")

    def move(self, index: int, delta: int) -> None:
        session = self.session
        remap = reorder_remap(session.classes, index, delta) if session is not None else None
        if remap is None:
            return
        session.apply_remap(remap, f"move {session.classes[index].name}")
        self.select(index + delta)

    def merge(self, index: int) -> None:
        """Fold class ``index`` into another (its pixels take that class; it leaves the set)."""
        session = self.session
        if session is None or index < 1:
            return
        names = session.classes.names
        others = [n for i, n in enumerate(names) if i != index]
        choice = prompts.ask_choice(self, "Merge class", f"Merge {names[index]!r} into:", others)
        if choice is None:
            return
        self.apply_remap(Remap.merge(session.classes, {index: others[choice]}))

    def apply_remap(self, remap: Remap) -> None:
        """Remap the session's labels and switch its classes, as one undo step."""
        session = self.session
        if session is None:
            return
        session.apply_remap(remap, "; ".join(remap.describe()) or "remap classes")
