"""The devices a model can run on, found off the UI thread, which also warms up the ML libraries.

Importing torch takes a second or two, and the first optimiser a training creates imports
``torch._dynamo`` (and sympy), whose modules load in pieces that hold the interpreter lock for up to a
quarter of a second each. Done in a worker while the window starts, that costs nothing; done when the
user presses Predict or Start, it would freeze the window.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal


def available_devices() -> list[tuple[str, str]]:
    """``(value, label)`` pairs: auto, each CUDA GPU by name (with its memory), Apple MPS, CPU."""
    import torch

    choices = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            choices.append((f"cuda:{index}", f"GPU {index}: {props.name} ({props.total_memory / 2**30:.0f} GiB)"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        choices.append(("mps", "Apple GPU (MPS)"))
    auto = f"auto ({choices[0][1]})" if choices else "auto (CPU)"
    return [("auto", auto), *choices, ("cpu", f"CPU ({torch.get_num_threads()} threads)")]


def warm_up() -> None:
    """Import what predicting and training import on first use (see the module docstring)."""
    import torch._dynamo  # noqa: F401

    import ccdstudio.ml.infer  # noqa: F401
    import ccdstudio.ml.modelfile  # noqa: F401
    import ccdstudio.ml.train  # noqa: F401


_warmed = threading.Event()
_warming = threading.Lock()


def warmed_up() -> None:
    """Import what ML jobs import, once; call it first in any thread that runs an ML job.

    Two threads importing torch's internals at once can break each other's imports (Python hands one of
    them a half-initialised module: "'prims' object has no attribute ..."), so those imports all happen
    under one lock, and torch itself on the UI thread before any probe starts.
    """
    with _warming:
        if not _warmed.is_set():
            warm_up()
            _warmed.set()


class DeviceProbe(QObject):
    """Finds :func:`available_devices` in a thread (warming up the libraries once) and emits them."""

    found = Signal(object)

    def start(self) -> None:
        import torch  # noqa: F401  (here, on the UI thread, before any other thread imports it)

        # The thread starts once the event loop runs, i.e. after the window is built: importing torch's
        # internals while the UI thread creates its first widgets of a kind (PySide initialises those types
        # lazily, through the import machinery) could deadlock the two.
        QTimer.singleShot(0, self, lambda: threading.Thread(target=self._probe, daemon=True).start())

    def _probe(self) -> None:
        choices = available_devices()
        warmed_up()
        try:
            self.found.emit(choices)
        except RuntimeError:  # the widget was closed meanwhile
            pass


def wait_warm(timeout: float = 60.0) -> bool:
    """Block until the libraries are warmed up (tests that measure latency)."""
    return _warmed.wait(timeout)
