"""Simulated frames on disk: FITS cards, amplifier sections, integer storage, labels and cluster lists."""

import numpy as np
import pytest
from astropy.io import fits

from ccdstudio.io.ccd import parse_section
from ccdstudio.jobs import run
from ccdstudio.labels.io import load_labels
from ccdstudio.simulate.ccd import simulate_ccd
from ccdstudio.simulate.ccd_files import (
    draw_frame,
    fits_section,
    frame_paths,
    raw_plane,
    read_clusters,
    simulate_frames,
    write_frame,
)
from ccdstudio.simulate.params import FITS_KEYWORDS, CCDParams, params_from_header


def test_single_amplifier_frame_round_trip(tmp_path, rng):
    params = CCDParams(read_noise=1.0, point_density=5000.0)  # noise below 2 ADU: kept as float32
    frame = simulate_ccd((48, 64), params, rng)
    image, labels, clusters = frame_paths(tmp_path, 3)
    assert (image.name, labels.name, clusters.name) == ("frame_0003.fits", "frame_0003_labels.fits",
                                                        "frame_0003_clusters.json")
    write_frame(frame, image, labels, clusters, extra_cards=[("SIMSEED", 42, "seed")])
    with fits.open(image) as hdus:
        assert len(hdus) == 1 and hdus[0].data.dtype == np.dtype(">f4")
        header = hdus[0].header
        assert np.array_equal(hdus[0].data, frame.image)
    for name, (key, _) in FITS_KEYWORDS.items():
        assert header[key] == getattr(params, name), key
        assert header.comments[key]
    assert header["RDNOISE"] == pytest.approx(1.0) and header["SIMSEED"] == 42 and header["BUNIT"] == "ADU"
    assert params_from_header(header) == params
    del header["HOTTRSIG"]  # written before hot defects' trails were labelled
    assert params_from_header(header) == params.replace(hot_trail_sigma=0.0)
    read_labels, classes = load_labels(labels)
    assert np.array_equal(read_labels, frame.labels) and classes == frame.classes
    listed = read_clusters(clusters)
    assert [c["id"] for c in listed] == [c.id for c in frame.clusters]
    assert listed and all(set(c) >= {"id", "kind", "electrons", "adu", "bbox", "n_pixels"} for c in listed)


def test_noisy_frames_are_stored_as_uint16_with_bzero(tmp_path, rng):
    frame = simulate_ccd((32, 32), CCDParams(read_noise=10.0, pedestal=1000.0), rng)
    write_frame(frame, tmp_path / "f.fits")
    with fits.open(tmp_path / "f.fits") as hdus:
        assert hdus[0].header["BITPIX"] == 16 and hdus[0].header["BZERO"] == 32768
        assert np.array_equal(hdus[0].data, np.clip(np.rint(frame.image), 0, 65535).astype(np.uint16))


def test_fits_sections_are_one_based_and_x_first():
    assert fits_section((0, 99), (0, 49)) == "[1:50,1:100]"
    assert fits_section((0, 9), (49, 0)) == "[50:1,1:10]"


@pytest.mark.parametrize("amplifiers", [2, 4])
def test_amplifier_extensions_assemble_into_the_frame(tmp_path, rng, amplifiers):
    params = CCDParams(amplifiers=amplifiers, overscan=8, read_noise=1.0)
    frame = simulate_ccd((40, 60), params, rng)
    write_frame(frame, tmp_path / "raw.fits")
    assembled = np.full((40, 60), np.nan, np.float32)
    with fits.open(tmp_path / "raw.fits") as hdus:
        assert hdus[0].data is None and len(hdus) == amplifiers + 1
        assert hdus[0].header["NAMPS"] == amplifiers
        for hdu, amp in zip(hdus[1:], frame.amplifiers):
            header = hdu.header
            assert hdu.name == amp.name and hdu.data.shape == (amp.shape[0], amp.shape[1] + 8)
            data = hdu.data[parse_section(header["DATASEC"])]
            bias = hdu.data[parse_section(header["BIASSEC"])]
            assert bias.shape == (amp.shape[0], 8)
            assert np.median(bias) == pytest.approx(header["PEDESTAL"], abs=3 * header["RDNOISE"])
            # DETSEC with a reversed range means the amplifier reads that axis backwards.
            x1, x2 = (int(v) for v in header["DETSEC"][1:-1].split(",")[0].split(":"))
            y1, y2 = (int(v) for v in header["DETSEC"][1:-1].split(",")[1].split(":"))
            assembled[parse_section(header["DETSEC"])] = data[:: 1 if y1 <= y2 else -1, :: 1 if x1 <= x2 else -1]
    assert np.array_equal(assembled, frame.image)


def test_frame_series_is_repeatable_and_independent_of_count(tmp_path):
    first = run(simulate_frames(tmp_path / "a", 2, (32, 40), seed=5, noise=(3, 6), kinds=True))
    again = run(simulate_frames(tmp_path / "b", 1, (32, 40), seed=5, noise=(3, 6), kinds=True))
    assert [p.name for p in first] == ["frame_0000.fits", "frame_0001.fits"]
    with fits.open(first[0]) as one, fits.open(again[0]) as two:
        assert np.array_equal(one[0].data, two[0].data)
        assert 3 <= one[0].header["RDNOISE1"] <= 6 and one[0].header["SIMINDEX"] == 0
    _, classes = load_labels(tmp_path / "a" / "frame_0001_labels.fits")
    assert "muon" in classes.names


def test_a_series_of_one_ccd_shares_its_defects_and_not_its_clusters():
    frames = [draw_frame((128, 160), 11, i, same_ccd=True) for i in range(3)]
    hot = [f.labels == 2 for f in frames]
    assert hot[0].any() and all(np.array_equal(h, hot[0]) for h in hot)
    assert all(f.params == frames[0].params for f in frames)
    assert [a.gain for a in frames[2].amplifiers] == [a.gain for a in frames[0].amplifiers]
    assert not np.array_equal(frames[1].cluster_ids > 0, frames[2].cluster_ids > 0)
    apart = [draw_frame((128, 160), 11, i) for i in range(2)]
    assert not np.array_equal(apart[0].labels == 2, apart[1].labels == 2)
    assert np.array_equal(apart[1].image, draw_frame((128, 160), 11, 1).image)  # repeatable


def test_the_app_assembles_amplifiers_onto_the_label_grid(tmp_path, rng):
    from ccdstudio.io.ccd import MosaicSource
    from ccdstudio.io.open import open_image

    frame = simulate_ccd((36, 52), CCDParams(amplifiers=4, overscan=6, read_noise=1.0), rng)
    write_frame(frame, tmp_path / "raw.fits", tmp_path / "labels.fits")
    with open_image(tmp_path / "raw.fits") as source:
        mosaic = MosaicSource(source)
        assert np.array_equal(mosaic.read(0), frame.image)
        assert mosaic.planes[0].shape == load_labels(tmp_path / "labels.fits")[0].shape


def test_raw_plane_is_the_stored_plane_with_its_header():
    rng = np.random.default_rng(4)
    raw = simulate_ccd((40, 30), CCDParams(overscan=8, overscan_rows=4), rng)
    data, header = raw_plane(raw)
    assert data.shape == (44, 38) and header["DATASEC"] == "[1:30,1:40]" and header["NAXIS1"] == 38
    trimmed = simulate_ccd((40, 30), CCDParams(), rng)
    data, header = raw_plane(trimmed, integer=False)
    np.testing.assert_array_equal(data, trimmed.image)
    assert header == {"NAXIS1": 30, "NAXIS2": 40}
