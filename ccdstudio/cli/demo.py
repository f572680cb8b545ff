"""``ccdstudio demo``: the main job on the bundled demo frame, for a first run or a machine with no screen."""

from __future__ import annotations

import argparse
from pathlib import Path

from ccdstudio.cli._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "demo",
        "run the main job on the bundled demo frame (the default without a screen)",
        """
        Run what a user does first on the bundled demo CCD frame: describe the file, find and measure the
        clusters with the two-level (5σ/3σ) cluster finder, and segment it with the bundled U-Net. Prints
        where every result went. `ccdstudio` with no screen runs this.
        """,
        """
        ccdstudio demo
        ccdstudio demo --out /tmp/ccdstudio-demo
        """,
    )
    parser.add_argument("--out", default="ccdstudio-demo-output", help="folder for the results "
                        "(default: ./ccdstudio-demo-output)")
    parser.set_defaults(func=_run)


def steps(frame: Path, out: Path, with_model: bool) -> list[list[str]]:
    """The sub-commands the demo runs, in order."""
    commands = [
        ["info", str(frame)],
        ["particles", str(frame), "--sigma", "5", "--sigma-low", "3", "--out", str(out / "clusters.csv"),
         "--mask-out", str(out / "clusters_mask.tif")],
    ]
    if with_model:
        commands.append(["predict", str(frame), "--out", str(out)])
    return commands


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.cli import main
    from ccdstudio.cli._common import require
    from ccdstudio.ml.modelfile import bundled_models
    from ccdstudio.paths import resource

    frame = resource("demo", "ccd_demo.fits")
    require(frame.is_file(), f"the bundled demo frame is missing ({frame}); reinstall ccdstudio")
    out = Path(args.out).resolve()
    with_model = bool(bundled_models())
    for command in steps(frame, out, with_model):
        print(f"$ ccdstudio {' '.join(command)}", flush=True)
        code = main(command)
        if code:
            return code
    print(f"\nccdstudio demo: results are in {out}")
    for path in sorted(out.iterdir()):
        if not path.name.startswith("."):
            print(f"  {path.name}")
    if not with_model:
        print("(no bundled model found, so no segmentation was run)")
    return 0
