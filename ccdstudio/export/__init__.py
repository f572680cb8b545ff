"""Training-data export: tiles, random crops, bounding boxes and cut-outs.

Each export is a job (see :mod:`ccdstudio.jobs`) that checks its input before writing anything, writes
into a staging folder swapped in at the end, and records what it did in ``export.json``:

- :func:`~ccdstudio.export.tiles.export_tiles` and :func:`~ccdstudio.export.tiles.stitch_tiles`
- :func:`~ccdstudio.export.crops.export_crops` over :func:`~ccdstudio.export.sampling.random_windows`
  and :func:`~ccdstudio.export.sampling.augment` (also used on the fly by training)
- :func:`~ccdstudio.export.annotations.export_boxes` over :func:`~ccdstudio.export.boxes.find_boxes`
  (COCO JSON, YOLO txt, DS9 regions, preview PNG)
- :func:`~ccdstudio.export.cutouts.export_cutouts`

Submodules are imported on use, so importing this package stays cheap.
"""
