"""Simulation speed: a full CCD frame, and segment layers written per second."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np

from ccdstudio.bench import Figure, best_time


def run(quick: bool) -> Iterator[Figure]:
    from ccdstudio.jobs import run as run_job
    from ccdstudio.simulate.ccd import simulate_ccd
    from ccdstudio.simulate.params import CCDParams

    side = 1024 if quick else 4096
    rng = np.random.default_rng(0)
    noise_only = best_time(lambda: rng.standard_normal((side, side), dtype=np.float32), repeat=3)
    frame = best_time(lambda: simulate_ccd((side, side), CCDParams(), np.random.default_rng(1)),
                      repeat=2 if quick else 1)
    yield Figure("simulate", f"CCD frame {side}x{side} (default physics)", frame, "s", noise_only,
                 "Gaussian noise of the same frame", note="goal: a few seconds at 4096x4096")

    from ccdstudio.simulate.segment import simulate_segment

    layers, height, width = (8, 1024, 1024) if quick else (16, 2048, 2048)
    pixels = layers * height * width / 1e6
    draws = best_time(lambda: rng.standard_normal(int(pixels * 1e6), dtype=np.float32), repeat=2)
    with tempfile.TemporaryDirectory() as folder:
        made = best_time(lambda: run_job(simulate_segment(f"{folder}/seg", layers, height, width)), repeat=1)
    yield Figure("simulate", f"segment {layers}x{height}x{width} written", pixels / made, "Mpx/s", pixels / draws,
                 "Gaussian noise for the same pixels", higher_is_better=True,
                 note="65x10000x8000 took 9 min wall (3 min CPU) on a 2-core VM")
