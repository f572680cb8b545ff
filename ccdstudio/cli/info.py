"""``ccdstudio info``: what a file holds (format, planes, key header cards) and its value statistics."""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from typing import Any

from ccdstudio.cli._common import add_command, json_text

KEY_CARDS = (
    "EXTNAME", "OBJECT", "INSTRUME", "DETECTOR", "AMPNAME", "DATE-OBS", "EXPTIME", "NSAMP", "NDCMS", "CCDTEMP",
    "TEMP", "DATASEC", "BIASSEC", "DETSEC", "CCDSEC", "TRIMSEC", "GAIN", "EGAIN", "RDNOISE", "BUNIT", "BZERO",
    "BSCALE", "BLANK",
)
"""Cards worth a line in the summary, in this order (a plane's card wins over the primary header's)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "info",
        "describe an image file: planes, header cards, value statistics",
        """
        Print what a FITS, TIFF, PNG, JPEG or NPY file or a scroll segment folder holds: its format, each
        plane (HDU, page or layer) with size, type and role, the key header cards (EXTNAME, DATASEC, BIASSEC,
        DETSEC, GAIN, EXPTIME, NSAMP, DATE-OBS, ...) and statistics of one plane's values over its data
        section (min and max exact; median and MAD sigma sampled on huge planes).
        """,
        """
        ccdstudio info frame.fits                 # every HDU, statistics of the first image
        ccdstudio info frame.fits --hdu 3         # header cards and statistics of plane 3
        ccdstudio info segments/20230702185753 --json > segment.json
        """,
    )
    parser.add_argument("file", help="image file or segment folder")
    parser.add_argument("--hdu", type=int, metavar="N",
                        help="plane to describe in detail, numbered as in the plane list (default: the first image)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.io import SegmentSource, open_image

    with open_image(args.file) as source:
        if isinstance(source, SegmentSource):  # what a researcher checks a segment with: every layer's header
            source.check_layers()
        report = describe(source, args.hdu)
    if args.json:
        print(json_text(report))
    else:
        print(_format(report))
    return 0


def describe(source: Any, plane: int | None = None) -> dict[str, Any]:
    """Everything ``info`` prints about ``source``, as JSON-ready data; ``plane`` is measured in detail."""
    from ccdstudio.errors import CcdstudioError
    from ccdstudio.io.ccd import MosaicSource, gain, has_mosaic
    from ccdstudio.io.stats import plane_stats

    if plane is None:
        images = source.indices("image")
        plane = images[0] if images else 0
    if not 0 <= plane < len(source.planes):
        raise CcdstudioError(f"--hdu {plane}: the file has planes 0 to {len(source.planes) - 1}")
    hdus = source.metadata.get("hdus")
    planes = [
        {"index": i, "name": p.name, "width": p.shape[1], "height": p.shape[0], "dtype": str(p.dtype), "role": p.role,
         **({"hdu": hdus[i]} if hdus else {})}
        for i, p in enumerate(source.planes)
    ]
    header = {**_mapping(source.metadata.get("primary_header")), **_mapping(source.planes[plane].header)}
    cards = {key: header[key] for key in KEY_CARDS if key in header}
    metadata = {k: v for k, v in source.metadata.items() if k not in ("primary_header", "hdus")}
    report: dict[str, Any] = {
        "path": str(source.path), "format": source.format, "planes": planes, "metadata": metadata,
        "plane": plane, "cards": cards, "gain": gain(header),
        "stats": plane_stats(source, plane),
    }
    if has_mosaic(source):
        mosaic = MosaicSource(source)
        height, width = mosaic.planes[0].shape
        report["mosaic"] = {"amplifiers": mosaic.metadata["amplifiers"], "width": width, "height": height}
    return report


def _mapping(header: Any) -> dict[str, Any]:
    if header is None:
        return {}
    if hasattr(header, "cards"):  # an astropy Header: skip COMMENT/HISTORY and blank cards
        return {c.keyword: c.value for c in header.cards if c.keyword not in ("", "COMMENT", "HISTORY")}
    return dict(header) if isinstance(header, Mapping) else {}


def _number(value: float) -> str:
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.6g}"


def _format(report: dict[str, Any]) -> str:
    count = len(report["planes"])
    lines = [f"{report['path']}: {report['format'].upper()}, {count} plane{'s' * (count != 1)}"]
    extras = {k: v for k, v in report["metadata"].items() if isinstance(v, (str, int, float, bool)) and v != ""}
    if extras:
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in extras.items()))
    has_hdu = any("hdu" in p for p in report["planes"])
    rows = [("#", *(("HDU",) if has_hdu else ()), "name", "size", "dtype", "role")]
    for p in report["planes"]:
        hdu = (str(p["hdu"]),) if has_hdu else ()
        rows.append((str(p["index"]), *hdu, p["name"], f"{p['width']}x{p['height']}", p["dtype"], p["role"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if "mosaic" in report:
        m = report["mosaic"]
        lines.append(f"mosaic: {len(m['amplifiers'])} amplifiers assemble a {m['width']}x{m['height']} image")
    chosen = report["planes"][report["plane"]]
    if report["cards"]:
        lines.append(f"plane {chosen['index']} ({chosen['name']}) header:")
        lines += [f"  {key:<8} = {value}" for key, value in report["cards"].items()]
    s = report["stats"]
    lines.append(f"statistics of plane {chosen['index']} over {s['section']}"
                 f"{' (median and sigma sampled)' if s['sampled'] else ''}:")
    lines.append("  " + "  ".join(f"{k} {_number(s[k])}" for k in ("min", "max", "mean", "median", "sigma")))
    lines.append(f"  finite {s['finite']}  NaN {s['nan']}  Inf {s['inf']}  of {s['pixels']} pixels")
    return "\n".join(lines)
