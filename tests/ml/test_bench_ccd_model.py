"""``ccdstudio bench ccd_model --quick``: the bundled model against the classic finder and the bounds."""

import pytest

from ccdstudio.bench import ccd_model


def test_quick_run_scores_the_model_against_its_baselines_and_bounds():
    figures = {f.name: f for f in ccd_model.run(quick=True)}
    cluster = figures["cluster F1 (glow, hot masked)"]
    assert 0 < cluster.value <= 1 and cluster.baseline_name.startswith("hysteresis")
    assert figures["cluster recall (> 3 sigma) of an ideal observer"].value >= figures["cluster recall (> 3 sigma)"].value
    shot = figures["cluster recall (> 3 sigma) of an ideal observer, with shot noise"].value
    assert shot <= figures["cluster recall (> 3 sigma) of an ideal observer"].value
    # Deposits that stay in one pixel are hot pixels to a single frame: the bound falls again.
    assert figures["cluster recall (> 3 sigma) of an ideal single-frame observer"].value <= shot
    told = figures["F1 glowing of a local observer told the true pedestal and drift"].value
    assert told > figures["F1 glowing (glow vs background pixels)"].baseline  # the frame's own estimate
    hot = figures["F1 hot_pixel"]
    if hot.baseline is not None:  # the model's post-processing next to the network alone
        assert hot.value >= hot.baseline and "without" in hot.baseline_name
    assert figures["overscan called background"].value > 0.9
    missed = [f.value for name, f in figures.items() if name.startswith("clusters (> 3 sigma) missed as")]
    assert len(missed) == 3  # every cluster counted is found or called one of the other classes
    assert sum(missed) + figures["cluster recall (> 3 sigma)"].value == pytest.approx(1.0)
    # Known hot pixels turn the U-Net's other hot_pixel calls into clusters: nothing found is lost.
    assert figures["cluster recall (> 3 sigma), hot pixels known"].value >= figures["cluster recall (> 3 sigma)"].value
    series = figures["cluster recall (> 3 sigma), series with their hot-pixel mask"]
    assert 0 < series.value <= 1 and series.baseline_name == "the same frames one by one"
    # Raw frames whose dark charge the overscans do not show: not glowing all over.
    assert figures["F1 background, dark charge"].value > 0.5  # 0.01 when the overscan set the pedestal
    assert "dark charge >= 2 read noises" in figures["F1 glowing, dark charge"].note
    # Skipper frames that count electrons, with and without the dark_counts step.
    precision = figures["cluster precision (objects), counting electrons"]
    assert "an electron >= 8 read noises" in precision.note and 0 <= precision.value <= 1
    few = figures["cluster precision (objects), an electron of a few read noises"]
    assert "an electron 4.5-8 read noises" in few.note and few.baseline_name == "without dark_counts"
