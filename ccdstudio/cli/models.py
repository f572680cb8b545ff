"""``ccdstudio models``: list and describe bundled model files and any given file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ccdstudio.cli._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "models",
        "list or describe model files (bundled ones and any given file)",
        """
        `list` shows the models bundled in ccdstudio's models/ folder (and any files given) with their
        classes, input channels and normalisation; `show` prints everything a model file records
        (architecture, classes and colours, normalisation, tile and overlap, training data, seed, metrics,
        ccdstudio version) and its model card. Reading a model file never executes code in it.
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
                print(json.dumps({"path": str(path), **info}, indent=2))
                continue
            print(f"{path}\n{json.dumps(info, indent=2)}")
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
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no bundled models (the default, {DEFAULT_MODEL}, is not installed yet); "
              "train one with `ccdstudio train` and pass it with --model")
    else:
        for row in rows:
            mark = " (default)" if row["default"] else ""
            print(f"{row['name']}{mark}: {', '.join(row['classes'])}; {row['in_channels']} channel(s), "
                  f"{row['normalization']} normalisation, tile {row['tile']}  [{Path(row['path'])}]")
    return 0
