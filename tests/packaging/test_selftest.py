"""The self-test core, in-process: build info, the cluster finder, each check and the one-line verdict."""

import json

import numpy as np
import pytest
import torch
from astropy.io import fits

from ccdstudio import __version__, selftest
from ccdstudio.cli import main
from ccdstudio.selftest import SelfTestFailure


def striped_frame(shape=(40, 50), pedestal=1000.0, amplitude=2.0):
    """Noise of exactly -a, 0, +a in diagonal stripes: median ``pedestal`` and MAD sigma 1.4826 a, both
    unmoved by a few bright pixels, and no noise pixel near the cluster finder's levels."""
    yy, xx = np.indices(shape)
    return pedestal + amplitude * ((yy + xx) % 3 - 1.0)


def frame_with_cluster():
    """A 3x3 cluster (a seed pixel over 5 sigma, neighbours between 2.5 and 5 sigma) and a lone 2.5-5 sigma pixel."""
    image = striped_frame()
    sigma = 1.4826 * 2.0
    image[10:13, 20:23] += 3.5 * sigma
    image[11, 21] += 30 * sigma
    image[30, 5] += 3.5 * sigma  # over the grow level, but no seed: not a cluster
    expected = np.zeros(image.shape, bool)
    expected[10:13, 20:23] = True
    return image, expected


@pytest.fixture
def no_bundle(tmp_path, monkeypatch):
    monkeypatch.setattr(selftest, "BUILD_INFO_FILE", tmp_path / "absent.json")


def test_build_info_outside_a_bundle(no_bundle):
    info = selftest.build_info()
    assert info["version"] == __version__
    assert info["frozen"] is False
    assert info["flavour"] == ("GPU" if torch.version.cuda else "CPU")
    assert info["torch"] == torch.__version__
    assert info["device"] == "cpu" or info["device"].startswith(("cuda:0 (", "mps"))


def test_build_info_and_version_of_a_bundle(tmp_path, monkeypatch):
    path = tmp_path / "_build.json"
    path.write_text(json.dumps({"flavour": "GPU", "built": "2026-01-02T03:04:05Z"}))
    monkeypatch.setattr(selftest, "BUILD_INFO_FILE", path)
    assert selftest.version_text() == f"ccdstudio {__version__} (GPU bundle)"
    info = selftest.build_info()
    assert info["flavour"] == "GPU" and info["built"] == "2026-01-02T03:04:05Z"


def test_version_text_outside_a_bundle(no_bundle):
    assert selftest.version_text() == f"ccdstudio {__version__}"


def test_two_level_cluster_finder_keeps_only_seeded_regions():
    image, expected = frame_with_cluster()
    np.testing.assert_array_equal(selftest.find_clusters(image), expected)


def test_segmentation_check_passes_and_compares_with_labels():
    image, expected = frame_with_cluster()
    truth = expected.astype(np.uint8) * 3
    assert "1 clusters" in selftest.check_segmentation(image, None)
    assert "100% on labelled pixels" in selftest.check_segmentation(image, truth)


def test_segmentation_check_fails_on_noise_and_on_disagreeing_labels():
    with pytest.raises(SelfTestFailure, match="no cluster"):
        selftest.check_segmentation(striped_frame(), None)
    image, expected = frame_with_cluster()
    with pytest.raises(SelfTestFailure, match="labelled"):
        selftest.check_segmentation(image, np.zeros(image.shape, np.uint8))


def test_segmentation_check_fails_on_a_flat_frame():
    with pytest.raises(SelfTestFailure, match="noise"):
        selftest.check_segmentation(np.full((8, 8), 5.0), None)


def test_torch_check_on_cpu():
    assert selftest.check_torch("cpu") == "torch on cpu"


def test_dataloader_worker_check_spawns_a_worker():
    assert selftest.check_workers() == "DataLoader worker"


@pytest.fixture
def quick_checks(monkeypatch, no_bundle):
    """Skip the slow worker process and the Qt window; their own tests cover them."""
    monkeypatch.setattr(selftest, "check_workers", lambda: "workers stubbed")
    monkeypatch.setattr(selftest, "check_window", lambda: "window stubbed")


