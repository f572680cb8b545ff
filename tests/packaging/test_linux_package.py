"""The Linux tarball, its per-user installer and uninstaller, and the .deb, on a fake bundle in a temp HOME."""

import configparser
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
LINUX = PACKAGING / "linux"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("bash"),
                                reason="the Linux installer is a bash script")


def read_desktop(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # desktop keys are case-sensitive
    parser.read(path)
    return parser["Desktop Entry"]


def validate_desktop(path: Path) -> None:
    """desktop-file-validate where it is installed; the required keys in any case."""
    entry = read_desktop(path)
    assert entry["Type"] == "Application" and entry["Name"] and entry["Icon"] == "ccdstudio"
    assert "image/fits;" in entry["MimeType"]
    assert entry["Exec"].endswith(" gui %F")
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def fake_bundle(tmp_path):
    """A folder shaped like the PyInstaller bundle whose executable echoes its arguments."""
    bundle = tmp_path / "dist" / "ccdstudio"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "library.so").write_bytes(b"\0" * 100)
    private = bundle / "_internal" / "demo.fits"  # as a build step writing through a temp file leaves it
    private.write_bytes(b"SIMPLE  =")
    private.chmod(0o600)
    exe = bundle / "ccdstudio"
    exe.write_text('#!/bin/sh\necho "fake ccdstudio $*"\n')
    exe.chmod(0o755)
    return bundle


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "XDG_CONFIG_HOME": str(home / ".config")}
    return home, env


def package(bundle: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(LINUX / "package.sh"), str(bundle), str(out), "1.2.3", "cpu", "x86_64",
                           *extra], capture_output=True, text=True, check=True)


def unpack(tmp_path: Path, bundle: Path) -> Path:
    package(bundle, tmp_path / "out")
    archive = tmp_path / "out" / "ccdstudio-1.2.3-linux-x86_64-cpu.tar.gz"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert tar.getmember("ccdstudio-1.2.3-linux-x86_64-cpu/ccdstudio/_internal/demo.fits").mode == 0o644
        tar.extractall(tmp_path / "unpacked", filter="tar")
    top = "ccdstudio-1.2.3-linux-x86_64-cpu"
    for member in ("install.sh", "uninstall.sh", "ccdstudio/ccdstudio", "ccdstudio/_internal/library.so",
                   "share/ccdstudio.desktop", "share/ccdstudio-fits.xml", "share/icons/ccdstudio.svg",
                   "share/icons/ccdstudio-256.png"):
        assert f"{top}/{member}" in names
    assert not list((tmp_path / "out").glob(".stage*")), "staging folder left behind"
    return tmp_path / "unpacked" / top


def test_desktop_template_is_valid(tmp_path):
    path = tmp_path / "ccdstudio.desktop"
    path.write_text((LINUX / "ccdstudio.desktop").read_text().replace("@EXEC@", "/opt/my apps/ccdstudio"))
    validate_desktop(path)
    assert read_desktop(path)["Exec"] == '"/opt/my apps/ccdstudio" gui %F'


def test_install_upgrade_and_uninstall_in_home(tmp_path, fake_bundle, home):
    home, env = home
    unpacked = unpack(tmp_path, fake_bundle)
    result = subprocess.run([str(unpacked / "install.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    opt, data = home / ".local/opt/ccdstudio", home / ".local/share"

    command = home / ".local/bin/ccdstudio"
    assert command.is_symlink() and os.readlink(command) == str(opt / "ccdstudio")
    assert subprocess.run([str(command), "--self-test"], capture_output=True, text=True).stdout == \
        "fake ccdstudio --self-test\n"
    desktop = data / "applications/ccdstudio.desktop"
    validate_desktop(desktop)
    assert read_desktop(desktop)["Exec"] == f'"{opt}/ccdstudio" gui %F'
    assert (data / "mime/packages/ccdstudio-fits.xml").is_file()
    assert (data / "icons/hicolor/256x256/apps/ccdstudio.png").is_file()
    assert (data / "icons/hicolor/scalable/apps/ccdstudio.svg").is_file()
    assert "not on your PATH" in result.stdout

    # Installing again upgrades in place and leaves no temporary folders.
    (unpacked / "ccdstudio/_internal/new.so").write_bytes(b"new")
    subprocess.run([str(unpacked / "install.sh")], env=env, capture_output=True, check=True)
    assert (opt / "_internal/new.so").read_bytes() == b"new"
    assert sorted(p.name for p in opt.parent.iterdir()) == ["ccdstudio"]

    result = subprocess.run([str(opt / "uninstall.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not opt.exists() and not command.is_symlink()
    assert not desktop.exists() and not (data / "mime/packages/ccdstudio-fits.xml").exists()
    assert not list(data.glob("icons/hicolor/*/apps/ccdstudio.*"))


def test_install_into_a_prefix(tmp_path, fake_bundle, home):
    home, env = home
    unpacked = unpack(tmp_path, fake_bundle)
    prefix = tmp_path / "apps"
    subprocess.run([str(unpacked / "install.sh"), "--prefix", str(prefix)], env=env, capture_output=True,
                   check=True)
    assert (prefix / "bin/ccdstudio").resolve() == (prefix / "opt/ccdstudio/ccdstudio").resolve()
    assert (prefix / "share/applications/ccdstudio.desktop").is_file()
    assert not (home / ".local").exists()
    subprocess.run([str(prefix / "opt/ccdstudio/uninstall.sh")], env=env, capture_output=True, check=True)
    assert not (prefix / "bin/ccdstudio").exists() and not (prefix / "opt/ccdstudio").exists()


def test_install_refuses_a_folder_without_bundle(tmp_path, home):
    _, env = home
    shutil.copy(LINUX / "install.sh", tmp_path / "install.sh")
    result = subprocess.run(["bash", str(tmp_path / "install.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "no bundle" in result.stderr


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")
def test_deb_package(tmp_path, fake_bundle):
    package(fake_bundle, tmp_path / "out", "--deb")
    deb = tmp_path / "out" / "ccdstudio_1.2.3_amd64.deb"
    info = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"],
                          capture_output=True, text=True, check=True).stdout
    assert info.split() == ["Package:", "ccdstudio", "Version:", "1.2.3", "Architecture:", "amd64"]
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    for path in ("./opt/ccdstudio/ccdstudio", "./opt/ccdstudio/_internal/library.so",
                 "./usr/bin/ccdstudio -> /opt/ccdstudio/ccdstudio", "./usr/share/applications/ccdstudio.desktop",
                 "./usr/share/mime/packages/ccdstudio-fits.xml",
                 "./usr/share/icons/hicolor/48x48/apps/ccdstudio.png"):
        assert path in listing
    assert "root/root" in listing
    private = next(line for line in listing.splitlines() if line.endswith("_internal/demo.fits"))
    assert private.startswith("-rw-r--r--")
