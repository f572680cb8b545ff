"""Label files: exact round trips in every format, class sets kept, FITS cards kept, the ink convention."""

import errno
import json
import os

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.labels.classes import ClassSet, LabelClass
from ccdstudio.labels.io import (
    label_format,
    load_ink_labels,
    load_labels,
    save_ink_labels,
    save_labels,
    save_labels_extension,
    sidecar_path,
)

FORMATS = ["png", "tif", "tiff", "npy", "fits", "fit", "fits.gz"]


@pytest.fixture
def labels(rng):
    array = rng.integers(0, 4, (37, 53)).astype(np.uint8)
    array[0, 0], array[-1, -1] = 0, 3  # every class present
    return array


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_is_exact(tmp_path, labels, ext):
    classes = ClassSet.preset("ccd")
    path = tmp_path / f"labels.{ext}"
    save_labels(path, labels, classes)
    back, back_classes = load_labels(path)
    assert back.dtype == np.uint8 and back.shape == labels.shape
    np.testing.assert_array_equal(back, labels)
    assert back_classes == classes


@pytest.mark.parametrize("ext", FORMATS)
def test_unusual_class_names_and_many_classes_round_trip(tmp_path, rng, ext):
    names = ["background", "électron", 'quote"and\\slash', "a very long class name " * 4] + [f"c{i}" for i in range(196)]
    classes = ClassSet.from_names(names)
    array = rng.integers(0, 200, (20, 30)).astype(np.uint8)
    path = tmp_path / f"many.{ext}"
    save_labels(path, array, classes)
    back, back_classes = load_labels(path)
    np.testing.assert_array_equal(back, array)
    assert back_classes == classes


def test_png_is_indexed_with_class_colours(tmp_path, labels):
    classes = ClassSet.preset("ccd")
    save_labels(tmp_path / "l.png", labels, classes)
    with Image.open(tmp_path / "l.png") as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(image), labels)
        palette = np.array(image.getpalette()).reshape(-1, 3)
    assert [tuple(p) for p in palette[:4]] == classes.colors
    sidecar = json.loads(sidecar_path(tmp_path / "l.png").read_text())
    assert [c["name"] for c in sidecar["classes"]] == classes.names


def test_png_without_sidecar_keeps_palette_colours(tmp_path, labels):
    classes = ClassSet.preset("ccd")
    save_labels(tmp_path / "l.png", labels, classes)
    sidecar_path(tmp_path / "l.png").unlink()
    back, back_classes = load_labels(tmp_path / "l.png")
    np.testing.assert_array_equal(back, labels)
    assert back_classes.colors == classes.colors
    assert back_classes.names == ["background", "class 1", "class 2", "class 3"]


def test_tiff_holds_classes_and_imagej_colour_map(tmp_path, labels):
    import tifffile

    classes = ClassSet.preset("ccd")
    save_labels(tmp_path / "l.tif", labels, classes)
    sidecar_path(tmp_path / "l.tif").unlink()  # the TIFF alone is enough
    with tifffile.TiffFile(tmp_path / "l.tif") as tif:
        assert tif.is_imagej
        colormap = tif.pages[0].colormap
    assert tuple(int(v) // 257 for v in colormap[:, 3]) == classes.colors[3]
    assert load_labels(tmp_path / "l.tif")[1] == classes


def test_fits_keeps_header_cards_and_writes_class_cards(tmp_path, labels):
    header = fits.Header()
    header["CTYPE1"], header["CRVAL1"], header["CRPIX1"] = "RA---TAN", 150.25, 12.5
    header["EXPTIME"] = (1200.0, "seconds")
    header["BZERO"], header["BUNIT"] = 32768, "ADU"  # the image's scaling must not leak into labels
    header.add_history("taken at SNOLAB")
    save_labels(tmp_path / "l.fits", labels, ClassSet.preset("ccd"), header=header)
    with fits.open(tmp_path / "l.fits") as hdus:
        out = hdus[0].header
        data = hdus[0].data
    assert out["BITPIX"] == 8 and data.dtype == np.uint8
    np.testing.assert_array_equal(data, labels)
    assert out["CTYPE1"] == "RA---TAN" and out["CRVAL1"] == 150.25 and out["CRPIX1"] == 12.5
    assert out["EXPTIME"] == 1200.0 and out.comments["EXPTIME"] == "seconds"
    assert "taken at SNOLAB" in str(out["HISTORY"])
    assert "BZERO" not in out and "BUNIT" not in out
    assert out["CLASS3"] == "cluster" and out["COLOR3"] == "#28c8ff" and out["CLASS0"] == "background"


def test_fits_accepts_a_plain_mapping_header(tmp_path, labels):
    save_labels(tmp_path / "l.fits", labels, ClassSet.preset("ccd"), header={"OBJECT": "dark", "NAXIS": 9})
    assert fits.getheader(tmp_path / "l.fits")["OBJECT"] == "dark"
    assert fits.getheader(tmp_path / "l.fits")["NAXIS"] == 2


def test_label_extension_beside_image(tmp_path, labels, rng):
    image = rng.normal(1000, 3, labels.shape).astype(np.float32)
    header = fits.Header({"CTYPE1": "RA---TAN", "CRVAL1": 10.0, "GAIN": 2.5})
    fits.HDUList([fits.PrimaryHDU(image, header=header), fits.ImageHDU(image * 2, name="SCI2")]).writeto(
        tmp_path / "frame.fits")
    classes = ClassSet.preset("ccd")
    save_labels_extension(tmp_path / "frame.fits", labels, classes)
    save_labels_extension(tmp_path / "frame.fits", 3 - labels, classes)  # replaces, not appends
    with fits.open(tmp_path / "frame.fits") as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "SCI2", "LABELS"]
        np.testing.assert_array_equal(hdus[0].data, image)
        assert hdus[0].header["GAIN"] == 2.5
        np.testing.assert_array_equal(hdus[1].data, image * 2)
        assert hdus["LABELS"].header["CRVAL1"] == 10.0 and hdus["LABELS"].header["CLASS1"] == "glowing"
    back, back_classes = load_labels(tmp_path / "frame.fits")
    np.testing.assert_array_equal(back, 3 - labels)
    assert back_classes == classes


