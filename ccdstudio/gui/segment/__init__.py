"""The Segment dock's widgets and the Qt-free jobs behind them (see :mod:`ccdstudio.gui.features.segment`)."""
