"""Ink prediction over a whole scroll segment: a layer window in, a 0-255 ink probability map out.

The segment is covered by the same overlapping tiles, blending tapers and halo as
:func:`ccdstudio.ml.infer.predict` (so the result equals a whole-segment pass up to rounding when the halo
is the network's receptive radius), with three differences that matter at 65 x 10000 x 8000:

- tiles holding no mask pixel are neither read nor computed, and the output is 0 outside the mask;
- a run of neighbouring tiles is read as one window per layer (a layer file is opened once per run, not once
  per tile), at most ``chunk_bytes`` of normalised input at a time, and the next run is read while the
  network works on the current one;
- only the foreground probability ``1 - p(background)`` (p(ink) for a two-class ink model) is blended, in
  one band of tile rows, and written as uint8 ``round(255 p)`` into the output (which may be a memory map)
  as soon as no later tile covers its rows.

So memory is the mask and the output (one byte per pixel each), one band of ``tile x width`` floats and
one run of input tiles, whatever the number of layers or rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ccdstudio.errors import CcdstudioError
from ccdstudio.io.segment_window import LayerWindow, check_window, choose_window, layer_order
from ccdstudio.io.source import ImageSource
from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.ml.device import inference_batch_size
from ccdstudio.ml.fused import inference_forward
from ccdstudio.ml.infer import TileGrid, _forward, fit_stats, taper, tile_grid
from ccdstudio.ml.modelfile import LoadedModel

CHUNK_BYTES = 64 * 2**20
"""Normalised input read at a time (float32); a run of tiles longer than this is read in pieces."""

INK_THRESHOLD = 128
"""Probability (0-255) from which a pixel is labelled ink: p >= 0.5."""


@dataclass
class SegmentPrediction:
    """The result of :func:`predict_segment`."""

    probability: np.ndarray
    """uint8 ``(h, w)``: ``round(255 p)`` of ink (of any class but background), 0 outside the mask."""
    window: LayerWindow
    warnings: list[str] = field(default_factory=list)
    tiles: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def labels(self, threshold: int = INK_THRESHOLD) -> np.ndarray:
        """uint8 0/1 labels: 1 where the probability is at least ``threshold`` (of 255)."""
        return (self.probability >= threshold).view(np.uint8)


@dataclass(frozen=True)
class _Run:
    """Neighbouring tiles of one tile row (indices into the column grid), read together."""

    band: int
    tiles: tuple[int, ...]


def segment_mask(source: ImageSource, shape: tuple[int, int]) -> np.ndarray | None:
    """The segment's mask as a boolean array (None when it has none); it must match the layers' size."""
    from ccdstudio.export.inputs import source_mask

    mask = source_mask(source)
    if mask is None:
        return None
    if tuple(mask.shape) != tuple(shape):
        raise CcdstudioError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the layers are {shape[1]}x{shape[0]}")
    return np.asarray(mask[:, :]) != 0


def _runs(rows: TileGrid, cols: TileGrid, mask: np.ndarray | None, channels: int, chunk_bytes: int) -> list[_Run]:
    """The runs of tiles to compute, band by band: tiles with mask pixels, split to stay within ``chunk_bytes``."""
    runs = []
    for k, y in enumerate(rows.starts):
        current: list[int] = []
        for i, x in enumerate(cols.starts):
            active = mask is None or bool(mask[y: y + rows.size, x: x + cols.size].any())
            if current and (not active or _bytes(cols, current[0], i, rows.size, channels) > chunk_bytes):
                runs.append(_Run(k, tuple(current)))
                current = []
            if active:
                current.append(i)
        if current:
            runs.append(_Run(k, tuple(current)))
    return runs


def _bytes(cols: TileGrid, first: int, last: int, tile_rows: int, channels: int) -> int:
    return 4 * channels * tile_rows * (cols.starts[last] + cols.size - cols.starts[first])


def predict_segment(
    model: LoadedModel,
    source: ImageSource,
    window: LayerWindow | None = None,
    *,
    reverse: bool = False,
    tile: int | None = None,
    overlap: float | None = None,
    halo: int | None = None,
    batch_size: int | None = None,
    tta: bool = False,
    out: np.ndarray | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    cancel: CancelToken | None = None,
) -> Job[SegmentPrediction]:
    """Predict ink over a whole segment; a job returning a :class:`SegmentPrediction`.

    Parameters
    ----------
    window
        The layers to read (default: as many as the model has input channels, centred on the segment's
        estimated surface, :func:`~ccdstudio.io.segment_window.choose_window`). It is checked against the
        window stored in the model at training; mismatches are warnings (also yielded as progress events
        with ``data["event"] == "warning"``), a wrong number of layers an error.
    reverse
        Read the stack in reverse z order (when ``window`` is not given).
    tile, overlap, halo, batch_size, tta
        As in :func:`ccdstudio.ml.infer.predict`.
    out
        A ``(h, w)`` uint8 array (e.g. a ``numpy.memmap``) for the probabilities.
    chunk_bytes
        Most normalised input (float32) held at a time, besides the run being computed.
    """
    started = time.perf_counter()
    info = model.info
    name = source.path.name if source.path is not None else "the segment"
    if window is None:
        if len(layer_order(source)) < info.in_channels:
            raise CcdstudioError(f"the model reads {info.in_channels} layers but {name} has only "
                                 f"{len(layer_order(source))}")
        window = choose_window(source, count=info.in_channels, reverse=reverse)
    warnings = check_window(info.training.get("layer_window"), window, info.in_channels, name)
    for message in warnings:
        yield Progress(0.0, f"warning: {message}", {"event": "warning", "message": message})
    planes = list(window.planes)
    height, width = source.planes[planes[0]].shape
    probability = out if out is not None else np.zeros((height, width), np.uint8)
    if probability.shape != (height, width) or probability.dtype != np.uint8:
        raise CcdstudioError(f"the output must be a {height}x{width} uint8 array")
    mask = segment_mask(source, (height, width))
    yield Progress(0.0, "measuring the layers' intensity scale")
    stats = fit_stats(model, source, planes)
    tile = tile or info.tile
    overlap = info.overlap if overlap is None else overlap
    if halo is None:
        halo = min(info.architecture.receptive_radius, round(overlap * tile) // 2)
    rows, cols = (tile_grid(n, tile, overlap, info.architecture.multiple, halo) for n in (height, width))
    runs = _runs(rows, cols, mask, len(planes), chunk_bytes)
    device = model.device
    batch_size = batch_size or inference_batch_size(device, rows.size, len(planes), info.architecture.base)
    memory_format = torch.channels_last if device.type != "mps" else torch.contiguous_format
    net = inference_forward(model.net, device)

    def read_run(run: _Run) -> torch.Tensor:
        """The run's normalised, zero-padded input as a ``(channels, tile, span)`` tensor."""
        y, x0 = rows.starts[run.band], cols.starts[run.tiles[0]]
        span = cols.starts[run.tiles[-1]] + cols.size - x0
        read = (slice(y, min(y + rows.size, height)), slice(x0, min(x0 + span, width)))
        data = np.zeros((len(planes), rows.size, span), np.float32)
        raw = source.read_stack(planes, read)
        data[:, : raw.shape[1], : raw.shape[2]] = info.normalization.apply(raw, stats, read[0])
        tensor = torch.from_numpy(data)
        return tensor.pin_memory() if device.type == "cuda" else tensor

    col_weights = [torch.from_numpy(taper(cols, x)).to(device) for x in cols.starts]
    acc = torch.zeros((rows.size, cols.padded), dtype=torch.float32, device=device)
    wsum = torch.zeros_like(acc)
    top = 0
    by_band: dict[int, list[_Run]] = {}
    for run in runs:
        by_band.setdefault(run.band, []).append(run)
    total, done = sum(len(r.tiles) for r in runs), 0
    with torch.inference_mode(), ThreadPoolExecutor(max_workers=1) as reader:
        pending = _prefetch(reader, read_run, runs)
        for k, y in enumerate(rows.starts):
            check(cancel)
            if y != top:  # move the band up to this tile row
                shift = y - top
                acc[: rows.size - shift] = acc[shift:].clone()
                acc[rows.size - shift:] = 0
                wsum[: rows.size - shift] = wsum[shift:].clone()
                wsum[rows.size - shift:] = 0
                top = y
            row_weights = torch.from_numpy(taper(rows, y)).to(device)
            for run in by_band.get(k, []):
                data = next(pending).result().to(device, non_blocking=True)
                x0 = cols.starts[run.tiles[0]]
                for b in range(0, len(run.tiles), batch_size):
                    check(cancel)
                    batch_tiles = run.tiles[b: b + batch_size]
                    starts = [cols.starts[i] - x0 for i in batch_tiles]
                    batch = torch.stack([data[:, :, s: s + cols.size] for s in starts])
                    probs = _forward(net, batch.contiguous(memory_format=memory_format), tta)
                    foreground = 1 - probs[:, 0]
                    for i, tile_fg in zip(batch_tiles, foreground):
                        x = cols.starts[i]
                        weight = row_weights[:, None] * col_weights[i][None, :]
                        acc[:, x: x + cols.size] += tile_fg * weight
                        wsum[:, x: x + cols.size] += weight
                done += len(run.tiles)
                yield Progress(done / max(total, 1), f"tile {done}/{total} ({_skipped(rows, cols, total)} without mask skipped)")
            final = rows.starts[k + 1] if k + 1 < len(rows.starts) else rows.padded
            finished = min(final, height) - top
            if finished > 0:
                weights = wsum[:finished, :width]
                blended = torch.where(weights > 0, acc[:finished, :width] / weights.clamp_min(1e-12), 0)
                block = (blended * 255).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()
                if mask is not None:
                    block[~mask[top: top + finished]] = 0
                probability[top: top + finished] = block
    return SegmentPrediction(probability, window, warnings, total, _skipped(rows, cols, total),
                             time.perf_counter() - started)


