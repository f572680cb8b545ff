"""``ccdstudio evaluate``: compare predicted label maps with the truth, pixel by pixel and object by object."""

from __future__ import annotations

import argparse
from pathlib import Path

from ccdstudio.cli._common import add_command, json_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "evaluate",
        "score predicted labels against true labels",
        """
        Compare predicted label maps with true ones: per-class precision, recall, F1 and support (as
        scikit-learn's classification report), IoU, the confusion matrix (rows: truth), and object-level
        detection: a true object (8-connected region of one class) is found when predicted pixels of its
        class overlap it; detection precision is the share of predicted objects overlapping a true one of
        their class; identification accuracy the share of touched objects whose majority predicted class
        is right. Classes are matched by name.

        With folders, each <stem>_labels.* in --pred is paired with <stem>_labels.* (or <stem>.*) in --truth.
        A prediction of a raw CCD plane (data section plus overscan) is scored over its data section when
        the truth covers only that (its FITS header's DATASEC, which ccdstudio predict keeps).
        """,
        """
        ccdstudio evaluate --pred predictions/ --truth frames/ --json scores.json
        ccdstudio evaluate --pred pred/frame_labels.fits --truth frames/frame_labels.fits
        """,
    )
    parser.add_argument("--pred", required=True, metavar="DIR_OR_FILE", help="predicted label map(s)")
    parser.add_argument("--truth", required=True, metavar="DIR_OR_FILE", help="true label map(s)")
    parser.add_argument("--json", metavar="OUT", help="write the metrics as JSON")
    parser.add_argument("--no-objects", action="store_true", help="pixel metrics only (faster on huge maps)")
    parser.set_defaults(func=_run)


def _label_files(folder: Path) -> dict[str, Path]:
    from ccdstudio.ml.data import LABEL_SUFFIXES

    found = {}
    for path in sorted(folder.iterdir()):
        lower = path.name.lower()
        suffix = next((s for s in LABEL_SUFFIXES if lower.endswith(s)), None)
        if suffix and not lower.endswith(".classes.json"):
            found[path.name[: -len(suffix)]] = path
    return found


def pair_files(pred: Path, truth: Path) -> list[tuple[Path, Path]]:
    """(prediction, truth) pairs: two files, or files matched by stem in two folders."""
    from ccdstudio.errors import CcdstudioError

    for path in (pred, truth):
        if not path.exists():
            raise CcdstudioError(f"no such file or folder: {path}")
    if pred.is_file() and truth.is_file():
        return [(pred, truth)]
    if pred.is_file() or truth.is_file():
        raise CcdstudioError("give two label files or two folders")
    predicted, true = _label_files(pred), _label_files(truth)
    pairs = []
    for stem, path in predicted.items():
        if not stem.endswith("_labels"):
            continue
        match = true.get(stem) or true.get(stem.removesuffix("_labels"))
        if match is not None:
            pairs.append((path, match))
    if not pairs:
        raise CcdstudioError(f"no predicted <stem>_labels.* file in {pred} has a matching truth in {truth}")
    return pairs


def data_section(pred, truth_shape: tuple[int, ...], pred_path: Path):
    """``pred`` cut to the DATASEC of its FITS header when it is larger than the truth and that section is the
    truth's size (a prediction of a raw plane with overscan); otherwise ``pred`` as it is."""
    from ccdstudio.io.ccd import data_window_of
    from ccdstudio.labels import fits_labels
    from ccdstudio.labels.io import label_format

    if pred.shape == truth_shape or label_format(pred_path) != "fits":
        return pred
    window = data_window_of(fits_labels.read_header(pred_path), truth_shape)
    return pred if window is None else pred[window]


def _by_name(labels, classes, names: list[str]):
    """``labels`` re-indexed from ``classes`` to the class order ``names``."""
    import numpy as np

    lut = np.arange(256, dtype=np.uint8)  # 255 (not labelled) stays 255
    lut[: len(classes)] = [names.index(n) for n in classes.names]
    return lut[labels]


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.errors import CcdstudioError
    from ccdstudio.labels.io import load_labels
    from ccdstudio.ml.metrics import (
        Evaluation,
        format_confusion,
        format_objects,
        format_report,
    )

    evaluation = None
    pairs = pair_files(Path(args.pred), Path(args.truth))
    for pred_path, truth_path in pairs:
        pred, pred_classes = load_labels(pred_path)
        truth, truth_classes = load_labels(truth_path)
        pred = data_section(pred, truth.shape, pred_path)
        if evaluation is None:
            evaluation = Evaluation(pred_classes.names)
        names = evaluation.names
        unknown = [n for n in truth_classes.names if n not in names]
        if unknown or any(n not in names for n in pred_classes.names):
            raise CcdstudioError(f"{truth_path} has classes {truth_classes.names}, {pred_path} has {pred_classes.names}")
        # Class indices are matched by name, so files with the same classes in another order compare right.
        evaluation.add(_by_name(truth, truth_classes, names), _by_name(pred, pred_classes, names),
                       objects=not args.no_objects)
    summary = evaluation.summary() | {"pairs": [[str(p), str(t)] for p, t in pairs]}
    print(format_report(summary["report"], evaluation.names))
    print("\nconfusion matrix (rows: truth, columns: prediction)")
    print(format_confusion(summary["confusion_matrix"], evaluation.names))
    if not args.no_objects:
        print("\nobjects\n" + format_objects(summary["objects"]))
    if args.json:
        from ccdstudio.io.atomic import write_text

        write_text(args.json, json_text(summary) + "\n", "the evaluation")
    return 0
