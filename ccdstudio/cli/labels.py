"""``ccdstudio labels``: describe, convert and remap label files (PNG, TIFF, NPY, FITS)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ccdstudio.cli._common import add_command

CONVENTIONS = ("auto", "index", "ink")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "labels",
        "describe, convert and remap label maps",
        """
        Work with label maps (uint8 class indices) and the class sets that travel with them: indexed PNG
        (palette + .classes.json sidecar), ImageJ TIFF, NPY (+ sidecar) and FITS (CLASSn/COLORn cards).

          info     size, classes and pixels per class
          convert  any label format to any other (0/255 Vesuvius ink PNGs too)
          remap    move classes onto others, e.g. fold muon and electron into cluster

        A label file of a project (PROJECT/labels/...) is read in the project's current classes: the class
        merges and reorders recorded since it was saved are applied, as for export and training.
        """,
        """
        ccdstudio labels info inklabels.png
        ccdstudio labels convert frame_labels.fits frame_labels.png
        ccdstudio labels convert inklabels.png ink.tif --convention ink
        ccdstudio labels convert labels.png labels.fits --header frame.fits   # keep the frame's WCS
        ccdstudio labels remap labels.fits merged.fits --map 4:3,5:3
        ccdstudio labels remap labels.png merged.png --map muon:cluster,electron:cluster --save-remap remap.json
        """,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    info = add_command(actions, "info", "shape, classes and pixels per class of a label file",
                       "Print a label file's size, classes and pixels per class.", """
        ccdstudio labels info inklabels.png
        ccdstudio labels info frame_labels.fits --json
        """)
    _add_input(info)
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    info.set_defaults(func=_info)

    convert = add_command(actions, "convert", "write a label file in another format",
                          "Write a label file in another format (by the output's extension).", """
        ccdstudio labels convert frame_labels.fits frame_labels.png
        ccdstudio labels convert inklabels.png ink.tif --convention ink
        ccdstudio labels convert labels.png labels.fits --header frame.fits   # keep the frame's WCS
        """)
    _add_input(convert)
    _add_output(convert)
    convert.set_defaults(func=_convert)

    remap = add_command(actions, "remap", "merge or move classes and write the result",
                        "Move classes onto others (merging them) and write the result.", """
        ccdstudio labels remap labels.fits merged.fits --map 4:3,5:3
        ccdstudio labels remap labels.png merged.png --map muon:cluster,electron:cluster --save-remap remap.json
        """)
    _add_input(remap)
    _add_output(remap)
    remap.add_argument("--map", required=True, metavar="FROM:TO,...",
                       help="class moves by index or name, e.g. 4:3,5:3 or muon:cluster (a new name adds a class)")
    remap.add_argument("--names", metavar="A,B,...", help="new names for all resulting classes, in order")
    remap.add_argument("--save-remap", metavar="JSON", help="also write the remap, to apply it again later")
    remap.set_defaults(func=_remap)


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="label file: .png, .tif, .npy or .fits")
    parser.add_argument("--convention", choices=CONVENTIONS, default="auto",
                        help="how to read pixel values: class indices, or Vesuvius ink (0/255); "
                             "auto reads a 0/255 file without class list as ink (default)")
    parser.add_argument("--extname", help="FITS HDU holding the labels (default: LABELS, else the first image)")
    parser.add_argument("--as-saved", action="store_true",
                        help="a project's label file in the classes it was saved with (by default the class "
                             "merges and reorders the project recorded since are applied)")


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", metavar="OUT", help="file to write; its extension picks the format")
    parser.add_argument("--classes", metavar="PRESET",
                        help="give the labels this class preset (ccd, ink) when the input has no class names")
    parser.add_argument("--header", metavar="FITS",
                        help="for FITS output: copy the header cards (WCS, ...) of this image")
    parser.add_argument("--ink", action="store_true",
                        help="write the Vesuvius convention: grey PNG/TIFF, 0 background, 255 any class")


def _read(args: argparse.Namespace) -> tuple[Any, Any]:
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.labels.io import load_labels

    labels, classes = load_labels(args.input, convention=args.convention, extname=args.extname,
                                  as_saved=args.as_saved)
    preset = getattr(args, "classes", None)
    if preset:
        chosen = ClassSet.preset(preset)
        if labels.size and int(labels.max()) >= len(chosen):
            from ccdstudio.errors import CcdstudioError

            raise CcdstudioError(f"{args.input} uses class {int(labels.max())}; preset {preset!r} has only "
                                 f"{len(chosen)} classes")
        classes = chosen
    return labels, classes


def _write(args: argparse.Namespace, labels: Any, classes: Any) -> None:
    from ccdstudio.labels import fits_labels
    from ccdstudio.labels.io import label_format, save_ink_labels, save_labels

    if args.ink:
        save_ink_labels(args.output, labels)
        return
    header = None
    if label_format(args.output) == "fits":
        if args.header:
            header = fits_labels.read_header(args.header)
        elif label_format(args.input) == "fits":
            header = fits_labels.read_header(args.input, args.extname)
    save_labels(args.output, labels, classes, header=header)


def _info(args: argparse.Namespace) -> int:
    from ccdstudio.labels.io import label_format
    from ccdstudio.labels.stats import class_stats

    labels, classes = _read(args)
    counts = class_stats(labels, classes)
    report = {
        "file": str(args.input),
        "format": label_format(args.input),
        "shape": list(labels.shape),
        "classes": [{"index": c.index, "name": c.name, "color": list(classes[c.index].color)
                     if c.index < len(classes) else None, "pixels": c.pixels, "fraction": c.fraction}
                    for c in counts],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    height, width = labels.shape
    print(f"{args.input}: {report['format'].upper()} label map, {width} x {height} pixels, {len(classes)} classes")
    name_width = max(len(c.name) for c in counts)
    for c in counts:
        color = "#{:02x}{:02x}{:02x}".format(*classes[c.index].color) if c.index < len(classes) else "-"
        print(f"  {c.index:3d}  {c.name:<{name_width}}  {color}  {c.pixels:>12,d} px  {c.fraction:8.4%}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    labels, classes = _read(args)
    _write(args, labels, classes)
    print(f"wrote {args.output} ({labels.shape[1]} x {labels.shape[0]}, classes {', '.join(classes.names)})")
    return 0


def _remap(args: argparse.Namespace) -> int:
    from ccdstudio.io.atomic import write_text
    from ccdstudio.labels.remap import Remap, parse_mapping

    labels, classes = _read(args)
    names = [n.strip() for n in args.names.split(",")] if args.names else None
    remap = Remap.merge(classes, parse_mapping(args.map), names)
    _write(args, remap.apply(labels, classes), remap.target)
    if args.save_remap:
        write_text(args.save_remap, json.dumps(remap.to_dict(), indent=1) + "\n", "the remap")
    moves = "; ".join(remap.describe()) or "no class changes"
    print(f"wrote {args.output}: {moves}; classes now {', '.join(remap.target.names)}")
    return 0
