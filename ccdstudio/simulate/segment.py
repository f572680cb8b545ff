"""Synthetic scroll segments: papyrus layers with fibres, ink letters near the surface, mask and ink labels.

A segment folder is written the way the Vesuvius Challenge ships one: ``layers/00.tif`` ... (uint16, one
file per depth, two digits up to 100 layers, three above), ``mask.png`` (0/255, the papyrus outline) and
``inklabels.png`` (0/255, where there is ink). The papyrus is a stack of sheets along z, each with
horizontal fibres on one face and vertical fibres on the other, whose surface undulates around the middle
layer; ink sits on the surface and shows in the few layers around it, strongest at the surface.

The volume is never held in memory: work goes one block of rows at a time through every layer, writing
each layer's strip straight into its file, and besides one block only the 2-D mask and ink maps (one byte
per pixel) are kept, so a 65 x 10000 x 8000 segment needs a few hundred MB. Every block is a function of
the seed and its position alone.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.atomic import atomic_path
from ccdstudio.jobs import CancelToken, Job, Progress, check

BLOCK_ROWS = 256
"""Rows made and written at a time (one TIFF strip)."""


@dataclass(frozen=True)
class SegmentLook:
    """Grey levels (uint16) and geometry of the synthetic papyrus."""

    air: float = 9000.0
    papyrus: float = 23000.0
    fibre_contrast: float = 4000.0
    bundle_contrast: float = 2500.0
    ink_contrast: float = 5000.0
    noise: float = 1300.0
    surface_undulation: float = 1.0
    """Peak-to-mean height (layers) of the surface's slow waves."""


def layer_name(index: int, layers: int) -> str:
    """``07.tif`` for up to 100 layers, ``007.tif`` above (the Vesuvius naming)."""
    return f"{index:0{2 if layers <= 100 else 3}d}.tif"


class SmoothNoise:
    """A smooth random field: a coarse grid of normal values interpolated at spacing ``(sy, sx)`` pixels.

    Any block of rows can be evaluated on its own (separable smoothstep interpolation of the grid), so a
    field as large as a segment costs only its coarse grid. The grid wraps around, which lets a layer shift
    the field by any amount.
    """

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int], spacing: tuple[float, float]):
        self.sy, self.sx = spacing
        self.grid = rng.standard_normal((int(shape[0] / self.sy) + 3, int(shape[1] / self.sx) + 3)).astype(np.float32)

    def block(self, rows: slice, width: int, shift_y: float = 0.0, shift_x: float = 0.0) -> np.ndarray:
        """The field over ``rows`` x ``[0, width)`` (float32, unit variance at the grid points)."""
        gh, gw = self.grid.shape
        i, wy = _cells(np.arange(rows.start, rows.stop) + shift_y, self.sy, gh)
        coarse = self.grid[i] * (1 - wy)[:, None] + self.grid[(i + 1) % gh] * wy[:, None]
        j, wx = _cells(np.arange(width) + shift_x, self.sx, gw)
        return coarse[:, j] * (1 - wx) + coarse[:, (j + 1) % gw] * wx


