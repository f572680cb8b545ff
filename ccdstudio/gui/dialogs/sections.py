"""Setting the data and bias sections by hand, as FITS sections ``[x1:x2,y1:y2]`` (1-based, inclusive)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ccdstudio.errors import FormatError
from ccdstudio.gui.document import Sections
from ccdstudio.io.ccd import format_section, parse_section


def parse_sections(data: str, bias: str) -> Sections:
    """Sections from the dialog's text: one data section (or empty) and bias sections separated by ``;``."""
    data_window = parse_section(data) if data.strip() else None
    bias_windows = tuple(parse_section(part) for part in bias.split(";") if part.strip())
    return Sections(data_window, bias_windows, from_header=False)


class SectionsDialog(QDialog):
    """Edit the data section (DATASEC) and the bias sections (overscan, prescan) of the shown plane."""

    def __init__(self, sections: Sections, shape: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Data and bias sections")
        self.data = QLineEdit(format_section(sections.data) if sections.data else "")
        self.data.setPlaceholderText(f"[1:{shape[1]},1:{shape[0]}]  (empty: the whole plane)")
        self.bias = QLineEdit("; ".join(format_section(w) for w in sections.bias))
        self.bias.setPlaceholderText("e.g. [4097:4160,1:4096]; [1:8,1:4096]")
        self.error = QLabel()
        self.error.setStyleSheet("color: #d33")
        form = QFormLayout()
        form.addRow("Data section", self.data)
        form.addRow("Bias sections", self.bias)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        note = QLabel("FITS sections: x (column) range first, 1-based and inclusive. Levels and statistics use "
                      "the data section and leave the bias sections out.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.result_sections: Sections | None = None

    def accept(self) -> None:
        try:
            self.result_sections = parse_sections(self.data.text(), self.bias.text())
        except FormatError as error:
            self.error.setText(str(error))
            return
        super().accept()
