"""``ccdstudio particles``: threshold an image and measure its particles as Fiji's Analyze Particles does."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ccdstudio.cli._common import add_command, positive_float


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "particles",
        "threshold an image and measure its particles (Fiji's Analyze Particles)",
        """
        Threshold one plane of an image and measure every particle with ImageJ's definitions (Area, Mean,
        X, Y, Perim., BX, BY, Width, Height, Major, Minor, Angle, Circ., IntDen, AR, Round, Solidity, ...),
        writing ImageJ's Results table as CSV. Particles are 8-connected as in ImageJ unless
        --connectivity 4. The threshold is a manual range, one of Fiji's automatic methods, or k sigma
        over the robust pedestal (median + MAD) of a CCD frame, optionally with a second, lower level that
        grows the seeds (the classic cluster finder). With --sigma the table also has the energy above
        the pedestal (ADU; electrons and keV with --gain) and the charge-weighted widths.

        A FITS file of several amplifiers (one extension each, placed by DETSEC) is analysed whole, as the
        window's mosaic shows it: with --sigma each amplifier against its own pedestal and noise, the
        energies over that pedestal; --hdu N analyses one amplifier as stored.

        Positions (X, Y, XM, YM, BX, BY) are ImageJ's, in the array as stored: the centre of the first
        pixel of the first row is X 0.5, Y 0.5. DS9's image coordinates of a FITS frame (1-based, what
        the window's status bar and cluster table show) are X + 0.5 and Y + 0.5.
        """,
        """
        ccdstudio particles frame.fits --sigma 5 --sigma-low 3 --gain 6.5 --out clusters.csv
        ccdstudio particles frame.fits --hdu 2 --sigma 4 --pedestal-lines rows --min-area 2 --out c.csv
        ccdstudio particles cells.tif --method Otsu --exclude-edges --mask-out count.tif --out cells.csv
        ccdstudio particles mask.png --threshold 255 --min-area 10 --circularity 0.5-1 --out shapes.csv
        """,
    )
    parser.add_argument("file", help="image file (FITS, TIFF, PNG, NPY) or segment folder")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--hdu", type=int, metavar="N", help="plane to analyse, numbered as `ccdstudio info` lists "
                                                            "them (default: the first image plane, or every "
                                                            "amplifier of a multi-amplifier FITS as one CCD)")
    where.add_argument("--layer", type=int, metavar="K", help="image layer K of a segment (0-based)")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--threshold", metavar="LO[:HI]", help="manual range in data units (inclusive)")
    how.add_argument("--method", metavar="NAME", help="Fiji's automatic method: Default, Huang, Intermodes, "
                                                      "IsoData, Li, MaxEntropy, Mean, MinError, Minimum, Moments, "
                                                      "Otsu, Percentile, RenyiEntropy, Shanbhag, Triangle, Yen")
    how.add_argument("--sigma", type=positive_float, metavar="K", help="pixels K sigma above the robust pedestal")
    parser.add_argument("--sigma-low", type=positive_float, metavar="K2", help="with --sigma: grow seeds into connected "
                                                                      "pixels K2 sigma above the pedestal")
    parser.add_argument("--pedestal-lines", choices=("rows", "columns"),
                        help="with --sigma: pedestal and noise per row or column (follows drift)")
    parser.add_argument("--light-background", action="store_true",
                        help="with --method: the objects are darker than the background")
    parser.add_argument("--min-area", type=float, default=0.0, metavar="A", help="smallest particle (pixels, "
                                                                                "or units^2 with --pixel-size)")
    parser.add_argument("--max-area", type=float, default=math.inf, metavar="B", help="largest particle")
    parser.add_argument("--circularity", metavar="LO-HI", default="0-1", help="circularity range (default 0-1)")
    parser.add_argument("--connectivity", type=int, choices=(4, 8), default=8,
                        help="particle connectivity (default 8, as ImageJ; 4 also includes holes, as ImageJ)")
    parser.add_argument("--exclude-edges", action="store_true", help="drop particles touching the image border")
    parser.add_argument("--include-holes", action="store_true", help="measure particles with their interior holes")
    parser.add_argument("--feret", action="store_true", help="add Feret, FeretX, FeretY, FeretAngle, MinFeret")
    parser.add_argument("--pixel-size", type=positive_float, default=1.0, metavar="S", help="calibrated size of a pixel")
    parser.add_argument("--gain", type=positive_float, metavar="G", help="ADU per electron (energies in e- and keV)")
    parser.add_argument("--out", required=True, metavar="CSV", help="Results table (ImageJ CSV layout)")
    parser.add_argument("--mask-out", metavar="TIF", help="also write the count mask (particle i has value i)")
    parser.add_argument("--quiet", action="store_true", help="no summary line")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from ccdstudio.errors import CcdstudioError
    from ccdstudio.imaging import threshold as th
    from ccdstudio.imaging.particles import ParticleOptions, analyze_particles
    from ccdstudio.io import open_image
    from ccdstudio.io.ccd import has_mosaic

    circularity = _range(args.circularity)
    if args.sigma is None and (args.sigma_low is not None or args.pedestal_lines):
        raise CcdstudioError("--sigma-low and --pedestal-lines go with --sigma")
    options = ParticleOptions(min_size=args.min_area, max_size=args.max_area, min_circularity=circularity[0],
                              max_circularity=circularity[1], connectivity=args.connectivity,
                              exclude_edges=args.exclude_edges, include_holes=args.include_holes,
                              pixel_size=args.pixel_size, feret=args.feret, gain=args.gain,
                              pedestal=0.0 if args.sigma is not None else None)
    options.validate()
    background = None
    with open_image(args.file) as source:
        if args.hdu is None and args.layer is None and has_mosaic(source):  # a CCD read by several amplifiers
            image, background = _mosaic(source, args)
        else:
            image = source.read(_plane(source, args.hdu, args.layer))
    if image.ndim != 2:
        raise CcdstudioError(f"{args.file}: the plane is not a 2-D image (shape {image.shape})")
    th.finite_values(image)  # an image without a single finite pixel is bad input
    try:
        if args.sigma is not None:
            found = th.sigma_threshold(image, args.sigma, args.sigma_low, lines=args.pedestal_lines,
                                       connectivity=args.connectivity, gain=args.gain, background=background)
            mask, limits = found.mask, None
            options = dataclasses.replace(options, pedestal=found.pedestal)
        else:
            if args.threshold is not None:
                limits = _threshold(args.threshold)
            else:
                limits = th.auto_threshold(image, args.method, dark_background=not args.light_background)
            mask = th.threshold_range(image, *limits)
    except th.NoThreshold as why:
        return _empty(args, analyze_particles(np.zeros((1, 1), bool), options=options).table, str(why))
    result = analyze_particles(mask, image, options)
    if args.mask_out:
        from ccdstudio.io.write import write_tiff

        counts = result.count_mask
        write_tiff(args.mask_out, counts.astype(np.uint16) if counts.max(initial=0) <= 65535 else counts)
    if len(result.table) == 0:
        note = result.note
        if limits is not None and not mask.any():
            upper = "" if limits[1] is None else f" to {limits[1]:g}"
            note = f"no pixel lies in the threshold range {limits[0]:g}{upper}"
        return _empty(args, result.table, note)
    result.table.to_csv(args.out)
    if not args.quiet:
        s = result.summary
        print(f"{s.count} particles, total area {s.total_area:g}, average {s.average_size:.4g}, "
              f"{s.percent_area:.3g}% of the image -> {args.out}", file=sys.stderr)
    return 0


def _mosaic(source: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The whole CCD of a multi-amplifier FITS, placed by DETSEC, and with --sigma each amplifier's own
    pedestal and noise placed alike (None without --sigma)."""
    from ccdstudio.imaging.threshold import amplifier_background
    from ccdstudio.io.ccd import MosaicSource

    image = MosaicSource(source).read()
    return image, amplifier_background(source, args.pedestal_lines) if args.sigma is not None else None


