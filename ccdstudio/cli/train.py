"""``ccdstudio train``: train a U-Net on labelled images and write one model file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ccdstudio.cli._common import add_command, int_range
from ccdstudio.ml.postprocess import STEPS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "train",
        "train a U-Net on labelled images",
        """
        Train a U-Net segmentation model and write it, with everything inference needs, to one
        .safetensors file (the best epoch by validation loss; the resumable last state goes beside it as
        MODEL.last.safetensors).

        --data takes any mix of:
          IMAGE            an image whose labels lie beside it as <stem>_labels.(fits|tif|png|npy)
          IMAGE:LABELS     an image and its label file
          FOLDER           a scroll segment with inklabels.png, a folder of exported samples
                           (ccdstudio export crops), or a folder of images with <stem>_labels.* files
          PROJECT          a ccdstudio project folder: its images with saved labels, in the project's
                           classes (unless --classes)

        A seeded share of crop-sized cells (--val-split) is held out for validation and never trained on.
        Crops are drawn class-balanced every epoch and flipped/turned. Progress and losses are printed;
        the run ends with the validation classification report.

        --init MODEL fine-tunes: training starts from that model's weights (a bundled model's name, as
        `ccdstudio models list` shows them, or a model file) instead of random ones; typically after
        correcting a few objects of its prediction, for a few epochs at a lower --lr. The model's
        architecture, input channels and normalisation are kept (--model-config may only repeat them; the
        data must have as many channels and be of the model's kind). Classes are matched by name: known
        ones keep their classifier weights in any order, new ones start fresh, and the model's classes
        missing from the data are dropped (--classes ccd keeps them all). The new model records which
        model it started from (name, SHA-256, size). --init starts a new run, so it does not go with
        --resume. --json-events prints one JSON object per
        event instead (how a GUI or script follows a run). The same command runs under
        `torchrun --nproc_per_node=N -m ccdstudio train ...` (distributed data parallel, NCCL on GPUs,
        gloo on CPUs; rank 0 writes). Ctrl-C or SIGTERM (to torchrun, which passes it on) stops every
        rank after the current step and keeps the best model; the command then exits with status 130.
        """,
        """
        ccdstudio train --data frames/ --classes ccd --epochs 40 --out ccd.safetensors
        ccdstudio train --data frames/ --classes ccd --epochs 128 --val-split 0.02 --patience 0 --keep last --out ccd.safetensors
        ccdstudio train --data frames/ --classes ccd --postprocess hot_lines --out ccd.safetensors
        ccdstudio train --data raw-frames/ --classes ccd --pedestal overscan --postprocess glow_edge --out ccd.safetensors
        ccdstudio train --data frames/ --classes ccd --postprocess faint_clusters --out ccd.safetensors
        ccdstudio train --data skipper-frames/ --classes ccd --postprocess dark_counts --out skipper.safetensors
        ccdstudio train --data frames/ --classes ccd --postprocess lone_deposits --out ccd.safetensors
        ccdstudio train --data frames/ --classes ccd --postprocess empty_clusters --out ccd.safetensors
        ccdstudio train --data my-project/ --epochs 40 --out my-project/models/m1.safetensors
        ccdstudio train --data my-project/ --init ccd-unet-v1 --classes ccd --epochs 5 --lr 1e-4 --out my-project/models/m2.safetensors
        ccdstudio train --data corrected/ --init my-project/models/m2.safetensors --epochs 5 --lr 1e-4 --out m3.safetensors
        ccdstudio train --data a.fits:a_truth.fits b.fits --crop 256 --batch-size 16 --device cuda --out m.safetensors
        ccdstudio train --data segment/ --layers 24-39 --classes ink --loss bce+dice --out ink.safetensors
        ccdstudio train --data seg1/ seg2/ --window 16 --classes ink --loss bce+dice --normalization percentile --out ink.safetensors
        ccdstudio train --data crops/ --model-config depth=4,base=32,norm=group --out m.safetensors --json-events
        torchrun --nproc_per_node=4 -m ccdstudio train --data frames/ --out ccd.safetensors
        ccdstudio train --preset ccd-default --out models/ccd-unet-v1.safetensors
        ccdstudio train --preset ink-default --out ink.safetensors
        """,
    )
    parser.add_argument("--data", nargs="+", metavar="PATH", help="training images/folders (see above)")
    parser.add_argument("--preset", metavar="NAME",
                        help="a recipe from ccdstudio.ml.presets (ccd-default: the bundled CCD model; ink-default: "
                        "a small ink model on simulated segments): it simulates its "
                        "data into --cache and sets classes, model and training settings; only --out, --device, "
                        "--workers, --no-amp, --resume, --init and the output options still apply")
    parser.add_argument("--cache", metavar="DIR",
                        help="where a preset keeps its simulated frames (default $CCDSTUDIO_CACHE or ~/.cache/ccdstudio)")
    parser.add_argument("--out", required=True, metavar="MODEL.safetensors", help="the model file to write")
    parser.add_argument("--classes", metavar="NAMES",
                        help="class names in index order, comma-separated, or a preset (ccd, ink); default: the labels' own")
    parser.add_argument("--model-config", metavar="K=V,...|JSON",
                        help="U-Net settings: depth, base, norm (batch|group|instance|none), activation (relu|elu), "
                        "dropout; as k=v pairs, a JSON object or a JSON file (default depth=4,base=32,norm=batch)")
    parser.add_argument("--epochs", type=int, default=50, metavar="N", help="epochs (default 50)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="B", help="crops per step and rank (default 8)")
    parser.add_argument("--crop", type=int, default=256, metavar="S", help="crop side in pixels (default 256)")
    parser.add_argument("--samples-per-epoch", type=int, metavar="N", help="crops per epoch (default: about the data area)")
    parser.add_argument("--val-split", type=float, default=0.2, metavar="F", help="validation share (default 0.2)")
    parser.add_argument("--lr", type=float, default=1e-3, metavar="X", help="learning rate (default 1e-3)")
    parser.add_argument("--optimizer", default="adamw", choices=("adam", "adamw", "adadelta", "sgd"))
    parser.add_argument("--schedule", default="cosine", choices=("cosine", "plateau", "none"), help="learning-rate schedule")
    parser.add_argument("--loss", default="ce+dice", choices=("ce", "dice", "ce+dice", "bce+dice"),
                        help="cross-entropy weighted by inverse class frequency, Dice, both, or BCE+Dice for two classes")
    parser.add_argument("--patience", type=int, default=10, metavar="N",
                        help="stop after N epochs without a better validation loss (0: never)")
    parser.add_argument("--keep", default="best", choices=("best", "last"),
                        help="the model written to --out: the epoch with the lowest validation loss (default), or "
                        "the last one (for a cosine schedule on a small validation set)")
    parser.add_argument("--normalization", default="auto", choices=("auto", "ccd", "percentile", "none"),
                        help="input scaling stored in the model: ccd = (ADU - pedestal) / noise; percentile for "
                        "segments (default auto: ccd for FITS)")
    parser.add_argument("--pedestal", choices=("frame", "dark", "overscan"),
                        help="ccd normalisation of a new model: pedestal and noise of the whole frame (default), of "
                        "its darkest blocks (for frames that glow over most of their area), or row by row from each "
                        "raw frame's serial overscan (BIASSEC; frames without one use the darkest blocks)")
    parser.add_argument("--layers", type=int_range, metavar="A-B", help="planes/layers used as input channels (0-based)")
    parser.add_argument("--window", type=int, metavar="N",
                        help="segments: N layers centred on each segment's estimated surface as input channels "
                        "(default for segments without --layers: 16); stored in the model and checked at inference")
    parser.add_argument("--reverse-layers", action="store_true", help="segments: read the layers in reverse z order")
    parser.add_argument("--tile", type=int, default=512, metavar="T", help="inference tile stored in the model (default 512)")
    parser.add_argument("--overlap", type=float, default=0.5, metavar="F",
                        help="inference overlap stored in the model (default 0.5: with tile 512 and depth 4 tiled "
                        "inference equals a whole-image pass)")
    parser.add_argument("--postprocess", action="append", default=[], choices=tuple(STEPS), metavar="STEP",
                        help="a step stored in the model for prediction to run on its class map (repeatable): "
                        "hot_lines turns hot columns/rows too faint to see pixel by pixel into hot_pixel "
                        "(needs background, hot_pixel and cluster classes and the ccd normalisation); glow_edge "
                        "places the faint edge of amplifier glow on raw frames with serial and parallel overscans "
                        "(needs background and glowing); faint_clusters finds small clusters the network lets go "
                        "by sums of one to nine pixels against the local noise (needs background and cluster); "
                        "dark_counts, on skipper frames that count electrons, makes objects no brighter than the "
                        "dark charge makes by chance background (needs background and cluster); lone_deposits makes "
                        "hot pixels with charge beside them outside the readout's trail cluster, and the trail "
                        "of the others hot_pixel, where it was taken for a cluster too (needs background, "
                        "hot_pixel and cluster); empty_clusters makes cluster objects no brighter than their "
                        "surroundings background or glowing (needs background and cluster)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--workers", type=int, metavar="N", help="data loader processes (default: 0 on CPU, up to 8 on GPU)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the split, crops and weights (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from MODEL.last.safetensors")
    parser.add_argument("--init", metavar="NAME|PATH",
                        help="fine-tune: start from this model's weights (a bundled model's name or a model file); "
                        "its architecture and normalisation are kept, classes matched by name (see above)")
    parser.add_argument("--json-events", action="store_true", help="print events as JSON lines on stdout")
    parser.add_argument("--quiet", action="store_true", help="print only the final report")
    parser.set_defaults(func=_run)


def parse_model_config(text: str | None) -> dict[str, Any]:
    """``depth=4,base=32`` or a JSON object or a JSON file into U-Net settings."""
    from ccdstudio.errors import CcdstudioError

    if not text:
        return {}
    if text.lstrip().startswith("{") or Path(text).is_file():
        try:
            data = json.loads(Path(text).read_text() if Path(text).is_file() else text)
        except json.JSONDecodeError as error:
            raise CcdstudioError(f"--model-config is not valid JSON: {error}") from None
        return dict(data)
    config: dict[str, Any] = {}
    for pair in filter(None, text.split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise CcdstudioError(f"--model-config expects key=value pairs, got {pair!r}")
        try:
            config[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            config[key.strip()] = value.strip()
    return config


def parse_classes(text: str | None):
    """``ccd``/``ink`` presets or comma-separated names into a ClassSet (None when not given)."""
    from ccdstudio.labels.classes import PRESETS, ClassSet

    if not text:
        return None
    if text in PRESETS:
        return ClassSet.preset(text)
    return ClassSet.from_names([name.strip() for name in text.split(",") if name.strip()])


def _run(args: argparse.Namespace) -> int:
    from ccdstudio.errors import CcdstudioError
    from ccdstudio.io.segment_window import is_segment
    from ccdstudio.ml.data import Augmentation, find_pairs, specs_classes
    from ccdstudio.ml.modelfile import read_info, resolve_model
    from ccdstudio.ml.normalize import Normalization
    from ccdstudio.ml.segment_train import SegmentWindows, load_segment_data
    from ccdstudio.ml.train import (
        INIT_AND_RESUME,
        TrainConfig,
        choose_normalization,
        load_data,
    )

    main_rank = int(os.environ.get("RANK", "0")) == 0
    if args.init and args.resume:
        raise CcdstudioError(f"--init and --resume: {INIT_AND_RESUME}")
    if args.preset:
        return _run_preset(args, main_rank)
    if not args.data:
        raise CcdstudioError("give training data with --data, or a --preset")
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, crop=args.crop, samples_per_epoch=args.samples_per_epoch,
        val_split=args.val_split, lr=args.lr, optimizer=args.optimizer, schedule=args.schedule, loss=args.loss,
        patience=args.patience, keep=args.keep, seed=args.seed, device=args.device, amp=not args.no_amp, workers=args.workers,
        tile=args.tile, overlap=args.overlap, postprocess=tuple(args.postprocess), augmentation=Augmentation(),
    )
    architecture = parse_model_config(args.model_config)
    specs = find_pairs(args.data)
    normalization = args.normalization
    if args.pedestal:
        if args.normalization not in ("auto", "ccd") or args.init:
            raise CcdstudioError("--pedestal sets the ccd normalisation of a new model (not with --init or another "
                                 "--normalization)")
        normalization = Normalization("ccd", pedestal=args.pedestal)
    if args.init:  # the init model's own normalisation, checked before any image is read
        init = resolve_model(args.init, option="--init")
        normalization = choose_normalization(specs, normalization, read_info(init).normalization,
                                             f"the init model {args.init}")
    options = {"classes": parse_classes(args.classes) or specs_classes(specs), "normalization": normalization,
               "crop": args.crop, "val_split": args.val_split, "seed": args.seed}
    if args.window or args.reverse_layers or any(is_segment(spec.image) for spec in specs):
        windows = SegmentWindows(count=args.window, layers=args.layers, reverse=args.reverse_layers)
        data = load_segment_data(specs, windows, **options)
    else:
        data = load_data(specs, layers=args.layers, **options)
    return _train(args, data, config, architecture, main_rank)


def _run_preset(args: argparse.Namespace, main_rank: int) -> int:
    """Train a preset: simulate (or reuse) its data, then train with its settings."""
    import dataclasses

    from ccdstudio.cli._common import run_job
    from ccdstudio.ml.presets import get_preset, load_training_data, prepare_data

    preset = get_preset(args.preset)
    config = dataclasses.replace(preset.config, device=args.device, amp=not args.no_amp, workers=args.workers)
    paths = run_job(prepare_data(preset, args.cache), quiet=args.quiet or not main_rank)
    return _train(args, load_training_data(preset, paths), config, preset.architecture, main_rank)


@contextlib.contextmanager
def cancel_on_signals(announce: bool = True) -> Iterator[Any]:
    """A cancel token that SIGINT or SIGTERM sets while the block runs (Ctrl-C, the GUI's Stop, and torchrun,
    which passes either on to every rank), so that training stops after its current step with the best model
    kept. A repeated signal more than two seconds later interrupts at once (sooner, it is the same request
    arriving twice, e.g. from a terminal and a launcher)."""
    from ccdstudio.jobs import CancelToken

    token = CancelToken()
    first: list[float] = []

    def handle(signum: int, frame: Any) -> None:
        now = time.monotonic()
        if first and now - first[0] > 2:
            raise KeyboardInterrupt
        if not first:
            first.append(now)
            token.cancel()
            if announce:
                print(f"\n{signal.Signals(signum).name}: stopping after the current step (the best model is kept); "
                      "send it again to stop at once", file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():  # only the main thread may handle signals
        yield token
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield token
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _train(args: argparse.Namespace, data: Any, config: Any, architecture: dict[str, Any], main_rank: int) -> int:
    from ccdstudio.cli._common import run_job
    from ccdstudio.ml.metrics import format_confusion, format_report
    from ccdstudio.ml.train import train

    if main_rank and not args.json_events and not args.quiet:
        summary = data.summary()
        print(f"training on {len(data.items)} image(s), {data.in_channels} channel(s), classes "
              f"{', '.join(data.classes.names)}; pixels {summary['pixels']}; "
              f"{len(data.validation)} validation window(s)"
              + (f"; starting from {args.init}" if args.init else ""), file=sys.stderr)
    with cancel_on_signals(announce=main_rank and not args.json_events) as cancel:
        result = run_job(train(data, args.out, config, architecture, resume=args.resume, init=args.init,
                               cancel=cancel),
                         quiet=args.quiet or not main_rank, json_lines=args.json_events and main_rank)
    if main_rank and not args.json_events:
        print(f"best epoch {result.best_epoch} (validation loss {result.best_val_loss:.4f}, {result.stopped}); "
              f"model written to {result.model}")
        if result.report:
            print("\nvalidation report (best epoch):")
            print(format_report(result.report, data.classes.names))
        if result.confusion is not None:
            print("\nvalidation confusion matrix (best epoch; rows: truth, columns: prediction)")
            print(format_confusion(result.confusion, data.classes.names))
    return 0
