"""Scroll-segment figures: showing the first layer, memory of a 30-layer projection, whole-segment inference.

The segment has 65 layers of 10000 x 8000 uint16 (1000 x 800 with ``quick``). Layer 0 holds random data
and the mask is an ellipse over about 70 % of the area; the other layers are full-size files whose data is
a hole (sparse), so the 10 GB segment costs no disk and reads as zeros from the page cache like any
cached file. Baselines, measured in the same run:

- showing a layer: reading the whole layer with ``tifffile.imread``;
- projection memory: the 30 layers stacked in memory (what a projection that loads them all would hold;
  computed from their size);
- inference: :func:`ccdstudio.ml.infer.predict`, the generic tiled inference, over the same segment with
  the same network (every tile, one read per tile and layer, argmax labels); the note adds the CCD figure,
  the same generic inference over a 2048 x 2048 frame with the bundled CCD architecture;
- JPEG layers (a second segment of 30 copies of one smooth 8-bit JPEG layer, read through the decoded-layer
  cache of :mod:`ccdstudio.io.segment_cache` in a temporary folder): a read used to decode the whole layer,
  so that decode is the baseline of a read; a projection over all 30 layers and 4 blocks of rows is timed
  from an empty cache against the same projection with the cache off, which is the previous reader (the 8
  most recent layers held decoded, fewer than the 30 projected, so every block decodes every layer again).
"""

from __future__ import annotations

import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "segment"
LAYERS = 65
PROJECTED = 30
SCREEN = (1080, 1920)


def run(quick: bool) -> Iterator[Figure]:
    shape = (1000, 800) if quick else (10000, 8000)
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-segment-") as tmp:
        folder = _segment(Path(tmp) / "segment", shape)
        yield from _show_layer(folder, shape)
        yield _projection_memory(folder, shape)
        yield _inference(folder, shape, quick)
        yield from _jpeg_layers(Path(tmp), shape)


