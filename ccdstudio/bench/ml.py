"""ML figures: tiled inference and training throughput, seam agreement, and memory on a huge frame.

Baselines, measured in the same run:

- inference: a plain sliding-window loop with the same network, tile and overlap, written the way MONAI's
  ``sliding_window_inference`` works (a Gaussian importance map with sigma = tile/8, windows in batches,
  logits accumulated over the whole frame and divided by the summed weights);
- the fraction of the machine's convolution peak, timed on one large 3x3 convolution;
- seams: the class map of one whole-frame forward pass (figure: share of pixels that differ);
- training: raw optimiser steps on tensors already in memory (the trainer adds data, checks and events);
- memory: the float32 per-class copy of the frame that a non-streaming inference would hold.

The network is the default architecture (``UNetConfig()``: depth 4, base 32, batch norm) with random
weights, which is the hardest case for seams (no confident classes).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ccdstudio.bench import Figure, best_time

GROUP = "ml"


def run(quick: bool) -> Iterator[Figure]:
    import torch

    from ccdstudio.ml.device import choose_device

    device = choose_device("auto")
    size, tile = (512, 256) if quick else (2048, 512)
    model = _model(device, tile)
    image = _frame(size)
    peak = conv_peak(device)
    yield from _inference(model, image, tile, peak, device)
    yield _training(device, quick)
    yield _memory(quick)
    del torch


def _model(device, tile: int):
    import torch

    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.modelfile import LoadedModel, ModelInfo
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.unet import UNet, UNetConfig

    torch.manual_seed(0)
    config = UNetConfig()
    net = UNet(config).to(device).to(memory_format=torch.channels_last).eval()
    return LoadedModel(net, ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), tile, 0.5))


def _frame(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = rng.normal(1000, 3, (size, size)).astype(np.float32)
    for _ in range(size // 8):
        y, x = rng.integers(0, size - 8, 2)
        image[y: y + rng.integers(2, 8), x: x + rng.integers(2, 8)] += rng.uniform(20, 3000)
    return image


def conv_peak(device) -> float:
    """FLOP/s of a large 3x3 convolution (256 -> 256 channels) on ``device``: the practical peak."""
    import torch

    side = 128 if device.type == "cpu" else 512
    x = torch.randn(1 if device.type == "cpu" else 8, 256, side, side, device=device).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device).to(memory_format=torch.channels_last)
    from ccdstudio.ml.device import autocast

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
        cin = module.in_channels // module.groups
        total += 2.0 * k * cin * output.shape[1] * output.shape[2] * output.shape[3] * output.shape[0]

    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(hook) for m in convs]
    with torch.inference_mode():
        net(torch.zeros(1, in_channels, tile, tile, device=device))
    for h in handles:
        h.remove()
    # A transposed 2x2/stride-2 convolution touches each input once per output; the hook's output size
    # already counts that, so no correction is needed.
    return total


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
    with torch.inference_mode():
        for b in range(0, len(windows), batch):
            chunk = windows[b: b + batch]
            logits = net(torch.cat([image[..., y: y + tile, x: x + tile] for y, x in chunk]))
            if output is None:
                output = torch.zeros(1, logits.shape[1], height, width, device=image.device)
            for (y, x), tile_logits in zip(chunk, logits):
                output[0, :, y: y + tile, x: x + tile] += tile_logits * importance
                count[0, :, y: y + tile, x: x + tile] += importance
    return (output / count)[0].argmax(0)


def _inference(model, image: np.ndarray, tile: int, peak: float, device) -> Iterator[Figure]:
    import torch

    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run
    from ccdstudio.ml.device import inference_batch_size
    from ccdstudio.ml.infer import predict, predict_whole, tile_grid

    source = ArraySource(image)
    mpix = image.size / 1e6
    batch = inference_batch_size(device, tile, 1, model.info.architecture.base)
    stats = model.info.normalization.fit(image)
    tensor = torch.from_numpy(model.info.normalization.apply(image, stats))[None].to(device)
    tensor = tensor.contiguous(memory_format=torch.channels_last)
    result = {}

    def ours():
        result["labels"] = run(predict(model, source, tile=tile, batch_size=batch)).labels

    def reference():
        result["reference"] = reference_sliding_window(model.net, tensor, tile, model.info.overlap, batch)
        _sync(device)

    baseline_time = best_time(reference, repeat=1 if image.size > 1e6 else 2)
    our_time = best_time(ours, repeat=1 if image.size > 1e6 else 2)
    halo = min(model.info.architecture.receptive_radius, round(model.info.overlap * tile) // 2)
    grid = tile_grid(image.shape[0], tile, model.info.overlap, model.info.architecture.multiple, halo)
    flops = tile_flops(model.net, tile, 1, device) * len(grid.starts) ** 2
    side = f"{image.shape[1]}x{image.shape[0]}"
    yield Figure(GROUP, f"tiled inference {side}, tile {tile}, overlap {model.info.overlap}", mpix / our_time,
                 "Mpix/s", mpix / baseline_time, "MONAI-style sliding window", higher_is_better=True,
                 note=f"{flops / our_time / peak:.0%} of conv peak ({peak / 1e9:.0f} GFLOP/s) on {device.type}")
    whole = predict_whole(model, source)
    changed = float((result["labels"] != whole).mean())
    reference_changed = float((result["reference"].cpu().numpy() != whole).mean())
    yield Figure(GROUP, f"pixels whose class differs from a whole-frame pass ({side}, halo {halo} px)",
                 100 * changed, "%", 100 * reference_changed, "MONAI-style sliding window",
                 note=f"bound 0.01%; exact when halo = receptive radius ({model.info.architecture.receptive_radius} px); "
                 "random weights are the worst case")


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
