"""Build the ccdstudio bundle and this platform's installer in a clean virtual environment.

Steps: make ``packaging/build/venv-<flavour>``, install torch (CPU or CUDA build), ccdstudio and PyInstaller
into it, check the torch build matches the flavour, run PyInstaller on ``packaging/ccdstudio.spec`` into
``packaging/dist/ccdstudio``, run the bundle's ``--self-test``, then package it: a tar.gz (and a .deb with
``--deb``) on Linux, an Inno Setup installer on Windows, a .dmg on macOS.

Examples
--------
python packaging/build.py                                  # CPU flavour, this platform's installer
python packaging/build.py --flavour gpu --torch-index https://download.pytorch.org/whl/cu128
python packaging/build.py --flavour cpu --torch-index https://download.pytorch.org/whl/cpu  # Linux CI
python packaging/build.py --deb --clean
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_TORCH = "torch==2.13.0"
PYINSTALLER = ["pyinstaller>=6.10,<7", "pyinstaller-hooks-contrib>=2024.8"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=("cpu", "gpu"), default="cpu",
                        help="cpu: small, runs everywhere; gpu: CUDA build of torch (default: cpu)")
    parser.add_argument("--torch", default=DEFAULT_TORCH, metavar="SPEC",
                        help=f"the torch requirement to install (default: {DEFAULT_TORCH})")
    parser.add_argument("--torch-index", metavar="URL",
                        help="extra package index holding the wanted torch build (CUDA builds for Windows, "
                             "CPU builds for Linux, where PyPI's default is a CUDA build)")
    parser.add_argument("--venv", type=Path, help="virtual environment (default: packaging/build/venv-FLAVOUR)")
    parser.add_argument("--dist", type=Path, default=HERE / "dist", help="output folder (default: packaging/dist)")
    parser.add_argument("--clean", action="store_true", help="delete the virtual environment first")
    parser.add_argument("--deb", action="store_true", help="Linux: also build a .deb (needs dpkg-deb)")
    parser.add_argument("--no-installer", action="store_true", help="stop after the bundle and its self-test")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    args.venv = args.venv or HERE / "build" / f"venv-{args.flavour}"
    return args


class Runner:
    """Runs (or, for a dry run, prints) the build's commands, stopping at the first failure."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run

    def __call__(self, command: list[str | Path], env: dict[str, str] | None = None, capture: bool = False) -> str:
        """Run ``command``; return its standard output when ``capture``, else let it print as it goes."""
        words = [str(word) for word in command]
        print("+", subprocess.list2cmdline(words), flush=True)
        if self.dry_run:
            return ""
        result = subprocess.run(words, env=env, stdout=subprocess.PIPE if capture else None, text=True)
        if capture:
            sys.stdout.write(result.stdout)
        if result.returncode:
            raise SystemExit(f"build failed: {words[0]} exited with {result.returncode}")
        return result.stdout


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install(run: Runner, args: argparse.Namespace) -> Path:
    """Make the virtual environment and install the flavour's torch, ccdstudio and PyInstaller into it."""
    if args.clean and args.venv.exists() and not args.dry_run:
        shutil.rmtree(args.venv)
    if not venv_python(args.venv).exists():
        run([sys.executable, "-m", "venv", args.venv])
    python = venv_python(args.venv)
    index = ["--extra-index-url", args.torch_index] if args.torch_index else []
    # torch first and on its own: ccdstudio's plain "torch>=…" would otherwise pull PyPI's default build.
    run([python, "-m", "pip", "install", "--upgrade", *index, args.torch])
    # A regular (not editable) install, so PyInstaller collects ccdstudio from site-packages with its metadata.
    run([python, "-m", "pip", "install", "--upgrade", ROOT, *PYINSTALLER])
    return python


def torch_build(run: Runner, python: Path, flavour: str) -> dict[str, str | None]:
    """The installed torch's version and CUDA version, checked against the flavour."""
    if run.dry_run:
        return {"torch": "(dry run)", "cuda": None}
    code = "import json, torch; print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda}))"
    found = json.loads(run([python, "-c", code], capture=True).strip().splitlines()[-1])
    if flavour == "gpu" and not found["cuda"]:
        raise SystemExit(f"build failed: torch {found['torch']} is a CPU build; the gpu flavour needs a CUDA "
                         "build (pass --torch-index with a CUDA wheel index)")
    if flavour == "cpu" and found["cuda"]:
        raise SystemExit(f"build failed: torch {found['torch']} is a CUDA {found['cuda']} build; the cpu flavour "
                         "needs a CPU build (pass --torch-index with a CPU wheel index)")
    return found


def write_build_info(path: Path, flavour: str, torch: dict[str, str | None]) -> None:
    """The JSON the bundle carries; ``ccdstudio.selftest.build_info`` reads it."""
    info = {
        "flavour": flavour.upper(),
        "torch": torch["torch"],
        "cuda": torch["cuda"],
        "platform": f"{sys.platform}-{platform.machine().lower()}",
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2) + "\n")


def freeze(run: Runner, python: Path, args: argparse.Namespace) -> Path:
    """Run PyInstaller; return the bundle folder."""
    work = HERE / "build" / f"pyinstaller-{args.flavour}"
    info = work / "_build.json"
    if not args.dry_run:
        write_build_info(info, args.flavour, torch_build(run, python, args.flavour))
    env = {**os.environ, "CCDSTUDIO_BUILD_INFO": str(info)}
    run([python, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", args.dist, "--workpath", work,
         HERE / "ccdstudio.spec"], env=env)
    return args.dist / "ccdstudio"


def self_test(run: Runner, bundle: Path) -> None:
    """Run the bundle's own smoke test (offscreen, so it needs no screen)."""
    exe = bundle / ("ccdstudio.exe" if os.name == "nt" else "ccdstudio")
    run([exe, "--self-test"], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def make_installer(run: Runner, bundle: Path, args: argparse.Namespace, version: str) -> None:
    """This platform's installer from the bundle, into ``args.dist``."""
    arch = {"amd64": "x86_64", "arm64": "arm64", "aarch64": "aarch64"}.get(platform.machine().lower(),
                                                                          platform.machine().lower())
    if sys.platform.startswith("linux"):
        run(["bash", HERE / "linux" / "package.sh", bundle, args.dist, version, args.flavour, arch,
             *(["--deb"] if args.deb else [])])
    elif sys.platform == "win32":
        iscc = shutil.which("iscc") or r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe"
        run([iscc, f"/DAppVersion={version}", f"/DFlavour={args.flavour}", f"/DBundleDir={bundle}",
             f"/DOutputDir={args.dist}", HERE / "windows" / "ccdstudio.iss"])
    elif sys.platform == "darwin":
        run(["bash", HERE / "macos" / "make_dmg.sh", args.dist / "ccdstudio.app", args.dist, version,
             args.flavour, arch])
    else:
        print(f"no installer for {sys.platform}; the bundle is {bundle}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    run = Runner(args.dry_run)
    python = install(run, args)
    bundle = freeze(run, python, args)
    self_test(run, bundle)
    version = run([python, "-c", "import ccdstudio; print(ccdstudio.__version__)"], capture=True).strip() or "0.0.0"
    if not args.no_installer:
        make_installer(run, bundle, args, version)
    if not args.dry_run:
        size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
        print(f"bundle {bundle}: {size / 2**20:.0f} MiB; built in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
