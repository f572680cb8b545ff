"""The ML benchmark's figure for the steps after the network."""

from ccdstudio.bench.ml import postprocessing
from ccdstudio.ml.modelfile import load_model, resolve_model


def test_the_steps_after_the_network_are_timed_one_by_one_against_the_network():
    model = load_model(resolve_model())
    figure = postprocessing(model, 256)
    assert figure.value > 0 and figure.baseline > 0 and figure.unit == "s"
    assert [part.split(" ")[0] for part in figure.note.split("; ")[0].split(", ")] == list(model.info.postprocess)
    assert figure.note.endswith("network on cpu")