def _cells(position: np.ndarray, spacing: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell index and smoothstep weight of each position."""
    scaled = position / spacing
    cell = np.floor(scaled)
    frac = (scaled - cell).astype(np.float32)
    return cell.astype(np.int64) % size, frac * frac * (3 - 2 * frac)


def _soft_step(x: np.ndarray, width: float) -> np.ndarray:
    """0 below ``-width / 2``, 1 above ``width / 2``, a smoothstep between (cheaper than a sigmoid)."""
    t = np.clip(x * np.float32(1 / width) + np.float32(0.5), 0, 1)
    return t * t * (3 - 2 * t)


class _Papyrus:
    """The random fields of a segment, made once from the seed and evaluated a block of rows at a time."""

    def __init__(self, layers: int, shape: tuple[int, int], seed: int, look: SegmentLook):
        self.layers, self.shape, self.seed, self.look = layers, shape, seed, look
        rng = np.random.default_rng([seed, 0])
        self.surface_layer = (layers - 1) / 2
        self.sheet = max(3.0, 0.35 * layers)
        self.period = self.sheet + max(2.0, 0.25 * layers)
        size = min(shape)
        self.surface = SmoothNoise(rng, shape, (max(size / 6, 8), max(size / 6, 8)))
        self.h_fibres = [SmoothNoise(rng, shape, (4.0, 160.0)) for _ in range(2)]
        self.v_fibres = [SmoothNoise(rng, shape, (160.0, 4.0)) for _ in range(2)]
        self.h_bundles = SmoothNoise(rng, shape, (24.0, 700.0))
        self.v_bundles = SmoothNoise(rng, shape, (700.0, 24.0))
        self.outline = [SmoothNoise(rng, shape, (max(size / s, 4), max(size / s, 4))) for s in (10, 40)]
        bank = max(1 << 22, 2 * BLOCK_ROWS * shape[1])  # room for any block at many offsets
        self.noise_bank = np.random.default_rng([seed, 1]).standard_normal(bank, dtype=np.float32)

    def mask_block(self, rows: slice) -> np.ndarray:
        """The papyrus outline: a ragged rectangle eaten into from the edges."""
        height, width = self.shape
        y = np.arange(rows.start, rows.stop, dtype=np.float32)[:, None]
        x = np.arange(width, dtype=np.float32)[None, :]
        edge = np.minimum(np.minimum(y, height - 1 - y), np.minimum(x, width - 1 - x)) / (0.12 * min(height, width))
        coarse, fine = (n.block(rows, width) for n in self.outline)
        return edge - 1 + 0.5 * coarse + 0.12 * fine > 0

    def block(self, rows: slice, ink: np.ndarray, mask: np.ndarray) -> _Block:
        """The depth-independent fields of ``rows``; ``ink`` (uint8 coverage) and ``mask`` cover those rows."""
        look, width = self.look, self.shape[1]
        inside = mask.astype(np.float32)
        fc, bc = np.float32(look.fibre_contrast), np.float32(look.bundle_contrast)
        h = [f.block(rows, width) for f in self.h_fibres]
        v = [f.block(rows, width) for f in self.v_fibres]
        hb, vb = self.h_bundles.block(rows, width), self.v_bundles.block(rows, width)
        # Papyrus grey = base + (vertical texture) + recto * (horizontal - vertical texture), masked; each
        # texture mixes two fields with weights (cos, sin) that turn with depth.
        base = inside * (np.float32(look.papyrus - look.air) + bc * vb)
        across = [inside * fc * v[0], inside * fc * v[1]]
        along = [inside * fc * (h[0] - v[0]), inside * fc * (h[1] - v[1]), inside * bc * (hb - vb)]
        surface = np.float32(self.surface_layer) + np.float32(look.surface_undulation) * self.surface.block(rows, width)
        where_ink = np.flatnonzero(ink)
        return _Block(self, rows, surface, base, across, along, where_ink, ink.ravel()[where_ink] / np.float32(255))


@dataclass
class _Block:
    """One block of rows with its depth-independent fields; :meth:`layer` makes any layer of it."""

    papyrus: _Papyrus
    rows: slice
    surface: np.ndarray
    base: np.ndarray
    across: list[np.ndarray]
    along: list[np.ndarray]
    where_ink: np.ndarray
    ink: np.ndarray

    def layer(self, z: int) -> np.ndarray:
        """Grey values (uint16) of layer ``z`` over the block's rows."""
        pap, look = self.papyrus, self.papyrus.look
        depth = np.float32(z) - self.surface
        turn = 0.15 * z  # how far the two fibre fields have turned into each other at this depth
        c, s = np.float32(math.cos(turn)), np.float32(math.sin(turn))
        flat = self.base + c * self.across[0] + s * self.across[1]
        recto_gain = c * self.along[0] + s * self.along[1] + self.along[2]
        value = np.full(depth.shape, look.air, np.float32)
        for k in (-1, 0, 1):
            local = depth - np.float32(k * pap.period)  # depth below this sheet's upper face
            if local.max() < -2 or local.min() > pap.sheet + 3:
                continue
            density = _soft_step(local, 2.0) * _soft_step(pap.sheet - local, 3.0)
            recto = _soft_step(pap.sheet / 2 - local, 4.0)  # horizontal fibres on the upper face
            value += density * (flat + recto * recto_gain)
        # Ink lies on the surface: visible a layer above it and fading over a few layers into the sheet.
        if self.where_ink.size:
            d = depth.ravel()[self.where_ink]
            profile = np.where(d >= 0, np.exp(-d / 2.5), np.exp(-((d / 0.8) ** 2)))
            value.ravel()[self.where_ink] += np.float32(look.ink_contrast) * self.ink * profile
        # Pixel noise from a bank of normals at a position drawn from (seed, layer, block): cheap and repeatable.
        bank = pap.noise_bank
        start = int(np.random.default_rng([pap.seed, 2, z, self.rows.start]).integers(0, bank.size - value.size))
        value += np.float32(look.noise) * bank[start:start + value.size].reshape(value.shape)
        return np.clip(value, 0, 65535).astype(np.uint16)


def draw_ink(shape: tuple[int, int], mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lines of letter-like strokes (bars, diagonals, arcs, rings) inside the mask; uint8 coverage 0-255."""
    import cv2

    height, width = shape
    canvas = np.zeros(shape, np.uint8)
    letter = int(np.clip(min(height, width) / 18, 12, 400))
    stroke = max(2, letter // 7)
    margin = max(letter, int(0.15 * min(height, width)))
    for top in range(margin, height - margin - letter, int(1.7 * letter)):
        left = margin + int(rng.integers(0, letter))
        while left < width - margin - letter:
            if rng.random() < 0.15:  # a space between words
                left += letter
                continue
            _letter(canvas, (top, left), letter, stroke, rng, cv2)
            left += int(letter * rng.uniform(0.8, 1.1))
    canvas[~mask] = 0
    return canvas


def _letter(canvas: np.ndarray, corner: tuple[int, int], size: int, stroke: int, rng: np.random.Generator, cv2) -> None:
    """One to three strokes inside a ``size`` box; lines antialiased so the ink edge is soft."""
    top, left = corner
    w = int(size * 0.7)
    for _ in range(int(rng.integers(1, 4))):
        shape = rng.integers(4)
        if shape == 0:  # vertical bar
            x = left + int(rng.uniform(0.1, 0.9) * w)
            cv2.line(canvas, (x, top), (x, top + size), 255, stroke, cv2.LINE_AA)
        elif shape == 1:  # horizontal bar
            y = top + int(rng.uniform(0.1, 0.9) * size)
            cv2.line(canvas, (left, y), (left + w, y), 255, stroke, cv2.LINE_AA)
        elif shape == 2:  # diagonal
            flip = rng.random() < 0.5
            cv2.line(canvas, (left, top + (size if flip else 0)), (left + w, top + (0 if flip else size)), 255,
                     stroke, cv2.LINE_AA)
        else:  # arc or ring
            start = int(rng.choice([0, 90, 180, 270]))
            sweep = int(rng.choice([180, 270, 360]))
            cv2.ellipse(canvas, (left + w // 2, top + size // 2), (w // 2, size // 2), 0, start, start + sweep,
                        255, stroke, cv2.LINE_AA)


def simulate_segment(out_dir: str | os.PathLike[str], layers: int = 65, height: int = 10000, width: int = 8000,
                     seed: int = 0, look: SegmentLook = SegmentLook(),
                     cancel: CancelToken | None = None) -> Job[Path]:
    """A job writing a synthetic segment folder (``layers/``, ``mask.png``, ``inklabels.png``); returns it.

    Work goes a block of rows at a time through all layers, so the depth-independent fields are made once
    per block; each block's strip is written straight into its (uncompressed, memory-mappable) layer file.
    All layer files appear together at the end; a cancelled or failed job leaves none behind.
    """
    from ccdstudio.io.write import write_png

    if layers < 1 or height < 16 or width < 16:
        raise CcdstudioError(f"a segment needs at least 1 layer of 16 x 16 pixels, not {layers} x {height} x {width}")
    if seed < 0:
        raise CcdstudioError(f"the seed must not be negative, got {seed}")
    out = Path(out_dir)
    shape = (height, width)
    papyrus = _Papyrus(layers, shape, seed, look)
    blocks = [slice(r, min(r + BLOCK_ROWS, height)) for r in range(0, height, BLOCK_ROWS)]
    mask = np.empty(shape, bool)
    for rows in blocks:
        check(cancel)
        mask[rows] = papyrus.mask_block(rows)
    ink = draw_ink(shape, mask, np.random.default_rng([seed, 3]))
    write_png(out / "mask.png", mask)
    write_png(out / "inklabels.png", ink >= 128)
    yield Progress(0.0, "mask and ink labels written")
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(_LayerFile(out / "layers" / layer_name(z, layers), shape)) for z in range(layers)]
        for number, rows in enumerate(blocks):
            check(cancel)
            fields = papyrus.block(rows, ink[rows], mask[rows])
            for z, file in enumerate(files):
                file.write_rows(rows.start, fields.layer(z))
            yield Progress((number + 1) / len(blocks), f"rows {rows.stop}/{height} of {layers} layers")
    return out


class _LayerFile:
    """An uncompressed uint16 TIFF filled by rows at known offsets; atomic like every other write."""

    def __init__(self, path: Path, shape: tuple[int, int]):
        self.path, self.shape = path, shape
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _LayerFile:
        import tifffile

        tmp = self._stack.enter_context(atomic_path(self.path))
        image = tifffile.memmap(tmp, shape=self.shape, dtype=np.uint16, photometric="minisblack")
        self._offset = image.offset
        del image
        self._handle = self._stack.enter_context(open(tmp, "r+b"))
        return self

    def write_rows(self, first: int, block: np.ndarray) -> None:
        self._handle.seek(self._offset + first * self.shape[1] * 2)
        self._handle.write(np.ascontiguousarray(block, dtype="<u2").tobytes())

    def __exit__(self, *exc: object) -> None:
        # Close the file before atomic_path fsyncs and renames it (or removes it after an error).
        self._handle.close()
        self._stack.__exit__(*exc)
