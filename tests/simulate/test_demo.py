"""The shipped demo data exists, is what :func:`write_demo` makes, and shows what it promises."""

import json

import numpy as np
import tifffile
from astropy.io import fits

from ccdstudio.jobs import run
from ccdstudio.labels.io import load_labels
from ccdstudio.paths import resource
from ccdstudio.simulate.ccd import CLUSTER, GLOWING, HOT_PIXEL
from ccdstudio.simulate.demo import write_demo


def test_shipped_demo_is_what_write_demo_makes(tmp_path):
    out = run(write_demo(tmp_path))
    shipped = resource("demo")
    with fits.open(out / "ccd_demo.fits") as new, fits.open(shipped / "ccd_demo.fits") as old:
        assert len(new) == len(old) == 3
        for a, b in zip(new[1:], old[1:]):
            assert np.array_equal(a.data, b.data) and a.header["DETSEC"] == b.header["DETSEC"]
    new_labels, old_labels = (load_labels(folder / "ccd_demo_labels.fits")[0] for folder in (out, shipped))
    assert np.array_equal(new_labels, old_labels)
    for name in ("layers/00.tif", "layers/11.tif", "mask.png", "inklabels.png"):
        assert (out / "segment_demo" / name).read_bytes() == (shipped / "segment_demo" / name).read_bytes()


def test_demo_frame_shows_every_feature():
    path = resource("demo")
    with fits.open(path / "ccd_demo.fits") as hdus:
        assert [h.name for h in hdus[1:]] == ["L", "R"]
        assert hdus[1].header["BITPIX"] == 16 and "BIASSEC" in hdus[1].header
    labels, classes = load_labels(path / "ccd_demo_labels.fits")
    assert classes.names == ["background", "glowing", "hot_pixel", "cluster"]
    counts = np.bincount(labels.ravel(), minlength=4)
    assert counts[GLOWING] > 1000 and counts[HOT_PIXEL] > 100 and counts[CLUSTER] > 1000
    kinds = {c["kind"] for c in json.loads((path / "ccd_demo_clusters.json").read_text())["clusters"]}
    assert kinds == {"point", "muon", "electron", "alpha", "template"}
    layers = sorted((path / "segment_demo" / "layers").iterdir())
    assert len(layers) == 12 and tifffile.imread(layers[0]).shape == (256, 384)
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert total < 8e6
