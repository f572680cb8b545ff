"""ML figures: tiled inference and training throughput, seam agreement, and memory on a huge frame.

Baselines, measured in the same run:

- inference: MONAI's ``sliding_window_inference`` (the ``bench`` extra installs it; without it, a loop
  written the same way, labelled as such) with the same network, tile, overlap and batch of tiles, Gaussian
  blending. Both are timed from the raw frame to a uint8 class map, so MONAI's time includes normalising
  the frame (ccdstudio's does it tile row by tile row) and the arg max; the network is handed to MONAI as
  loaded, in channels-last layout, under the same mixed precision on CUDA;
- the fraction of the machine's convolution peak, timed on one large 3x3 convolution;
- seams: the class map of one whole-frame forward pass (figure: share of pixels that differ);
- training: raw optimiser steps on tensors already in memory (the trainer adds data, checks and events);
- memory: the float32 per-class copy of the frame that a non-streaming inference would hold;
- the steps after the network (the bundled model's post-processing, on the CPU whatever the device): the
  network's own time on the same raw frame, so the figure says which of the two a prediction waits for.

Inference is measured on the bundled model (``models/ccd-unet-v1``: depth 4, base 8, batch norm; its own
tile and overlap) over a simulated CCD frame, and, in the full run, on the default architecture
(``UNetConfig()``: depth 4, base 32) with random weights, the hardest case for seams (no confident classes).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "ml"


def run(quick: bool) -> Iterator[Figure]:
    from ccdstudio.ml.device import choose_device

    device = choose_device("auto")
    peak = conv_peak(device)
    bundled = _bundled_model(device)
    size = 1024 if quick else 2048
    yield from _inference(bundled, _ccd_frame(size), "bundled ccd-unet-v1", peak, device, repeat=2)
    yield postprocessing(bundled, 1024 if quick else 4096)
    if not quick:  # 16x the work per pixel: a smaller frame, one timing each
        yield from _inference(_default_model(device), _frame(1024), "default U-Net (base 32, random weights)", peak,
                              device, repeat=1)
    yield _training(device, quick)
    yield _memory(quick)


def _bundled_model(device):
    import torch

    from ccdstudio.ml.modelfile import load_model, resolve_model

    model = load_model(resolve_model(), device)
    model.net.to(memory_format=torch.channels_last)
    return model


def _default_model(device):
    import torch

    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.modelfile import LoadedModel, ModelInfo
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.unet import UNet, UNetConfig

    torch.manual_seed(0)
    config = UNetConfig()
    net = UNet(config).to(device).to(memory_format=torch.channels_last).eval()
    return LoadedModel(net, ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), 512, 0.5))


def _ccd_frame(size: int) -> np.ndarray:
    """A simulated CCD frame (pedestal, read noise, glow, hot pixels, clusters of every kind)."""
    from ccdstudio.simulate.ccd import simulate_ccd
    from ccdstudio.simulate.params import CCDParams

    return simulate_ccd((size, size), CCDParams(), np.random.default_rng(0)).image.astype(np.float32)


def _frame(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = rng.normal(1000, 3, (size, size)).astype(np.float32)
    for _ in range(size // 8):
        y, x = rng.integers(0, size - 8, 2)
        image[y: y + rng.integers(2, 8), x: x + rng.integers(2, 8)] += rng.uniform(20, 3000)
    return image


def postprocessing(model, size: int) -> Figure:
    """Time of ``model``'s steps after the network on a raw ``size``-square frame (with 64 columns and 32
    rows of overscan, as ``glow_edge`` needs), run as a prediction runs them, against the network's on the
    same frame; each step's time in the note."""
    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import Progress, run
    from ccdstudio.ml.infer import fit_stats, predict
    from ccdstudio.ml.postprocess import run_steps
    from ccdstudio.simulate.ccd_files import draw_frame, raw_plane

    raw, cards = raw_plane(draw_frame((size, size), 7001, 0, overscan=64, overscan_rows=32))
    source = ArraySource(raw, headers=[cards])
    started = time.perf_counter()
    labels = run(predict(model.with_steps(()), source)).labels
    network = time.perf_counter() - started
    stats = fit_stats(model, source, [0])
    steps = model.info.postprocess

    def step_done(event: Progress) -> None:  # step i reports fractions in (i / n, (i + 1) / n]
        if event.fraction is not None:
            step = min(max(math.ceil(event.fraction * len(steps) - 1e-6) - 1, 0), len(steps) - 1)
            ends[step] = time.perf_counter()

    started = time.perf_counter()
    ends = [started] * len(steps)
    run(run_steps(steps, model.info.classes.names, source, 0, stats, labels), step_done)
    seconds = np.diff([started, *np.maximum.accumulate(ends)])
    return Figure(GROUP, f"steps after the network, raw {size} x {size} frame", float(seconds.sum()), "s", network,
                  "the network on the same frame",
                  note=", ".join(f"{step} {took:.2f} s" for step, took in zip(steps, seconds))
                  + f"; network on {model.device.type}")


