"""Metrics against hand-computed values (the numbers scikit-learn's classification_report gives)."""

import numpy as np
import pytest

from ccdstudio.ml.losses import IGNORE
from ccdstudio.ml.metrics import (
    Evaluation,
    classification_report,
    confusion_matrix,
    count_objects,
    format_report,
)


def test_report_matches_hand_computation():
    truth = np.array([[0, 0, 1, 1, 1, 2, IGNORE]], np.uint8)
    pred = np.array([[0, 1, 1, 1, 2, 2, 0]], np.uint8)
    cm = confusion_matrix(truth, pred, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    r = classification_report(cm, ["a", "b", "c"])
    assert r["a"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1-score": 2 / 3, "support": 2, "iou": 0.5})
    assert r["b"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1-score": 2 / 3, "support": 3, "iou": 0.5})
    assert r["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1-score": 2 / 3, "support": 1, "iou": 0.5})
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["macro avg"]["precision"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert r["weighted avg"]["precision"] == pytest.approx((2 * 1 + 3 * 2 / 3 + 1 * 0.5) / 6)
    assert r["weighted avg"]["recall"] == pytest.approx(4 / 6)  # as in scikit-learn: equals the accuracy
    assert "macro avg" in format_report(r, ["a", "b", "c"])


def test_never_predicted_class_reports_zero_like_sklearn():
    r = classification_report(confusion_matrix(np.array([0, 1]), np.array([0, 0]), 2), ["bg", "x"])
    assert r["x"]["precision"] == 0.0 and r["x"]["recall"] == 0.0 and r["x"]["f1-score"] == 0.0
    assert r["bg"]["precision"] == 0.5 and r["bg"]["f1-score"] == pytest.approx(2 / 3)


def test_objects_found_missed_false_and_misidentified():
    truth = np.zeros((10, 10), np.uint8)
    truth[1:3, 1:3] = 1   # found by a partial overlap
    truth[6:8, 6:8] = 1   # missed, but touched by class 2 -> misidentified
    truth[1, 7] = 2       # found
    pred = np.zeros_like(truth)
    pred[2, 2] = 1
    pred[6:8, 6:8] = 2
    pred[1, 7] = 2
    pred[9, 0] = 1        # a false detection
    ones = count_objects(truth, pred, 1).summary()
    assert ones["true_objects"] == 2 and ones["detection_recall"] == 0.5
    assert ones["predicted_objects"] == 2 and ones["detection_precision"] == 0.5
    assert ones["identification_accuracy"] == 0.5
    twos = count_objects(truth, pred, 2).summary()
    # class 2 predicted as two 8-connected regions: the true hot pixel and the blob at 6:8 (not class 2).
    assert twos["true_objects"] == 1 and twos["detection_recall"] == 1.0 and twos["detection_precision"] == 0.5


def test_evaluation_accumulates_images():
    evaluation = Evaluation(["bg", "x"])
    truth = np.array([[0, 1, 1]], np.uint8)
    evaluation.add(truth, np.array([[0, 1, 0]], np.uint8))
    evaluation.add(truth, np.array([[1, 1, 1]], np.uint8))
    summary = evaluation.summary()
    assert summary["images"] == 2 and summary["confusion_matrix"] == [[1, 1], [1, 3]]
    assert summary["objects"]["x"]["true_objects"] == 2 and summary["objects"]["x"]["detection_recall"] == 1.0
