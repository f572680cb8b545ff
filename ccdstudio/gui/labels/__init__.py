"""The label editor's GUI: the label layer over the viewer, its tools, undo commands, class and project docks.

The model underneath is Qt-free (:mod:`ccdstudio.labels`); :mod:`ccdstudio.gui.features.labels` wires these
pieces into the main window.
"""
