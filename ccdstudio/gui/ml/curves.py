"""Live training curves: step loss (raw and smoothed), epoch training and validation loss against steps,
and validation metrics against epochs. Events are buffered and drawn at a steady rate, so a fast run
(hundreds of steps a second) costs the window no more than a slow one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

REDRAW_MS = 250
SMOOTHING = 0.9
"""Weight of the past in the exponential moving average of the step loss."""


class SmoothedLoss:
    """A bias-corrected exponential moving average, as TensorBoard draws it.

    A plain EMA started at zero (or at the first value) lags its input for about ``1 / (1 - beta)`` steps;
    dividing by the weight the average has gathered so far, ``1 - beta**n`` after ``n`` finite values,
    makes it the weighted mean of the values seen, so the curve tracks the losses from the first step.
    Non-finite values (a diverged step) are skipped.
    """

    def __init__(self, beta: float = SMOOTHING) -> None:
        self.beta = beta
        self._average = 0.0
        self._weight = 0.0  # 1 - beta**n, kept by the same recursion as the average so both round alike

    def add(self, value: float) -> float:
        """Take the next value; return the smoothed value at it (NaN until a finite value came)."""
        if np.isfinite(value):
            self._average = self.beta * self._average + (1 - self.beta) * value
            self._weight = self.beta * self._weight + (1 - self.beta)
        return self._average / self._weight if self._weight else float("nan")


class TrainingCurves(QWidget):
    """Two plots fed by training events (:mod:`ccdstudio.ml.train`): losses and validation metrics."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("#1e1e1e")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.loss_plot = self.view.addPlot(title="Loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.metric_plot = self.view.addPlot(title="Validation")
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.showGrid(x=True, y=True, alpha=0.2)
        self.metric_plot.setYRange(0, 1, padding=0.02)
        self.metric_plot.addLegend(offset=(10, 10))  # top left: metrics rise from the bottom
        self.step_curve = self.loss_plot.plot(pen=pg.mkPen((150, 150, 150, 90), width=1), name="step")
        self.smooth_curve = self.loss_plot.plot(pen=pg.mkPen((220, 220, 220), width=1.5), name="step (smoothed)")
        self.train_curve = self.loss_plot.plot(pen=pg.mkPen((255, 170, 0), width=2), symbol="o", symbolSize=6,
                                               symbolBrush=(255, 170, 0), name="train (epoch)")
        self.val_curve = self.loss_plot.plot(pen=pg.mkPen((40, 200, 255), width=2), symbol="s", symbolSize=6,
                                             symbolBrush=(40, 200, 255), name="validation")
        self.metric_curves = {
            "f1_macro": self.metric_plot.plot(pen=pg.mkPen((120, 220, 120), width=2), symbol="o", symbolSize=6,
                                              symbolBrush=(120, 220, 120), name="F1 (macro)"),
            "iou_mean": self.metric_plot.plot(pen=pg.mkPen((230, 120, 230), width=2), symbol="t", symbolSize=6,
                                              symbolBrush=(230, 120, 230), name="IoU (mean)"),
            "accuracy": self.metric_plot.plot(pen=pg.mkPen((200, 200, 200), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                              name="accuracy"),
        }
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._dirty = False
        self.clear()

    def clear(self) -> None:
        """Forget every point (a new run)."""
        self.steps: list[float] = []
        self.step_losses: list[float] = []
        self.smoothed: list[float] = []
        self._smoother = SmoothedLoss()
        self.epochs: list[dict[str, Any]] = []
        self._epoch_steps: list[float] = []
        self._dirty = True
        self.redraw()

    def add_event(self, event: Mapping[str, Any]) -> None:
        """Take one training event; the plots catch up at the next redraw."""
        kind = event.get("event")
        if kind == "step":
            loss = float(event["loss"])
            self.steps.append(len(self.steps) + 1.0)
            self.step_losses.append(loss)
            self.smoothed.append(self._smoother.add(loss))
        elif kind == "epoch":
            self.epochs.append(dict(event))
            self._epoch_steps.append(float(len(self.steps)))
        else:
            return
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        """Draw what arrived since the last redraw (called by the timer; tests call it directly)."""
        if not self._dirty:
            self._timer.stop()
            return
        self._dirty = False
        self.step_curve.setData(self.steps, self.step_losses)
        self.smooth_curve.setData(self.steps, self.smoothed)
        x = self._epoch_steps
        self.train_curve.setData(x, [e.get("loss", np.nan) for e in self.epochs])
        self.val_curve.setData(x, [e.get("val_loss", np.nan) for e in self.epochs])
        epochs = [float(e.get("epoch", i + 1)) for i, e in enumerate(self.epochs)]
        for key, curve in self.metric_curves.items():
            values = [e.get(key) for e in self.epochs]
            points = [(x_, float(v)) for x_, v in zip(epochs, values) if v is not None]
            curve.setData([p[0] for p in points], [p[1] for p in points])

    def point_counts(self) -> dict[str, int]:
        """How many points each curve shows (for tests and the log)."""
        counts = {"step": len(self.step_curve.getData()[0] if self.step_curve.getData()[0] is not None else []),
                  "train": len(self.train_curve.getData()[0] if self.train_curve.getData()[0] is not None else []),
                  "validation": len(self.val_curve.getData()[0] if self.val_curve.getData()[0] is not None else [])}
        for key, curve in self.metric_curves.items():
            data = curve.getData()[0]
            counts[key] = 0 if data is None else len(data)
        return counts
