"""``ccdstudio predict``: segment images with a model file, tile by tile, and record what was written."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdstudio.cli._common import add_command, int_range
from ccdstudio.errors import CcdstudioError

if TYPE_CHECKING:
    from ccdstudio.labels.classes import ClassSet
    from ccdstudio.ml.hot_mask import HotPixelCount

FITS_SUFFIXES = (".fits.gz", ".fit.gz", ".fts.gz", ".fits", ".fit", ".fts", ".fz")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "predict",
        "segment images with a trained model (tiled, any size)",
        """
        Run a model over each FILE (FITS, TIFF, PNG, NPY or a scroll segment folder) in overlapping tiles
        blended without seams, reading only a tile at a time, and write the class map (uint8) as
        DIR/<stem>_labels.fits for FITS input (the input header kept, class names in CLASSn cards) or
        DIR/<stem>_labels.tif otherwise (<stem>_hdu<N> with --hdu N), plus DIR/predictions.json:

          {"model": PATH, "predictions": [{"input": PATH, "labels": PATH, "planes": [N], "mosaic": BOOL,
                                           "classes": [NAMES], "pixels": {NAME: COUNT}, "seconds": S}, ...]}

        A FITS file of several amplifiers (one extension each, placed by DETSEC) is predicted amplifier by
        amplifier, each with its own overscans, and written as one class map of the whole CCD, the way
        the window's "Mosaic (by DETSEC)" shows it; --hdu N predicts one amplifier as it is stored.

        Files that would write the same outputs (frame_0000.fits of two folders) are refused before any
        work; a file that cannot be read or predicted is reported and the others are done (exit status 2
        at the end).

        The model's post-processing steps run on the class map after the network (ccdstudio models show
        lists them); the bundled CCD model's glow_edge step uses a raw plane's serial and parallel
        overscans (BIASSEC, and the rows beyond DATASEC) to place the faint edge of the amplifier glow, so
        predict raw frames rather than trimmed ones where you have them.

        A scroll segment folder with a two-class (ink) model reads a window of as many layers as the model
        has inputs, centred on the segment's estimated surface (--layers to choose it; the model's
        training window is checked and differences are warned about), computes only tiles inside the mask,
        and writes DIR/<segment>_prediction.png (0-255 ink probability, 0 outside the mask) and
        DIR/<segment>_predicted_inklabels.png (0/255 where the probability is at least 0.5).

        --hot-mask corrects CCD class maps with the CCD's hot pixels: masked pixels become hot_pixel and
        the model's other hot_pixel calls cluster, since in one frame a deposit of one or two pixels looks
        exactly like a hot pixel. --hot-mask auto takes the mask from the frames themselves, exposures of
        one CCD (at least 3): the pixels called hot_pixel in at least half of them, written to
        DIR/hot_mask.fits (1 = hot) for later runs; --hot-mask FILE reads such a mask (any image, nonzero
        = hot, the size of the plane predicted).

        --shard I/N takes every N-th file starting at the I-th (0-based), so a job array (SLURM, Dask,
        Ray) splits one file list without coordination; shards writing to one DIR merge their entries into
        predictions.json. --skip-existing leaves files whose labels are already written.
        """,
        """
        ccdstudio predict frame.fits --model ccd.safetensors --out predictions/
        ccdstudio predict frames/*.fits --model ccd.safetensors --out pred/ --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT --skip-existing
        ccdstudio predict series/frame_*.fits --hot-mask auto --out pred/
        ccdstudio predict more/frame_*.fits --hot-mask pred/hot_mask.fits --out pred_more/
        ccdstudio predict segment/ --model ink.safetensors --tile 1024 --overlap 0.5 --device cuda --probabilities
        """,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="images or segment folders")
    parser.add_argument("--model", metavar="NAME|PATH", help="model file or bundled model name (default: the bundled default)")
    parser.add_argument("--out", default=".", metavar="DIR", help="output folder (default: the current folder)")
    parser.add_argument("--hdu", type=int, metavar="N", help="plane to segment, numbered as `ccdstudio info` lists them "
                        "(default: the first image plane, or every amplifier of a multi-amplifier FITS as one mosaic)")
    parser.add_argument("--tile", type=int, metavar="T", help="tile side in pixels (default: the model's)")
    parser.add_argument("--overlap", type=float, metavar="F", help="tile overlap fraction (default: the model's)")
    parser.add_argument("--halo", type=int, metavar="PX",
                        help="pixels dropped at inner tile edges (default: the network's receptive radius, which gives "
                        "the whole-image result, or half the overlap if smaller)")
    parser.add_argument("--batch-size", type=int, metavar="B", help="tiles per forward pass (default: by device)")
    parser.add_argument("--tta", action="store_true", help="average the four flips (4x slower)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--probabilities", action="store_true",
                        help="also write DIR/<stem>_probabilities.tif (float32, one slice per class)")
    parser.add_argument("--layers", type=int_range, metavar="A-B",
                        help="segments: the layer window (0-based; default: as many layers as the model reads, centred "
                        "on each segment's estimated surface)")
    parser.add_argument("--reverse-layers", action="store_true", help="segments: read the layers in reverse z order")
    parser.add_argument("--hot-mask", metavar="FILE|auto",
                        help="CCD frames: correct hot_pixel and cluster with the CCD's hot pixels, from a mask image "
                        "or (auto) from the frames given, exposures of one CCD")
    parser.add_argument("--shard", metavar="I/N", type=_shard, help="process files I, I+N, I+2N, ... (0-based)")
    parser.add_argument("--skip-existing", action="store_true", help="skip files whose labels already exist in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4, got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {text!r}: need 0 <= I < N")
    return index, count


def output_stem(path: Path) -> tuple[str, bool]:
    """The output name stem of an input and whether it is FITS (``frame.fits.gz`` -> ``frame``, True)."""
    name = path.name.rstrip("/") or path.resolve().name
    lower = name.lower()
    for suffix in FITS_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)], True
    return (path.stem if path.is_file() else name), False


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` itself (no lock file is left), so concurrent shards merging their
    entries into its predictions.json do not lose any."""
    try:
        import fcntl
    except ImportError:  # Windows: shards there run one after another anyway
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def record_predictions(folder: Path, model: str, entries: list[dict[str, Any]]) -> Path:
    """Merge ``entries`` into ``folder/predictions.json`` (by input path) and write it atomically."""
    from ccdstudio.io.atomic import write_text

    path = folder / "predictions.json"
    with _locked(folder):
        previous: list[dict[str, Any]] = []
        if path.is_file():
            with contextlib.suppress(ValueError, OSError):
                previous = json.loads(path.read_text(encoding="utf-8")).get("predictions", [])
        fresh = {e["input"] for e in entries}
        merged = [e for e in previous if e.get("input") not in fresh] + entries
        write_text(path, json.dumps({"model": model, "predictions": merged}, indent=2) + "\n", "predictions.json")
    return path


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import require
    from ccdstudio.cli.segment import predict_segment_file
    from ccdstudio.io import open_image
    from ccdstudio.io.segment_window import is_segment
    from ccdstudio.io.write import write_tiff
    from ccdstudio.labels.io import save_labels
    from ccdstudio.labels.stats import pixel_counts
    from ccdstudio.ml.device import choose_device
    from ccdstudio.ml.hot_mask import MIN_FRAMES, HotPixelCount, apply_hot_mask, check_classes, read_hot_mask
    from ccdstudio.ml.modelfile import load_model, resolve_model

    files = [Path(f) for f in args.files]
    stems = _unique_stems(files, args.hdu)
    if args.shard:
        index, count = args.shard
        files = files[index::count]
    out = Path(args.out)
    require(not out.exists() or out.is_dir(), f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    model_path = resolve_model(args.model)
    model = load_model(model_path, choose_device(args.device))
    names = model.info.classes.names
    auto = args.hot_mask == "auto"
    require(not (auto and (args.shard or args.skip_existing)),
            "--hot-mask auto needs the whole series in one run (no --shard or --skip-existing); make the mask "
            "once and pass its file (DIR/hot_mask.fits) to the others")
    require(not auto or len(files) >= MIN_FRAMES,
            f"--hot-mask auto needs at least {MIN_FRAMES} frames of one CCD, got {len(files)}")
    if args.hot_mask:
        check_classes(names)
    counts = HotPixelCount(names) if auto else None
    mask = read_hot_mask(args.hot_mask) if args.hot_mask and not auto else None
    entries, failed = [], []
    for file in files:
        try:
            require(file.exists(), f"no such file or folder: {file}")
            if len(names) == 2 and is_segment(file):  # an ink model over a whole segment
                require(not args.hot_mask, "--hot-mask is for CCD frames, not scroll segments")
                require(not args.probabilities, "--probabilities is for images: a segment's ink probability is "
                        "written as <segment>_prediction.png (0-255)")
                entry = predict_segment_file(model, file, out, args)
                entries += [entry] if entry else []
                continue
            is_fits = output_stem(file)[1]
            labels_path = out / f"{stems[file]}_labels.{'fits' if is_fits else 'tif'}"
            if args.skip_existing and labels_path.is_file():
                print(f"skipping {file}: {labels_path} exists", file=sys.stderr)
                continue
            started = time.perf_counter()
            with open_image(file) as source:
                labels, probabilities, planes, mosaic = _predict_file(model, source, file, args)
                header = None
                if is_fits:
                    header = source.metadata.get("primary_header") if mosaic else source.planes[planes[0]].header
        except (CcdstudioError, OSError) as error:  # one bad file of a batch: say which, go on with the others
            if len(files) == 1:
                raise
            failed.append(file)
            reason = error if isinstance(error, CcdstudioError) else error.strerror or error
            print(f"ccdstudio predict: error: {file}: {reason}", file=sys.stderr)
            continue
        if mask is not None:
            apply_hot_mask(labels, mask, names)
        if counts is not None:
            counts.add(labels)
        save_labels(labels_path, labels, model.info.classes, header=header)
        if probabilities is not None:
            write_tiff(out / f"{stems[file]}_probabilities.tif", probabilities, {"Labels": names})
        pixels = pixel_counts(labels, len(names))
        entries.append({"input": str(file), "labels": str(labels_path), "planes": planes, "mosaic": mosaic,
                        "classes": names, "pixels": {name: int(pixels[i]) for i, name in enumerate(names)},
                        "seconds": round(time.perf_counter() - started, 3)})
        print(f"{file} -> {labels_path} ({entries[-1]['seconds']:.1f} s)")
    if counts is not None and counts.frames >= MIN_FRAMES:
        correct_series(counts, out, entries, model.info.classes)
    if entries:
        record_predictions(out, str(model_path), entries)
    require(not failed, f"{len(failed)} of {len(files)} files could not be predicted (above)"
            + ("" if counts is None or counts.frames >= MIN_FRAMES else
               f"; the others were written without a hot-pixel mask: {counts.frames} frames are too few for one"))
    return 0


def _predict_file(model: Any, source: Any, file: Path, args: argparse.Namespace) -> tuple[Any, Any, list[int], bool]:
    """``(labels, probabilities or None, planes read, whether a mosaic)`` of one opened file: a multi-amplifier
    FITS (without --hdu) amplifier by amplifier, each with its own overscans, assembled by DETSEC."""
    from ccdstudio.cli._common import run_job
    from ccdstudio.io.ccd import has_mosaic
    from ccdstudio.ml.infer import choose_planes, predict, predict_mosaic

    options = dict(tile=args.tile, overlap=args.overlap, halo=args.halo, batch_size=args.batch_size, tta=args.tta,
                   probabilities=args.probabilities)
    mosaic = args.hdu is None and model.info.in_channels == 1 and has_mosaic(source)
    if mosaic:
        job = predict_mosaic(model, source, **options)
    else:
        job = predict(model, source, planes=choose_planes(source, model.info.in_channels, args.hdu,
                                                           model.info.training.get("planes")), **options)
    result = run_job(job, quiet=args.quiet)
    if not args.quiet:
        print(f"{file}: planes {result.planes}" + (", assembled by DETSEC" if mosaic else ""), file=sys.stderr)
    return result.labels, result.probabilities, result.planes, mosaic


def _unique_stems(files: list[Path], hdu: int | None) -> dict[Path, str]:
    """Each file's output name stem (``frame_0001``, ``frame_0001_hdu2`` with --hdu 2); raises when two
    files would write the same outputs."""
    stems: dict[Path, str] = {}
    first: dict[str, Path] = {}
    for file in files:
        stem = output_stem(file)[0] + ("" if hdu is None else f"_hdu{hdu}")
        if stem in first and first[stem] != file:
            raise CcdstudioError(f"{first[stem]} and {file} would both be written as {stem}_...: predict them "
                                 "into separate --out folders")
        first.setdefault(stem, file)
        stems[file] = stem
    return stems


def correct_series(counts: HotPixelCount, out: Path, entries: list[dict[str, Any]], classes: ClassSet) -> None:
    """Write the series' hot-pixel mask to ``out/hot_mask.fits`` and correct its written class maps with it
    (and their entries' pixel counts)."""
    import numpy as np

    from ccdstudio.io.write import write_fits
    from ccdstudio.labels import fits_labels
    from ccdstudio.labels.io import label_format, load_labels, save_labels
    from ccdstudio.labels.stats import pixel_counts
    from ccdstudio.ml.hot_mask import MIN_SHARE, apply_hot_mask

    mask = counts.mask()
    path = out / "hot_mask.fits"
    write_fits(path, mask.astype(np.uint8), {"NFRAMES": (counts.frames, "frames the mask was made from"),
                                             "MINSHARE": (MIN_SHARE, "share of them calling a pixel hot")})
    changed = 0
    for entry in entries:
        labels_path = Path(entry["labels"])
        labels, _ = load_labels(labels_path)
        header = fits_labels.read_header(labels_path) if label_format(labels_path) == "fits" else None
        changed += apply_hot_mask(labels, mask, classes.names)
        save_labels(labels_path, labels, classes, header=header)
        counts_now = pixel_counts(labels, len(classes.names))
        entry["pixels"] = {name: int(counts_now[i]) for i, name in enumerate(classes.names)}
    print(f"hot-pixel mask from {counts.frames} frames: {int(mask.sum())} pixels -> {path}; "
          f"{changed} pixels of the class maps changed")
