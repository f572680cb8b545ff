"""The ``ccdstudio`` command: a thin front end over the core, one module per sub-command.

Every module in this package whose name does not start with ``_`` defines ``register(subparsers)``, which
adds its sub-command and sets ``func`` (taking the parsed arguments, returning an exit code). Modules import
heavy libraries (torch, Qt) inside ``func`` so that ``ccdstudio --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.selftest import version_text


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="ccdstudio",
        description="Label, segment and measure very large scientific images, and train U-Nets on them. "
        "Without a sub-command the window opens (or, with no screen, the demo job runs).",
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation (demo frame, segmentation, torch device, window) and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv or [_default_command()])
    if args.self_test:
        return _self_test()
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("ccdstudio: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("ccdstudio: interrupted", file=sys.stderr)
        return 130
    except CcdstudioError as error:
        print(f"ccdstudio {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"ccdstudio {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`ccdstudio info ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail
        return 128 + 13  # SIGPIPE
    except OSError as error:
        print(f"ccdstudio {args.command}: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2


def _self_test() -> int:
    from ccdstudio.selftest import run_self_test

    ok, line = run_self_test()
    print(line, flush=True)
    return 0 if ok else 1


def _default_command() -> str:
    from ccdstudio.cli._common import has_screen

    return "gui" if has_screen() else "demo"
