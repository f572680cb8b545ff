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
        clean    turn a predicted ink probability (predict's <segment>_prediction.png, or any image) into
                 ink labels the way it is done in Fiji: threshold, dilate, drop particles smaller than a
                 size (Analyze Particles), optionally invert; written as a Vesuvius inklabels PNG (0/255).

        Layer numbers are 0-based positions in the stack; --reverse-layers reads the stack from the last
        file to the first (z-reversal), and the positions then count from that end.
        """,
        """
        ccdstudio segment surface segment/ --count 16
        ccdstudio segment surface segment/ --reverse-layers --json
        ccdstudio segment project segment/ --range 20-40 --mode max --out proj.tif
        ccdstudio segment project segment/ --window 30 --mode std --out std.fits
        ccdstudio segment clean pred/seg_prediction.png --threshold 128 --dilate 2 --min-size 500 --out inklabels.png
        ccdstudio segment clean probabilities.tif --threshold 0.4 --min-size 100 --mask segment/mask.png --out ink.png
        """,
    )
    actions = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    surface = add_command(actions, "surface", "estimate the surface layer and the layer window around it",
                          "Estimate the surface layer and the layer window centred on it.", """
        ccdstudio segment surface segment/ --count 16
        ccdstudio segment surface segment/ --reverse-layers --json
        """)
    surface.add_argument("segment", help="segment or fragment folder")
    surface.add_argument("--count", type=int, default=16, metavar="N", help="layers in the window (default 16)")
    surface.add_argument("--reverse-layers", action="store_true", help="read the layers in reverse z order")
    surface.add_argument("--json", action="store_true", help="print the result as JSON")
    surface.set_defaults(func=_run_surface)

    project = add_command(actions, "project", "project a range of layers (max, mean, std)",
                          "Project a range of layers along z into one image.", """
        ccdstudio segment project segment/ --range 20-40 --mode max --out proj.tif
        ccdstudio segment project segment/ --window 30 --mode std --out std.fits
        """)
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

    clean = add_command(actions, "clean", "threshold, dilate, size-filter and invert a prediction into ink labels",
                        "Turn a prediction into ink labels as in Fiji: pixels at or above --threshold, dilated by "
                        "--dilate pixels, particles smaller than --min-size pixels dropped (8-connected, as Analyze "
                        "Particles), inverted with --invert.", """
        ccdstudio segment clean pred/seg_prediction.png --threshold 128 --dilate 2 --min-size 500 --out inklabels.png
        ccdstudio segment clean probabilities.tif --threshold 0.4 --min-size 100 --mask segment/mask.png --out ink.png
        """)
    clean.add_argument("image", help="the prediction (PNG, TIFF, FITS, NPY; the first plane)")
    clean.add_argument("--threshold", type=float, metavar="T",
                       help="ink where the value is at least T (default: 0.5 for values within 0-1, else 128)")
    clean.add_argument("--dilate", type=int, default=0, metavar="PX", help="dilate by a disk of this radius (default 0)")
    clean.add_argument("--min-size", type=float, default=0, metavar="A", help="drop particles under A pixels")
    clean.add_argument("--invert", action="store_true", help="invert the result (Fiji's Edit > Invert)")
    clean.add_argument("--mask", metavar="FILE", help="no ink outside this mask (nonzero = inside; e.g. mask.png)")
    clean.add_argument("--out", required=True, metavar="FILE", help="the ink labels, .png or .tif (0 and 255)")
    clean.set_defaults(func=_run_clean)


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


def _run_clean(args: argparse.Namespace) -> int:
    import numpy as np

    from ccdstudio.cli._common import require
    from ccdstudio.export.inputs import check_same_shape
    from ccdstudio.imaging.morphology import CleanParams, clean_prediction
    from ccdstudio.io import open_image
    from ccdstudio.labels.io import label_format, save_ink_labels

    require(args.dilate >= 0 and args.min_size >= 0, "--dilate and --min-size are 0 or more")
    require(label_format(args.out) in ("png", "tiff"), f"ink labels are written as PNG or TIFF, not {args.out}")
    with open_image(args.image) as source:
        image = source.read(next(iter(source.indices("image")), 0))
    require(image.ndim == 2, f"{args.image} is not one grey plane (shape {image.shape})")
    threshold = args.threshold
    if threshold is None:
        low, high = np.nanmin(image), np.nanmax(image)
        threshold = 0.5 if low >= 0 and high <= 1 else 128.0
    ink = clean_prediction(image, CleanParams(threshold=threshold, dilate=args.dilate, min_size=args.min_size,
                                              invert=args.invert))
    if args.mask:
        with open_image(args.mask) as source:
            inside = source.read(0)
        inside = inside if inside.ndim == 2 else inside[..., 0]
        check_same_shape(ink.shape, mask=inside)
        ink &= inside != 0
    save_ink_labels(args.out, ink.astype(np.uint8))
    share = 100 * float(ink.mean()) if ink.size else 0.0
    print(f"ink in {int(ink.sum()):,} pixels ({share:.2f} %), threshold {threshold:g}, dilate {args.dilate}, "
          f"min size {args.min_size:g}{', inverted' if args.invert else ''} -> {args.out}")
    return 0
