"""Post-processing a model file asks for: faint hot columns and rows become hot_pixel after the network."""

import dataclasses
import re

import numpy as np
import pytest
import torch
from scipy import ndimage

from ccdstudio.imaging.lone_deposits import following
from ccdstudio.io.source import ArraySource
from ccdstudio.jobs import run
from ccdstudio.labels.classes import ClassSet
from ccdstudio.ml import postprocess
from ccdstudio.ml.infer import predict
from ccdstudio.ml.modelfile import LoadedModel, ModelInfo
from ccdstudio.ml.normalize import Normalization
from ccdstudio.ml.unet import UNet, UNetConfig

BACKGROUND, GLOWING, HOT, CLUSTER = range(4)


def constant_model(label: int, steps=("hot_lines",)) -> LoadedModel:
    """A CCD model whose network calls every pixel ``label``."""
    config = UNetConfig(1, 4, depth=2, base=4)
    net = UNet(config).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0]))
        net.head.bias[label] = 10.0
    info = ModelInfo(config, ClassSet.preset("ccd"), Normalization("ccd"), tile=64, overlap=0.25,
                     postprocess=steps)
    return LoadedModel(net, info)


def frame_with_faint_lines(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 300 x 400 frame (pedestal 1000 ADU, noise 5 ADU) with a 1-sigma hot column and a hot row."""
    image = rng.normal(1000.0, 5.0, (300, 400)).astype(np.float32)
    lines = np.zeros(image.shape, bool)
    lines[40:280, 64] = True  # on a strip's first column when strips are 64 wide
    lines[150, 20:380] = True  # across every column strip
    image[lines] += 5.0
    return image, lines


@pytest.mark.parametrize("strip", [postprocess.STRIP, 64])
def test_predict_turns_faint_hot_lines_into_hot_pixels(rng, monkeypatch, strip):
    monkeypatch.setattr(postprocess, "STRIP", strip)
    image, lines = frame_with_faint_lines(rng)
    labels = run(predict(constant_model(BACKGROUND), ArraySource(image))).labels
    hot = labels == HOT
    assert (hot & lines).sum() >= 0.9 * lines.sum()
    assert (hot & ~lines).sum() <= 10
    assert set(np.unique(labels)) == {BACKGROUND, HOT}


def test_without_the_step_or_on_clusters_nothing_changes(rng):
    image, _ = frame_with_faint_lines(rng)
    plain = constant_model(BACKGROUND, steps=())
    assert (run(predict(plain, ArraySource(image))).labels == BACKGROUND).all()
    # Pixels the network calls cluster stay clusters (and are left out of the search).
    assert (run(predict(constant_model(CLUSTER), ArraySource(image))).labels == CLUSTER).all()


def test_progress_covers_the_network_and_the_step(rng):
    image, _ = frame_with_faint_lines(rng)
    events = list(predict(constant_model(GLOWING), ArraySource(image)))
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any("hot columns and rows" in e.message for e in events)


def test_a_model_file_can_ask_for_it():
    info = constant_model(BACKGROUND).info
    assert dataclasses.replace(info, postprocess=()).postprocess == ()
    assert ModelInfo.from_dict(info.to_dict()).postprocess == ("hot_lines",)


def test_the_model_description_names_the_step(tmp_path):
    from ccdstudio.gui.ml.model_card import describe_model
    from ccdstudio.ml.modelfile import save_model

    model = constant_model(BACKGROUND)
    save_model(tmp_path / "m.safetensors", model.net, model.info)
    assert "**After the network:** hot_lines" in describe_model(tmp_path / "m.safetensors")


def test_the_result_does_not_depend_on_the_number_of_threads(rng, monkeypatch):
    monkeypatch.setattr(postprocess, "STRIP", 64)
    image, _ = frame_with_faint_lines(rng)
    image[100:104, 300:304] += 400.0  # a cluster the network does not see, right at a strip's edge
    model = constant_model(BACKGROUND)
    parallel = run(predict(model, ArraySource(image))).labels
    monkeypatch.setattr(postprocess.os, "cpu_count", lambda: 1)
    assert np.array_equal(run(predict(model, ArraySource(image))).labels, parallel)


def raw_frame_with_faint_glow(rng: np.random.Generator, parallel_rows: int = 32, dark: float = 0.0,
                              length: float = 150.0):
    """A 300 x 400 raw plane (:func:`raw_frame`) with a glow decaying from the corner over ``length`` px that
    crosses 3 sigma at 208 px. Returns the source and the true glowing mask."""
    y, x = np.mgrid[:300, :400]
    glow = 12.0 * np.exp((208.0 - np.hypot(y, x)) / length)
    return raw_frame(rng, glow, parallel_rows, dark), glow >= 12.0


def raw_frame(rng: np.random.Generator, glow: np.ndarray, parallel_rows: int = 32, dark: float = 0.0):
    """A 300 x 400 raw plane: data (noise 4 ADU, pedestal drifting 3 sigma along rows and 2 along columns,
    ``glow`` ADU, ``dark`` ADU of dark charge everywhere), 48 columns of serial overscan and ``parallel_rows``
    of parallel overscan, as an :class:`ArraySource`."""
    height, width = 300 + parallel_rows, 448
    y, x = np.mgrid[:height, :width]
    pedestal = 1000.0 + 12.0 * np.sin(y / 90.0) + 8.0 * np.cos(x / 70.0)
    charge = np.zeros((height, width))
    charge[:300, :400] = glow + dark  # the overscans collect no charge
    raw = (pedestal + charge + rng.normal(0.0, 4.0, (height, width))).astype(np.float32)
    header = {"NAXIS1": width, "NAXIS2": height, "DATASEC": "[1:400,1:300]", "BIASSEC": f"[401:448,1:{height}]"}
    return ArraySource(raw, headers=[header])


@pytest.mark.parametrize(("network", "dark"), [(BACKGROUND, 0.0), (GLOWING, 0.0), (GLOWING, 16.0)])
def test_glow_edge_places_the_faint_edge_with_the_overscans(rng, network, dark):
    # Dark charge of 4 sigma, which no overscan shows, under a glow that fades away within the frame.
    source, truth = raw_frame_with_faint_glow(rng, dark=dark, length=150.0 if dark == 0 else 60.0)
    labels = run(predict(constant_model(network, steps=("glow_edge",)), source)).labels
    glowing = labels[:300, :400] == GLOWING
    assert 2 * (glowing & truth).sum() / (glowing.sum() + truth.sum()) > 0.97
    assert (labels[:, 400:] == network).all() and (labels[300:] == network).all()  # overscans untouched


@pytest.mark.parametrize(("along", "level"), [("columns", 3.5), ("rows", 3.5), ("columns", 3.15)])
def test_glow_edge_keeps_a_narrow_faint_band_whole(rng, monkeypatch, along, level):
    # A band over 24 columns beside the amplifier (or 24 rows at the far end): a box reaching across the
    # band's edge dilutes it below 3 sigma, and at 3.15 sigma some boxes within it fall below; strips of 64
    # rows put a row band's edge in the fourth strip.
    monkeypatch.setattr(postprocess, "STRIP", 64)
    truth = np.zeros((300, 400), bool)
    truth[(slice(None), slice(0, 24)) if along == "columns" else (slice(276, 300), slice(None))] = True
    source = raw_frame(rng, 4.0 * level * truth)
    labels = run(predict(constant_model(BACKGROUND, steps=("glow_edge",)), source)).labels
    assert np.array_equal(labels[:300, :400] == GLOWING, truth)


def test_glow_edge_strips_give_the_same_edge_on_any_number_of_threads(rng, monkeypatch):
    monkeypatch.setattr(postprocess, "STRIP", 64)
    source, _ = raw_frame_with_faint_glow(rng)
    model = constant_model(GLOWING, steps=("glow_edge",))
    parallel = run(predict(model, source)).labels
    monkeypatch.setattr(postprocess.os, "cpu_count", lambda: 1)
    assert np.array_equal(run(predict(model, source)).labels, parallel)
    monkeypatch.setattr(postprocess, "STRIP", 512)
    assert np.array_equal(run(predict(model, source)).labels, parallel)


def test_glow_edge_keeps_clusters_and_needs_both_overscans(rng):
    source, _ = raw_frame_with_faint_glow(rng)
    assert (run(predict(constant_model(CLUSTER, steps=("glow_edge",)), source)).labels == CLUSTER).all()
    serial_only, _ = raw_frame_with_faint_glow(rng, parallel_rows=0)
    events = list(predict(constant_model(BACKGROUND, steps=("glow_edge",)), serial_only))
    assert any("no serial and parallel overscan" in e.message for e in events)
    trimmed = ArraySource(serial_only.read(0)[:, :400])
    assert (run(predict(constant_model(BACKGROUND, steps=("glow_edge",)), trimmed)).labels == BACKGROUND).all()


def frame_with_faint_clusters(rng: np.random.Generator, total: float = 32 * 5.0
                              ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A 300 x 400 frame (pedestal 1000 ADU, noise 5 ADU) with twelve clusters of ``total`` ADU (32 sigma)
    spread over a few pixels (1.2 px rms, the brightest pixel 11 % of it, 3.5 sigma); their centres, two of
    them on strip edges."""
    image = rng.normal(1000.0, 5.0, (300, 400)).astype(np.float32)
    y, x = np.mgrid[-3:4, -3:4]
    blob = np.exp(-(y**2 + x**2) / (2 * 1.2**2))
    blob *= total / blob.sum()
    centres = [(30 + 60 * (i // 6) + 64 * (i % 2), 30 + 60 * (i % 6)) for i in range(12)]
    centres[0], centres[1] = (64, 100), (127, 250)  # strips are 64 rows when STRIP is 64
    for cy, cx in centres:
        image[cy - 3: cy + 4, cx - 3: cx + 4] += blob
    return image, centres


def assert_found_at(labels: np.ndarray, centres: list[tuple[int, int]], network: int) -> None:
    """At least 10 of the clusters at ``centres`` became cluster, nothing else did, and every other pixel
    kept the ``network``'s class."""
    cluster = labels == CLUSTER
    assert sum(cluster[cy - 2: cy + 3, cx - 2: cx + 3].any() for cy, cx in centres) >= 10
    near = np.zeros(labels.shape, bool)
    for cy, cx in centres:
        near[cy - 3: cy + 4, cx - 3: cx + 4] = True
    assert not (cluster & ~near).any() and set(np.unique(labels)) == {network, CLUSTER}


def test_faint_clusters_become_clusters_among_the_background(rng, monkeypatch):
    image, centres = frame_with_faint_clusters(rng)
    model = constant_model(BACKGROUND, steps=("faint_clusters",))
    labels = run(predict(model, ArraySource(image))).labels
    monkeypatch.setattr(postprocess, "STRIP", 64)
    assert np.array_equal(run(predict(model, ArraySource(image))).labels, labels)  # strips change nothing
    assert_found_at(labels, centres, BACKGROUND)
    plain = run(predict(constant_model(BACKGROUND, steps=()), ArraySource(image))).labels
    assert (plain == BACKGROUND).all()


def test_faint_clusters_are_not_searched_beside_hot_pixels(rng):
    image, _ = frame_with_faint_clusters(rng)
    model = constant_model(HOT, steps=("faint_clusters",))
    assert (run(predict(model, ArraySource(image))).labels == HOT).all()


def test_clusters_in_glow_are_found_against_its_shot_noise(rng):
    """Glow of 100 electrons a pixel at 2 ADU each (shot noise 20 ADU over a read noise of 5) with twelve
    clusters of 40 times that noise spread over a few pixels (the brightest 4.4 times it)."""
    image, centres = frame_with_faint_clusters(rng, total=40 * np.hypot(20.0, 5.0))
    image += 2.0 * rng.poisson(100.0, image.shape).astype(np.float32)
    labels = run(predict(constant_model(GLOWING, steps=("faint_clusters",)), ArraySource(image))).labels
    assert_found_at(labels, centres, GLOWING)


def test_faint_clusters_leave_visible_dark_electrons_alone(rng):
    """Dark charge whose electrons are 2.6 read noises each, 0.45 a pixel: an upward tail, not clusters."""
    image = 1000.0 + rng.normal(0.0, 4.0, (300, 400)) + 10.4 * rng.poisson(0.45, (300, 400))
    model = constant_model(BACKGROUND, steps=("faint_clusters",))
    assert (run(predict(model, ArraySource(image.astype(np.float32)))).labels == BACKGROUND).all()


@pytest.mark.parametrize("strip", [postprocess.STRIP, 64])
def test_dark_counts_make_dark_electrons_background_on_frames_that_count_them(rng, monkeypatch, strip):
    """A skipper frame (gain 10 ADU, read noise 0.4: 25 noise units an electron) whose network called every
    pixel of an electron or more cluster: the dark electrons go, the clusters stay; glowing where it glows."""
    from tests.imaging.test_dark_counts import counting_frame

    monkeypatch.setattr(postprocess, "STRIP", strip)
    z, clusters = counting_frame(rng, dark=0.05)
    source = ArraySource(1000.0 + 0.4 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    called = (z - ndimage.minimum_filter1d(z, 15, axis=1) > 14.0) | (clusters > 0)
    labels = np.where(called, CLUSTER, BACKGROUND).astype(np.uint8)
    labels[:, :128][~called[:, :128]] = GLOWING
    names = ClassSet.preset("ccd").names
    messages = []
    changed = run(postprocess.run_steps(("dark_counts",), names, source, 0, stats, labels),
                  lambda event: messages.append(getattr(event, "message", "")))
    scale = re.search(r"an electron is ([\d.]+) read noises: ([\d.]+) e-", messages[-1])  # a skipper's calibration
    assert float(scale[1]) == pytest.approx(25.0, rel=0.02) and float(scale[2]) == pytest.approx(0.04, abs=0.001)
    brightest = ndimage.maximum_position(z, clusters, range(1, 13))
    assert all(labels[position] == CLUSTER for position in brightest)
    dark = called & (clusters == 0)
    assert changed == (called & (labels != CLUSTER)).sum() and (labels[dark] != CLUSTER).mean() > 0.99
    assert (labels[:, :120][dark[:, :120]] != BACKGROUND).all() and (labels[:, 136:][dark[:, 136:]] != GLOWING).all()


def test_dark_counts_change_nothing_on_frames_that_do_not_count_electrons(rng):
    image = (1000.0 + rng.normal(0.0, 4.0, (300, 400)) + 10.4 * rng.poisson(0.45, (300, 400))).astype(np.float32)
    labels = np.where(image > 1020.0, CLUSTER, BACKGROUND).astype(np.uint8)
    before, source = labels.copy(), ArraySource(image)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    events = list(postprocess.run_steps(("dark_counts",), ClassSet.preset("ccd").names, source, 0, stats, labels))
    assert any("does not count electrons" in event.message for event in events if hasattr(event, "message"))
    assert np.array_equal(labels, before)


@pytest.mark.parametrize("strip", [postprocess.STRIP, 16])
def test_lone_deposits_become_clusters_and_hot_pixels_stay(rng, monkeypatch, strip):
    """Lone pixels a network called hot: those with charge beside them outside the trail become cluster, the
    trail of the others hot_pixel."""
    from tests.imaging.test_lone_deposits import frame_with_lone_pixels

    monkeypatch.setattr(postprocess, "STRIP", strip)  # 16: rings reach across the strips' edges
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    source = ArraySource(500.0 + 3.0 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    labels = np.where(objects > 0, HOT, BACKGROUND).astype(np.uint8)
    names = ClassSet.preset("ccd").names
    changed = run(postprocess.run_steps(("lone_deposits",), names, source, 0, stats, labels))
    deposit = np.isin(objects, np.flatnonzero(is_deposit) + 1)
    trails = following((objects > 0) & ~deposit, (0, 1))
    assert changed == deposit.sum() + trails.sum() and (labels[deposit] == CLUSTER).all()
    assert np.array_equal(labels == HOT, ((objects > 0) & ~deposit) | trails)


@pytest.mark.parametrize("strip", [postprocess.STRIP, 16])
def test_lone_deposits_return_hot_pixels_and_their_trails_taken_for_clusters(rng, monkeypatch, strip):
    """On a frame whose hot pixels trail into the next column: a hot pixel and its trail called cluster, a
    trail called cluster beside a hot pixel and a trail left in the background become hot_pixel (the
    simulator's truth: a hot defect's trail is hot_pixel from one read noise); deposits, which leak on every
    side, stay clusters, and so does a cluster in a hot pixel's trail brighter than half of it."""
    from tests.imaging.test_lone_deposits import frame_with_lone_pixels

    monkeypatch.setattr(postprocess, "STRIP", strip)
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    deposit = np.isin(objects, np.flatnonzero(is_deposit) + 1)
    labels = np.where(deposit, CLUSTER, np.where(objects > 0, HOT, BACKGROUND)).astype(np.uint8)
    peaks = np.argwhere((objects > 0) & ~deposit)
    both, beside = peaks[:10], peaks[10:20]  # the rest stay hot pixels, which tell the trail
    labels[both[:, 0], both[:, 1]] = CLUSTER
    labels[both[:, 0], both[:, 1] + 1] = CLUSTER
    labels[beside[:, 0], beside[:, 1] + 1] = CLUSTER
    y, x = 180, 200  # a short hot row (no lone pixel) with a deposit after it, not its trail
    z[y, x - 3: x] += 300.0
    labels[y, x - 3: x] = HOT
    z[y, x] += 200.0
    labels[y, x] = CLUSTER
    source = ArraySource(500.0 + 3.0 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    run(postprocess.run_steps(("lone_deposits",), ClassSet.preset("ccd").names, source, 0, stats, labels))
    assert (labels[peaks[:, 0], peaks[:, 1]] == HOT).all() and (labels[peaks[:, 0], peaks[:, 1] + 1] == HOT).all()
    assert (labels[deposit] == CLUSTER).all() and labels[y, x] == CLUSTER
    assert np.count_nonzero(labels == HOT) == 2 * len(peaks) + 3
    assert np.count_nonzero(labels == CLUSTER) == deposit.sum() + 1


def test_without_a_trail_clusters_beside_hot_pixels_stay(rng):
    """Where the hot pixels show no trail, nothing tells a hot pixel's neighbour from a deposit's pixel."""
    from tests.imaging.test_lone_deposits import frame_with_lone_pixels

    z, objects, is_deposit = frame_with_lone_pixels(rng, trail=0.0)
    labels = np.where(objects > 0, HOT, BACKGROUND).astype(np.uint8)
    peaks = np.argwhere((objects > 0) & ~np.isin(objects, np.flatnonzero(is_deposit) + 1))[:10]
    labels[peaks[:, 0], peaks[:, 1] + 1] = CLUSTER
    z[peaks[:, 0], peaks[:, 1] + 1] += 8.0
    source = ArraySource(500.0 + 3.0 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    run(postprocess.run_steps(("lone_deposits",), ClassSet.preset("ccd").names, source, 0, stats, labels))
    assert (labels[peaks[:, 0], peaks[:, 1] + 1] == CLUSTER).all()


@pytest.mark.parametrize("strip", [postprocess.STRIP, 64])
def test_empty_clusters_become_what_surrounds_them(rng, monkeypatch, strip):
    """Cluster objects no brighter than their surroundings: background, or glowing inside a glow."""
    monkeypatch.setattr(postprocess, "STRIP", strip)
    z = rng.normal(size=(300, 300)).astype(np.float32)
    z[:, :100] += 20.0  # a glowing band
    labels = np.where(np.arange(300) < 100, GLOWING, BACKGROUND)[None, :].repeat(300, 0).astype(np.uint8)
    z[150, 200] += 400.0  # a hot pixel with the network's cluster pixels above and below it
    labels[150, 200] = HOT
    labels[149, 200] = labels[151, 200] = CLUSTER
    labels[50:52, 50:52] = CLUSTER  # a grain of the glow's noise called cluster
    z[250:252, 250:252] += 3.0  # a faint deposit: 6 sigma summed
    labels[250:252, 250:252] = CLUSTER
    z[60:70, 190] += 2.0  # a faint track across a strip's edge when strips are 64 rows
    labels[60:70, 190] = CLUSTER
    source = ArraySource(500.0 + 3.0 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    names = ClassSet.preset("ccd").names
    changed = run(postprocess.run_steps(("empty_clusters",), names, source, 0, stats, labels))
    assert changed == 6
    assert labels[149, 200] == labels[151, 200] == BACKGROUND and labels[150, 200] == HOT
    assert (labels[50:52, 50:52] == GLOWING).all() and (labels[250:252, 250:252] == CLUSTER).all()
    assert (labels[60:70, 190] == CLUSTER).all()


@pytest.mark.parametrize("counting", [True, False])
def test_on_frames_that_count_electrons_one_dark_electron_beside_a_hot_pixel_is_no_deposit(rng, monkeypatch,
                                                                                          counting):
    """A skipper frame (10 noise units an electron, 0.002 dark electrons a pixel): hot pixels with one electron
    beside them stay hot, those with three become cluster."""
    if not counting:  # the same frame taken as one that does not count electrons: any neighbour counts
        monkeypatch.setattr(postprocess, "_lattice", lambda read, shape: None)
    z = (10.0 * rng.poisson(0.002, (384, 512)) + rng.normal(size=(384, 512))).astype(np.float32)
    labels = np.full(z.shape, BACKGROUND, np.uint8)
    lone = [(20 + 24 * (k // 16), 20 + 30 * (k % 16)) for k in range(32)]
    for k, (y, x) in enumerate(lone):
        z[y, x] += 10.0 * 50
        dy, dx = ((0, -1), (0, 1), (-1, 0), (1, 0))[k // 2 % 4]  # on every side alike: no trail
        z[y + dy, x + dx] += 10.0 * (1 if k % 2 else 3)
        labels[y, x] = HOT
    source = ArraySource(1000.0 + 0.4 * z)
    stats = Normalization("ccd", pedestal="dark").measure(source, [0])
    run(postprocess.run_steps(("lone_deposits",), ClassSet.preset("ccd").names, source, 0, stats, labels))
    one, three = [labels[p] for p in lone[1::2]], [labels[p] for p in lone[::2]]
    assert three.count(CLUSTER) >= 14  # unless a dark electron in the ring outshines them
    if counting:
        assert one.count(CLUSTER) == 0
    else:
        assert one.count(CLUSTER) >= 14


def test_released_pixels_take_the_class_most_of_their_surroundings_have(rng):
    """Freed pixels become glowing where most of the 15 x 15 px around them glow, the frame mirrored at its
    edges (as scipy's ``uniform_filter`` mirrors it), corners included."""
    from scipy import ndimage

    labels = np.where(ndimage.uniform_filter(rng.random((90, 70)), 9) > 0.5, GLOWING, BACKGROUND).astype(np.uint8)
    freed = rng.random(labels.shape) < 0.05
    freed[0, 0] = freed[-1, -1] = freed[0, -1] = True
    names = ClassSet.preset("ccd").names
    expected = labels.copy()
    expected[freed] = BACKGROUND
    share = ndimage.uniform_filter((expected == GLOWING).astype(np.float64), 15)
    expected[freed & (share > 0.5)] = GLOWING
    postprocess._release(labels, freed, names)
    assert np.array_equal(labels, expected)
    assert {BACKGROUND, GLOWING} <= set(np.unique(labels[freed]).tolist())
