"""Training: the loss falls, runs repeat exactly with a seed, cancel keeps the best model, resume, data errors."""

import numpy as np
import pytest
import torch

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.jobs import CancelToken, run
from ccdstudio.ml.data import NO_AUGMENTATION, find_pairs, plan_epoch
from ccdstudio.ml.losses import IGNORE
from ccdstudio.ml.metrics import classification_report
from ccdstudio.ml.modelfile import load_model, read_checkpoint
from ccdstudio.ml.train import TrainConfig, last_checkpoint, load_data, train

from .conftest import CLASSES, toy_frame, write_pair

TINY = {"depth": 2, "base": 8}


def _config(**changes) -> TrainConfig:
    base = {"epochs": 3, "batch_size": 4, "crop": 32, "samples_per_epoch": 16, "lr": 3e-3, "seed": 0,
            "device": "cpu", "schedule": "none", "patience": 0}
    return TrainConfig(**(base | changes))


def _events(job):
    events = []
    result = run(job, lambda e: events.append(dict(e.data)))
    return result, events


def test_loss_falls_and_events_and_model_file(toy_files, tmp_path):
    data = load_data(find_pairs([toy_files[0].parent]), crop=32, val_split=0.25, seed=0)
    assert data.classes == CLASSES and data.normalization.method == "ccd" and data.validation
    result, events = _events(train(data, tmp_path / "m.safetensors", _config(epochs=4), TINY))
    kinds = [e["event"] for e in events]
    assert kinds.count("epoch") == 4 and kinds[-1] == "finished" and "checkpoint" in kinds
    steps = [e["loss"] for e in events if e["event"] == "step"]
    assert np.mean(steps[-4:]) < np.mean(steps[:4])
    epochs = [e for e in events if e["event"] == "epoch"]
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    assert set(epochs[0]["f1"]) == set(CLASSES.names) and "iou_mean" in epochs[0]
    model = load_model(result.model, classes=CLASSES, in_channels=1)
    assert model.info.metrics["epoch"] == result.best_epoch and model.info.training["pixels"]["blob"] > 0
    assert result.report["accuracy"] > 0


def test_epoch_events_carry_the_validation_confusion_matrix_and_report(toy_files, tmp_path):
    data = load_data(find_pairs([toy_files[0].parent]), crop=32, val_split=0.25, seed=0)
    result, events = _events(train(data, tmp_path / "m.safetensors", _config(epochs=2), TINY))
    labelled = sum(int((data.items[i].labels[w] != IGNORE).sum()) for i, w in data.validation)
    truth_counts = np.zeros(3, np.int64)
    for i, window in data.validation:
        truth_counts += np.bincount(data.items[i].labels[window].ravel(), minlength=256)[:3]
    epochs = [e for e in events if e["event"] == "epoch"]
    for epoch in epochs:
        confusion = np.array(epoch["confusion"])
        assert confusion.shape == (3, 3) and confusion.sum() == labelled
        np.testing.assert_array_equal(confusion.sum(1), truth_counts)  # rows are the true classes
        assert epoch["report"] == classification_report(confusion, CLASSES.names)
        assert epoch["report"]["accuracy"] == pytest.approx(np.trace(confusion) / labelled)
    best = epochs[result.best_epoch - 1]
    finished = events[-1]
    assert finished["confusion"] == best["confusion"] == result.confusion
    assert load_model(result.model).info.metrics["confusion"] == best["confusion"]


def test_same_seed_same_weights_on_cpu(toy_files, tmp_path):
    data = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=1)
    for name in ("a", "b"):
        run(train(data, tmp_path / f"{name}.safetensors", _config(epochs=1, seed=1), TINY))
    a = read_checkpoint(tmp_path / "a.safetensors")[1]
    b = read_checkpoint(tmp_path / "b.safetensors")[1]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cancel_keeps_best_and_resume_continues(toy_files, tmp_path):
    data = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=0)
    out = tmp_path / "m.safetensors"
    token = CancelToken()
    events = []

    def watch(event):
        events.append(dict(event.data))
        if event.data.get("event") == "epoch" and event.data["epoch"] == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run(train(data, out, _config(epochs=5, optimizer="sgd"), TINY, cancel=token), watch)
    assert events[-1]["event"] == "finished" and events[-1]["stopped"] == "cancelled"
    assert out.is_file() and last_checkpoint(out).is_file()
    assert read_checkpoint(last_checkpoint(out))[3]["progress"]["epoch"] == 2
    result, events = _events(train(data, out, _config(epochs=3, optimizer="sgd"), TINY, resume=True))
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [3]
    assert len(result.history) == 3


