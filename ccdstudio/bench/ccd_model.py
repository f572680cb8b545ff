"""The bundled CCD model against the classic cluster finder, on a freshly simulated test set.

The test frames are those of the model card (``models/ccd-unet-v1.md``): ``ccdstudio simulate ccd
--overscan 64 --overscan-rows 32`` with seed 7001 (four 1024 x 1024 frames) and seed 7002 (four 1000 x 1500
frames): raw frames, with 64 columns of serial overscan beside the data section and 32 rows of parallel
overscan after it. They are re-simulated here in memory
(frame ``i`` depends only on ``(seed, i)``) and stored as ``ccdstudio simulate`` stores them, so the model
sees exactly the files the card's ``ccdstudio predict`` reads. Re-simulating also gives which cluster put
each pixel's charge, which object-level scoring needs.

Baseline, measured in the same run: the classic two-level (hysteresis) cluster finder of
:func:`ccdstudio.imaging.threshold.hysteresis` over a per-row robust pedestal, with the seed and growing
levels ``k1``/``k2`` that give the best cluster F1 on these very frames (an upper bound on how it would do on
new ones). As the comparison asks, glowing and hot pixels are masked from the truth (they count nowhere)
for both finders in the cluster figures.

Figures:

- cluster F1 per pixel (glow and hot pixels masked), U-Net vs best hysteresis;
- cluster detection recall: clusters with at least one labelled pixel and a total signal above 3 sigma that
  the finder's cluster pixels touch, overall and per bin of total signal (a detection efficiency curve);
- the same recall of an ideal observer (:func:`~ccdstudio.simulate.detection.ideal_recall`): a matched
  filter that knows every cluster's shape, at 95 % object precision, the most any finder can reach; once
  against the read noise alone, once also against the shot noise of the dark charge and the glow under each
  cluster (:func:`~ccdstudio.simulate.detection.pixel_noise`), and once as a single-frame observer, which
  takes a deposit for a hot pixel where the charge beside its brightest pixel does not show
  (:data:`LONE_LEAK`, :func:`~ccdstudio.simulate.detection.leak_significance`);
- cluster detection precision: 8-connected found regions that overlap a true cluster (for the classic
  finder, regions entirely on masked pixels are left out);
- what the U-Net called the clusters above 3 sigma it missed (the class of most of their labelled pixels),
  as shares of all of them: a one-pixel cluster and a hot pixel look alike in one frame, and a cluster in a
  glow competes with the glow's shot noise, which the ideal observer leaves out;
- cluster recall and precision once the CCD's hot pixels are known (what a mask from a series of frames
  of the same CCD gives): with the true hot pixels as the mask of :func:`~ccdstudio.ml.hot_mask.apply_hot_mask`;
  and on series of exposures of one CCD each (:data:`SERIES`, ``ccdstudio simulate ccd --same-ccd``), the
  same figures without and with the mask the series itself gives (:mod:`ccdstudio.ml.hot_mask`, as
  ``ccdstudio predict --hot-mask auto`` makes it);
- per-class pixel F1 of the U-Net over all four classes, with the model's post-processing
  (:mod:`ccdstudio.ml.postprocess`) next to the network alone;
- glowing F1 over the pixels whose truth is background or glowing, U-Net vs a local observer
  (:func:`~ccdstudio.simulate.detection.glow_observer`) given the pedestal and noise the model's
  normalisation measures; and the same observer given the true pedestal with its drift, or only its mean,
  and the true read noise: how well a frame shows its glow edge at all;
- per-class F1 and cluster recall and precision on raw frames whose dark charge is at least
  :data:`MIN_DARK_SIGMA` read noises (:data:`DARK`), which their overscans do not show, and on raw frames
  that count electrons (:data:`COUNTING`: an electron of :data:`MIN_ELECTRON_SIGMA` read noises or more;
  :data:`FEW_NOISES`: of :data:`~ccdstudio.imaging.dark_counts.MIN_STEP` to that, as DAMIC-M and SENSEI
  read), next to the model without its ``dark_counts`` step;
- robustness, on the first test frame: the share of pixels whose class stays the same away from the damage
  when three columns are NaN, when 10 x 10 blocks saturate, when 64 columns of serial overscan are appended,
  and when the pedestal moves by 10^4 ADU and the gain triples; the share of overscan pixels called
  background; and the cluster F1 on a crop of a size never trained on (1001 x 777).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ccdstudio.bench import Figure
from ccdstudio.simulate.detection import GLOW_WINDOW, SIGNAL_BINS, Efficiency, dark_level, read_noise

if TYPE_CHECKING:
    from ccdstudio.io.source import ArraySource
    from ccdstudio.ml.metrics import Evaluation
    from ccdstudio.ml.modelfile import LoadedModel
    from ccdstudio.ml.normalize import Stats
    from ccdstudio.simulate.ccd import SimulatedFrame
    from ccdstudio.simulate.params import CCDParams

GROUP = "ccd_model"

TEST_SETS: tuple[tuple[int, tuple[int, int], int], ...] = ((4, (1024, 1024), 7001), (4, (1000, 1500), 7002))
"""``(count, (height, width), seed)`` of the model card's test frames."""
OVERSCAN = (64, 32)
"""Serial overscan columns and parallel overscan rows of the test frames (``--overscan 64 --overscan-rows
32``): raw frames, as DAMIC and SENSEI write them."""
QUICK_SETS: tuple[tuple[int, tuple[int, int], int], ...] = ((2, (512, 512), 7003),)
SERIES: tuple[tuple[int, tuple[int, int], int], ...] = ((5, (1024, 1024), 7001), (5, (1000, 1500), 7002),
                                                       (5, (1024, 1024), 7101), (5, (1000, 1500), 7102))