def conv_peak(device) -> float:
    """FLOP/s of a large 3x3 convolution (256 -> 256 channels) on ``device``: the practical peak."""
    import torch

    from ccdstudio.ml.device import autocast

    side = 128 if device.type == "cpu" else 512
    x = torch.randn(1 if device.type == "cpu" else 8, 256, side, side, device=device).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device).to(memory_format=torch.channels_last)

    def once():
        with torch.inference_mode(), autocast(device):
            conv(x)
        _sync(device)

    seconds = best_time(once, repeat=3)
    return 2 * 9 * 256 * 256 * side * side * x.shape[0] / seconds


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tile_flops(net, tile: int, in_channels: int, device) -> float:
    """Multiply-adds x 2 of one forward pass over a ``tile x tile`` input, counted on the convolutions."""
    import torch

    total = 0.0

    def hook(module, inputs, output):
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, torch.nn.ConvTranspose2d):
            k /= module.stride[0] * module.stride[1]  # each output pixel gets k / stride² taps of each input
        cin = module.in_channels // module.groups
        total += 2.0 * k * cin * output.shape[1] * output.shape[2] * output.shape[3] * output.shape[0]

    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(hook) for m in convs]
    with torch.inference_mode():
        net(torch.zeros(1, in_channels, tile, tile, device=device))
    for h in handles:
        h.remove()
    return total


def monai_sliding_window():
    """MONAI's ``sliding_window_inference`` and a label for it, or the stand-in loop when MONAI is absent."""
    try:
        import monai
        from monai.inferers import sliding_window_inference
    except ImportError:
        return None, "MONAI-style loop (monai not installed)"
    return sliding_window_inference, f"MONAI {monai.__version__} sliding_window_inference"


def reference_sliding_window(net, image, tile: int, overlap: float, batch: int):
    """MONAI-style sliding window: Gaussian importance map, batches of windows, full-frame accumulation."""
    import torch

    _, _, height, width = image.shape
    interval = max(int(tile * (1 - overlap)), 1)
    starts = [[min(i * interval, n - tile) for i in range(math.ceil((n - tile) / interval) + 1)] for n in (height, width)]
    windows = [(y, x) for y in starts[0] for x in starts[1]]
    centre = (tile - 1) / 2
    axis = torch.exp(-0.5 * ((torch.arange(tile, device=image.device) - centre) / (0.125 * tile)) ** 2)
    importance = axis[:, None] * axis[None, :]
    importance = torch.clamp(importance / importance.max(), min=float(importance[importance > 0].min()))
    output, count = None, torch.zeros(1, 1, height, width, device=image.device)
    for b in range(0, len(windows), batch):
        chunk = windows[b: b + batch]
        logits = net(torch.cat([image[..., y: y + tile, x: x + tile] for y, x in chunk]))
        if output is None:
            output = torch.zeros(1, logits.shape[1], height, width, device=image.device)
        for (y, x), tile_logits in zip(chunk, logits):
            output[0, :, y: y + tile, x: x + tile] += tile_logits * importance
            count[0, :, y: y + tile, x: x + tile] += importance
    return output / count