def _segment(folder: Path, shape: tuple[int, int]) -> Path:
    import cv2
    import tifffile

    from ccdstudio.io.write import write_png

    layers = folder / "layers"
    layers.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = np.empty(shape, np.uint16)
    for start in range(0, shape[0], 1000):  # in blocks: 160 MB of random numbers at once is wasteful
        first[start: start + 1000] = rng.integers(9000, 30000, first[start: start + 1000].shape, dtype=np.uint16)
    tifffile.imwrite(layers / "00.tif", first)
    del first
    for i in range(1, LAYERS):
        tifffile.imwrite(layers / f"{i:02d}.tif", shape=shape, dtype=np.uint16)  # a hole, not data
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (shape[1] // 2, shape[0] // 2), (int(shape[1] * 0.48), int(shape[0] * 0.47)), 0, 0, 360, 1, -1)
    write_png(folder / "mask.png", mask.astype(bool))
    return folder


def _show_layer(folder: Path, shape: tuple[int, int]) -> Iterator[Figure]:
    import tifffile

    from ccdstudio.io import open_image

    height, width = shape
    rows, cols = min(SCREEN[0], height), min(SCREEN[1], width)
    centre = (slice((height - rows) // 2, (height + rows) // 2), slice((width - cols) // 2, (width + cols) // 2))
    step = -(-max(height, width) // max(SCREEN))
    fit = (slice(0, height, step), slice(0, width, step))
    baseline = best_time(lambda: tifffile.imread(folder / "layers" / "00.tif"))
    size = f"{LAYERS} x {width}x{height}"
    for what, window in ((f"a {cols}x{rows} screen window at full resolution", centre),
                         (f"the whole layer, 1 pixel in {step} per axis (fit to screen)", fit)):

        def show(window=window):
            with open_image(folder) as source:
                return source.read(0, window)

        yield Figure(GROUP, f"segment {size}: open + read layer 0, {what}", best_time(show), "s", baseline,
                     "tifffile.imread of the whole layer", note="goal: under 1 s")


def _projection_memory(folder: Path, shape: tuple[int, int]) -> Figure:
    from ccdstudio.imaging.projection import project
    from ccdstudio.io import open_image
    from ccdstudio.jobs import run

    watcher = _AnonymousPeak()
    with open_image(folder) as source:
        tracemalloc.start()
        watcher.start()
        started = time.perf_counter()
        run(project(source, range(PROJECTED), "std"))
        seconds = time.perf_counter() - started
        grown = watcher.stop()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    stacked_mb = PROJECTED * shape[0] * shape[1] * 2 / 2**20
    rss = f"; anonymous RSS grew {grown:.0f} MB" if grown is not None else ""
    return Figure(GROUP, f"peak memory of a std projection over {PROJECTED} layers of {shape[1]}x{shape[0]}",
                  peak / 2**20, "MB", stacked_mb, f"the {PROJECTED} layers stacked in memory",
                  note=f"goal: within 2048 MB; numpy allocations (tracemalloc){rss}; output float32 included; "
                  f"{seconds:.1f} s")


class _AnonymousPeak:
    """Peak growth of resident memory not backed by files (Linux ``RssAnon``), sampled every 5 ms."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._peak = self._before = self._read()

    @staticmethod
    def _read() -> int | None:
        try:
            with open("/proc/self/status") as handle:
                return next(int(line.split()[1]) for line in handle if line.startswith("RssAnon:"))
        except (OSError, StopIteration):
            return None

    def start(self) -> None:
        def watch() -> None:
            while not self._done.is_set():
                self._peak = max(self._peak or 0, self._read() or 0)
                time.sleep(0.005)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()

    def stop(self) -> float | None:
        self._done.set()
        self._thread.join()
        return None if self._before is None else (self._peak - self._before) / 1024


def _inference(folder: Path, shape: tuple[int, int], quick: bool) -> Figure:
    import torch

    from ccdstudio.io import open_image
    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.device import choose_device
    from ccdstudio.ml.infer import predict
    from ccdstudio.ml.modelfile import LoadedModel, ModelInfo
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.segment_infer import predict_segment
    from ccdstudio.ml.unet import UNet, UNetConfig

    device = choose_device("auto")
    torch.manual_seed(0)
    channels, tile = 16, 512
    config = UNetConfig(channels, 2, depth=3, base=4)
    net = UNet(config).to(device).to(memory_format=torch.channels_last).eval()
    with torch.inference_mode():  # the first pass sets up kernels; keep it out of both timings
        net(torch.zeros(1, channels, tile, tile, device=device).contiguous(memory_format=torch.channels_last))
    model = LoadedModel(net, ModelInfo(config, ClassSet.preset("ink"), Normalization("percentile"), tile, 0.25))
    mpix = shape[0] * shape[1] / 1e6
    with open_image(folder) as source:
        started = time.perf_counter()
        result = run(predict_segment(model, source))
        ours = mpix / (time.perf_counter() - started)
        planes = list(result.window.planes)
        started = time.perf_counter()
        run(predict(model, source, planes=planes))
        generic = mpix / (time.perf_counter() - started)
    ccd_config = UNetConfig(1, 4, depth=4, base=8)
    ccd = LoadedModel(UNet(ccd_config).to(device).to(memory_format=torch.channels_last).eval(),
                      ModelInfo(ccd_config, ClassSet.preset("ccd"), Normalization("ccd"), tile, 0.25))
    side = 1024 if quick else 2048
    frame = ArraySource(np.random.default_rng(0).normal(1000, 3, (side, side)).astype(np.float32))
    started = time.perf_counter()
    run(predict(ccd, frame))
    ccd_mpix = side * side / 1e6 / (time.perf_counter() - started)
    return Figure(GROUP, f"whole-segment ink inference {shape[1]}x{shape[0]}, {channels} layers, tile {tile}",
                  ours, "Mpix/s", generic, "generic tiled inference over every tile", higher_is_better=True,
                  note=f"{result.skipped} of {result.tiles + result.skipped} tiles outside the mask skipped; "
                  f"U-Net depth 3 base 4, random weights, on {device.type}; CCD figure (1 channel, depth 4 base 8, "
                  f"{side}x{side}): {ccd_mpix:.2f} Mpix/s")


def _jpeg_layers(tmp: Path, shape: tuple[int, int]) -> Iterator[Figure]:
    import os
    import shutil

    import cv2

    from ccdstudio.imaging.projection import BLOCK_PIXELS, project
    from ccdstudio.io import open_image
    from ccdstudio.io.raster import decode
    from ccdstudio.jobs import run

    layers = tmp / "jpeg-segment" / "layers"
    layers.mkdir(parents=True)
    noise = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    # Smooth texture compresses like a scan (random pixels would not); one file copied keeps setup short.
    cv2.imwrite(str(layers / "00.jpg"), cv2.GaussianBlur(noise, (0, 0), 2), [cv2.IMWRITE_JPEG_QUALITY, 90])
    del noise
    for i in range(1, PROJECTED):
        shutil.copyfile(layers / "00.jpg", layers / f"{i:02d}.jpg")
    height, width = shape
    window = (slice((height - min(SCREEN[0], height)) // 2, (height + min(SCREEN[0], height)) // 2),
              slice((width - min(SCREEN[1], width)) // 2, (width + min(SCREEN[1], width)) // 2))
    size = f"{width}x{height} 8-bit"
    saved = {name: os.environ.get(name) for name in ("CCDSTUDIO_CACHE", "CCDSTUDIO_LAYER_CACHE_GB")}
    os.environ["CCDSTUDIO_CACHE"] = str(tmp / "cache")
    try:
        decoding = best_time(lambda: decode(layers / "00.jpg"), repeat=2)
        baseline = "decoding the whole JPEG layer (what every read did before)"
        with open_image(layers.parent) as source:
            started = time.perf_counter()
            source.read(0, window)
            first = time.perf_counter() - started
            later = best_time(lambda: source.read(0, window))
        yield Figure(GROUP, f"JPEG segment {size}: first read of a layer (decode, write to the cache, map)", first,
                     "s", decoding, baseline, note="once per layer file, ever (until evicted)")
        yield Figure(GROUP, f"JPEG segment {size}: a screen window of a layer read before", later, "s", decoding,
                     baseline, note="a window of the memory-mapped decoded layer")
        # Four blocks of rows of the projection's usual size (quarter blocks of a small layer).
        block = min(BLOCK_PIXELS, height * width // 4)
        rows = (slice(0, min(height, 4 * (block // width))), slice(None))
        shutil.rmtree(tmp / "cache")

        def projection() -> tuple[float, float, float | None]:
            watcher = _AnonymousPeak()
            with open_image(layers.parent) as source:
                tracemalloc.start()
                watcher.start()
                started = time.perf_counter()
                run(project(source, range(PROJECTED), "std", rows, block_pixels=block))
                seconds = time.perf_counter() - started
                grown = watcher.stop()
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            return seconds, peak, grown

        seconds, peak, grown = projection()
        os.environ["CCDSTUDIO_LAYER_CACHE_GB"] = "0"
        before, before_peak, _ = projection()
        rss = f", anonymous RSS grew {grown:.0f} MB" if grown is not None else ""
        yield Figure(GROUP, f"std projection over {PROJECTED} JPEG layers, 4 blocks of {rows[0].stop} rows of {size}, "
                     "from an empty cache", seconds, "s", before, "the same with the cache off (the previous reader)",
                     note=f"peak memory {peak:.0f} MB (tracemalloc){rss}; cache off: {before_peak:.0f} MB")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
