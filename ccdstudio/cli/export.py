"""``ccdstudio export``: training data from labelled images: tiles, random crops, boxes and cut-outs."""

from __future__ import annotations

import argparse
from typing import Any

from ccdstudio.cli._common import add_command, int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "export",
        "cut labelled images into training data: tiles, crops, boxes, cut-outs",
        """
        Cut labelled images into training data, repeatably: the same --seed gives byte-identical output.
        Every export is checked before anything is written, is written to a folder of its own (an existing
        non-empty folder is refused unless --overwrite, and only a previous export is ever replaced), and
        records what it did in DIR/export.json.
        """,
        """
        ccdstudio export tiles frame.fits --labels frame.labels.png --size 256 --out tiles/
        ccdstudio export crops SEGMENT --size 1028 --min-fraction 0.15 --layers 15-50 --count 40 \\
            --flip 0.5 --rot90 0.5 --stitch --seed 1 --out crops/
        ccdstudio export boxes frame.labels.png --image frame.fits --min-area 4 --min-solidity 0.5 --out boxes/
        ccdstudio export cutouts frame.fits --labels frame.labels.png --class cluster --pad 8 --out cutouts/
        """,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    _tiles(kinds)
    _crops(kinds)
    _boxes(kinds)
    _cutouts(kinds)


def _common(parser: argparse.ArgumentParser, random: bool = False) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="the output folder (created)")
    parser.add_argument("--overwrite", action="store_true", help="replace DIR if it holds a previous export")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random draws" if random else
                        "accepted for scripts that pass one seed to every export (nothing here is random)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="progress as JSON lines on stdout")


def _box_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class", dest="cls", action="append", metavar="CLASS",
                        help="class to box, by name or index (repeat for several; default: every class)")
    parser.add_argument("--min-area", type=int, default=1, metavar="A", help="smallest region, in pixels")
    parser.add_argument("--max-area", type=int, metavar="B", help="largest region, in pixels")
    parser.add_argument("--min-solidity", type=float, default=0.0, metavar="S",
                        help="smallest area / convex hull area (0-1)")
    parser.add_argument("--max-aspect", type=float, metavar="R", help="largest long side / short side of a box")
    parser.add_argument("--connectivity", type=int, choices=(4, 8), default=8,
                        help="pixels touching at a corner belong together with 8 (default)")


def _tiles(kinds: Any) -> None:
    parser = add_command(
        kinds, "tiles", "fixed tiles covering the whole frame, with a manifest to stitch back",
        """
        Cut an image (and its labels) into SIZE x SIZE tiles covering the whole frame. The last tile of a
        row or column overlaps its neighbour (or, with --pad, is padded with zeros), so no pixel is dropped;
        DIR/export.json lists each tile's origin.
        """,
        """
        ccdstudio export tiles frame.fits --labels frame.labels.png --size 256 --out tiles/
        ccdstudio export tiles frame.fits --labels frame.labels.png --skip-without cluster --pad --out tiles/
        """,
    )
    parser.add_argument("source", metavar="IMAGE", help="image file or segment folder")
    parser.add_argument("--labels", metavar="LABELS", help="label file (default: the image's own labels)")
    parser.add_argument("--size", type=int, default=256, help="tile side in pixels (default 256)")
    parser.add_argument("--pad", action="store_true", help="pad the last tiles instead of overlapping them")
    parser.add_argument("--layers", type=int_range, metavar="A-B", help="planes to put in each tile (0-based)")
    parser.add_argument("--skip-without", metavar="CLASS", help="write only tiles holding this class")
    _common(parser)
    parser.set_defaults(func=_run_tiles)


