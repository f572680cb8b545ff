"""Fine-tuning (``train(..., init=MODEL)``): weights carried over, classes matched by name, clear refusals."""

import hashlib

import numpy as np
import pytest
import torch

from ccdstudio.errors import Cancelled, CcdstudioError, FormatError
from ccdstudio.jobs import CancelToken, run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import save_labels
from ccdstudio.ml.data import find_pairs
from ccdstudio.ml.modelfile import (
    ModelInfo,
    load_model,
    read_checkpoint,
    read_info,
    save_model,
)
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.train import (
    INIT_AND_RESUME,
    TrainConfig,
    choose_normalization,
    load_data,
    train,
)
from ccdstudio.ml.unet import UNet, UNetConfig

from .conftest import CLASSES, toy_frame, write_pair

# Group normalisation has no running statistics, so with lr=0 every tensor must stay exactly as it was.
TINY = {"depth": 2, "base": 8, "norm": "group"}


def _config(**changes) -> TrainConfig:
    base = {"epochs": 1, "batch_size": 4, "crop": 32, "samples_per_epoch": 8, "lr": 3e-3, "seed": 0,
            "device": "cpu", "schedule": "none", "patience": 0}
    return TrainConfig(**(base | changes))


def _weights(path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)[1]


@pytest.fixture
def source(toy_files, tmp_path):
    """A tiny model trained one epoch on the toy frames, and those frames' specs."""
    specs = find_pairs(toy_files)
    data = load_data(specs, crop=32, val_split=0.25, seed=0)
    run(train(data, tmp_path / "src.safetensors", _config(), TINY))
    return tmp_path / "src.safetensors", specs


def test_lr_zero_keeps_the_init_weights_and_the_record_names_the_source(source, tmp_path):
    path, specs = source
    data = load_data(specs, crop=32, val_split=0.25, seed=3)
    result = run(train(data, tmp_path / "ft.safetensors", _config(lr=0.0, seed=3), TINY, init=path))
    before, after = _weights(path), _weights(result.model)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    # The same run from random weights does change them, so the equality above is not trivial.
    fresh = run(train(data, tmp_path / "fresh.safetensors", _config(lr=0.0, seed=3), TINY))
    assert not torch.equal(_weights(fresh.model)["head.weight"], before["head.weight"])
    info, source_info = read_info(result.model), read_info(path)
    assert info.architecture == source_info.architecture and info.normalization == source_info.normalization
    record = info.training["init"]
    assert record["name"] == "src" and record["path"] == str(path)
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["bytes"] == len(path.read_bytes()) and record["classes"] == CLASSES.names
    assert record["new_classes"] == [] and record["dropped_classes"] == []


def test_classes_in_another_order_permute_the_classifier(source, tmp_path, rng):
    path, specs = source
    order = ClassSet.from_names(["background", "hot_pixel", "blob"])
    data = load_data(specs, classes=order, crop=32, val_split=0.25, seed=0)
    result = run(train(data, tmp_path / "ft.safetensors", _config(lr=0.0), init=path))
    before, after = _weights(path), _weights(result.model)
    for key in ("head.weight", "head.bias"):
        assert torch.equal(after[key], before[key][[0, 2, 1]])
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("head."))
    # Both models give the same logits per class name on an image.
    x = torch.from_numpy(rng.normal(0, 1, (1, 1, 32, 32)).astype(np.float32))
    with torch.inference_mode():
        logits_src = load_model(path).net(x)
        logits_ft = load_model(result.model, classes=order).net(x)
    torch.testing.assert_close(logits_ft, logits_src[:, [0, 2, 1]])


def test_new_classes_start_fresh_and_missing_ones_are_dropped(source, tmp_path, rng):
    path, _ = source
    renamed = ClassSet.from_names(["background", "blob", "track"])
    folder = tmp_path / "renamed"
    for i in range(2):
        image, labels = toy_frame(rng)
        write_pair(folder, f"f{i}", image, None)
        save_labels(folder / f"f{i}_labels.fits", labels, renamed)
    data = load_data(find_pairs([folder]), crop=32, val_split=0.25, seed=5)
    result = run(train(data, tmp_path / "ft.safetensors", _config(lr=0.0, seed=5), TINY, init=path))
    before, after = _weights(path), _weights(result.model)
    torch.testing.assert_close(after["head.weight"][:2], before["head.weight"][:2], rtol=0, atol=0)
    torch.manual_seed(5)  # the trainer seeds torch just before building the network
    fresh = UNet(UNetConfig.from_dict({**TINY, "in_channels": 1, "n_classes": 3})).state_dict()
    assert torch.equal(after["head.weight"][2], fresh["head.weight"][2])
    assert not torch.equal(after["head.weight"][2], before["head.weight"][2])
    record = read_info(result.model).training["init"]
    assert record["new_classes"] == ["track"] and record["dropped_classes"] == ["hot_pixel"]


