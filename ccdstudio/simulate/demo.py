"""The demo data shipped in ``resources/demo``: a two-amplifier CCD frame with its truth, and a small segment.

:func:`write_demo` regenerates it exactly (fixed seeds and parameters):

- ``ccd_demo.fits``: 1024 x 1024 detector pixels read by two amplifiers, each an extension with 64 columns
  of serial overscan, integer ADU (uint16 via BZERO); clusters of every kind, hot pixels and columns, glow.
- ``ccd_demo_labels.fits``: its truth label map (``ccd`` classes) in detector coordinates.
- ``ccd_demo_clusters.json``: its clusters (id, kind, charge, box).
- ``segment_demo/``: 12 layers of 256 x 384 with ``mask.png`` and ``inklabels.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ccdstudio.jobs import CancelToken, Job, Progress, check
from ccdstudio.paths import resource
from ccdstudio.simulate.ccd import SimulatedFrame, simulate_ccd
from ccdstudio.simulate.ccd_files import write_frame
from ccdstudio.simulate.params import CCDParams
from ccdstudio.simulate.segment import simulate_segment

DEMO_SEED = 20240702
DEMO_SHAPE = (1024, 1024)
DEMO_PARAMS = CCDParams(
    pedestal=2500.0, pedestal_row_drift=6.0, pedestal_col_drift=2.0, read_noise=6.0, gain=2.5,
    amplifiers=2, overscan=64, amp_variation=0.02, cti_serial=2e-6, dark_current=0.1,
    glow_peak=40.0, glow_length=120.0, glow_band=10.0, glow_band_width=24,
    hot_pixel_density=60.0, hot_pixel_charge=80.0, hot_columns=3, hot_rows=1, hot_line_charge=8.0,
    point_density=60.0, muon_density=4.0, electron_density=12.0, alpha_density=2.0, template_density=12.0,
)
SEGMENT_SHAPE = (12, 256, 384)


def demo_frame() -> SimulatedFrame:
    """The demo CCD frame, the same on every call."""
    return simulate_ccd(DEMO_SHAPE, DEMO_PARAMS, np.random.default_rng(DEMO_SEED))


def write_demo(dest: str | os.PathLike[str] | None = None, cancel: CancelToken | None = None) -> Job[Path]:
    """A job writing the demo files into ``dest`` (default: the shipped ``resources/demo``); returns ``dest``."""
    out = Path(dest) if dest is not None else resource("demo")
    frame = demo_frame()
    check(cancel)
    write_frame(frame, out / "ccd_demo.fits", out / "ccd_demo_labels.fits", out / "ccd_demo_clusters.json",
                integer=True, extra_cards=[("SIMSEED", DEMO_SEED, "seed of the demo frame")])
    yield Progress(0.5, "CCD demo frame written")
    layers, height, width = SEGMENT_SHAPE
    for event in simulate_segment(out / "segment_demo", layers, height, width, seed=DEMO_SEED, cancel=cancel):
        yield Progress(0.5 + 0.5 * (event.fraction or 0.0), f"segment demo: {event.message}")
    return out
