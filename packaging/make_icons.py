"""Draw the app icon: a CCD pixel grid with a particle track and a diffusion cluster.

Writes ``resources/icons/ccdstudio.svg``, PNGs of the usual sizes, ``ccdstudio.ico`` (Windows) and
``ccdstudio.icns`` (macOS). The icons are committed; run this again only to change them:
``QT_QPA_PLATFORM=offscreen python packaging/make_icons.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
GRID = 8
"""Pixels per side of the drawn CCD: few enough to stay readable at 16 px."""
TRACK = ((0.9, 6.8), (6.6, 1.2))
"""Ends of the track, in cell units from the top-left of the grid."""
CLUSTER = (6.3, 6.2)
RAMP = ((0.0, (0x24, 0x36, 0x62)), (0.35, (0xE8, 0x5D, 0x04)), (0.7, (0xFF, 0xBA, 0x08)), (1.0, (0xFF, 0xF6, 0xD5)))
"""Charge to colour: empty pixel, then a heat ramp."""


def _segment_distance(x: float, y: float) -> float:
    (x0, y0), (x1, y1) = TRACK
    dx, dy = x1 - x0, y1 - y0
    t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - x0 - t * dx, y - y0 - t * dy)


def charge(col: int, row: int) -> float:
    """Charge in a cell, 0..1: a straight track (a muon) plus a round cluster (a diffused electron)."""
    x, y = col + 0.5, row + 0.5
    track = math.exp(-(_segment_distance(x, y) ** 2) / (2 * 0.42**2))
    cluster = math.exp(-((x - CLUSTER[0]) ** 2 + (y - CLUSTER[1]) ** 2) / (2 * 0.55**2))
    value = min(1.0, max(track, cluster))
    return value if value > 0.2 else 0.0  # no faint halo: it reads as mud at small sizes


def colour(value: float) -> str:
    for (v0, c0), (v1, c1) in zip(RAMP, RAMP[1:]):
        if value <= v1:
            t = (value - v0) / (v1 - v0)
            return "#" + "".join(f"{round(a + t * (b - a)):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in RAMP[-1][1])


def svg() -> str:
    """The icon as SVG on a 256-unit canvas: rounded dark tile, 8x8 pixel cells coloured by charge."""
    origin, cell, gap = 28, 25, 3
    cells = [
        f'<rect x="{origin + c * cell + gap / 2}" y="{origin + r * cell + gap / 2}" width="{cell - gap}" '
        f'height="{cell - gap}" rx="3" fill="{colour(charge(c, r))}"/>'
        for r in range(GRID)
        for c in range(GRID)
    ]
    return "\n".join([
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">',
        '<rect x="4" y="4" width="248" height="248" rx="48" fill="#0d1b2a"/>',
        '<rect x="20" y="20" width="216" height="216" rx="20" fill="none" stroke="#415a77" stroke-width="4"/>',
        *cells,
        "</svg>",
        "",
    ])


def main() -> None:
    from PIL import Image
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    ICONS.mkdir(parents=True, exist_ok=True)
    text = svg()
    (ICONS / "ccdstudio.svg").write_text(text)
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt painting needs an application)
    renderer = QSvgRenderer(QByteArray(text.encode()))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"ccdstudio-{size}.png"))
    largest = Image.open(ICONS / f"ccdstudio-{SIZES[-1]}.png")
    largest.save(ICONS / "ccdstudio.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(ICONS / "ccdstudio.icns")


if __name__ == "__main__":
    main()
