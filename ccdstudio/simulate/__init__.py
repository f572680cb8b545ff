"""Synthetic CCD frames and scroll segments with exact truth labels.

- :mod:`~ccdstudio.simulate.params`: :class:`CCDParams`, the physics of a frame, and its FITS cards.
- :mod:`~ccdstudio.simulate.clusters`: particle deposits (point-like, muon, electron, alpha, DAMIC templates).
- :mod:`~ccdstudio.simulate.ccd`: :func:`simulate_ccd` -> :class:`SimulatedFrame` (image, labels, clusters).
- :mod:`~ccdstudio.simulate.ccd_files`: frames on disk (FITS, label map, cluster JSON), the batch job.
- :mod:`~ccdstudio.simulate.segment`: the streaming scroll-segment generator job.
- :mod:`~ccdstudio.simulate.demo`: the shipped demo data and :func:`write_demo`.
"""