"""``(frames, (height, width), seed)`` of series of exposures of one CCD each (raw, with the card's overscans):
the CCDs of the first square and the first wide frame of the card's two test sets."""
QUICK_SERIES: tuple[tuple[int, tuple[int, int], int], ...] = ((3, (512, 512), 7305),)
DARK: tuple[int, tuple[int, int], range] = (12, (1024, 1024), range(8000, 9000))
"""``(frames, (height, width), seeds)``: raw frames (the card's overscans) with dark charge of at least
:data:`MIN_DARK_SIGMA` read noises, the first frames of these seeds that have it (3.5 % of random frames)."""
QUICK_DARK: tuple[int, tuple[int, int], range] = (2, (512, 512), range(8000, 9000))
MIN_DARK_SIGMA = 2.0
COUNTING: tuple[int, tuple[int, int], range] = (12, (1024, 1024), range(8000, 9000))
"""Raw frames that count electrons: an electron worth at least :data:`MIN_ELECTRON_SIGMA` read noises (skipper
readouts, 4 % of random frames)."""
QUICK_COUNTING: tuple[int, tuple[int, int], range] = (1, (512, 512), range(8000, 9000))
MIN_ELECTRON_SIGMA = 8.0
FEW_NOISES: tuple[int, tuple[int, int], range] = (12, (1024, 1024), range(8000, 9000))
"""Raw frames whose electron is worth a few read noises: from ``dark_counts``' smallest step
(:data:`~ccdstudio.imaging.dark_counts.MIN_STEP`) to :data:`MIN_ELECTRON_SIGMA` (2 % of random frames)."""
QUICK_FEW_NOISES: tuple[int, tuple[int, int], range] = (1, (512, 512), range(8000, 9000))
SEED_LEVELS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0)
GROW_LEVELS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
MIN_SIGNAL_SIGMA = SIGNAL_BINS[0]
"""A cluster counts for detection recall when its total noise-free signal exceeds this many sigma."""
IDEAL_PRECISION = 0.95
"""The object precision at which :func:`~ccdstudio.simulate.detection.ideal_recall` bounds the recall."""
LONE_LEAK = 3.0
"""Significance (:func:`~ccdstudio.simulate.detection.leak_significance`, with shot noise) below which the
single-frame ideal observer takes a deposit for a hot pixel: its charge beside the brightest pixel does not
show."""


@dataclass
class TestFrame:
    """A stored test frame (as ``ccdstudio simulate`` writes it) with its simulation truth.

    ``raw`` is the stored plane, with the serial overscan when there is one (described by ``header``);
    ``image`` its data section, in the truth's coordinates.
    """

    name: str
    image: np.ndarray
    frame: SimulatedFrame
    raw: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)

    def source(self) -> ArraySource:
        """The stored plane as a predict input, header included."""
        from ccdstudio.io.source import ArraySource

        return ArraySource(self.raw, headers=[self.header])

    def data(self, labels: np.ndarray) -> np.ndarray:
        """A class map of :meth:`source` cut to the data section."""
        return labels[: self.image.shape[0], : self.image.shape[1]]