def _crops(kinds: Any) -> None:
    parser = add_command(
        kinds, "crops", "random windows inside the mask with a minimum label fraction",
        """
        Draw COUNT random windows inside the mask whose share of CLASS is above --min-fraction, cut the same
        window from the layers, the labels and the mask, flip and turn them alike, and write each sample as
        a segment folder (layers/NN.tif, mask.png, inklabels.png). Layers are read one window at a time.
        """,
        """
        ccdstudio export crops SEGMENT --size 1028 --min-fraction 0.15 --layers 15-50 --count 40 \\
            --flip 0.5 --rot90 0.5 --seed 1 --out crops/
        ccdstudio export crops SEGMENT --size 512 --count 100 --stitch --seed 2 --out pairs/
        """,
    )
    parser.add_argument("source", metavar="SOURCE", help="segment folder or image")
    parser.add_argument("--size", type=_size, default=(256, 256), help="window side, or HxW (default 256)")
    parser.add_argument("--count", type=int, default=10, help="samples to write (default 10)")
    parser.add_argument("--min-fraction", type=float, default=0.0, help="keep windows with more of CLASS than this")
    parser.add_argument("--class", dest="cls", metavar="CLASS",
                        help="class counted, by name or index (default: ink / class 1; 'any' for every class)")
    parser.add_argument("--layers", type=int_range, metavar="A-B", help="layers to cut, e.g. 15-50 (0-based)")
    parser.add_argument("--flip", type=float, default=0.0, help="probability of each flip (0-1)")
    parser.add_argument("--rot90", type=float, default=0.0, help="probability of a quarter turn (0-1)")
    parser.add_argument("--stitch", action="store_true", help="put windows side by side in pairs")
    parser.add_argument("--labels", metavar="LABELS", help="label file (default: the source's own)")
    parser.add_argument("--max-attempts", type=int, help="windows tried before giving up")
    _common(parser, random=True)
    parser.set_defaults(func=_run_crops)


def _boxes(kinds: Any) -> None:
    parser = add_command(
        kinds, "boxes", "boxes around labelled regions as COCO JSON, YOLO txt, DS9 regions and a preview",
        """
        Find the connected regions of a label map that meet the limits and write DIR/coco.json (boxes and
        segmentations pycocotools reads), DIR/NAME.txt with DIR/classes.txt (YOLO), DIR/NAME.reg (DS9,
        1-based image coordinates) and DIR/preview.png.
        """,
        """
        ccdstudio export boxes frame.labels.png --out boxes/
        ccdstudio export boxes frame.labels.png --image frame.fits --min-area 4 --max-area 500 --out boxes/
        ccdstudio export boxes SEGMENT --min-solidity 0.6 --segmentation rle --out boxes/
        """,
    )
    parser.add_argument("source", metavar="LABELS", help="label file, or an image or segment with labels")
    parser.add_argument("--image", metavar="IMAGE", help="the labelled image, drawn under the preview's boxes")
    parser.add_argument("--segmentation", choices=("polygon", "rle"), default="polygon",
                        help="COCO segmentation (polygon: RLE for regions with holes)")
    _box_limits(parser)
    _common(parser)
    parser.set_defaults(func=_run_boxes)


def _cutouts(kinds: Any) -> None:
    parser = add_command(
        kinds, "cutouts", "a folder per labelled region with its image, labels and mask",
        """
        Find the regions of the labels that meet the limits and write, for each, DIR/cutout_NNNN with the
        image (or the segment's layers), the labels and the mask inside its box, widened by --pad.
        """,
        """
        ccdstudio export cutouts frame.fits --labels frame.labels.png --class cluster --pad 8 --out cutouts/
        ccdstudio export cutouts SEGMENT --min-area 500 --layers 20-40 --out ink_cutouts/
        """,
    )
    parser.add_argument("source", metavar="SOURCE", help="image file or segment folder")
    parser.add_argument("--labels", metavar="LABELS", help="label file (default: the source's own)")
    parser.add_argument("--pad", type=int, default=0, help="pixels added around each box")
    parser.add_argument("--layers", type=int_range, metavar="A-B", help="layers to cut (0-based)")
    _box_limits(parser)
    _common(parser)
    parser.set_defaults(func=_run_cutouts)


def _size(text: str) -> tuple[int, int]:
    """``"1028"`` or ``"512x1024"`` (height x width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 1028 or 512x1024, got {text!r}") from None
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected a size like 1028 or 512x1024, got {text!r}")
    return (parts[0], parts[-1])


# ------------------------------------------------------------------------------------------------- running


def _open(path: str) -> Any:
    from ccdstudio.io import open_image

    return open_image(path)


def _labels(args: argparse.Namespace, source: Any) -> tuple[Any, Any]:
    """The labels given with --labels, else the source's own: ``(labels or None, classes or None)``."""
    from ccdstudio.export.inputs import source_labels
    from ccdstudio.labels.io import load_labels

    if getattr(args, "labels", None):
        return load_labels(args.labels)
    return source_labels(source)


