"""``ccdstudio gui``: open the window."""

from __future__ import annotations

import argparse

from ccdstudio.cli._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "gui",
        "open the window (the default with a screen)",
        "Open the ccdstudio window, optionally with files (FITS, TIFF, PNG/JPEG, NPY or segment folders).",
        """
        ccdstudio gui
        ccdstudio gui frame.fits
        ccdstudio gui /data/scrolls/20230702185753     # a segment folder
        """,
    )
    parser.add_argument("files", nargs="*", help="files or segment folders to open")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.gui.app import run_app

    return run_app(args.files)
