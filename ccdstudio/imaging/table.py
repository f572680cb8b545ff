"""A small column-oriented results table, written as CSV the way ImageJ's Results table saves it.

ImageJ writes a leading row-number column with a blank heading (`` ,Area,Mean,...``) and 1-based rows;
readers of ImageJ results (Fiji, pandas with ``index_col=0``) expect that layout.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping

import numpy as np

from ccdstudio.io.atomic import atomic_path


class Table:
    """Named columns of equal length (NumPy arrays), in a fixed order."""

    def __init__(self, columns: Mapping[str, np.ndarray] | None = None):
        self._columns: dict[str, np.ndarray] = {}
        for name, values in (columns or {}).items():
            self[name] = values

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"column {name!r} must be 1-D")
        if self._columns and values.size != len(self):
            raise ValueError(f"column {name!r} has {values.size} rows, the table {len(self)}")
        self._columns[name] = values

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return next(iter(self._columns.values())).size if self._columns else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    @property
    def names(self) -> list[str]:
        return list(self._columns)

    def row(self, index: int) -> dict[str, float]:
        """One row as ``{column: value}``."""
        return {name: values[index].item() for name, values in self._columns.items()}

    def take(self, rows: np.ndarray) -> Table:
        """A table of the given rows (indices or a boolean mask)."""
        return Table({name: values[rows] for name, values in self._columns.items()})

    def to_csv_text(self) -> str:
        """The table as ImageJ-style CSV text (header ``" ,name,..."``, rows numbered from 1)."""
        lines = [",".join([" ", *self._columns])]
        formatted = [_format_column(values) for values in self._columns.values()]
        for i in range(len(self)):
            lines.append(",".join([str(i + 1), *(column[i] for column in formatted)]))
        return "\n".join(lines) + "\n"

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_csv_text` to ``path`` atomically."""
        with atomic_path(path) as tmp:
            tmp.write_text(self.to_csv_text(), encoding="utf-8")

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self._columns)})"


def _format_column(values: np.ndarray) -> list[str]:
    if values.dtype.kind in "iub":
        return [str(int(v)) for v in values]
    return [_format_float(float(v)) for v in values]


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.9g}"