def test_frames(sets: Sequence[tuple[int, tuple[int, int], int]] = TEST_SETS,
                noise: tuple[float, float] = (2.0, 30.0), overscan: tuple[int, int] = (0, 0),
                same_ccd: bool = False) -> Iterator[TestFrame]:
    """The frames ``ccdstudio simulate ccd --count N --height H --width W --seed S [--overscan C
    --overscan-rows R] [--same-ccd]`` writes, one by one; ``overscan`` is ``(C, R)``."""
    from ccdstudio.simulate.ccd_files import draw_frame, raw_plane

    for count, shape, seed in sets:
        for index in range(count):
            frame = draw_frame(shape, seed, index, noise, same_ccd=same_ccd, overscan=overscan[0],
                               overscan_rows=overscan[1])
            raw, header = raw_plane(frame)
            yield TestFrame(f"seed {seed} frame {index}", raw[: shape[0], : shape[1]], frame, raw, header)


@dataclass
class PixelTally:
    """Pixel counts of one binary finder, summed over frames."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, found: np.ndarray, true: np.ndarray, scored: np.ndarray) -> None:
        """Count ``found`` against ``true`` over the ``scored`` pixels."""
        self.tp += int((found & true & scored).sum())
        self.fp += int((found & ~true & scored).sum())
        self.fn += int((~found & true & scored).sum())

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0


@dataclass
class ClusterTally:
    """Pixel and object counts of one cluster finder, summed over frames."""

    pixels: PixelTally = field(default_factory=PixelTally)
    regions: int = 0
    real_regions: int = 0
    efficiency: Efficiency = field(default_factory=Efficiency)
    missed_as: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Clusters above :data:`MIN_SIGNAL_SIGMA` missed, by the class most of their labelled pixels were given
    (counted when :meth:`add` is given the class map)."""

    def add(self, found: np.ndarray, frame: SimulatedFrame, calls: np.ndarray | None = None) -> None:
        """Score a boolean cluster mask against one :class:`SimulatedFrame`; ``calls``, the class map
        ``found`` was taken from, tells what the missed clusters were called."""
        from scipy import ndimage

        from ccdstudio.simulate.ccd import BACKGROUND, CLUSTER
        from ccdstudio.simulate.detection import cluster_significance

        labels = frame.labels
        scored = (labels == BACKGROUND) | (labels == CLUSTER)  # glowing and hot pixels masked
        true = labels == CLUSTER
        self.pixels.add(found, true, scored)
        signal, _ = cluster_significance(frame)
        labelled = np.array([c.detectable for c in frame.clusters], bool)
        touched = np.zeros(len(frame.clusters) + 1, bool)
        touched[np.where(true, frame.cluster_ids, 0)[found & true]] = True
        self.efficiency.add(signal[labelled], touched[1:][labelled])
        if calls is not None:
            missed = np.flatnonzero(labelled & ~touched[1:] & (signal > MIN_SIGNAL_SIGMA)) + 1
            votes = np.zeros((len(frame.clusters) + 1, len(frame.classes)), np.int64)
            np.add.at(votes, (frame.cluster_ids[true], calls[true]), 1)
            called = np.bincount(votes[missed].argmax(axis=1), minlength=len(frame.classes))
            self.missed_as = called if self.missed_as.size == 0 else self.missed_as + called
        regions, count = ndimage.label(found, np.ones((3, 3), bool))
        if count:
            real = np.zeros(count + 1, bool)
            real[regions[found & true]] = True
            counted = np.zeros(count + 1, bool)
            counted[regions[found & scored]] = True
            self.regions += int(counted[1:].sum())
            self.real_regions += int((real & counted)[1:].sum())

    @property
    def f1(self) -> float:
        return self.pixels.f1

    @property
    def recall(self) -> float:
        """The share of clusters above :data:`MIN_SIGNAL_SIGMA` found."""
        clusters, found = self.efficiency.clusters.sum(), self.efficiency.found.sum()
        return float(found / clusters) if clusters else 0.0

    @property
    def precision(self) -> float:
        return self.real_regions / self.regions if self.regions else 0.0


GLOW_OBSERVERS = ("frame's estimate", "true pedestal and drift", "true mean pedestal")
"""What the local glow observer is told the pedestal and noise are (see :func:`glow_references`)."""


