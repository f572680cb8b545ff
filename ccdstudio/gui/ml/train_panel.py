"""The Train dock: the settings form, Start / Pause-Resume / Stop with epoch progress and time left, and tabs
with the live curves, the log and the validation report."""

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
PAUSE_TIP = "Hold the training after the current step, keeping its state; click again to go on"
NO_PAUSE_TIP = ("A multi-process (torchrun) run cannot be paused: its processes would time out waiting for each "
                "other. Stop keeps the best model.")


class TrainPanel(QWidget):
    """What the Train feature shows; it emits Start/Stop and is told what happens."""

    startRequested = Signal()
    pauseRequested = Signal(bool)
    """True: hold the run after its current step; False: go on."""
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
        self.pause_button = QPushButton(icon("pause-circle-outline"), "Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
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
        buttons.addWidget(self.pause_button)
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

    def set_running(self, running: bool, pausable: bool = True) -> None:
        """Enable the buttons for a run (``pausable``: whether it can be paused) or for none."""
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        self.set_paused(False)
        self.pause_button.setEnabled(running and pausable)
        self.pause_button.setToolTip(PAUSE_TIP if pausable else NO_PAUSE_TIP)

    def set_paused(self, paused: bool) -> None:
        """Show the Pause button as pressed ("Resume") or not, without asking for anything."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self._show_pause_state(paused)

    def _pause_toggled(self, paused: bool) -> None:
        self._show_pause_state(paused)
        self.pauseRequested.emit(paused)

    def _show_pause_state(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play-circle-outline" if paused else "pause-circle-outline"))

    def show_progress(self, fraction: float | None, message: str, timing: str) -> None:
        if fraction is not None and fraction >= 0:
            self.progress.setValue(int(fraction * 1000))
        if message:
            self.progress.setFormat(message[:60])
        self.time_label.setText(timing)

    def add_log(self, line: str) -> None:
        self.log.appendPlainText(line)
