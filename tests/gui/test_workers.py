"""The job worker: progress, result, failure and cancellation arrive as signals on the UI thread."""

import time

from ccdstudio.errors import FormatError
from ccdstudio.gui.workers import JobWorker
from ccdstudio.jobs import Progress, check


def counting(n, cancel, delay=0.0):
    for i in range(n):
        check(cancel)
        time.sleep(delay)
        yield Progress((i + 1) / n, f"step {i + 1}")
    return n * 10


def test_worker_reports_progress_and_result(qtbot):
    worker = JobWorker(lambda cancel: counting(3, cancel))
    fractions = []
    worker.progress.connect(lambda f, m: fractions.append((f, m)))
    with qtbot.waitSignal(worker.finished_with, timeout=5000) as blocker:
        worker.start()
    worker.wait()
    assert blocker.args == [30]
    qtbot.waitUntil(lambda: len(fractions) == 3)
    assert fractions[-1] == (1.0, "step 3")


def test_worker_reports_a_user_error_as_failed(qtbot):
    def broken(cancel):
        yield Progress(0.1, "reading")
        raise FormatError("frame.fits is truncated")

    worker = JobWorker(broken)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    worker.wait()
    assert blocker.args == ["frame.fits is truncated"]


def test_worker_reports_a_bug_in_one_line(qtbot):
    def buggy(cancel):
        yield Progress(0.1, "")
        raise ZeroDivisionError("division by zero")

    worker = JobWorker(buggy)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    worker.wait()
    assert "ZeroDivisionError" in blocker.args[0]


def test_cancel_stops_the_job_at_its_next_check(qtbot):
    worker = JobWorker(lambda cancel: counting(1000, cancel, delay=0.01))
    finished = []
    worker.finished_with.connect(finished.append)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.start()
        qtbot.waitSignal(worker.progress, timeout=5000).wait()
        worker.cancel()
    assert worker.wait(5000)
    assert finished == []