def glow_references(test: TestFrame, stats: Stats) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``(pedestal, noise)`` per pixel for each of :data:`GLOW_OBSERVERS`: what the model's normalisation
    measured on the frame (``stats``: the darkest blocks, or the overscan row by row), the true level without
    glow (pedestal, drift and mean dark charge) with the true read noise, and that level's mean per
    amplifier with the true read noise."""
    frame = test.frame
    level, sigma = dark_level(frame), read_noise(frame)
    mean = level.copy()
    for amp in frame.amplifiers:
        mean[amp.rows, amp.cols] = level[amp.rows, amp.cols].mean()
    height = test.image.shape[0]
    estimate = np.full(test.image.shape, stats.offset[0])
    if stats.row_pedestal is not None:
        estimate += stats.row_pedestal[0, :height, None]
    return dict(zip(GLOW_OBSERVERS, [(estimate, np.full(test.image.shape, stats.scale[0])), (level, sigma),
                                     (mean, sigma)]))


def classic_significance(image: np.ndarray) -> np.ndarray:
    """``(ADU - pedestal) / sigma`` with a robust pedestal and noise per row (following the row drift)."""
    from ccdstudio.imaging.threshold import robust_background

    pedestal, sigma = robust_background(image, "rows")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (image - pedestal) / np.where(sigma > 0, sigma, np.inf)


def compare(model: LoadedModel, sets: Sequence[tuple[int, tuple[int, int], int]] = TEST_SETS,
            overscan: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """Run the model and every hysteresis level pair over the frames (raw, with ``overscan`` columns and rows
    of serial and parallel overscan, when not 0); return the tallies and the U-Net's per-class
    :class:`~ccdstudio.ml.metrics.Evaluation`."""
    from ccdstudio.imaging.threshold import hysteresis
    from ccdstudio.jobs import run
    from ccdstudio.ml.hot_mask import apply_hot_mask
    from ccdstudio.ml.infer import fit_stats, predict
    from ccdstudio.ml.metrics import Evaluation
    from ccdstudio.ml.postprocess import run_steps
    from ccdstudio.simulate.ccd import CLUSTER, GLOWING, HOT_PIXEL
    from ccdstudio.simulate.detection import (cluster_significance, glow_observer, ideal_recall, leak_significance,
                                              pixel_noise)

    unet, hot_known = ClusterTally(), ClusterTally()
    glow = {name: PixelTally() for name in ("unet", *GLOW_OBSERVERS)}
    significances, shot_significances, single_frame, trials = [], [], [], 0
    classic = {pair: ClusterTally() for pair in itertools.product(SEED_LEVELS, GROW_LEVELS) if pair[1] <= pair[0]}
    evaluation, network_only = Evaluation(model.info.classes.names), Evaluation(model.info.classes.names)
    bare = model.with_steps(())
    for test in test_frames(sets, overscan=overscan):
        source = test.source()
        plane = run(predict(bare, source)).labels
        network_only.add(test.frame.labels, test.data(plane))
        stats = fit_stats(model, source, [0])
        run(run_steps(model.info.postprocess, model.info.classes.names, source, 0, stats, plane))
        labels = test.data(plane)
        evaluation.add(test.frame.labels, labels)
        signal, significance = cluster_significance(test.frame)
        counted = np.array([c.detectable for c in test.frame.clusters], bool) & (signal > MIN_SIGNAL_SIGMA)
        significances.append(significance[counted])
        noise = pixel_noise(test.frame)
        shot = cluster_significance(test.frame, noise)[1][counted]
        shot_significances.append(shot)
        single_frame.append(np.where(leak_significance(test.frame, noise)[counted] < LONE_LEAK, 0.0, shot))
        trials += labels.size
        unet.add(labels == CLUSTER, test.frame, labels)
        told = labels.copy()
        apply_hot_mask(told, test.frame.labels == HOT_PIXEL, model.info.classes.names)
        hot_known.add(told == CLUSTER, test.frame)
        scored, glowing = test.frame.labels <= GLOWING, test.frame.labels == GLOWING
        glow["unet"].add(labels == GLOWING, glowing, scored)
        for name, (level, sigma) in glow_references(test, stats).items():
            found = glow_observer(test.image, level, sigma, scored, test.frame.params.glow_sigma)
            glow[name].add(found, glowing, scored)
        z = classic_significance(test.image.astype(np.float64))
        for (k1, k2), tally in classic.items():
            tally.add(hysteresis(z >= k1, z >= k2), test.frame)
    best = max(classic, key=lambda pair: classic[pair].f1)
    return {"unet": unet, "hot pixels known": hot_known, "classic": classic[best], "levels": best,
            "evaluation": evaluation, "glow": glow,
            "network only": network_only,
            "ideal recall": ideal_recall(np.concatenate(significances), trials, IDEAL_PRECISION),
            "ideal recall, shot noise": ideal_recall(np.concatenate(shot_significances), trials, IDEAL_PRECISION),
            "ideal recall, single frame": ideal_recall(np.concatenate(single_frame), trials, IDEAL_PRECISION)}


def series_masks(model: LoadedModel, series: Sequence[tuple[int, tuple[int, int], int]] = SERIES
                 ) -> tuple[ClusterTally, ClusterTally]:
    """The model's clusters on each series of exposures of one CCD, as predicted and corrected with the
    hot-pixel mask of the series' own predictions: ``(plain, masked)`` tallies."""
    from ccdstudio.jobs import run
    from ccdstudio.ml.hot_mask import HotPixelCount, apply_hot_mask
    from ccdstudio.ml.infer import predict
    from ccdstudio.simulate.ccd import CLUSTER

    plain, masked = ClusterTally(), ClusterTally()
    names = model.info.classes.names
    for ccd in series:
        counts, predicted = HotPixelCount(names), []
        for test in test_frames((ccd,), overscan=OVERSCAN, same_ccd=True):
            labels = run(predict(model, test.source())).labels
            counts.add(labels)
            predicted.append((test, labels))
        mask = counts.mask()
        for test, labels in predicted:
            plain.add(test.data(labels) == CLUSTER, test.frame)
            apply_hot_mask(labels, mask, names)
            masked.add(test.data(labels) == CLUSTER, test.frame)
    return plain, masked


