"""``ccdstudio train`` turns SIGTERM/SIGINT into a cancel (the best model is kept), then restores the handlers."""

import os
import signal

import pytest

from ccdstudio.cli.train import cancel_on_signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_and_the_handlers_come_back(sig, capsys):
    before = signal.getsignal(sig)
    with cancel_on_signals() as token:
        assert not token.cancelled
        os.kill(os.getpid(), sig)
        os.kill(os.getpid(), sig)  # the same request twice at once (terminal and launcher) does not abort
        assert token.cancelled
    assert signal.getsignal(sig) is before
    assert "stopping after the current step" in capsys.readouterr().err
