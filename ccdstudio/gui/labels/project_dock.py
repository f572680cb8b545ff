"""The project dock: the images of the open project with their label statistics; double-click opens one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.labels.project import Project

ImageStats = dict[str, dict[str, float]]


class ProjectDock(QWidget):
    """Lists a project's images: name (``*`` while unsaved) and pixels per class (background left out)."""

    openRequested = Signal(str)
    addRequested = Signal()
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.title = QLabel("No project: File > New project… or Open project…")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, 1)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.cellDoubleClicked.connect(lambda row, _column: self._open_row(row))
        self.add_button = QPushButton(icon("image-plus"), "Add images…")
        self.remove_button = QPushButton(icon("image-remove"), "Remove")
        self.add_button.clicked.connect(lambda *_: self.addRequested.emit())
        self.remove_button.clicked.connect(lambda *_: self._remove_selected())
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.keys: list[str] = []
        self.show_project(None, {}, set(), None)

    def show_project(self, project: Project | None, live: dict[str, ImageStats], unsaved: set[str],
                     current: str | None) -> None:
        """List ``project``'s images; ``live`` overrides saved statistics for images open in memory."""
        self.project = project
        for button in (self.add_button, self.remove_button):
            button.setEnabled(project is not None)
        if project is None:
            self.title.setText("No project: File > New project… or Open project…")
            self.table.setRowCount(0)
            self.keys = []
            return
        self.title.setText(f"{project.folder.name}  ({len(project.images)} images)")
        classes = project.classes.names[1:]
        self.table.setColumnCount(1 + len(classes))
        self.table.setHorizontalHeaderLabels(["Image", *classes])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.keys = list(project.images)
        self.table.setRowCount(len(self.keys))
        for row, key in enumerate(self.keys):
            stats = live.get(key) or project.stats(key)
            name = QTableWidgetItem(("* " if key in unsaved else "") + key)
            name.setToolTip(str(project.image_path(key)))
            font = name.font()
            font.setBold(key == current)
            name.setFont(font)
            self.table.setItem(row, 0, name)
            for column, class_name in enumerate(classes, start=1):
                pixels = stats.get(class_name, {}).get("pixels")
                item = QTableWidgetItem("" if pixels is None else f"{int(pixels):,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)

    def _open_row(self, row: int) -> None:
        if 0 <= row < len(self.keys):
            self.openRequested.emit(self.keys[row])

    def _remove_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.keys):
            self.removeRequested.emit(self.keys[rows[0].row()])
