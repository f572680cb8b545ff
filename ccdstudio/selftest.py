"""``ccdstudio --self-test``: the smoke test of an installed or frozen ccdstudio.

It runs torch on the device found and a DataLoader worker process (the part of a frozen app that breaks
first), reads the bundled demo frame, segments it with the classic cluster finder and with Predict and the
bundled default model (when one is shipped), checks the results, and shows the frame in the main window
offscreen. It prints one line and exits 0 when everything passed. Qt is imported only by the window check,
through ``ccdstudio.gui``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdstudio import __version__
from ccdstudio.paths import models_dir, resource

if TYPE_CHECKING:
    import numpy as np

BUILD_INFO_FILE = Path(__file__).with_name("_build.json")
"""Written into a bundle by ``packaging/build.py``: flavour (CPU/GPU), torch build, platform, build date."""

DEMO_FRAME = ("demo", "ccd_demo.fits")
SEED_SIGMA = 5.0
"""Two-level cluster finder: a cluster has a pixel this many noise sigmas over the pedestal (a seed) …"""
GROW_SIGMA = 2.5
"""… and grows over its touching pixels above this level."""


class SelfTestFailure(Exception):
    """A check that did not pass; the message says what was wrong."""


@dataclass
class Check:
    """One named step of the self-test and what it found."""

    name: str
    passed: bool
    detail: str


def bundled_build() -> dict[str, Any]:
    """The build description a bundle carries, or ``{}`` when running from a source or pip install."""
    try:
        return dict(json.loads(BUILD_INFO_FILE.read_text()))
    except (OSError, ValueError):
        return {}


def version_text() -> str:
    """``ccdstudio 0.1.0 (CPU bundle)`` for a bundle, ``ccdstudio 0.1.0`` otherwise; imports nothing heavy."""
    flavour = bundled_build().get("flavour")
    return f"ccdstudio {__version__}" + (f" ({flavour} bundle)" if flavour else "")


def torch_device() -> str:
    """The device ccdstudio computes on: ``cuda:0 (<GPU name>)``, ``mps`` or ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:0 ({torch.cuda.get_device_name(0)})"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def build_info() -> dict[str, Any]:
    """What this ccdstudio is, for the About box and the self-test line.

    Keys: ``version``, ``flavour`` (``"CPU"`` or ``"GPU"``: the bundle's, else that of the installed torch),
    ``frozen``, ``torch``, ``cuda`` (the CUDA version torch was built with, or None) and ``device``; a bundle
    adds ``platform`` and ``built``.
    """
    import torch

    info: dict[str, Any] = {
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "flavour": "GPU" if torch.version.cuda else "CPU",
        **bundled_build(),
    }
    info.update(torch=torch.__version__, cuda=torch.version.cuda, device=torch_device())
    return info


def read_demo_frame() -> tuple[np.ndarray, np.ndarray | None, str]:
    """The first image plane of the bundled demo frame, its labels plane if it has one, and a description."""
    import numpy as np

    from ccdstudio.io.fits import FitsSource

    path = resource(*DEMO_FRAME)
    if not path.is_file():
        raise SelfTestFailure(f"demo data missing: {path}")
    with FitsSource(path) as source:
        images, labels = source.indices("image"), source.indices("labels")
        if not images:
            raise SelfTestFailure(f"demo frame {path.name} has no image plane")
        image = source.read(images[0]).astype(np.float32)
        truth = source.read(labels[0]) if labels else None
    return image, truth, f"demo frame {image.shape[1]}x{image.shape[0]} read"


def find_clusters(image: np.ndarray) -> np.ndarray:
    """The classic two-level cluster finder: a boolean map of pixels in clusters.

    Pixels above ``GROW_SIGMA`` noise sigmas over the robust pedestal form candidate regions (8-connected);
    a region is kept when one of its pixels is above ``SEED_SIGMA``.
    """
    import numpy as np
    from scipy import ndimage

    from ccdstudio.imaging.noise import robust_pedestal

    pedestal, sigma = robust_pedestal(image)
    if not np.isfinite(sigma) or sigma <= 0:
        raise SelfTestFailure("demo frame has no measurable noise")
    regions, _ = ndimage.label(image > pedestal + GROW_SIGMA * sigma, structure=np.ones((3, 3), bool))
    seeded = np.unique(regions[image > pedestal + SEED_SIGMA * sigma])
    return np.isin(regions, seeded[seeded > 0])


def check_segmentation(image: np.ndarray, truth: np.ndarray | None) -> str:
    """Run the two-level cluster finder on the demo frame and check the result is plausible (and agrees
    with its labels, if it has any)."""
    import numpy as np
    from scipy import ndimage

    found = find_clusters(image)
    count = ndimage.label(found, structure=np.ones((3, 3), bool))[1]
    fraction = float(found.mean())
    method = "2-level cluster finder"
    if count == 0:
        raise SelfTestFailure(f"{method} found no cluster in the demo frame")
    if fraction > 0.2:
        raise SelfTestFailure(f"{method} flagged {fraction:.0%} of the demo frame")
    detail = f"{method}: {count} clusters"
    if truth is not None:
        precision = float((truth[found] > 0).mean())
        if precision < 0.5:
            raise SelfTestFailure(f"{method}: only {precision:.0%} of found pixels are labelled in the demo")
        detail += f", {precision:.0%} on labelled pixels"
    return detail


