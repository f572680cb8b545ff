"""Build the real Linux CPU bundle with packaging/build.py and run its self-test from the bundle.

About ten minutes on two cores (a quarter of it installing the clean virtual environment), so it runs only
with CCDSTUDIO_BUILD_BUNDLE=1.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("CCDSTUDIO_BUILD_BUNDLE") != "1", reason="set CCDSTUDIO_BUILD_BUNDLE=1"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds the Linux bundle"),
]


def test_build_linux_bundle_and_run_its_self_test(record_property):
    started = time.monotonic()
    subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--flavour", "cpu"], check=True)
    build_seconds = time.monotonic() - started
    bundle = ROOT / "packaging" / "dist" / "ccdstudio"
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
    record_property("bundle_MiB", round(size / 2**20))
    record_property("build_seconds", round(build_seconds))
    print(f"\nLinux CPU bundle: {size / 2**20:.0f} MiB, built in {build_seconds:.0f} s")

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([str(bundle / "ccdstudio"), "--self-test"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    line = result.stdout.strip()
    assert line.startswith("ccdstudio ") and " CPU bundle, " in line and ": OK: " in line
    assert "demo frame" in line and "window showed ccd_demo.fits" in line

    version = subprocess.run([str(bundle / "ccdstudio"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip().endswith("(CPU bundle)")
    assert list((ROOT / "packaging" / "dist").glob("ccdstudio-*-linux-*-cpu.tar.gz"))
