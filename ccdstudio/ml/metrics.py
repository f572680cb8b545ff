"""Segmentation metrics: confusion matrix, per-class precision/recall/F1/support (the numbers of
scikit-learn's ``classification_report``), IoU, and object-level detection.

Object level: each connected region (8-connected) of a true class is an object. A true object is *found*
when predicted pixels of its class overlap it (detection recall); a predicted object is *correct* when it
overlaps a true object of its class (detection precision). A true object that any non-background
prediction overlaps is *identified* when the class predicted on most of its overlapped pixels is its own
(class-identification accuracy). Pixels labelled ``IGNORE`` (255) count nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from ccdstudio.errors import CcdstudioError
from ccdstudio.ml.losses import IGNORE

_EIGHT = np.ones((3, 3), bool)


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, n)`` int64 counts: row = true class, column = predicted class."""
    truth, pred = np.asarray(truth), np.asarray(pred)
    if truth.shape != pred.shape:
        raise CcdstudioError(f"truth {truth.shape[1]}x{truth.shape[0]} and prediction {pred.shape[1]}x{pred.shape[0]} "
                             "differ in size")
    valid = truth != IGNORE
    t, p = truth[valid].astype(np.int64), pred[valid].astype(np.int64)
    if t.size and (t.max() >= n_classes or p.max() >= n_classes):
        raise CcdstudioError(f"class index {max(t.max(), p.max())} is beyond the {n_classes} classes")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division default reports 0 (with a warning) where the denominator is 0.
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def classification_report(cm: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Per-class and averaged precision, recall, F1 and support, plus accuracy and IoU, from a confusion matrix.

    The layout follows ``sklearn.metrics.classification_report(..., output_dict=True)``: a key per class,
    ``"accuracy"``, ``"macro avg"`` and ``"weighted avg"``; each class also has ``"iou"``.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support = cm.sum(1)
    predicted = cm.sum(0)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    iou = _ratio(tp, support + predicted - tp)
    report: dict[str, Any] = {
        name: {"precision": precision[i], "recall": recall[i], "f1-score": f1[i], "support": int(support[i]),
               "iou": iou[i]}
        for i, name in enumerate(names)
    }
    total = support.sum()
    report["accuracy"] = float(tp.sum() / total) if total else 0.0
    report["macro avg"] = {"precision": precision.mean(), "recall": recall.mean(), "f1-score": f1.mean(),
                           "support": int(total), "iou": iou.mean()}
    weights = support / total if total else np.zeros_like(support)
    report["weighted avg"] = {"precision": precision @ weights, "recall": recall @ weights,
                              "f1-score": f1 @ weights, "support": int(total), "iou": iou @ weights}
    return _plain(report)


def format_report(report: dict[str, Any], names: Sequence[str], digits: int = 4) -> str:
    """The report as scikit-learn prints it, with an IoU column."""
    width = max(len("weighted avg"), *(len(n) for n in names))
    head = f"{'':>{width}} {'precision':>10} {'recall':>10} {'f1-score':>10} {'iou':>10} {'support':>10}"
    lines = [head, ""]
    row = "{:>{w}} {:>10.{d}f} {:>10.{d}f} {:>10.{d}f} {:>10.{d}f} {:>10}"
    for name in names:
        r = report[name]
        lines.append(row.format(name, r["precision"], r["recall"], r["f1-score"], r["iou"], r["support"], w=width, d=digits))
    lines.append("")
    support = report["macro avg"]["support"]
    lines.append(f"{'accuracy':>{width}} {'':>10} {'':>10} {report['accuracy']:>10.{digits}f} {'':>10} {support:>10}")
    for key in ("macro avg", "weighted avg"):
        r = report[key]
        lines.append(row.format(key, r["precision"], r["recall"], r["f1-score"], r["iou"], r["support"], w=width, d=digits))
    return "\n".join(lines)


def format_confusion(confusion: Sequence[Sequence[int]] | np.ndarray, names: Sequence[str]) -> str:
    """The confusion matrix as a table: a row per true class, a column per predicted class."""
    width = max(len(n) for n in names)
    cell = max(10, *(len(n) for n in names))
    lines = [f"{'':>{width}} " + " ".join(f"{n:>{cell}}" for n in names)]
    lines += [f"{name:>{width}} " + " ".join(f"{int(v):>{cell}}" for v in row) for name, row in zip(names, confusion)]
    return "\n".join(lines)


@dataclass
class ObjectCounts:
    """Object-level tallies for one class, summed over images."""

    true_objects: int = 0
    found: int = 0
    predicted_objects: int = 0
    correct_predictions: int = 0
    touched: int = 0
    identified: int = 0

    def summary(self) -> dict[str, float | int]:
        return {
            "true_objects": self.true_objects,
            "predicted_objects": self.predicted_objects,
            "detection_recall": self.found / self.true_objects if self.true_objects else 0.0,
            "detection_precision": self.correct_predictions / self.predicted_objects if self.predicted_objects else 0.0,
            "identification_accuracy": self.identified / self.touched if self.touched else 0.0,
        }


def count_objects(truth: np.ndarray, pred: np.ndarray, cls: int, counts: ObjectCounts | None = None) -> ObjectCounts:
    """Add the object-level tallies of class ``cls`` in one image to ``counts`` (see the module docstring)."""
    counts = counts if counts is not None else ObjectCounts()
    valid = truth != IGNORE
    true_ids, n_true = ndimage.label(truth == cls, _EIGHT)
    pred_ids, n_pred = ndimage.label((pred == cls) & valid, _EIGHT)
    counts.true_objects += n_true
    counts.predicted_objects += n_pred
    if n_true:
        hit = np.zeros(n_true + 1, bool)
        hit[true_ids[(pred == cls) & (true_ids > 0)]] = True
        counts.found += int(hit[1:].sum())
        # Identification: majority predicted class among the non-background predictions on each object.
        inside = (true_ids > 0) & (pred != 0) & valid
        n_classes = int(max(pred.max(initial=0), cls)) + 1
        votes = np.bincount(true_ids[inside] * n_classes + pred[inside].astype(np.int64),
                            minlength=(n_true + 1) * n_classes).reshape(n_true + 1, n_classes)[1:]
        touched = votes.sum(1) > 0
        counts.touched += int(touched.sum())
        counts.identified += int((votes[touched].argmax(1) == cls).sum())
    if n_pred:
        correct = np.zeros(n_pred + 1, bool)
        correct[pred_ids[(truth == cls) & (pred_ids > 0)]] = True
        counts.correct_predictions += int(correct[1:].sum())
    return counts


@dataclass
class Evaluation:
    """Metrics accumulated over many (truth, prediction) pairs; :meth:`summary` gives the JSON."""

    names: list[str]
    confusion: np.ndarray = field(init=False)
    objects: dict[str, ObjectCounts] = field(init=False)
    images: int = 0

    def __post_init__(self) -> None:
        self.confusion = np.zeros((len(self.names), len(self.names)), np.int64)
        self.objects = {name: ObjectCounts() for name in self.names[1:]}

    def add(self, truth: np.ndarray, pred: np.ndarray, objects: bool = True) -> None:
        """Add one image's truth and prediction (uint8 class indices of the same shape)."""
        self.confusion += confusion_matrix(truth, pred, len(self.names))
        if objects:
            for i, name in enumerate(self.names[1:], start=1):
                count_objects(truth, pred, i, self.objects[name])
        self.images += 1

    def report(self) -> dict[str, Any]:
        return classification_report(self.confusion, self.names)

    def summary(self) -> dict[str, Any]:
        """``{"classes", "images", "report", "confusion_matrix", "objects"}``."""
        return {
            "classes": self.names,
            "images": self.images,
            "report": self.report(),
            "confusion_matrix": self.confusion.tolist(),
            "objects": {name: counts.summary() for name, counts in self.objects.items()},
        }


def format_objects(objects: dict[str, dict[str, Any]]) -> str:
    """Object-level metrics as a table."""
    width = max([len("class")] + [len(n) for n in objects])
    lines = [f"{'class':>{width}} {'true':>8} {'predicted':>10} {'det.recall':>11} {'det.precision':>14} {'id.accuracy':>12}"]
    for name, o in objects.items():
        lines.append(f"{name:>{width}} {o['true_objects']:>8} {o['predicted_objects']:>10} {o['detection_recall']:>11.4f} "
                     f"{o['detection_precision']:>14.4f} {o['identification_accuracy']:>12.4f}")
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """numpy scalars to Python numbers, recursively, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
