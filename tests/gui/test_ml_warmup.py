"""ML jobs import torch's internals only after the one warm-up (two threads importing them at once break)."""

from PySide6.QtCore import QObject

from ccdstudio.gui.ml import devices
from ccdstudio.gui.ml.job_runner import start_job
from ccdstudio.jobs import Progress


def test_ml_jobs_start_after_the_warm_up(qtbot, monkeypatch):
    order = []
    monkeypatch.setattr(devices, "_warmed", type(devices._warmed)())  # as if no probe had run yet
    monkeypatch.setattr(devices, "warm_up", lambda: order.append("warm-up"))

    def job(cancel):
        order.append("job")
        yield Progress(1.0, "done")
        return 42

    parent = QObject()
    results = []
    worker = start_job(job, "test", parent)
    worker.finished_with.connect(results.append)
    qtbot.waitUntil(lambda: results == [42], timeout=5000)
    assert order == ["warm-up", "job"]
    devices.warmed_up()  # once only
    assert order == ["warm-up", "job"]