def check_prediction(labels: np.ndarray, class_names: list[str], found: np.ndarray) -> str:
    """Check a Predict result on the demo frame against the cluster finder's map ``found``.

    The model must find clusters, leave most of the frame background, and put at least half of its
    cluster pixels where the classic finder sees charge (both look at the same plane).
    """
    if "cluster" not in class_names:
        raise SelfTestFailure(f"the bundled model has no cluster class ({', '.join(class_names)})")
    clusters = labels == class_names.index("cluster")
    if not clusters.any():
        raise SelfTestFailure("Predict found no cluster pixel in the demo frame")
    background = float((labels == 0).mean())
    if background < 0.8:
        raise SelfTestFailure(f"Predict labelled {1 - background:.0%} of the demo frame as not background")
    agreement = float(found[clusters].mean())
    if agreement < 0.5:
        raise SelfTestFailure(f"only {agreement:.0%} of Predict's cluster pixels hold charge")
    return f"{int(clusters.sum())} cluster pixels, {agreement:.0%} where the classic finder sees charge"


def predict_demo(model_path: Path, device: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Run Predict with ``model_path`` on the demo frame: its labels, class names and the input image."""
    from ccdstudio.io.fits import FitsSource
    from ccdstudio.jobs import run
    from ccdstudio.ml.infer import predict
    from ccdstudio.ml.modelfile import load_model

    model = load_model(model_path, device.split(" ")[0])
    with FitsSource(resource(*DEMO_FRAME)) as source:
        prediction = run(predict(model, source))
        image = source.read(prediction.planes[0])
    return prediction.labels, list(model.info.classes.names), image


def check_predict(device: str) -> str:
    """Predict with the bundled default model on the demo frame, or say that no model is bundled."""
    from ccdstudio.ml.modelfile import DEFAULT_MODEL

    path = models_dir() / f"{DEFAULT_MODEL}.safetensors"
    if not path.is_file():
        return f"Predict skipped (no bundled model {DEFAULT_MODEL})"
    labels, names, image = predict_demo(path, device)
    return f"Predict {DEFAULT_MODEL}: " + check_prediction(labels, names, find_clusters(image))


def check_torch(device: str) -> str:
    """A small convolution on the device found, compared with the same on the CPU."""
    import torch

    name = device.split(" ")[0]
    generator = torch.Generator().manual_seed(0)
    x, w = torch.randn(1, 1, 32, 32, generator=generator), torch.randn(2, 1, 3, 3, generator=generator)
    expected = torch.nn.functional.conv2d(x, w)
    got = torch.nn.functional.conv2d(x.to(name), w.to(name)).cpu()
    if not torch.allclose(got, expected, atol=1e-3):
        raise SelfTestFailure(f"convolution on {name} differs from the CPU")
    return f"torch on {name}"


class SquaresDataset:
    """A map-style dataset of ``i * i``, defined at module level so a spawned worker can unpickle it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        return index * index


def check_workers() -> str:
    """Load a batch through a DataLoader worker started by "spawn": what frozen apps get wrong first."""
    from torch.utils.data import DataLoader

    loader = DataLoader(SquaresDataset(), batch_size=4, num_workers=1, multiprocessing_context="spawn")
    values = [int(v) for batch in loader for v in batch]
    if values != [0, 1, 4, 9]:
        raise SelfTestFailure(f"DataLoader worker returned {values}")
    return "DataLoader worker"


def check_window() -> str:
    """Build the main window offscreen and show the demo frame in it."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from ccdstudio.gui.smoke import open_offscreen

    return open_offscreen(resource(*DEMO_FRAME))


def _run_check(checks: list[Check], name: str, step: Callable[[], str]) -> bool:
    try:
        checks.append(Check(name, True, step()))
    except SelfTestFailure as failure:
        checks.append(Check(name, False, str(failure)))
    except Exception as error:  # noqa: BLE001 (the self-test reports any failure in its one line)
        checks.append(Check(name, False, f"{name}: {type(error).__name__}: {error}"))
    return checks[-1].passed


def run_self_test() -> tuple[bool, str]:
    """Run every check; return whether all passed and the one line to print."""
    start = time.monotonic()
    checks: list[Check] = []
    try:
        info = build_info()
    except Exception as error:  # noqa: BLE001 (a bundle without a working torch still gets its line)
        info = {"version": __version__}
        checks.append(Check("build", False, f"torch: {type(error).__name__}: {error}"))
    else:
        _run_check(checks, "torch", lambda: check_torch(info["device"]))
        _run_check(checks, "workers", check_workers)
    demo: dict[str, Any] = {}

    def read() -> str:
        demo["image"], demo["truth"], detail = read_demo_frame()
        return detail

    if _run_check(checks, "demo", read):
        _run_check(checks, "segment", lambda: check_segmentation(demo["image"], demo["truth"]))
        if "device" in info:
            _run_check(checks, "predict", lambda: check_predict(info["device"]))
        _run_check(checks, "window", check_window)
    ok = all(check.passed for check in checks)
    kind = "bundle" if info.get("frozen") else "install"
    head = (f"ccdstudio {__version__} {info.get('flavour', '?')} {kind}, torch {info.get('torch', '?')}, "
            f"device {info.get('device', '?')}")
    failed = [check.detail for check in checks if not check.passed]
    body = "; ".join(failed) if failed else "; ".join(check.detail for check in checks)
    return ok, f"{head}: {'OK' if ok else 'FAILED'}: {body} ({time.monotonic() - start:.1f} s)"
