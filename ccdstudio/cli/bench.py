"""``ccdstudio bench``: measure this machine's figures against baselines run in the same process."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from ccdstudio.cli._common import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "bench",
        "measure speed and memory figures against same-run baselines",
        """
        Measure the figures the issues ask for (I/O, display, particles, labels, inference, training) on
        this machine. Each figure is printed next to a baseline measured in the same run, and the ratio
        between them is what to compare across machines.
        """,
        """
        ccdstudio bench                     # every group, full-size inputs
        ccdstudio bench --quick             # smaller inputs, a smoke test
        ccdstudio bench io display --json bench.json
        """,
    )
    parser.add_argument("groups", nargs="*", help="groups to run (default: all); see --list")
    parser.add_argument("--quick", action="store_true", help="small inputs, for a quick check")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ccdstudio import bench
    from ccdstudio.cli._common import require

    if args.list:
        print("\n".join(bench.groups()))
        return 0
    unknown = sorted(set(args.groups) - set(bench.groups()))
    require(not unknown, f"unknown benchmark group(s) {', '.join(unknown)}; choose from {', '.join(bench.groups())}")
    figures = []
    for figure in bench.run(args.groups or None, quick=args.quick):
        figures.append(figure)
        print(f"  measured {figure.group}: {figure.name}", file=sys.stderr, flush=True)
    print(bench.format_table(figures))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([asdict(f) | {"speedup": f.speedup} for f in figures], handle, indent=2)
    return 0