def picked_frames(frames: tuple[int, tuple[int, int], range], keep: Callable[[CCDParams], bool]
                  ) -> Iterator[TestFrame]:
    """Raw test frames (the card's overscans) of ``frames``' size: the first frame of each of its seeds whose
    parameters ``keep`` accepts, until there are as many as it asks for."""
    from ccdstudio.simulate.params import CCDParams

    count, shape, seeds = frames
    fixed = {"overscan": OVERSCAN[0], "overscan_rows": OVERSCAN[1]}
    kept = (seed for seed in seeds if keep(CCDParams.random(np.random.default_rng([seed, 0]), **fixed)))
    return test_frames([(1, shape, seed) for seed in itertools.islice(kept, count)], overscan=OVERSCAN)


def score(models: Sequence[LoadedModel], tests: Iterable[TestFrame]) -> list[tuple[Evaluation, ClusterTally]]:
    """Each model's per-class :class:`~ccdstudio.ml.metrics.Evaluation` and cluster tally on ``tests``
    (each frame simulated once for all of them)."""
    from ccdstudio.jobs import run
    from ccdstudio.ml.infer import predict
    from ccdstudio.ml.metrics import Evaluation
    from ccdstudio.simulate.ccd import CLUSTER

    scores = [(Evaluation(model.info.classes.names), ClusterTally()) for model in models]
    for test in tests:
        for model, (evaluation, clusters) in zip(models, scores):
            labels = test.data(run(predict(model, test.source())).labels)
            evaluation.add(test.frame.labels, labels)
            clusters.add(labels == CLUSTER, test.frame)
    return scores


def dark_charge(params: CCDParams) -> bool:
    """Whether a frame's dark charge is at least :data:`MIN_DARK_SIGMA` read noises."""
    return params.dark_current * params.gain >= MIN_DARK_SIGMA * params.sigma


def counting(params: CCDParams) -> bool:
    """Whether a frame counts electrons: one is worth at least :data:`MIN_ELECTRON_SIGMA` read noises."""
    return params.gain >= MIN_ELECTRON_SIGMA * params.sigma


def few_noises(params: CCDParams) -> bool:
    """Whether a frame's electron is worth from :data:`~ccdstudio.imaging.dark_counts.MIN_STEP` to
    :data:`MIN_ELECTRON_SIGMA` read noises."""
    from ccdstudio.imaging.dark_counts import MIN_STEP

    return MIN_STEP * params.sigma <= params.gain < MIN_ELECTRON_SIGMA * params.sigma


