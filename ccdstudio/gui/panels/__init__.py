"""The docks around the viewer: display settings, CCD sections and gain, pixel values, header, overlays."""
