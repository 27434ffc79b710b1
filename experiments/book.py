"""What the experiments chapter (``book/E_experiments.ipynb``) uses to find and show the
committed results: which run of an experiment to show, where it came from, its figures,
its verdicts and its stored tables.

Nothing here runs an experiment; everything reads ``experiments/results/NAME/SCALE/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

from . import runner

#: Where ``python -m experiments`` writes by default, one folder per experiment and scale.
RESULTS = Path(__file__).resolve().parent / "results"

#: The folders the chapter looks in, best first: the full run (on whatever device it ran;
#: its provenance says which), else the cut-down cpu run, else the smoke run. They are the
#: runner's scales, whose default folders they are.
SCALES = tuple(reversed(runner.SCALES))

#: Width in pixels at which the chapter shows every figure.
FIGURE_WIDTH = 720


def run_dir(name: str, results: Path = RESULTS) -> Path | None:
    """The folder holding the committed run of experiment ``name`` that the chapter shows:
    the first of :data:`SCALES` with a ``provenance.json``, or ``None`` if there is none."""
    for scale in SCALES:
        path = Path(results) / name / scale
        if (path / "provenance.json").exists():
            return path
    return None


def read_provenance(path: Path) -> dict:
    """The provenance record of the run in ``path``, as a dict.

    Raises :class:`FileNotFoundError` naming the folder and the command that writes the
    record when ``path`` holds no ``provenance.json``.
    """
    record = Path(path) / "provenance.json"
    if not record.exists():
        raise FileNotFoundError(
            f"no provenance.json in {path}: this folder holds no finished or partial run; "
            f"write one with `python -m experiments {Path(path).parent.name} "
            f"--scale {Path(path).name}`"
        )
    return json.loads(record.read_text(encoding="utf-8"))


def provenance(path: Path) -> str:
    """Two lines saying where the run in ``path`` came from (folder, scale, device,
    versions, commit, date, seeds, wall time) and the command that reproduces it."""
    p = read_provenance(path)
    device = p["device_name"] + (" GPU" if p["device"] == "cuda" else " CPU")
    status = "" if p.get("status") == "complete" else f", status {p.get('status')}"
    folder = f"experiments/results/{p['experiment']}/{Path(path).name}"
    out = "" if Path(path).name == p["scale"] else f" --out {folder}"  # a non-default folder
    dirty = " with uncommitted changes" if p.get("git_dirty") else ""
    return (
        f"Source: {folder}/ ({p['scale']} scale{status}); "
        f"{device}, torch {p['torch_version']}, CUDA {p['cuda_version'] or 'none'}; "
        f"commit {p['git_commit'][:10]}{dirty}; "
        f"{p['date_utc'][:10]}; "
        f"seeds {p['seeds']}; wall time {p['wall_time_s']:.0f} s.\n"
        f"Reproduce: python -m experiments {p['experiment']} --scale {p['scale']} "
        f"--device {p['device']}{out}"
    )


def scale_note(path: Path) -> str | None:
    """What a reader should know about the scale of the run in ``path`` before reading its
    numbers: a line for a smoke or a cpu run, ``None`` for a full one."""
    no_full = "no full-scale run is committed yet; it is meant for a GPU"
    if Path(path).name == "smoke":
        return (
            f"Smoke run: these numbers exercise the code, they do not test the claims ({no_full})."
        )
    if Path(path).name == "cpu":
        ran_on = read_provenance(path)["device"]
        return (
            f"CPU scale, run on the {ran_on.upper()}: the full protocol cut down to fit a 2-core "
            "CPU (the config is in provenance.json). Its verdicts count as evidence, always "
            f"with a caveat; {no_full}."
        )
    return None


def verdict_lines(path: Path) -> list[str]:
    """The verdicts the run in ``path`` computed from its own table, under a heading that
    says when they were last re-judged; empty when the run wrote none.

    The verdicts are indented so that the evidence appendix, which collects verdict lines
    from the executed chapters, counts them once (from ``verdicts.txt``), not twice."""
    verdicts = Path(path) / "verdicts.txt"
    if not verdicts.exists():
        return []
    rejudged = read_provenance(path).get("rejudged")
    when = f", re-judged from its table on {rejudged['date_utc'][:10]}" if rejudged else ""
    lines = verdicts.read_text(encoding="utf-8").strip().splitlines()
    return ["", f"Verdicts computed by the run{when}:"] + ["  " + line for line in lines]


def show(name: str, results: Path = RESULTS) -> Path | None:
    """Show the committed run of experiment ``name``: its figures, where it came from, a
    note on its scale and its verdicts. Returns its folder, or ``None`` (after saying so)
    when nothing is committed."""
    path = run_dir(name, results)
    if path is None:
        print(f"{name}: no committed results yet")
        return None
    for png in sorted(path.glob("*.png")):
        display(Image(filename=str(png), width=FIGURE_WIDTH))
    print(provenance(path))
    note = scale_note(path)
    if note is not None:
        print(note)
    for line in verdict_lines(path):
        print(line)
    return path


def markdown_table(path: Path) -> pd.DataFrame:
    """A pipe table stored as Markdown (``| a | b |`` rows under a ``|---|`` rule) read back
    as a DataFrame of strings, exactly as written, indexed by its first column.

    Raises :class:`ValueError` when the file holds no such table."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("|")
    ]
    if len(rows) < 2 or not all(set(cell) <= set(":-") and cell for cell in rows[1]):
        raise ValueError(f"{path} holds no Markdown pipe table (a header row, then |---|)")
    header, body = rows[0], rows[2:]
    if any(len(row) != len(header) for row in body):
        raise ValueError(f"{path}: every row of the table needs {len(header)} cells")
    return pd.DataFrame(body, columns=header, dtype=str).set_index(header[0])