def robustness(model: LoadedModel, test: TestFrame) -> dict[str, float]:
    """How the model's classes hold up when one frame is damaged (see the module docstring)."""
    from ccdstudio.io.source import ArraySource
    from ccdstudio.jobs import run
    from ccdstudio.ml.infer import predict
    from ccdstudio.ml.metrics import confusion_matrix
    from ccdstudio.simulate.ccd import BACKGROUND, CLUSTER

    def segment(image: np.ndarray) -> np.ndarray:
        return run(predict(model, ArraySource(image.astype(np.float32)))).labels

    image = test.image.astype(np.float32)
    height, width = image.shape
    clean = segment(image)
    rng = np.random.default_rng(0)
    away = np.ones(image.shape, bool)  # pixels more than 16 px from any damage
    nan = image.copy()
    for x in rng.choice(np.arange(32, width - 32), 3, replace=False):
        nan[:, x] = np.nan
        away[:, x - 16: x + 17] = False
    saturated = image.copy()
    blocks = np.zeros(image.shape, bool)
    far = np.ones(image.shape, bool)
    for y, x in zip(rng.integers(16, height - 26, 5), rng.integers(16, width - 26, 5)):
        blocks[y: y + 10, x: x + 10] = True
        far[y - 16: y + 26, x - 16: x + 26] = False
    saturated[blocks] = test.frame.params.saturation
    with_saturation = segment(saturated)
    sigma = test.frame.amplifiers[0].sigma
    pedestal = float(np.median(image[clean == BACKGROUND]))
    overscan = rng.normal(pedestal, sigma, (height, 64)).astype(np.float32)
    with_overscan = segment(np.concatenate([image, overscan], axis=1))
    shifted = segment((image - pedestal) * 3 + pedestal + 10_000)
    crop = (slice(0, min(1001, height)), slice(0, min(777, width)))
    cm = confusion_matrix(test.frame.labels[crop], segment(image[crop]), len(model.info.classes))
    return {
        "unchanged beside NaN columns": float((segment(nan) == clean)[away].mean()),
        "unchanged beside saturated blocks": float((with_saturation == clean)[far].mean()),
        "saturated blocks not background": float((with_saturation[blocks] != BACKGROUND).mean()),
        "unchanged with overscan": float((with_overscan[:, :width] == clean).mean()),
        "overscan called background": float((with_overscan[:, width:] == BACKGROUND).mean()),
        "unchanged with other pedestal and gain": float((shifted == clean).mean()),
        "cluster F1 at 1001 x 777": float(2 * cm[CLUSTER, CLUSTER] / (cm[CLUSTER].sum() + cm[:, CLUSTER].sum())),
    }


def special_frames(model: LoadedModel, quick: bool) -> Iterator[Figure]:
    """Figures on raw frames with dark charge and on frames that count electrons, the latter next to the
    model without its ``dark_counts`` step."""
    from ccdstudio.imaging.dark_counts import MIN_STEP

    without = model.with_steps([step for step in model.info.postprocess if step != "dark_counts"])
    sets = (("dark charge", QUICK_DARK if quick else DARK, dark_charge, f"dark charge >= {MIN_DARK_SIGMA:g}"),
            ("counting electrons", QUICK_COUNTING if quick else COUNTING, counting,
             f"an electron >= {MIN_ELECTRON_SIGMA:g}"),
            ("an electron of a few read noises", QUICK_FEW_NOISES if quick else FEW_NOISES, few_noises,
             f"an electron {MIN_STEP:g}-{MIN_ELECTRON_SIGMA:g}"))
    for name, frames, keep, what in sets:
        note = f"{frames[0]} raw frames, {what} read noises"
        with_baseline = keep in (counting, few_noises) and without.info.postprocess != model.info.postprocess
        (evaluation, clusters), *baseline = score([model, without] if with_baseline else [model],
                                                  picked_frames(frames, keep))
        report, other, plain = evaluation.report(), None, None
        if baseline:
            other, plain = baseline[0][0].report(), baseline[0][1]
        compared = "without dark_counts" if baseline else ""
        for label in model.info.classes.names:
            yield Figure(GROUP, f"F1 {label}, {name}", report[label]["f1-score"], "",
                         other[label]["f1-score"] if other else None, compared, higher_is_better=True, note=note)
        for label, attribute in (("recall (> 3 sigma)", "recall"), ("precision (objects)", "precision")):
            yield Figure(GROUP, f"cluster {label}, {name}", getattr(clusters, attribute), "",
                         getattr(plain, attribute) if plain else None, compared, higher_is_better=True, note=note)


