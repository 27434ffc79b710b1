"""Do the book's verdicts survive another numeric path and other seeds?

    python -m tools.robustness [--jobs 2] [book/02_sequences.ipynb ...]

Re-executes every notebook (or the ones named) in temporary copies of the book, twice:

- **numeric**: on another numeric path (ATen's plain kernels, MKL's SSE branch, oneDNN
  capped at SSE4.1) instead of the pinned AVX2 one, so every sum rounds differently;
- **reseeded**: with every seed shifted by ``SCRATCH_SEED_OFFSET`` (1000), which
  ``scratch.utils.seed_all``, ``generator``, ``numpy_rng`` and ``shifted`` honour.

It compares only the verdict of every claim (not the numbers) with the one in the
committed notebook, prints a table (claim, notebook, committed, numeric, reseeded) and
exits 1 on any difference, on a verdict that appears or disappears, or on a notebook
that fails to run. The committed notebooks are never written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

#: variant name -> the environment it runs under (on top of the caller's).
VARIANTS: dict[str, dict[str, str]] = {
    "numeric": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "MKL_CBWR": "COMPATIBLE",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
    },
    "reseeded": {"SCRATCH_SEED_OFFSET": "1000"},
}
# What the pinned path would set; a variant replaces these, so none may leak in from outside.
_CLEARED = (
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR",
    "ONEDNN_MAX_CPU_ISA",
    "SCRATCH_SEED_OFFSET",
)


def verdicts_of(path: Path) -> list[tuple[str, str]]:
    """``[(claim, verdict), ...]`` in the order the notebook printed them."""
    from scratch.evidence import _notebook_text, parse

    return [(claim, status) for claim, status, _ in parse(_notebook_text(path))]


def _copy_book(dest: Path) -> Path:
    """A throw-away copy of the book next to links to what the chapters read (``../src``,
    ``../experiments``): the chapters see the same relative paths as in the repository."""
    shutil.copytree(BOOK, dest / "book", ignore=shutil.ignore_patterns("_build", ".ipynb_*"))
    for name in ("src", "experiments", "_config.yml", "_toc.yml"):
        (dest / name).symlink_to(ROOT / name)
    return dest / "book"


def _execute(job: tuple[str, str, int]) -> tuple[str, str, list[tuple[str, str]] | str, float]:
    """Run one notebook under one variant in a fresh copy; its verdicts, or the error."""
    variant, name, timeout = job
    import nbformat
    from nbclient import NotebookClient

    for key in _CLEARED:
        os.environ.pop(key, None)
    os.environ.update(VARIANTS[variant])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"robustness-{variant}-") as tmp:
        book = _copy_book(Path(tmp))
        path = book / name
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(book)}},
            ).execute()
        except Exception as error:  # a failing cell is a result to report, not a crash
            summary = str(error).strip().splitlines()
            return variant, name, f"failed: {summary[-1] if summary else type(error).__name__}", 0.0
        nbformat.write(nb, path)
        return variant, name, verdicts_of(path), time.perf_counter() - start


def _occurrences(verdicts: list[tuple[str, str]]) -> list[tuple[str, int]]:
    """``(claim, k)`` for the k-th verdict a notebook printed for that claim: a claim added
    or removed elsewhere in the notebook does not shift the others."""
    seen: dict[str, int] = {}
    keys = []
    for claim, _ in verdicts:
        keys.append((claim, seen.get(claim, 0)))
        seen[claim] = seen.get(claim, 0) + 1
    return keys


def _by_occurrence(verdicts: list[tuple[str, str]]) -> dict[tuple[str, int], str]:
    return {key: status for key, (_, status) in zip(_occurrences(verdicts), verdicts)}


def compare(
    committed: dict[str, list[tuple[str, str]]],
    runs: dict[tuple[str, str], list[tuple[str, str]] | str],
) -> tuple[list[list[str]], list[str]]:
    """The table rows and the list of differences."""
    rows, problems = [], []
    for name, expected in committed.items():
        got = {v: runs[v, name] for v in VARIANTS}
        for v, result in got.items():
            if isinstance(result, str):
                problems.append(f"{name} ({v}): {result}")
            elif [c for c, _ in result] != [c for c, _ in expected]:
                problems.append(
                    f"{name} ({v}): printed claims {[c for c, _ in result]} instead of "
                    f"{[c for c, _ in expected]}"
                )
        by_claim = {v: _by_occurrence(r) for v, r in got.items() if not isinstance(r, str)}
        for key, (claim, status) in zip(_occurrences(expected), expected):
            cells = []
            for v in VARIANTS:
                result = got[v]
                other = by_claim[v].get(key, "-") if v in by_claim else "-"
                cells.append(other)
                if other != status and not isinstance(result, str):
                    problems.append(f"{claim} in {name}: committed '{status}', {v} '{other}'")
            rows.append([claim, Path(name).stem, status, *cells])
    return rows, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in book/")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    args = parser.parse_args(argv)

    names = [Path(n).name for n in args.notebooks] or sorted(p.name for p in BOOK.glob("*.ipynb"))
    committed = {name: verdicts_of(BOOK / name) for name in names}
    jobs = [(v, name, args.timeout) for name in names for v in VARIANTS]
    start = time.perf_counter()
    runs: dict[tuple[str, str], list[tuple[str, str]] | str] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for variant, name, result, seconds in pool.map(_execute, jobs):
            runs[variant, name] = result
            note = result if isinstance(result, str) else f"{len(result)} verdicts"
            print(f"{name} ({variant}): {note}, {seconds:.0f} s", flush=True)

    rows, problems = compare(committed, runs)
    header = ["claim", "notebook", "committed", *VARIANTS]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print(
        f"\n{len(rows)} verdicts in {len(names)} notebooks, 2 variants, "
        f"{time.perf_counter() - start:.0f} s"
    )
    failed = len(problems)
    if problems:
        print(f"\n{failed} difference(s):")
        for p in problems:
            print(f"  {p}")
    else:
        print("every verdict is the same on the other numeric path and with other seeds")
    print(f"robustness: {2 * len(rows) - min(failed, 2 * len(rows))} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