def test_early_stop_with_adadelta(toy_files, tmp_path):
    data = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=0)
    config = _config(epochs=20, patience=1, lr=0.0, optimizer="adadelta", augmentation=NO_AUGMENTATION)
    result = run(train(data, tmp_path / "m.safetensors", config, TINY))
    assert result.stopped == "early_stop" and len(result.history) < 20


def test_keep_last_writes_the_final_epochs_model_whatever_its_validation_loss(toy_files, tmp_path):
    data = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=0)
    # no learning, and batch-norm statistics drifting away: the validation loss only rises
    frozen = {"epochs": 4, "lr": 0.0, "optimizer": "adadelta", "augmentation": NO_AUGMENTATION}
    result, events = _events(train(data, tmp_path / "m.safetensors", _config(keep="last", **frozen), TINY))
    assert result.best_epoch == 4 and load_model(result.model).info.metrics["epoch"] == 4
    assert [e["kind"] for e in events if e["event"] == "checkpoint"].count("best") == 4
    best = run(train(data, tmp_path / "b.safetensors", _config(**frozen), TINY))
    assert best.best_epoch == 1  # by validation loss the first epoch is kept
    with pytest.raises(CcdstudioError, match="best or the last"):
        _config(keep="middle")


def test_class_balanced_plan_sees_rare_classes(toy_files):
    data = load_data(find_pairs(toy_files), crop=16, val_split=0.0, seed=0)
    plan = plan_epoch(data.items, 3, 16, 60, seed=0, epoch=1)
    hits = sum(bool((data.items[i].labels[w] == 2).any()) for i, w in plan)
    assert len(plan) == 60 and hits >= 15  # hot pixels cover 0.2% of pixels, a third of draws aim at them


def test_validation_cells_are_never_trained_on(toy_files):
    data = load_data(find_pairs(toy_files), crop=16, val_split=0.3, seed=0)
    held = {(i, w[0].start, w[1].start) for i, w in data.validation}
    assert held
    for epoch in (1, 2):
        for i, window in plan_epoch(data.items, 3, 16, 40, seed=0, epoch=epoch):
            for j, cell in data.validation:
                if i == j:
                    overlap_y = window[0].start < cell[0].stop and cell[0].start < window[0].stop
                    overlap_x = window[1].start < cell[1].stop and cell[1].start < window[1].stop
                    assert not (overlap_y and overlap_x)


def test_data_errors_are_clear(tmp_path, rng):
    lonely = write_pair(tmp_path, "lonely", toy_frame(rng)[0], None)
    with pytest.raises(CcdstudioError, match="no labels for"):
        find_pairs([lonely])
    with pytest.raises(CcdstudioError, match="no such file"):
        find_pairs([tmp_path / "missing.fits"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CcdstudioError, match="no training data"):
        find_pairs([empty])
    image, labels = toy_frame(rng)
    other = write_pair(tmp_path / "x", "img", image, None)
    from ccdstudio.labels.io import save_labels

    save_labels(tmp_path / "truth.png", labels[:32], CLASSES)
    with pytest.raises(CcdstudioError, match="but the image is"):
        load_data(find_pairs([f"{other}:{tmp_path / 'truth.png'}"]))


def test_raw_frames_train_on_their_data_section_scaled_by_their_overscan(tmp_path):
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.simulate.ccd_files import simulate_frames

    run(simulate_frames(tmp_path, 2, (64, 96), seed=5, overscan=8, overscan_rows=4))
    data = load_data(find_pairs([tmp_path]), classes=ClassSet.preset("ccd"),
                     normalization=Normalization("ccd", pedestal="overscan"), crop=32, val_split=0.1, seed=0)
    item = data.items[0]
    assert item.labels.shape == (68, 104)  # the stored plane: 96 data columns and 8 of overscan, 4 rows more
    assert (item.labels[:, 96:] == IGNORE).all() and (item.labels[64:] == IGNORE).all()
    assert (item.labels[:64, :96] != IGNORE).all()
    assert item.stats.row_pedestal is not None and item.stats.offset == (0.0,)