def run(quick: bool) -> Iterator[Figure]:
    from ccdstudio.ml.modelfile import load_model, resolve_model

    model = load_model(resolve_model())
    result = compare(model, QUICK_SETS if quick else TEST_SETS, OVERSCAN)
    unet, classic = result["unet"], result["classic"]
    k1, k2 = result["levels"]
    baseline = f"hysteresis {k1:g}/{k2:g} sigma"
    for name, attribute in (("cluster F1 (glow, hot masked)", "f1"), ("cluster recall (> 3 sigma)", "recall"),
                            ("cluster precision (objects)", "precision")):
        yield Figure(GROUP, name, getattr(unet, attribute), "", getattr(classic, attribute), baseline,
                     higher_is_better=True)
    yield Figure(GROUP, "cluster recall (> 3 sigma) of an ideal observer", result["ideal recall"], "",
                 note=f"matched filter knowing every shape, at {IDEAL_PRECISION:.0%} object precision")
    yield Figure(GROUP, "cluster recall (> 3 sigma) of an ideal observer, with shot noise",
                 result["ideal recall, shot noise"], "", note="the same, against read noise and the shot noise "
                 "of the dark charge and glow")
    yield Figure(GROUP, "cluster recall (> 3 sigma) of an ideal single-frame observer",
                 result["ideal recall, single frame"], "", note="the same, taking a deposit whose charge beside "
                 f"its brightest pixel is below {LONE_LEAK:g} sigma for a hot pixel")
    known = result["hot pixels known"]
    for name, value in (("recall (> 3 sigma)", known.recall), ("precision (objects)", known.precision)):
        yield Figure(GROUP, f"cluster {name}, hot pixels known", value, "", note="the true hot pixels as "
                     "the hot-pixel mask (what a series of frames gives)")
    series = QUICK_SERIES if quick else SERIES
    plain, masked = series_masks(model, series)
    frames = sum(count for count, _, _ in series)
    for name, attribute in (("recall (> 3 sigma)", "recall"), ("precision (objects)", "precision")):
        yield Figure(GROUP, f"cluster {name}, series with their hot-pixel mask", getattr(masked, attribute), "",
                     getattr(plain, attribute), "the same frames one by one", higher_is_better=True,
                     note=f"{frames} frames, series of one CCD each")
    counted = unet.efficiency.clusters.sum()
    for name, count in zip(model.info.classes.names, unet.missed_as):
        if name != "cluster" and counted:
            yield Figure(GROUP, f"clusters (> 3 sigma) missed as {name}", count / counted, "",
                         note=f"{count} of {counted}")
    for name, mine, theirs, count in zip(unet.efficiency.labels(), unet.efficiency.recall(),
                                         classic.efficiency.recall(), unet.efficiency.clusters):
        yield Figure(GROUP, f"cluster recall, {name} sigma", float(mine), "", float(theirs), baseline,
                     higher_is_better=True, note=f"{count} clusters")
    report = result["evaluation"].report()
    network = result["network only"].report()
    steps = ", ".join(model.info.postprocess)
    for name in model.info.classes.names:
        yield Figure(GROUP, f"F1 {name}", report[name]["f1-score"], "", network[name]["f1-score"] if steps else None,
                     f"the network alone, without {steps}" if steps else "", higher_is_better=True,
                     note=f"support {report[name]['support']}")
    glow = result["glow"]
    yield Figure(GROUP, "F1 glowing (glow vs background pixels)", glow["unet"].f1, "",
                 glow[GLOW_OBSERVERS[0]].f1, "box mean >= 3 sigma, the model's pedestal", higher_is_better=True)
    for name in GLOW_OBSERVERS[1:]:
        yield Figure(GROUP, f"F1 glowing of a local observer told the {name}", glow[name].f1, "",
                     note=f"{GLOW_WINDOW} px box mean >= 3 read noises")
    yield from special_frames(model, quick)
    first = next(test_frames(QUICK_SETS if quick else TEST_SETS, overscan=OVERSCAN))
    for name, value in robustness(model, first).items():
        yield Figure(GROUP, name, value, "", higher_is_better=True)
