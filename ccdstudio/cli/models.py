"""``ccdstudio models``: list and describe bundled model files and any given file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ccdstudio.cli._common import add_command, json_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "models",
        "list or describe model files (bundled ones and any given file)",
        """
        `list` shows the models bundled in ccdstudio's models/ folder (and any files given) with their
        classes, input channels and normalisation; `show` summarises what a model file records (classes,
        network, normalisation, tile and overlap, steps after the network, training) and prints its model
        card; with --json, everything it records (training files, seed, metrics, colours...). Reading a
        model file never executes code in it.
        """,
        """
        ccdstudio models list
        ccdstudio models list my_model.safetensors
        ccdstudio models show ccd-unet-v1
        ccdstudio models show my_model.safetensors --json
        """,
    )
    parser.add_argument("action", choices=("list", "show"))
    parser.add_argument("models", nargs="*", metavar="NAME|FILE", help="bundled model names or model files")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import require
    from ccdstudio.ml.modelfile import (
        DEFAULT_MODEL,
        bundled_models,
        model_card,
        read_info,
        resolve_model,
    )

    if args.action == "show":
        require(len(args.models) >= 1, "name the model to show: ccdstudio models show NAME|FILE")
        for name in args.models:
            path = resolve_model(name)
            info = read_info(path).to_dict()
            if args.json:
                print(json_text({"path": str(path), **info}))
                continue
            print(describe(path, info))
            card = model_card(path)
            if card is not None:
                print(f"\n{card.read_text(encoding='utf-8')}")
        return 0
    paths = bundled_models() + [resolve_model(name) for name in args.models]
    rows = []
    for path in paths:
        info = read_info(path)
        rows.append({"name": path.name.removesuffix(".safetensors"), "path": str(path),
                     "default": path.name == f"{DEFAULT_MODEL}.safetensors", "classes": info.classes.names,
                     "in_channels": info.in_channels, "normalization": info.normalization.method,
                     "tile": info.tile, "card": str(model_card(path) or "")})
    if args.json:
        print(json_text(rows))
    elif not rows:
        print(f"no bundled models (the default, {DEFAULT_MODEL}, is not installed yet); "
              "train one with `ccdstudio train` and pass it with --model")
    else:
        for row in rows:
            mark = " (default)" if row["default"] else ""
            print(f"{row['name']}{mark}: {', '.join(row['classes'])}; {row['in_channels']} channel(s), "
                  f"{row['normalization']} normalisation, tile {row['tile']}  [{Path(row['path'])}]")
    return 0


def describe(path: Path, info: dict[str, Any]) -> str:
    """A few lines on a model file's record (``ModelInfo.to_dict()``), for people; --json has it all."""
    net = info.get("architecture", {})
    training, metrics = info.get("training") or {}, info.get("metrics") or {}
    trained = [f"{len(training['images'])} image(s)"] if training.get("images") else []
    if "epoch" in metrics:
        trained.append(f"best epoch {metrics['epoch']}")
    if isinstance(metrics.get("val_loss"), float):
        trained.append(f"validation loss {metrics['val_loss']:.4g}")
    trained += [f"ccdstudio {info['ccdstudio_version']}"] if info.get("ccdstudio_version") else []
    trained += [str(info["created"])[:10]] if info.get("created") else []
    normalization = info.get("normalization", {})
    rows = [
        ("classes", ", ".join(c["name"] for c in info.get("classes", []))),
        ("network", f"{net.get('name', '?')}, depth {net.get('depth', '?')}, base width {net.get('base', '?')}, "
                    f"{info.get('in_channels', '?')} input plane(s)"),
        ("normalisation", normalization.get("method", "?")
         + (f" (pedestal: {normalization['pedestal']})" if normalization.get("pedestal") else "")),
        ("tiles", f"{info.get('tile', '?')} px, overlap {info.get('overlap', '?')}"),
        ("after the network", ", ".join(info.get("postprocess") or []) or "nothing"),
        ("trained", "; ".join(trained) or "no record"),
    ]
    return "\n".join([str(path), *(f"  {name:<19}{value}" for name, value in rows),
                      "  (--json for everything the file records)"])
