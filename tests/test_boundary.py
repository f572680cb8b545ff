"""The core never imports Qt: only ``ccdstudio/gui/`` may import PySide6, pyqtgraph, qtawesome or superqt."""

import ast
import subprocess
import sys
from pathlib import Path

import ccdstudio

QT_MODULES = {"PySide6", "pyqtgraph", "qtawesome", "superqt", "qtpy", "pytestqt"}
PACKAGE = Path(ccdstudio.__file__).parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_qt_import_outside_gui():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & QT_MODULES)
        for path in PACKAGE.rglob("*.py")
        if "gui" not in path.relative_to(PACKAGE).parts and _imports(path) & QT_MODULES
    }
    assert offenders == {}


def test_core_and_cli_import_without_qt():
    core = sorted(
        ".".join(("ccdstudio", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
        if "gui" not in path.relative_to(PACKAGE).parts
    )
    code = (
        "import sys, importlib\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "from ccdstudio.cli import build_parser; build_parser()\n"
        f"bad = sorted(set(sys.modules) & {QT_MODULES!r})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
