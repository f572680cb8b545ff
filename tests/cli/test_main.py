"""The command line as a whole: version, help with examples for every sub-command, clean errors."""

import argparse
import subprocess
import sys

import pytest

from ccdstudio import __version__
from ccdstudio.cli import build_parser, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_subcommand_has_examples():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert subparsers.choices, "no sub-commands registered"
    for name, sub in subparsers.choices.items():
        assert sub.epilog and "examples:" in sub.epilog and f"ccdstudio {name}" in sub.epilog, name
        for action in sub._actions:  # and theirs: ccdstudio segment clean, simulate ccd, export tiles...
            if isinstance(action, argparse._SubParsersAction):
                for inner, nested in action.choices.items():
                    assert nested.epilog and f"ccdstudio {name} {inner}" in nested.epilog, f"{name} {inner}"


def test_python_dash_m_runs():
    result = subprocess.run([sys.executable, "-m", "ccdstudio", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_a_reader_that_goes_away_stops_the_output_quietly():
    """``ccdstudio models show ... | head -1``: no error line when ``head`` closes the pipe."""
    command = [sys.executable, "-m", "ccdstudio", "models", "show", "ccd-unet-v1", "ccd-unet-v1"]  # > a pipe's buffer
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline()
    process.stdout.close()
    assert process.stderr.read() == b"" and process.wait(timeout=60) == 141