def _interleaved(functions: dict, repeat: int) -> dict[str, float]:
    """The best wall-clock time of each function, run in turn ``repeat`` times (so load drifts hit both)."""
    best = dict.fromkeys(functions, math.inf)
    for _ in range(repeat):
        for name, func in functions.items():
            started = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def _inference(model, image: np.ndarray, label: str, peak: float, device, repeat: int) -> Iterator[Figure]:
    import torch

    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run
    from ccdstudio.ml.device import autocast, inference_batch_size
    from ccdstudio.ml.infer import predict, predict_whole, tile_grid

    info = model.info
    tile, overlap = info.tile, info.overlap
    source = ArraySource(image)
    batch = inference_batch_size(device, tile, 1, info.architecture.base)
    sliding_window, baseline_name = monai_sliding_window()
    result = {}

    def ours():
        result["ours"] = run(predict(model, source, tile=tile, overlap=overlap, batch_size=batch)).labels
        _sync(device)

    def baseline():
        stats = info.normalization.fit(image)
        frame = torch.from_numpy(info.normalization.apply(image, stats))[None].to(device)
        with torch.inference_mode(), autocast(device):
            if sliding_window is not None:
                logits = sliding_window(frame, (tile, tile), batch, model.net, overlap=overlap, mode="gaussian")
            else:
                logits = reference_sliding_window(model.net, frame, tile, overlap, batch)
        result["baseline"] = logits[0].float().max(0).indices.to(torch.uint8).cpu().numpy()
        _sync(device)

    ours()  # warm up both (first-call allocations, oneDNN kernel selection)
    baseline()
    times = _interleaved({"ours": ours, "baseline": baseline}, repeat)
    mpix = image.size / 1e6
    halo = min(info.architecture.receptive_radius, round(overlap * tile) // 2)
    tiles = math.prod(len(tile_grid(n, tile, overlap, info.architecture.multiple, halo).starts) for n in image.shape)
    flops = tile_flops(model.net, tile, 1, device) * tiles
    side = f"{image.shape[1]}x{image.shape[0]}"
    config = f"depth {info.architecture.depth}, base {info.architecture.base}"
    yield Figure(GROUP, f"tiled inference, {label}, {side}, tile {tile}, overlap {overlap}", mpix / times["ours"],
                 "Mpix/s", mpix / times["baseline"], baseline_name, higher_is_better=True,
                 note=f"{config}; {tiles} tiles; {flops / times['ours'] / peak:.0%} of conv peak "
                 f"({peak / 1e9:.0f} GFLOP/s) on {device.type}, baseline {flops / times['baseline'] / peak:.0%}")
    whole = predict_whole(model, source)
    yield Figure(GROUP, f"pixels whose class differs from a whole-frame pass, {label} ({side}, halo {halo} px)",
                 100 * float((result["ours"] != whole).mean()), "%", 100 * float((result["baseline"] != whole).mean()),
                 baseline_name, note=f"bound 0.01%; exact when halo = receptive radius "
                 f"({info.architecture.receptive_radius} px)")


def _training(device, quick: bool) -> Figure:
    import torch

    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.data import TrainingItem
    from ccdstudio.ml.losses import SegmentationLoss
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.train import TrainConfig, TrainingData, train
    from ccdstudio.ml.unet import UNet, UNetConfig

    crop, batch, steps = (64, 4, 4) if quick else (256, 8, 8)
    size = 512 if quick else 2048
    image = _frame(size)
    labels = np.zeros(image.shape, np.uint8)
    labels[image > 1030] = 1
    labels[image > 2000] = 2
    norm = Normalization("ccd")
    item = TrainingItem("bench", lambda: ArraySource(image), [0], labels, norm.fit(image))
    data = TrainingData([item], [], ClassSet.from_names(["background", "blob", "hot"]), norm, 1)
    config = TrainConfig(epochs=2, batch_size=batch, crop=crop, samples_per_epoch=steps * batch, val_split=0,
                         device=device.type, schedule="none", patience=0, workers=0)
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-ml-") as tmp:
        times = {}

        def note(event):
            if event.data.get("event") == "epoch":
                times[event.data["epoch"]] = event.data["seconds"]

        run(train(data, Path(tmp) / "m.safetensors", config), note)
    trainer_mpix = steps * batch * crop * crop / 1e6 / times[2]  # epoch 2: after warm-up

    torch.manual_seed(0)
    net = UNet(UNetConfig(1, 3)).to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(net.parameters(), 1e-3)
    loss_fn = SegmentationLoss("ce+dice")
    x = torch.randn(batch, 1, crop, crop, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 3, (batch, crop, crop), device=device)

    def raw_steps():
        for _ in range(steps):
            loss = loss_fn(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _sync(device)

    raw_steps()
    raw_mpix = steps * batch * crop * crop / 1e6 / best_time(raw_steps, repeat=1)
    return Figure(GROUP, f"training throughput (crop {crop}, batch {batch}, validation off)", trainer_mpix,
                  "Mpix/s", raw_mpix, "raw optimiser steps on in-memory tensors", higher_is_better=True,
                  note=f"on {device.type}")


_MEMORY_SCRIPT = """
import json, sys, threading, time, numpy as np
from ccdstudio.io.open import NpySource
from ccdstudio.io.source import ArraySource
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml.modelfile import LoadedModel, ModelInfo
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.unet import UNet, UNetConfig
from ccdstudio.ml.infer import predict

def anonymous_kb():  # resident memory not backed by files: the memory-mapped frame's pages do not count
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])

config = UNetConfig(1, 4, depth=2, base=4)
model = LoadedModel(UNet(config).eval(), ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), 512, 0.5))
run(predict(model, ArraySource(np.zeros((600, 600), np.float32) + np.arange(600)), batch_size=4))  # warm up torch
before, peak, done = anonymous_kb(), [0], threading.Event()

def watch():
    while not done.is_set():
        peak[0] = max(peak[0], anonymous_kb())
        time.sleep(0.005)

threading.Thread(target=watch, daemon=True).start()
labels = run(predict(model, NpySource(sys.argv[1]), batch_size=4)).labels
done.set()
print(json.dumps({"before_kb": before, "after_kb": max(peak[0], anonymous_kb()), "labels": labels.shape}))
"""


def _memory(quick: bool) -> Figure:
    """Peak memory of a streaming prediction over a memory-mapped frame, in a fresh process (Linux)."""
    height, width = (2000, 1600) if quick else (10000, 8000)
    with tempfile.TemporaryDirectory(prefix="ccdstudio-bench-ml-") as tmp:
        path = Path(tmp) / "frame.npy"
        frame = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(height, width))
        rng = np.random.default_rng(0)
        for y in range(0, height, 1000):
            frame[y: y + 1000] = rng.normal(1000, 3, frame[y: y + 1000].shape)
        frame.flush()
        del frame
        output = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(path)], capture_output=True, text=True,
                                check=True).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    grown_mb = (measured["after_kb"] - measured["before_kb"]) / 1024  # peak anonymous RSS growth
    per_class_copy_mb = 4 * height * width * 4 / 2**20
    return Figure(GROUP, f"extra peak memory predicting a {width}x{height} float32 frame (memory-mapped)", grown_mb,
                  "MB", per_class_copy_mb, "one float32 copy per class (4 classes)",
                  note=f"includes the uint8 class map ({height * width / 2**20:.0f} MB) and the activations of one "
                  "batch of tiles, which do not grow with the frame; memory-mapped pages not counted")
