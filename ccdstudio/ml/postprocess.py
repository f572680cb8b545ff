"""Steps a model file asks :func:`~ccdstudio.ml.infer.predict` to run on its class map.

A model lists them by name in its description (``ModelInfo.postprocess``); ``ccdstudio train --postprocess``
and the training presets set them. Each step needs some classes and a normalisation; :func:`check_steps`
refuses a model that asks for a step it cannot run.

- ``"hot_lines"``: hot columns and rows too faint for a network to see pixel by pixel (about 1 sigma per pixel
  or less) are plain over their length; :func:`ccdstudio.imaging.hot_lines.find_hot_lines` finds them on
  the noise-scaled frame and their pixels the network called ``background`` or ``glowing`` become
  ``hot_pixel``. Needs the classes background, glowing (optional), hot_pixel and cluster, and the ``ccd``
  normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccdstudio.errors import CcdstudioError

STEPS: dict[str, tuple[str, ...]] = {"hot_lines": ("background", "hot_pixel", "cluster")}
"""Every known step and the classes it needs."""


def check_steps(steps: Sequence[str], class_names: Sequence[str], normalization_method: str) -> tuple[str, ...]:
    """``steps`` as a tuple, or a :class:`CcdstudioError` saying why a model cannot use one of them."""
    for step in steps:
        if step not in STEPS:
            raise CcdstudioError(f"unknown post-processing step {step!r}; this ccdstudio knows "
                                 f"{', '.join(STEPS)} (a newer one may know more)")
        missing = [name for name in STEPS[step] if name not in class_names]
        if missing:
            raise CcdstudioError(f"post-processing step {step!r} needs the class(es) {', '.join(missing)}")
        if normalization_method != "ccd":
            raise CcdstudioError(f"post-processing step {step!r} needs the ccd normalisation, not "
                                 f"{normalization_method!r}")
    return tuple(steps)