def test_label_extension_beside_integer_data_with_bzero(tmp_path, labels, rng):
    image = rng.integers(1000, 60000, labels.shape).astype(np.uint16)  # stored as int16 + BZERO 32768
    fits.PrimaryHDU(image).writeto(tmp_path / "raw.fits")
    before = fits.getheader(tmp_path / "raw.fits")
    assert before["BZERO"] == 32768
    save_labels_extension(tmp_path / "raw.fits", labels, ClassSet.preset("ccd"))
    with fits.open(tmp_path / "raw.fits") as hdus:
        assert hdus[0].data.dtype == np.uint16 and hdus[0].header["BZERO"] == 32768
        np.testing.assert_array_equal(hdus[0].data, image)
        np.testing.assert_array_equal(hdus["LABELS"].data, labels)


def test_label_extension_needs_an_existing_file(tmp_path, labels):
    with pytest.raises(CcdstudioError, match="no FITS file"):
        save_labels_extension(tmp_path / "missing.fits", labels, ClassSet.preset("ccd"))


def test_files_without_class_info_get_default_classes(tmp_path):
    array = np.array([[0, 1], [5, 2]], np.uint8)
    np.save(tmp_path / "bare.npy", array)
    back, classes = load_labels(tmp_path / "bare.npy")
    np.testing.assert_array_equal(back, array)
    assert classes.names == ["background", "class 1", "class 2", "class 3", "class 4", "class 5"]
    fits.PrimaryHDU(array.astype(np.int16)).writeto(tmp_path / "bare.fits")
    back, classes = load_labels(tmp_path / "bare.fits")
    assert back.dtype == np.uint8 and len(classes) == 6


def test_class_list_shorter_than_data_is_padded(tmp_path):
    array = np.array([[0, 1, 4]], np.uint8)
    np.save(tmp_path / "l.npy", array)
    sidecar_path(tmp_path / "l.npy").write_text(ClassSet.preset("ink").to_json())
    _, classes = load_labels(tmp_path / "l.npy")
    assert classes.names[:2] == ["background", "ink"] and len(classes) == 5


def test_ink_png_0_255_reads_as_ink_preset(tmp_path):
    grey = np.zeros((6, 7), np.uint8)
    grey[2:4, 1:5] = 255
    Image.fromarray(grey).save(tmp_path / "inklabels.png")
    expected = (grey == 255).astype(np.uint8)
    for back, classes in (load_ink_labels(tmp_path / "inklabels.png"), load_labels(tmp_path / "inklabels.png")):
        np.testing.assert_array_equal(back, expected)
        assert classes == ClassSet.preset("ink")
    back, classes = load_labels(tmp_path / "inklabels.png", convention="index")
    assert set(np.unique(back)) == {0, 255} and len(classes) == 256