def _skipped(rows: TileGrid, cols: TileGrid, computed: int) -> int:
    return len(rows.starts) * len(cols.starts) - computed


def _prefetch(reader: ThreadPoolExecutor, read, runs: list[_Run]) -> Iterator[Future]:
    """Futures of the runs' inputs in order, each submitted while the previous one is being used."""
    if not runs:
        return
    upcoming = reader.submit(read, runs[0])
    for run in runs[1:]:
        current, upcoming = upcoming, reader.submit(read, run)
        yield current
    yield upcoming


def save_segment_prediction(prediction: SegmentPrediction, folder: str | os.PathLike[str], stem: str,
                            threshold: int = INK_THRESHOLD) -> tuple[Path, Path]:
    """Write ``<stem>_prediction.png`` (0-255 ink probability) and ``<stem>_predicted_inklabels.png`` (0/255).

    The labels are not named ``<stem>_inklabels.png``, which a segment folder would take for its own.
    """
    from ccdstudio.io.write import write_png
    from ccdstudio.labels.io import save_ink_labels

    folder = Path(folder)
    probability, labels = folder / f"{stem}_prediction.png", folder / f"{stem}_predicted_inklabels.png"
    write_png(probability, prediction.probability)
    save_ink_labels(labels, prediction.labels(threshold))
    return probability, labels
