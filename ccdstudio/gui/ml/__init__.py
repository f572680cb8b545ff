"""Widgets and helpers for the Predict and Train features (:mod:`ccdstudio.gui.features.predict`, ``.train``).

The Qt-free parts (:mod:`.prediction`, :mod:`.training`, :mod:`.job_events`) hold the work the widgets
start; the widgets only collect settings, run those jobs in workers and show what comes back.
"""