def _whole_ccd(source: Any, labels: Any) -> Any:
    """``source``, or the mosaic of its amplifiers (placed by DETSEC) where ``labels`` cover the whole CCD."""
    from ccdstudio.io.ccd import MosaicSource, mosaic_shape

    whole = mosaic_shape(source)
    return MosaicSource(source) if whole is not None and labels is not None and labels.shape[:2] == whole else source


def _class_index(text: str, classes: Any) -> int:
    """A class given by index or by name."""
    from ccdstudio.cli._common import require

    if text.isdigit():
        return int(text)
    require(classes is not None, f"class {text!r} is given by name but the labels carry no class names; "
                                 "give its index")
    return classes.index(text)


def _run_job(args: argparse.Namespace, job: Any) -> Any:
    from ccdstudio.cli._common import run_job

    return run_job(job, quiet=args.quiet, json_lines=args.json)


def _run_tiles(args: argparse.Namespace) -> int:
    from ccdstudio.export.tiles import export_tiles

    with _open(args.source) as source:
        labels, classes = _labels(args, source)
        skip = None if args.skip_without is None else _class_index(args.skip_without, classes)
        _run_job(args, export_tiles(_whole_ccd(source, labels), args.out, args.size, layers=args.layers, labels=labels,
                                    classes=classes, mode="pad" if args.pad else "overlap", skip_without=skip,
                                    overwrite=args.overwrite))
    print(args.out)
    return 0


def _run_crops(args: argparse.Namespace) -> int:
    from ccdstudio.export.crops import CropOptions, export_crops

    with _open(args.source) as source:
        labels, classes = _labels(args, source)
        if args.cls is None:
            cls = classes.index("ink") if classes is not None and "ink" in classes.names else 1
        else:
            cls = None if args.cls == "any" else _class_index(args.cls, classes)
        options = CropOptions(size=args.size, count=args.count, min_fraction=args.min_fraction, cls=cls,
                              layers=args.layers, flip=args.flip, rot90=args.rot90, stitch=args.stitch,
                              seed=args.seed, max_attempts=args.max_attempts)
        _run_job(args, export_crops(_whole_ccd(source, labels), args.out, options, labels=labels, classes=classes,
                                    overwrite=args.overwrite))
    print(args.out)
    return 0


def _limits(args: argparse.Namespace, classes: Any) -> tuple[Any, Any]:
    from ccdstudio.export.boxes import BoxLimits

    chosen = None if not args.cls else [_class_index(c, classes) for c in args.cls]
    return chosen, BoxLimits(args.min_area, args.max_area, args.min_solidity, args.max_aspect, args.connectivity)


def _label_array(labels: Any) -> Any:
    """A label map read whole (box finding needs all of it; label maps are uint8, 1 byte a pixel)."""
    import numpy as np

    return np.asarray(labels[:, :])


def _run_boxes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ccdstudio.cli._common import require
    from ccdstudio.export.annotations import export_boxes
    from ccdstudio.export.inputs import classes_for, source_labels
    from ccdstudio.labels.io import load_labels

    path = Path(args.source)
    if path.is_dir():
        with _open(args.source) as source:
            labels, classes = source_labels(source)
            require(labels is not None, f"{path.name} has no labels")
            labels = _label_array(labels)
    else:
        labels, classes = load_labels(path)
    classes = classes_for(labels, classes)
    image = None
    if args.image:
        with _open(args.image) as source:
            whole = _whole_ccd(source, labels)
            image = whole.read(whole.indices("image")[0])
    chosen, limits = _limits(args, classes)
    boxes = _run_job(args, export_boxes(labels, args.out, classes, name=Path(args.image or path).name, image=image,
                                        box_classes=chosen, limits=limits, segmentation=args.segmentation,
                                        overwrite=args.overwrite))
    print(f"{len(boxes)} boxes in {args.out}")
    return 0


def _run_cutouts(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ccdstudio.cli._common import require
    from ccdstudio.export.boxes import find_boxes
    from ccdstudio.export.cutouts import export_cutouts

    with _open(args.source) as source:
        labels, classes = _labels(args, source)
        require(labels is not None, "cut-outs need labels: pass --labels LABELS")
        labels = _label_array(labels)
        chosen, limits = _limits(args, classes)
        boxes = find_boxes(labels, chosen, **asdict(limits))
        _run_job(args, export_cutouts(_whole_ccd(source, labels), args.out, boxes, labels=labels, classes=classes,
                                      layers=args.layers,
                                      pad=args.pad, overwrite=args.overwrite))
    print(f"{len(boxes)} cut-outs in {args.out}")
    return 0
