"""``ccdstudio segment``: a scroll segment's surface and layer window, and projections over a layer range."""

from __future__ import annotations

import argparse
import json
import sys

from ccdstudio.cli._common import add_command, int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "segment",
        "scroll segments: surface layer, layer window, projections",
        """
        surface  estimate the surface layer of a segment (where the mean intensity inside the mask rises
                 most steeply from air into papyrus, over 16 sampled patches) and print the layer window
                 centred on it that an ink model of --count layers reads, with the intensity profile.
        project  project a layer range along z (max, mean or sample standard deviation), a block of rows
                 at a time so any segment fits in memory, into a TIFF, FITS, PNG or NPY file.

        Layer numbers are 0-based positions in the stack; --reverse-layers reads the stack from the last
        file to the first (z-reversal), and the positions then count from that end.
        """,
        """
        ccdstudio segment surface segment/ --count 16
        ccdstudio segment surface segment/ --reverse-layers --json
        ccdstudio segment project segment/ --range 20-40 --mode max --out proj.tif
        ccdstudio segment project segment/ --window 30 --mode std --out std.fits
        """,
    )
    actions = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    surface = actions.add_parser("surface", help="estimate the surface layer and the layer window around it",
                                 description="Estimate the surface layer and the layer window centred on it.")
    surface.add_argument("segment", help="segment or fragment folder")
    surface.add_argument("--count", type=int, default=16, metavar="N", help="layers in the window (default 16)")
    surface.add_argument("--reverse-layers", action="store_true", help="read the layers in reverse z order")
    surface.add_argument("--json", action="store_true", help="print the result as JSON")
    surface.set_defaults(func=_run_surface)

    project = actions.add_parser("project", help="project a range of layers (max, mean, std)",
                                 description="Project a range of layers along z into one image.")
    project.add_argument("segment", help="segment or fragment folder (or any multi-plane image)")
    which = project.add_mutually_exclusive_group()
    which.add_argument("--range", type=int_range, metavar="A-B", help="layers A to B, inclusive, 0-based")
    which.add_argument("--window", type=int, metavar="N",
                       help="N layers centred on the estimated surface (default: every layer)")
    project.add_argument("--mode", default="max", choices=("max", "mean", "std"), help="projection (default max)")
    project.add_argument("--out", required=True, metavar="FILE", help="output .tif, .fits, .png or .npy")
    project.add_argument("--reverse-layers", action="store_true", help="read the layers in reverse z order")
    project.add_argument("--quiet", action="store_true", help="no progress bar")
    project.set_defaults(func=_run_project)


def _run_surface(args: argparse.Namespace) -> int:
    from ccdstudio.io import open_image
    from ccdstudio.io.segment_window import centred_window, estimate_surface

    with open_image(args.segment, reverse_layers=args.reverse_layers) as source:
        estimate = estimate_surface(source)
        first, last = centred_window(estimate.layer, args.count, len(estimate.profile))
    result = {"surface": estimate.layer, "position": round(estimate.position, 2), "reliable": estimate.reliable,
              "window": [first, last], "reversed": args.reverse_layers,
              "profile": [round(float(v), 2) for v in estimate.profile]}
    if args.json:
        print(json.dumps(result))
        return 0
    note = "" if estimate.reliable else " (no contrast between layers: the middle layer is assumed)"
    print(f"surface: layer {estimate.layer} ({estimate.position:.1f}){note}")
    print(f"window of {args.count}: layers {first}-{last}")
    top = max(float(estimate.profile.max()), 1e-9)
    for z, value in enumerate(estimate.profile):
        mark = " <- surface" if z == estimate.layer else ""
        print(f"  {z:3d} {value:10.1f} {'#' * int(40 * max(value, 0) / top)}{mark}")
    return 0


def _run_project(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import run_job
    from ccdstudio.imaging.projection import project, save_projection
    from ccdstudio.io import open_image
    from ccdstudio.io.segment_window import choose_window, layer_order

    with open_image(args.segment, reverse_layers=args.reverse_layers) as source:
        if args.range is None and args.window is None:
            order = layer_order(source)
            window = choose_window(source, layers=(0, len(order) - 1))
        else:
            window = choose_window(source, count=args.window, layers=args.range)
        image = run_job(project(source, window.planes, args.mode), quiet=args.quiet)
    path = save_projection(args.out, image, {"projection": args.mode, "layers": f"{window.first}-{window.last}",
                                             "reversed": int(window.reversed)})
    print(f"{args.mode} projection of {window.describe()} -> {path}")
    return 0



def predict_segment_file(model, path, out, args: argparse.Namespace) -> dict | None:
    """``ccdstudio predict`` for a segment folder and a two-class (ink) model: write
    ``OUT/<segment>_prediction.png`` (0-255 ink probability) and ``OUT/<segment>_predicted_inklabels.png``
    (0/255) and return the entry for predictions.json (None when skipped)."""
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    from ccdstudio.cli._common import run_job
    from ccdstudio.cli.predict import output_stem
    from ccdstudio.io import open_image
    from ccdstudio.io.segment_window import choose_window
    from ccdstudio.ml.segment_infer import predict_segment, save_segment_prediction

    stem, _ = output_stem(Path(path))
    target = Path(out) / f"{stem}_prediction.png"
    if args.skip_existing and target.is_file():
        print(f"skipping {path}: {target} exists", file=sys.stderr)
        return None
    started = time.perf_counter()
    with open_image(path, reverse_layers=args.reverse_layers) as source:
        # Without --layers, predict_segment centres a window of the model's size on the surface.
        window = choose_window(source, layers=args.layers) if args.layers else None
        height, width = source.planes[source.indices("image")[0]].shape
        # The probabilities go to a memory-mapped scratch file beside the outputs, not to RAM.
        with tempfile.TemporaryFile(dir=out, prefix=".prediction-") as scratch:
            buffer = np.memmap(scratch, np.uint8, "w+", shape=(height, width))
            result = run_job(predict_segment(model, source, window, tile=args.tile, overlap=args.overlap,
                                             halo=args.halo, batch_size=args.batch_size, tta=args.tta, out=buffer),
                             quiet=args.quiet)
            window, warnings = result.window, result.warnings
            for message in warnings:
                print(f"warning: {message}", file=sys.stderr)
            probability, labels = save_segment_prediction(result, out, stem)
            ink = int(np.count_nonzero(result.labels()))
            del buffer, result  # release the memory map before its file is closed
    names = model.info.classes.names
    seconds = round(time.perf_counter() - started, 3)
    print(f"{path} ({window.describe()}) -> {probability}, {labels} ({seconds:.1f} s)")
    return {"input": str(path), "prediction": str(probability), "labels": str(labels), "classes": names,
            "pixels": {names[0]: height * width - ink, names[1]: ink}, "layers": [window.first, window.last],
            "surface": window.surface, "reversed": window.reversed, "warnings": warnings,
            "seconds": seconds}
