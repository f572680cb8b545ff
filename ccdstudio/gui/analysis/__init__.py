"""Widgets and helpers of the analysis features: threshold and particles dock, export dialog.

The numeric parts (:mod:`.rule`, :mod:`.engine`, :mod:`.export_plan`) import no Qt, so the preview and the
export plans are testable and measurable without a window; the widgets sit beside them.
"""