def test_self_test_reports_missing_demo_data(tmp_path, monkeypatch, quick_checks):
    monkeypatch.setattr(selftest, "resource", lambda *parts: tmp_path.joinpath(*parts))
    ok, line = selftest.run_self_test()
    assert not ok
    assert "FAILED" in line and "demo data missing" in line and str(tmp_path) in line
    assert "\n" not in line


def test_self_test_passes_on_a_demo_frame(tmp_path, monkeypatch, quick_checks):
    image, expected = frame_with_cluster()
    (tmp_path / "demo").mkdir()
    fits.HDUList([fits.PrimaryHDU(image.astype(np.float32))]).writeto(tmp_path / "demo" / "ccd_demo.fits")
    monkeypatch.setattr(selftest, "resource", lambda *parts: tmp_path.joinpath(*parts))
    ok, line = selftest.run_self_test()
    assert ok, line
    assert line.startswith(f"ccdstudio {__version__} CPU install, torch {torch.__version__}, device cpu: OK: ")
    assert "demo frame 50x40 read" in line and "1 clusters" in line and "torch on cpu" in line


def test_cli_self_test_prints_one_line_and_sets_exit_code(monkeypatch, capsys):
    monkeypatch.setattr(selftest, "run_self_test", lambda: (False, "ccdstudio x: FAILED: because"))
    assert main(["--self-test"]) == 1
    assert capsys.readouterr().out == "ccdstudio x: FAILED: because\n"
    monkeypatch.setattr(selftest, "run_self_test", lambda: (True, "ccdstudio x: OK"))
    assert main(["--self-test"]) == 0


CCD_CLASSES = ["background", "glowing", "hot_pixel", "cluster"]


def test_prediction_check_accepts_clusters_where_there_is_charge():
    found = np.zeros((20, 20), bool)
    found[5:8, 5:8] = True
    labels = np.zeros((20, 20), np.uint8)
    labels[5:8, 5:9] = 3  # 9 of its 12 cluster pixels hold charge
    assert selftest.check_prediction(labels, CCD_CLASSES, found) == \
        "12 cluster pixels, 75% where the classic finder sees charge"


@pytest.mark.parametrize("case, message", [
    ("no cluster class", "no cluster class"),
    ("no clusters", "no cluster pixel"),
    ("mostly foreground", "not background"),
    ("clusters in the noise", "hold charge"),
])
def test_prediction_check_rejects_implausible_results(case, message):
    found = np.zeros((20, 20), bool)
    found[5:8, 5:8] = True
    labels = np.zeros((20, 20), np.uint8)
    names = CCD_CLASSES
    if case == "no cluster class":
        names = ["background", "ink"]
    elif case == "mostly foreground":
        labels[:, :] = 1
        labels[5:8, 5:8] = 3
    elif case == "clusters in the noise":
        labels[12:16, 12:16] = 3
    with pytest.raises(SelfTestFailure, match=message):
        selftest.check_prediction(labels, names, found)


def test_predict_is_skipped_without_a_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setattr(selftest, "models_dir", lambda: tmp_path)
    from ccdstudio.ml.modelfile import DEFAULT_MODEL

    assert selftest.check_predict("cpu") == f"Predict skipped (no bundled model {DEFAULT_MODEL})"


def test_predict_demo_runs_the_model_over_the_demo_frame(tmp_path, monkeypatch):
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.modelfile import ModelInfo, save_model
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.unet import UNet, UNetConfig

    torch.manual_seed(0)
    config = UNetConfig(in_channels=1, n_classes=4, depth=1, base=2)
    info = ModelInfo(config, ClassSet.preset("ccd"), Normalization(), tile=32, overlap=0.25)
    save_model(tmp_path / "ccd-unet.safetensors", UNet(config), info)
    image, _ = frame_with_cluster()
    (tmp_path / "demo").mkdir()
    fits.PrimaryHDU(image.astype(np.float32)).writeto(tmp_path / "demo" / "ccd_demo.fits")
    monkeypatch.setattr(selftest, "resource", lambda *parts: tmp_path.joinpath(*parts))

    labels, names, read = selftest.predict_demo(tmp_path / "ccd-unet.safetensors", "cpu")
    assert names == ClassSet.preset("ccd").names
    assert labels.shape == image.shape and labels.dtype == np.uint8 and labels.max() < 4
    np.testing.assert_array_equal(read, image.astype(np.float32))