def test_ink_bilevel_and_rgb_pngs(tmp_path):
    grey = np.zeros((5, 5), np.uint8)
    grey[1, 1:4] = 255
    Image.fromarray(grey).convert("1").save(tmp_path / "bilevel.png")
    Image.fromarray(np.dstack([grey] * 3)).save(tmp_path / "rgb.png")
    for name in ("bilevel.png", "rgb.png"):
        back, classes = load_ink_labels(tmp_path / name)
        np.testing.assert_array_equal(back, grey // 255)
        assert classes.names == ["background", "ink"]


def test_save_ink_labels_writes_0_255_and_reads_back(tmp_path, labels):
    save_labels(tmp_path / "ink.png", labels, ClassSet.preset("ccd"))  # leaves a sidecar to be replaced
    save_ink_labels(tmp_path / "ink.png", labels)
    assert not sidecar_path(tmp_path / "ink.png").exists()
    with Image.open(tmp_path / "ink.png") as image:
        assert image.mode == "L"
        np.testing.assert_array_equal(np.asarray(image), np.where(labels > 0, 255, 0))
    back, classes = load_labels(tmp_path / "ink.png")
    np.testing.assert_array_equal(back, (labels > 0).astype(np.uint8))
    assert classes == ClassSet.preset("ink")


def test_colour_png_maps_through_sidecar(tmp_path, labels):
    classes = ClassSet.preset("ccd")
    Image.fromarray(classes.lut()[labels]).save(tmp_path / "colour.png")
    sidecar_path(tmp_path / "colour.png").write_text(classes.to_json())
    back, back_classes = load_labels(tmp_path / "colour.png")
    np.testing.assert_array_equal(back, labels)
    assert back_classes == classes
    sidecar_path(tmp_path / "colour.png").unlink()
    with pytest.raises(FormatError, match="colour"):
        load_labels(tmp_path / "colour.png")


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 3, 4), np.uint8), "2-D"),
    (np.zeros((3, 3), np.float32), "uint8"),
    (np.full((3, 3), 7, np.uint8), "class 7"),
])
def test_save_rejects_bad_labels(tmp_path, bad, message):
    with pytest.raises(CcdstudioError, match=message):
        save_labels(tmp_path / "l.png", bad, ClassSet.preset("ccd"))
    assert not (tmp_path / "l.png").exists()


def test_unknown_extension_and_missing_file(tmp_path, labels):
    with pytest.raises(CcdstudioError, match="label format"):
        save_labels(tmp_path / "l.jpg", labels, ClassSet.preset("ccd"))
    with pytest.raises(CcdstudioError, match="no label file"):
        load_labels(tmp_path / "missing.png")
    assert label_format("X.FITS.GZ") == "fits" and label_format("a.b.tiff") == "tiff"


@pytest.mark.parametrize("ext", ["png", "tif", "npy", "fits"])
def test_corrupt_and_truncated_files_raise_format_error(tmp_path, labels, ext):
    path = tmp_path / f"l.{ext}"
    save_labels(path, labels, ClassSet.preset("ccd"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        load_labels(path)
    path.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(FormatError):
        load_labels(path)


def test_non_integer_values_are_rejected(tmp_path):
    np.save(tmp_path / "f.npy", np.array([[0.5, 1.0]]))
    with pytest.raises(FormatError, match="class indices"):
        load_labels(tmp_path / "f.npy")


def test_write_under_a_file_raises_clear_error(tmp_path, labels):
    (tmp_path / "afile").write_text("x")
    for ext in ("png", "fits"):
        with pytest.raises(CcdstudioError, match="could not save labels"):
            save_labels(tmp_path / "afile" / f"l.{ext}", labels, ClassSet.preset("ccd"))


@pytest.mark.parametrize("ext", ["png", "tif", "npy", "fits"])
def test_full_disk_leaves_previous_file_intact(tmp_path, labels, monkeypatch, ext):
    path = tmp_path / f"l.{ext}"
    classes = ClassSet.preset("ccd")
    save_labels(path, labels, classes)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(CcdstudioError, match="disk is full"):
        save_labels(path, 3 - labels, classes)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name] + (
        [] if ext == "fits" else [sidecar_path(path).name]))  # no temporary files left behind


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_raises_clear_error(tmp_path, labels):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(CcdstudioError, match="permission"):
            save_labels(folder / "l.png", labels, ClassSet.preset("ccd"))
    finally:
        folder.chmod(0o755)


def test_classes_helpers_return_new_sets():
    ccd = ClassSet.preset("ccd")
    assert ccd.renamed("cluster", "track").names[3] == "track" and ccd.names[3] == "cluster"
    assert ccd.recolored(1, (1, 2, 3))[1] == LabelClass("glowing", (1, 2, 3))
    assert ccd.added("muon").names == [*ccd.names, "muon"]
    assert len(ccd.padded(6)) == 6 and ccd.padded(2) == ccd
    with pytest.raises(CcdstudioError):
        ccd.renamed(9, "x")
    with pytest.raises(CcdstudioError):
        ccd.added("cluster")