def _empty(args: argparse.Namespace, table: Any, note: str) -> int:
    table.to_csv(args.out)
    print(f"ccdstudio particles: note: {note}; wrote an empty table to {args.out}", file=sys.stderr)
    return 0


def _plane(source: Any, hdu: int | None, layer: int | None) -> int:
    from ccdstudio.errors import CcdstudioError

    images = source.indices("image")
    if layer is not None:
        if not 0 <= layer < len(images):
            raise CcdstudioError(f"--layer {layer}: the file has image layers 0 to {len(images) - 1}")
        return images[layer]
    if hdu is None:
        return images[0] if images else 0
    if not 0 <= hdu < len(source.planes):
        raise CcdstudioError(f"--hdu {hdu}: the file has planes 0 to {len(source.planes) - 1}")
    return hdu


def _threshold(text: str) -> tuple[float, float | None]:
    from ccdstudio.errors import CcdstudioError

    low, sep, high = text.partition(":")
    try:
        return float(low), (float(high) if sep and high else None)
    except ValueError:
        raise CcdstudioError(f"--threshold expects LO or LO:HI in data units, not {text!r}") from None


def _range(text: str) -> tuple[float, float]:
    from ccdstudio.errors import CcdstudioError

    low, sep, high = text.partition("-")
    try:
        return float(low), float(high) if sep else 1.0
    except ValueError:
        raise CcdstudioError(f"--circularity expects LO-HI such as 0.5-1, not {text!r}") from None
