"""The ``io`` benchmark group runs and pairs every figure with a baseline (timings are not asserted)."""

from ccdstudio.bench import io


def test_quick_run_yields_figures_with_baselines():
    figures = list(io.run(quick=True))
    assert len(figures) == 3
    for figure in figures:
        assert figure.group == "io" and figure.value > 0 and figure.baseline and figure.baseline > 0
        assert figure.unit == "s" and figure.baseline_name
