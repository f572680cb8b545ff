"""The build's own files: spec, entry point, hooks, build script, Windows/macOS scripts, CI workflow, icons."""

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def calls(tree: ast.AST) -> list[str]:
    """Names of the functions called in ``tree``, in source order."""
    found = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return [ast.unparse(node.func) for node in found]


OWN_PYTHON = [path for path in sorted(PACKAGING.rglob("*.py")) if path.relative_to(PACKAGING).parts[0] not in
              ("build", "dist")] + [PACKAGING / "ccdstudio.spec"]
"""The build's Python files (not those of the build's virtual environment)."""


@pytest.mark.parametrize("path", OWN_PYTHON, ids=lambda p: str(p.relative_to(PACKAGING)))
def test_python_files_parse(path):
    ast.parse(path.read_text(), str(path))


def test_spec_builds_one_folder_bundle_with_hooks_and_shipped_files():
    text = (PACKAGING / "ccdstudio.spec").read_text()
    names = calls(ast.parse(text))
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= set(names)
    assert "copy_metadata" in names and "collect_data_files" in names
    for needed in ('"entry.py"', '"hooks"', '"rthook_ccdstudio.py"', 'shipped_folder("resources")',
                   'shipped_folder("models")', "exclude_binaries=True", "CCDSTUDIO_BUILD_INFO", '"tkinter"'):
        assert needed in text, needed
    assert (PACKAGING / "hooks" / "hook-ccdstudio.py").is_file()
    assert (PACKAGING / "hooks" / "rthook_ccdstudio.py").is_file()


def test_entry_point_calls_freeze_support_before_importing_the_app():
    tree = ast.parse((PACKAGING / "entry.py").read_text())
    main_block = next(node for node in tree.body if isinstance(node, ast.If))
    statements = [ast.unparse(node) for node in main_block.body]
    assert statements[0] == "multiprocessing.freeze_support()"
    assert statements[1] == "from ccdstudio.cli import main"
    assert statements[-1] == "sys.exit(main())"


def dry_run(*args: str) -> str:
    result = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--dry-run", *args],
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_build_script_cpu_plan():
    plan = dry_run("--venv", "/tmp/never-made-venv")
    lines = [line for line in plan.splitlines() if line.startswith("+ ")]
    assert "-m venv /tmp/never-made-venv" in lines[0]
    assert lines[1].endswith("pip install --upgrade torch==2.13.0")
    assert str(ROOT) in lines[2] and 'pyinstaller>=6.10,<7' in lines[2]
    assert "-m PyInstaller --noconfirm --clean" in lines[3] and lines[3].endswith("ccdstudio.spec")
    assert lines[4].endswith("ccdstudio --self-test")
    assert any("linux/package.sh" in line and " cpu " in line for line in lines) == sys.platform.startswith("linux")


def test_build_script_gpu_plan_uses_the_index_and_its_own_venv():
    plan = dry_run("--flavour", "gpu", "--torch-index", "https://example.invalid/cu128", "--no-installer")
    assert "venv-gpu" in plan
    assert "pip install --upgrade --extra-index-url https://example.invalid/cu128 torch==2.13.0" in plan
    assert "package.sh" not in plan


def test_windows_installer_script():
    text = (PACKAGING / "windows" / "ccdstudio.iss").read_text()
    assert "PrivilegesRequired=lowest" in text
    assert re.search(r"^DefaultDirName=\{autopf\}\\ccdstudio$", text, re.M)
    assert 'Name: "{autoprograms}\\ccdstudio"' in text
    for extension in (".fits", ".fit", ".fts"):
        assert f'Subkey: "Software\\Classes\\{extension}\\OpenWithProgids"' in text
    for define in ("AppVersion", "Flavour", "BundleDir", "OutputDir"):
        assert f"#ifndef {define}" in text
    assert (PACKAGING / "windows" / "ccdstudio.iss").parent.joinpath(
        "..", "..", "resources", "icons", "ccdstudio.ico").resolve().is_file()


def test_macos_script_makes_a_dmg():
    text = (PACKAGING / "macos" / "make_dmg.sh").read_text()
    assert "hdiutil create" in text and "-format UDZO" in text and "ln -s /Applications" in text
    result = subprocess.run(["bash", "-n", str(PACKAGING / "macos" / "make_dmg.sh")], capture_output=True)
    assert result.returncode == 0


@pytest.mark.parametrize("script", ["linux/install.sh", "linux/uninstall.sh", "linux/package.sh"])
def test_shell_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True).returncode == 0


def test_ci_workflow_builds_every_platform():
    workflow = yaml.safe_load((PACKAGING / "ci" / "build-installers.yml").read_text())
    job = workflow["jobs"]["build"]
    systems = {entry["os"].split("-")[0] for entry in job["strategy"]["matrix"]["include"]}
    assert systems == {"ubuntu", "windows", "macos"}
    flavours = {(entry["os"].split("-")[0], entry["flavour"]) for entry in job["strategy"]["matrix"]["include"]}
    assert {("ubuntu", "gpu"), ("windows", "gpu")} <= flavours
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "python packaging/build.py --flavour ${{ matrix.flavour }}" in runs
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in job["steps"])


def test_icons_exist_in_every_size():
    ET.parse(ICONS / "ccdstudio.svg")
    for path in ICONS.glob("ccdstudio-*.png"):
        size = int(path.stem.split("-")[1])
        with Image.open(path) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    assert {int(p.stem.split("-")[1]) for p in ICONS.glob("ccdstudio-*.png")} >= {16, 32, 48, 128, 256}
    with Image.open(ICONS / "ccdstudio.ico") as ico:
        assert (256, 256) in ico.ico.sizes() and (16, 16) in ico.ico.sizes()
    assert (ICONS / "ccdstudio.icns").read_bytes()[:4] == b"icns"
