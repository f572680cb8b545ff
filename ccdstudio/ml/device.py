"""Choosing the device and how to use it: CUDA (mixed precision, cuDNN autotuning), Apple MPS, or CPU."""

from __future__ import annotations

import contextlib
import os

import torch

from ccdstudio.errors import CcdstudioError

DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(name: str = "auto") -> torch.device:
    """The device for ``name``: ``"auto"`` picks CUDA, then MPS, then CPU; an unavailable choice is an error."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise CcdstudioError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CcdstudioError("--device cuda was asked for but no CUDA GPU is available (use --device cpu or auto)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise CcdstudioError("--device mps was asked for but Apple MPS is not available")
    device = torch.device(name)
    prepare(device)
    return device


def prepare(device: torch.device) -> None:
    """Set up ``device`` for speed: cuDNN autotuning and TF32 on CUDA, a sensible thread count on CPU."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # torch defaults to every logical core; hyper-threads slow convolutions down, physical cores do not.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores > 4 and _hyperthreaded():
            cores //= 2
        torch.set_num_threads(max(1, cores))


def _hyperthreaded() -> bool:
    try:
        with open("/sys/devices/system/cpu/smt/active") as handle:
            return handle.read().strip() == "1"
    except OSError:
        return False


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA (float16), nothing elsewhere (CPU bfloat16 is slower on most laptops)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def inference_batch_size(device: torch.device, tile: int, in_channels: int, base: int) -> int:
    """Tiles per forward pass: enough to fill a GPU, one or two on a CPU (where larger batches gain nothing).

    The estimate keeps the activations (about ``base * 12`` floats per pixel for a U-Net in float16 with
    intermediate buffers) within a quarter of the free GPU memory.
    """
    if device.type != "cuda":
        return 1 if tile >= 512 else 4
    free, _ = torch.cuda.mem_get_info(device)
    per_tile = tile * tile * (base * 12 + in_channels) * 2
    return int(max(1, min(64, free // 4 // per_tile)))
