"""The validation report view: table rows from the report, and confusion-matrix cells that say as much as
their size on screen allows."""

import numpy as np
from PySide6.QtWidgets import QApplication

from ccdstudio.gui.ml.report_view import ReportView


def test_cells_show_count_and_share_when_there_is_room(qtbot):
    view = ReportView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    confusion = np.array([[90, 10], [5, 15]])
    report = {"a": {"precision": 0.9474, "recall": 0.9, "f1-score": 0.9231, "iou": 0.857, "support": 100},
              "b": {"precision": 0.6, "recall": 0.75, "f1-score": 0.6667, "iou": 0.5, "support": 20},
              "accuracy": 0.875}
    view.show_report(report, ["a", "b"], confusion, "title")
    QApplication.processEvents()
    assert view.table.rowCount() == 3 and view.table.item(1, 4).text() == "20"
    # shares are per true class (rows): 90/100, 10/100, 5/20, 15/20
    assert [t.toPlainText() for t in view._texts] == ["90\n90.0%", "10\n10.0%", "5\n25.0%", "15\n75.0%"]
    view.resize(900, 90)  # a squeezed dock: no overlapping text
    QApplication.processEvents()
    assert all("\n" not in t.toPlainText() for t in view._texts)
