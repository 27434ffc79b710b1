"""Command line: ``python -m experiments NAME --scale {smoke,cpu,full} [--device ...]`` or
``python -m experiments list``."""

from __future__ import annotations

import argparse
import sys

from . import registry
from .runner import SCALES, ExperimentError, rejudge, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiments",
        description="Run an experiment of the book (resumable; results, provenance, "
        "verdicts and figures under experiments/results/NAME/SCALE/).",
    )
    parser.add_argument("name", help="an experiment name, or 'list' to list them")
    parser.add_argument(
        "--scale",
        choices=SCALES,
        default="smoke",
        help="smoke: seconds, tests the code; cpu: the protocol cut to fit a 2-core CPU "
        "(where the experiment has one); full: the protocol as specified (a GPU)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--out", help="results folder (default experiments/results/NAME/SCALE)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default: the config's)")
    parser.add_argument("--force", action="store_true", help="delete earlier results first")
    parser.add_argument("--threads", type=int, help="torch intra-op threads")
    parser.add_argument("--max-units", type=int, help="stop after this many configurations")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--rejudge",
        action="store_true",
        help="recompute verdicts.txt of a finished run from its CSV with the current rules",
    )
    return parser


def _list() -> int:
    for name in registry.names():
        exp = registry.get(name)
        claims = " ".join(exp.claims) or "(benchmark)"
        print(f"{name:22s} {claims:28s} {exp.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.name == "list":
        return _list()
    if args.rejudge:
        try:
            lines = rejudge(registry.get(args.name), args.scale, args.out)
        except ExperimentError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print("\n".join(lines))
        return 0
    try:
        result = run(
            registry.get(args.name),
            scale=args.scale,
            device=args.device,
            out=args.out,
            seeds=args.seeds,
            force=args.force,
            max_units=args.max_units,
            progress=not args.no_progress,
            threads=args.threads,
        )
    except ExperimentError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in result.verdicts:
        print(line)
    state = "complete" if result.complete else "partial (rerun to resume)"
    print(f"{args.name} ({args.scale}): {state}; results in {result.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
