"""``ccdstudio simulate``: synthetic CCD frames with truth labels, synthetic scroll segments, the demo data."""

from __future__ import annotations

import argparse

from ccdstudio.cli._common import add_command, int_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "simulate",
        "make synthetic CCD frames with exact truth labels, or synthetic scroll segments",
        """
        ccd      physics-based CCD frames (pedestal drift, read noise, dark current, glow, hot pixels and
                 columns, charge-transfer inefficiency; point-like hits, muon and electron tracks, alpha
                 blobs and measured DAMIC clusters) with their truth label maps, made by construction:
                 hot_pixel where a defect adds charge (its readout trail where that is >= 1 sigma),
                 cluster where the cluster charge is >= 2 sigma of the read noise, glowing where the
                 glow is >= 3 sigma. Writes frame_NNNN.fits, frame_NNNN_labels.fits and
                 frame_NNNN_clusters.json.
        segment  a papyrus-like segment folder (layers/NN.tif, mask.png, inklabels.png), written a block
                 of rows at a time so any size fits in memory.
        demo     regenerate the shipped demo data.
        """,
        """
        ccdstudio simulate ccd --out sims --count 100 --size 4096 --seed 1
        ccdstudio simulate ccd --out sims --height 2048 --width 1024 --noise 2-8 --kinds --amplifiers 2
        ccdstudio simulate ccd --out raw --count 4 --size 1024 --overscan 64 --overscan-rows 32
        ccdstudio simulate ccd --out series --count 10 --size 1024 --same-ccd --overscan 64 --overscan-rows 32
        ccdstudio simulate ccd --out train --count 40 --size 1024 --seed 1000 --no-hot-trails  # ccd-unet-v1 data
        ccdstudio simulate segment --out fake_segment --layers 65 --height 10000 --width 8000
        ccdstudio simulate demo --out demo_data
        """,
    )
    actions = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    ccd = add_command(actions, "ccd", "CCD frames with truth labels",
                      "Write random physics-based CCD frames, their label maps and cluster lists.", """
        ccdstudio simulate ccd --out sims --count 100 --size 4096 --seed 1
        ccdstudio simulate ccd --out sims --height 2048 --width 1024 --noise 2-8 --kinds --amplifiers 2
        ccdstudio simulate ccd --out series --count 10 --size 1024 --same-ccd --overscan 64 --overscan-rows 32
        """)
    ccd.add_argument("--out", required=True, help="output folder")
    ccd.add_argument("--count", type=int, default=1, help="number of frames (default 1)")
    ccd.add_argument("--size", type=int, default=1024, help="square frame side in pixels (default 1024)")
    ccd.add_argument("--height", type=int, help="frame height (overrides --size)")
    ccd.add_argument("--width", type=int, help="frame width (overrides --size)")
    ccd.add_argument("--seed", type=int, default=0, help="seed; frame i depends only on (seed, i)")
    ccd.add_argument("--noise", type=int_range, default=(2, 30), metavar="LO-HI",
                     help="range of single-sample read noise in ADU (default 2-30)")
    ccd.add_argument("--kinds", action="store_true",
                     help="label clusters by kind (point, muon, electron, alpha, template)")
    ccd.add_argument("--amplifiers", type=int, choices=(1, 2, 4), default=1,
                     help="readout amplifiers; more than one writes one extension each, with overscan")
    ccd.add_argument("--overscan", type=int, metavar="COLUMNS",
                     help="serial overscan columns per amplifier (default 64 with more than one amplifier, "
                          "else none); frames with an overscan are written as raw data: an extension with "
                          "DATASEC and BIASSEC")
    ccd.add_argument("--overscan-rows", type=int, default=0, metavar="ROWS",
                     help="parallel overscan rows per amplifier, read after the last row (default none)")
    ccd.add_argument("--same-ccd", action="store_true",
                     help="every frame an exposure of one CCD: frame 0's parameters, amplifiers and hot "
                          "pixels, rows and columns, with its own clusters, glow, dark charge and noise")
    ccd.add_argument("--no-hot-trails", dest="hot_trails", action="store_false",
                     help="label the charge hot defects trail through transfer inefficiency background, as in "
                          "the frames the bundled model ccd-unet-v1 was trained on")
    _common_flags(ccd)
    ccd.set_defaults(func=_run_ccd)

    segment = add_command(actions, "segment", "a synthetic scroll segment folder",
                          "Write a papyrus-like segment: layers/NN.tif, mask.png, inklabels.png.", """
        ccdstudio simulate segment --out fake_segment --layers 65 --height 10000 --width 8000
        ccdstudio simulate segment --out small --layers 16 --height 1024 --width 800 --seed 2
        """)
    segment.add_argument("--out", required=True, help="output segment folder")
    segment.add_argument("--layers", type=int, default=65, help="number of layers (default 65)")
    segment.add_argument("--height", type=int, default=10000, help="layer height (default 10000)")
    segment.add_argument("--width", type=int, default=8000, help="layer width (default 8000)")
    segment.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    _common_flags(segment)
    segment.set_defaults(func=_run_segment)

    demo = add_command(actions, "demo", "regenerate the demo data",
                       "Write the demo CCD frame, its truth and the demo segment.", """
        ccdstudio simulate demo --out demo_data
        """)
    demo.add_argument("--out", help="output folder (default: the shipped resources/demo)")
    _common_flags(demo)
    demo.set_defaults(func=_run_demo)


def _common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json-lines", action="store_true", help="print progress as JSON lines")


def _run_ccd(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import require, run_job
    from ccdstudio.simulate.ccd_files import simulate_frames

    height = args.height or args.size
    width = args.width or args.size
    require(height >= 4 and width >= 4, f"a frame needs at least 4 x 4 pixels, not {height} x {width}")
    require(args.count >= 1, "--count must be at least 1")
    require(args.noise[0] > 0, "--noise must be positive")
    require(min(args.overscan or 0, args.overscan_rows) >= 0, "--overscan and --overscan-rows must not be negative")
    written = run_job(simulate_frames(args.out, args.count, (height, width), seed=args.seed, noise=args.noise,
                                      amplifiers=args.amplifiers, kinds=args.kinds, overscan=args.overscan,
                                      overscan_rows=args.overscan_rows, same_ccd=args.same_ccd,
                                      hot_trails=args.hot_trails),
                      quiet=args.quiet, json_lines=args.json_lines)
    if not args.quiet:
        print(f"wrote {len(written)} frame(s) of {height} x {width} with labels to {args.out}")
    return 0


def _run_segment(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import run_job
    from ccdstudio.simulate.segment import simulate_segment

    out = run_job(simulate_segment(args.out, args.layers, args.height, args.width, seed=args.seed),
                  quiet=args.quiet, json_lines=args.json_lines)
    if not args.quiet:
        print(f"wrote a {args.layers} x {args.height} x {args.width} segment to {out}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from ccdstudio.cli._common import run_job
    from ccdstudio.simulate.demo import write_demo

    out = run_job(write_demo(args.out), quiet=args.quiet, json_lines=args.json_lines)
    if not args.quiet:
        print(f"wrote the demo data to {out}")
    return 0
