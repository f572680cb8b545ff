"""Runtime hook: settings the frozen app needs before any of its imports run."""

import os

# qtawesome goes through QtPy, which would otherwise probe PyQt5 and PyQt6 (not bundled) first.
os.environ.setdefault("QT_API", "pyside6")
