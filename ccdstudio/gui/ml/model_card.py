"""A model file described for people (Qt-free): classes, inputs, how it was trained and how well it did,
plus the ``.md`` model card beside the file when there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccdstudio.errors import CcdstudioError


def describe_model(path: Path) -> str:
    """Markdown describing the model file at ``path`` (an error message if it cannot be read)."""
    from ccdstudio.ml.modelfile import model_card, read_info

    try:
        info = read_info(path)
    except CcdstudioError as error:
        return f"**Cannot read this model.**\n\n{error}"
    arch = info.architecture
    classes = ", ".join(info.classes.names)
    lines = [f"### {path.name.removesuffix('.safetensors')}",
             f"**Classes:** {classes}  ",
             f"**Input:** {info.in_channels} channel(s), normalised by *{info.normalization.summary}*  ",
             f"**Network:** U-Net, depth {arch.depth}, base width {arch.base}, {arch.norm} norm  ",
             f"**Tiles:** {info.tile} px, overlap {info.overlap:g}"]
    if info.postprocess:
        lines[-1] += "  "
        lines.append(f"**After the network:** {', '.join(info.postprocess)}")
    lines += _training_lines(info.training, info.seed)
    lines += _metric_lines(info.metrics, info.classes.names)
    if info.created:
        lines.append(f"\n*Created {info.created} with ccdstudio {info.version}.*")
    card = model_card(path)
    if card is not None:
        lines += ["", "---", "", card.read_text(encoding="utf-8", errors="replace")]
    return "\n".join(lines)


def _training_lines(training: dict[str, Any], seed: int | None) -> list[str]:
    if not training:
        return []
    config = training.get("config", {})
    images = training.get("images", [])
    pixels = training.get("pixels", {})
    lines = ["", "**Trained on** " + (f"{len(images)} image(s)" if images else "unknown data")]
    if pixels:
        total = sum(pixels.values()) or 1
        lines[-1] += ": " + ", ".join(f"{name} {100 * n / total:.2g} %" for name, n in pixels.items())
    if config:
        lines.append(f"{config.get('epochs', '?')} epochs, batch {config.get('batch_size', '?')}, "
                     f"crop {config.get('crop', '?')}, lr {config.get('lr', '?')}, {config.get('loss', '')} loss"
                     + (f", seed {seed}" if seed is not None else ""))
    return lines


def _metric_lines(metrics: dict[str, Any], names: list[str]) -> list[str]:
    report = metrics.get("report") or {}
    if not report:
        return []
    lines = ["", f"**Validation** (best epoch {metrics.get('epoch', '?')}, loss {metrics.get('val_loss', float('nan')):.4f}, "
             f"accuracy {report.get('accuracy', 0):.4f})", "",
             "| class | precision | recall | F1 | IoU |", "|---|---:|---:|---:|---:|"]
    for name in names:
        r = report.get(name)
        if r:
            lines.append(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1-score']:.3f} | {r['iou']:.3f} |")
    return lines
