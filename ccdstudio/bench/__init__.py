"""``ccdstudio bench``: measured figures, each next to a baseline timed in the same run.

Every module in this package whose name does not start with ``_`` is a group of benchmarks and defines
``run(quick: bool) -> Iterator[Figure]``. Machines are noisy, so a figure is read as its ratio to the
baseline measured moments before it, never as an absolute time.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure and its baseline.

    ``speedup`` is ``baseline / value`` for times (lower is better) and ``value / baseline`` for rates.
    """

    group: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = False
    note: str = ""

    @property
    def speedup(self) -> float | None:
        if not self.baseline or not self.value:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


def best_time(func: Callable[[], object], repeat: int = 3, min_time: float = 0.0) -> float:
    """The best of ``repeat`` wall-clock timings of ``func()``, in seconds (at least one run)."""
    best = float("inf")
    started = time.perf_counter()
    for i in range(max(repeat, 1)):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
        if i + 1 >= repeat and time.perf_counter() - started >= min_time:
            break
    return best


def groups() -> list[str]:
    """Names of the benchmark groups."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def run(selected: list[str] | None = None, quick: bool = False) -> Iterator[Figure]:
    """Run the chosen groups (all when None) and yield their figures as they are measured."""
    for name in selected or groups():
        yield from importlib.import_module(f"{__name__}.{name}").run(quick)


def format_table(figures: list[Figure]) -> str:
    """A plain-text table of figures with their baselines and ratios."""
    rows = [("group", "figure", "value", "baseline", "ratio", "note")]
    for f in figures:
        base = f"{f.baseline:.4g} {f.unit} ({f.baseline_name})" if f.baseline is not None else "-"
        ratio = f"{f.speedup:.2f}x" if f.speedup is not None else "-"
        rows.append((f.group, f.name, f"{f.value:.4g} {f.unit}", base, ratio, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
