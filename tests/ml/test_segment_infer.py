"""Ink models on scroll segments: training on a layer window, whole-segment inference, window checks."""

import numpy as np
import pytest
import torch

from ccdstudio.errors import Cancelled, CcdstudioError
from ccdstudio.io import open_image
from ccdstudio.io.segment_window import choose_window
from ccdstudio.jobs import CancelToken, run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml.infer import fit_stats
from ccdstudio.ml.modelfile import LoadedModel, ModelInfo, load_model, read_info
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.segment_infer import predict_segment, save_segment_prediction
from ccdstudio.ml.unet import UNet, UNetConfig
from ccdstudio.simulate.segment import simulate_segment


@pytest.fixture(scope="module")
def segment(tmp_path_factory):
    """A generated 12-layer 128 x 160 segment (surface at layer 5.5)."""
    return run(simulate_segment(tmp_path_factory.mktemp("seg") / "seg", layers=12, height=128, width=160, seed=3))


def tiny_model(channels=4, training=None, tile=64, overlap=0.75):
    torch.manual_seed(0)
    config = UNetConfig(channels, 2, depth=2, base=4)
    net = UNet(config).eval()
    info = ModelInfo(config, ClassSet.preset("ink"), Normalization("percentile"), tile, overlap,
                     training=training or {})
    return LoadedModel(net, info)


def whole_pass(model, source, planes, mask):
    """uint8 ink probability from one forward pass over the whole segment (the reference)."""
    stats = fit_stats(model, source, planes)
    image = model.info.normalization.apply(source.read_stack(planes), stats)
    with torch.inference_mode():
        probs = torch.softmax(model.net(torch.from_numpy(image)[None]), 1)[0]
    expected = np.rint(255 * (1 - probs[0].numpy())).astype(np.uint8)
    expected[~mask] = 0
    return expected


def test_tiled_prediction_equals_a_whole_pass_inside_the_mask(segment):
    model = tiny_model()
    with open_image(segment) as source:
        mask = source.read(source.indices("mask")[0]) != 0
        window = choose_window(source, count=4)
        events = []
        result = run(predict_segment(model, source, chunk_bytes=4 * 4 * 64 * 80), events.append)
        expected = whole_pass(model, source, list(window.planes), mask)
    assert result.window == window and window.surface in (5, 6)
    assert result.probability.dtype == np.uint8 and not result.probability[~mask].any()
    assert np.abs(result.probability.astype(int) - expected).max() <= 1
    assert events[-1].fraction == 1.0
    np.testing.assert_array_equal(result.labels(), result.probability >= 128)


def test_tiles_without_mask_are_skipped(segment, tmp_path):
    import shutil

    from ccdstudio.io.write import write_png

    folder = shutil.copytree(segment, tmp_path / "seg")
    mask = np.zeros((128, 160), bool)
    mask[40:70, 30:100] = True
    write_png(folder / "mask.png", mask)
    model = tiny_model(tile=32, overlap=0.25)
    with open_image(folder) as source:
        reads = []
        original = source.read
        window = choose_window(source, count=4, surface=6)  # no surface estimate: it reads whole tiny layers
        source.read = lambda plane=0, window=None: reads.append((plane, window)) or original(plane, window)
        result = run(predict_segment(model, source, window, halo=4))
    # Tiles of 32 with stride 24 (overlap 8 px): rows 24 and 48 and columns 0-96 touch the mask.
    starts_y, starts_x = [0, 24, 48, 72, 96], [0, 24, 48, 72, 96, 120, 128]
    active = sum(mask[y: y + 32, x: x + 32].any() for y in starts_y for x in starts_x)
    assert result.tiles == active == 2 * 5 and result.skipped == 35 - active
    assert not result.probability[~mask].any() and result.probability[mask].any()
    # Layer reads (besides the normalisation sample, which strides over the whole layer) stay in the tiles.
    tiles = [w for p, w in reads if p < 12 and w is not None and w[0].step is None]
    assert tiles and all(w[0].start >= 24 and w[0].stop <= 80 and w[1].stop <= 128 for w in tiles)


def test_output_goes_to_a_memory_map_and_files(segment, tmp_path):
    from ccdstudio.labels.io import load_ink_labels

    model = tiny_model()
    buffer = np.memmap(tmp_path / "scratch", np.uint8, "w+", shape=(128, 160))
    with open_image(segment) as source:
        result = run(predict_segment(model, source, out=buffer))
    assert result.probability is buffer and buffer.any()
    probability, labels = save_segment_prediction(result, tmp_path, "seg")
    assert probability.name == "seg_prediction.png" and labels.name == "seg_predicted_inklabels.png"
    with open_image(probability) as written:
        np.testing.assert_array_equal(written.read(0), buffer)
    ink, classes = load_ink_labels(labels)
    assert classes.names == ["background", "ink"]
    np.testing.assert_array_equal(ink, buffer >= 128)


def test_cancel_stops_the_prediction(segment):
    token = CancelToken()
    with open_image(segment) as source:
        job = predict_segment(tiny_model(tile=32, overlap=0.25), source, halo=4, cancel=token)
        next(job)
        token.cancel()
        with pytest.raises(Cancelled):
            run(job)


def test_window_checks_against_the_model(segment):
    trained = {"layer_window": {"first": 4, "last": 7, "count": 4, "layers": 12, "surface": 6,
                                "centred_on": "surface", "reversed": True}}
    with open_image(segment) as source:
        events = []
        result = run(predict_segment(tiny_model(training=trained), source), events.append)
        assert len(result.warnings) == 1 and "reverse" in result.warnings[0]
        assert [e.data["message"] for e in events if e.data.get("event") == "warning"] == result.warnings
        with pytest.raises(CcdstudioError, match="reads 16 layers but seg has only 12"):
            run(predict_segment(tiny_model(channels=16), source))
        with pytest.raises(CcdstudioError, match="reads 4 layers"):
            run(predict_segment(tiny_model(), source, choose_window(source, layers=(0, 2))))


def test_ink_model_trains_on_a_surface_window_and_records_it(segment, tmp_path):
    from ccdstudio.ml.data import find_pairs
    from ccdstudio.ml.segment_train import SegmentWindows, load_segment_data
    from ccdstudio.ml.train import TrainConfig, train

    torch.set_num_threads(1)
    windows = SegmentWindows(count=4)
    data = load_segment_data(find_pairs([segment]), windows, classes=ClassSet.preset("ink"),
                             normalization="percentile", crop=32, val_split=0.2, seed=0)
    assert data.in_channels == 4 and data.items[0].planes == [4, 5, 6, 7]
    config = TrainConfig(epochs=6, batch_size=8, crop=32, samples_per_epoch=16, lr=3e-3, loss="bce+dice",
                         patience=0, device="cpu", schedule="none", tile=64, overlap=0.5, seed=0)
    losses = []
    out = tmp_path / "ink.safetensors"
    run(train(data, out, config, {"depth": 2, "base": 8}),
        lambda e: losses.append(e.data["loss"]) if e.data.get("event") == "epoch" else None)
    assert np.mean(losses[-2:]) < losses[0]
    window = read_info(out).training["layer_window"]
    assert (window["first"], window["last"], window["surface"], window["centred_on"]) == (4, 7, 6, "surface")
    model = load_model(out)
    with open_image(segment) as source:
        result = run(predict_segment(model, source))
    assert result.warnings == [] and result.window.planes == (4, 5, 6, 7)
