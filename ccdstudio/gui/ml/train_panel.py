"""The Train dock: the settings form, Start/Stop with epoch progress and time left, and tabs with the live
curves, the log and the validation report."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ccdstudio.gui.icons import icon
from ccdstudio.gui.ml.curves import TrainingCurves
from ccdstudio.gui.ml.report_view import ReportView
from ccdstudio.gui.ml.train_form import TrainForm

MAX_LOG_LINES = 5000


class TrainPanel(QWidget):
    """What the Train feature shows; it emits Start/Stop and is told what happens."""

    startRequested = Signal()
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = TrainForm()
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        self.start_button = QPushButton(icon("play-circle-outline"), "Start training")
        self.start_button.clicked.connect(self.startRequested)
        self.stop_button = QPushButton(icon("stop-circle-outline"), "Stop")
        self.stop_button.setToolTip("End the training now; the best model so far is kept")
        self.stop_button.clicked.connect(self.stopRequested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setTextVisible(True)
        self.time_label = QLabel("")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.time_label)

        self.curves = TrainingCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setStyleSheet("font-family: monospace")
        self.report = ReportView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, icon("chart-line"), "Curves")
        self.tabs.addTab(self.log, icon("text-box-outline"), "Log")
        self.tabs.addTab(self.report, icon("table-check"), "Report")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)

    def show_progress(self, fraction: float | None, message: str, timing: str) -> None:
        if fraction is not None and fraction >= 0:
            self.progress.setValue(int(fraction * 1000))
        if message:
            self.progress.setFormat(message[:60])
        self.time_label.setText(timing)

    def add_log(self, line: str) -> None:
        self.log.appendPlainText(line)
