"""Cyclic garbage collection happens on the UI thread only (a worker collecting Qt objects deadlocks)."""

import gc
import threading

from ccdstudio.gui.gc_timer import collect_in_the_ui_thread


class Cycle:
    def __init__(self, log):
        self.me, self.log = self, log

    def __del__(self):
        self.log.append(threading.current_thread() is threading.main_thread())


def test_cycles_made_in_a_worker_are_collected_on_the_ui_thread(qtbot):
    collect_in_the_ui_thread()
    assert not gc.isenabled()
    log, kept = [], []

    def worker():
        for _ in range(3):
            Cycle(log)
        kept.extend({} for _ in range(5 * gc.get_threshold()[0]))  # would trigger a collection here

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert log == []  # nothing collected in the worker
    qtbot.waitUntil(lambda: len(log) == 3, timeout=10000)  # the UI thread's timer collects them
    assert all(log)