def test_the_init_models_normalisation_is_used_not_reestimated(toy_files, tmp_path):
    dark = Normalization("ccd", pedestal="dark", softening=2.0)
    init = tmp_path / "dark.safetensors"
    arch = UNetConfig.from_dict({**TINY, "in_channels": 1, "n_classes": 3})
    save_model(init, UNet(arch), ModelInfo(arch, CLASSES, dark))
    data = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=0)  # loaded with ccd, frame pedestal
    result = run(train(data, tmp_path / "ft.safetensors", _config(), init=init))
    assert read_info(result.model).normalization == dark
    assert data.normalization == Normalization("ccd")  # the caller's data is left as it was
    with pytest.raises(CcdstudioError, match=r"trained on CCD frames .*\(percentile normalisation\)"):
        choose_normalization(find_pairs(toy_files), "percentile", dark)
    assert choose_normalization(find_pairs(toy_files), "auto", dark) is dark
    percentile = load_data(find_pairs(toy_files), normalization="percentile", crop=32, val_split=0.25)
    with pytest.raises(CcdstudioError, match="trained on CCD frames"):
        run(train(percentile, tmp_path / "x.safetensors", _config(), init=init))


def test_refusals_are_clear(source, toy_files, tmp_path):
    path, specs = source
    data = load_data(specs, crop=32, val_split=0.25, seed=0)
    out = tmp_path / "ft.safetensors"
    two = UNetConfig.from_dict({**TINY, "in_channels": 2, "n_classes": 3})
    save_model(tmp_path / "two.safetensors", UNet(two), ModelInfo(two, CLASSES, Normalization("ccd")))
    with pytest.raises(CcdstudioError, match=r"takes 2 input channel\(s\) but the data has 1"):
        run(train(data, out, _config(), init=tmp_path / "two.safetensors"))
    with pytest.raises(CcdstudioError, match=INIT_AND_RESUME):
        run(train(data, out, _config(), resume=True, init=path))
    with pytest.raises(CcdstudioError, match=r"architecture comes from the init model src.*base=16 \(it has 8\)"):
        run(train(data, out, _config(), {"base": 16}, init=path))
    with pytest.raises(CcdstudioError, match="no model file or bundled model 'nope'.*--init"):
        run(train(data, out, _config(), init="nope"))
    pickled = tmp_path / "pickled.safetensors"
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(FormatError, match="pickled"):
        run(train(data, out, _config(), init=pickled))
    assert not out.exists()


def test_a_resumed_finetuning_keeps_its_architecture_and_init_record(source, tmp_path):
    path, specs = source
    data = load_data(specs, crop=32, val_split=0.25, seed=0)
    out = tmp_path / "ft.safetensors"
    token = CancelToken()

    def stop_after_first_epoch(event):
        if event.data.get("event") == "epoch":
            token.cancel()

    with pytest.raises(Cancelled):
        run(train(data, out, _config(epochs=3), init=path, cancel=token), stop_after_first_epoch)
    result = run(train(data, out, _config(epochs=2), resume=True))  # no architecture: the checkpoint's
    assert [r["epoch"] for r in result.history] == [1, 2]
    info = read_info(out)
    assert info.architecture == read_info(path).architecture
    assert info.training["init"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_init_models_post_processing_is_kept_where_the_classes_allow(toy_files, tmp_path, rng):
    ccd = ClassSet.preset("ccd")
    arch = UNetConfig.from_dict({**TINY, "in_channels": 1, "n_classes": 4})
    init = tmp_path / "ccd.safetensors"
    save_model(init, UNet(arch), ModelInfo(arch, ccd, Normalization("ccd"), postprocess=("hot_lines",)))
    folder = tmp_path / "ccd-frames"
    for i in range(2):
        image, labels = toy_frame(rng)  # classes 0-2 of the ccd preset
        write_pair(folder, f"f{i}", image, None)
        save_labels(folder / f"f{i}_labels.fits", labels, ccd)
    data = load_data(find_pairs([folder]), crop=32, val_split=0.25, seed=0)
    kept = run(train(data, tmp_path / "kept.safetensors", _config(), init=init))
    assert read_info(kept.model).postprocess == ("hot_lines",)
    # Fine-tuned to classes without cluster, the step has nothing to work with and is dropped.
    other = load_data(find_pairs(toy_files), crop=32, val_split=0.25, seed=0)
    assert read_info(run(train(other, tmp_path / "other.safetensors", _config(), init=init)).model).postprocess == ()
