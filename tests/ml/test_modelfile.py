"""Model files: round trip, compatibility checks, and clear errors for every kind of bad file."""

import json
import pickle

import pytest
import torch

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml import modelfile
from ccdstudio.ml.modelfile import (
    ModelInfo,
    load_model,
    read_info,
    resolve_model,
    save_model,
)
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.unet import UNet, UNetConfig


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    config = UNetConfig(in_channels=2, n_classes=4, depth=2, base=4, norm="batch")
    net = UNet(config).eval()
    net.down[0][1].running_mean += 0.5  # a buffer, not just parameters, must survive
    info = ModelInfo(config, ClassSet.preset("ccd"), Normalization("percentile", percentiles=(1, 99)), tile=256,
                     overlap=0.3, training={"images": ["a.fits"]}, seed=7, metrics={"val_loss": 0.25})
    path = tmp_path / "m.safetensors"
    save_model(path, net, info)
    return path, net, info


def test_round_trip(saved):
    path, net, info = saved
    loaded = load_model(path, classes=ClassSet.preset("ccd"), in_channels=2)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.net.state_dict()[key], value), key
    x = torch.randn(1, 2, 16, 16)
    with torch.no_grad():
        assert torch.allclose(loaded.net(x), net(x))
    back = read_info(path)
    assert back.architecture == info.architecture and back.classes == info.classes
    assert back.normalization == info.normalization and (back.tile, back.overlap, back.seed) == (256, 0.3, 7)
    assert back.metrics == {"val_loss": 0.25} and back.version and back.created
    assert not loaded.net.training


def test_metadata_is_plain_json_in_the_header(saved):
    path = saved[0]
    length = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8: 8 + length])
    meta = json.loads(header["__metadata__"]["ccdstudio"])
    assert meta["format"] == "ccdstudio-unet" and meta["in_channels"] == 2
    assert [c["name"] for c in meta["classes"]] == ["background", "glowing", "hot_pixel", "cluster"]
    assert meta["classes"][1]["color"] == [255, 170, 0]


def test_other_classes_or_channels_fail_clearly(saved):
    path = saved[0]
    with pytest.raises(CcdstudioError, match="predicts classes"):
        load_model(path, classes=["background", "ink"])
    with pytest.raises(CcdstudioError, match="2 input channel"):
        load_model(path, in_channels=1)


def test_corrupt_truncated_and_pickle_files_fail_clearly(saved, tmp_path):
    path = saved[0]
    data = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) - 100])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01" * 1000)
    pickled = tmp_path / "model.safetensors"
    with open(pickled, "wb") as handle:
        pickle.dump({"weights": [1, 2, 3]}, handle)
    torch_saved = tmp_path / "torch.safetensors"
    torch.save(saved[1].state_dict(), torch_saved)
    header_cut = tmp_path / "header.safetensors"
    header_cut.write_bytes(data[:50])
    for bad in (truncated, garbage, pickled, torch_saved, header_cut):
        with pytest.raises(FormatError):
            load_model(bad)


def test_plain_safetensors_without_description_and_mismatched_weights(saved, tmp_path):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, plain)
    with pytest.raises(FormatError, match="without a ccdstudio model description"):
        load_model(plain)
    info = saved[2]
    wrong = tmp_path / "wrong.safetensors"
    save_model(wrong, UNet(UNetConfig(in_channels=2, n_classes=4, depth=2, base=8)), info)  # base 8 described as 4
    with pytest.raises(FormatError, match="do not fit"):
        load_model(wrong)
    with pytest.raises(CcdstudioError, match="no model file"):
        load_model(tmp_path / "missing.safetensors")


def test_default_model_missing_names_the_option(tmp_path, monkeypatch):
    monkeypatch.setattr("ccdstudio.paths.models_dir", lambda: tmp_path)
    with pytest.raises(CcdstudioError, match="--model"):
        resolve_model(None)
    (tmp_path / f"{modelfile.DEFAULT_MODEL}.safetensors").write_bytes(b"x")
    assert resolve_model(None).name == f"{modelfile.DEFAULT_MODEL}.safetensors"
    assert modelfile.bundled_models() == [tmp_path / f"{modelfile.DEFAULT_MODEL}.safetensors"]


def test_post_processing_steps_are_stored_and_checked(tmp_path):
    config = UNetConfig(in_channels=1, n_classes=4, depth=2, base=4)
    info = ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), postprocess=["hot_lines"])
    path = tmp_path / "m.safetensors"
    save_model(path, UNet(config), info)
    assert read_info(path).postprocess == ("hot_lines",)
    assert ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd")).postprocess == ()
    with pytest.raises(CcdstudioError, match="unknown post-processing step 'sharpen'"):
        ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), postprocess=("sharpen",))
    other = ClassSet.from_names(["background", "ink", "papyrus", "crack"])
    with pytest.raises(CcdstudioError, match="needs the class"):
        ModelInfo(config, other, Normalization("ccd"), postprocess=("hot_lines",))
    with pytest.raises(CcdstudioError, match="needs the ccd normalisation"):
        ModelInfo(config, ClassSet.preset("ccd"), Normalization("percentile"), postprocess=("hot_lines",))


def test_a_loaded_model_can_run_with_other_steps_after_its_network():
    loaded = load_model(resolve_model())
    bare = loaded.with_steps(())
    assert bare.net is loaded.net and bare.path == loaded.path and bare.info.postprocess == ()
    assert bare.info.classes == loaded.info.classes and loaded.info.postprocess  # the original keeps its steps
    assert loaded.with_steps(["hot_lines"]).info.postprocess == ("hot_lines",)
