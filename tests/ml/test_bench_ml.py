"""The ML benchmark's figure for the steps after the network."""

import pytest

from ccdstudio.bench.ml import postprocessing
from ccdstudio.ml.modelfile import load_model, resolve_model


def test_the_steps_after_the_network_are_timed_one_by_one_as_a_prediction_runs_them():
    model = load_model(resolve_model())
    figure = postprocessing(model, 256)
    assert figure.value > 0 and figure.baseline > 0 and figure.unit == "s"
    parts = [part.split(" ") for part in figure.note.split("; ")[0].split(", ")]
    assert [name for name, _, _ in parts] == list(model.info.postprocess)
    seconds = [float(took) for _, took, _ in parts]
    assert min(seconds) >= 0 and sum(seconds) == pytest.approx(figure.value, abs=0.01 * len(seconds))
    assert figure.note.endswith("network on cpu")
